#pragma once
// The signal-processing view of convolution: NumPy's np.convolve / np.correlate on the last axis
// of x [..., n] with one filter h [m], every leading axis a separate signal.
//
//   convolve:  y[k] = Σ_j x̃[k + k0 − j] · h[j]          (true convolution, h reversed as it slides)
//   correlate: y[k] = Σ_j x̃[k + k0 − (m−1) + j] · h[j]  (convolve with h reversed; k0 below)
//
// mode (output length L and first index k0 of the full result, s = min(n, m), l = max(n, m)):
//   full   L = n + m − 1   k0 = 0
//   same   L = l           k0 = ⌊(s − 1)/2⌋    (NumPy's centring; for correlate with m > n: ⌊n/2⌋)
//   valid  L = l − s + 1   k0 = s − 1
// With zero boundary these are exactly np.convolve(x, h, mode) and np.correlate(x, h, mode) for
// any lengths. (np.correlate with a filter longer than the signal swaps the two, correlates and
// reverses the result, which for 'same' and an even n centres one sample later than convolving
// with the reversed filter would: hence its own k0.)
//
// boundary: how x̃ extends x beyond [0, n): zero (x̃ = 0), replicate (x̃[i] = x[clamp(i, 0, n−1)]),
// circular (x̃[i] = x[i mod n], the periodic extension; 'same' then gives circular convolution).
// 'valid' with m ≤ n never reads beyond the ends, so the boundary does not matter there.
//
// Derivatives (x̃ = P·x is a gather; g = h reversed for convolve, h for correlate; y = x̃ ⋆ g):
//   dE/dx = Pᵀ (dE/dy ∗ g)      full convolution of the cotangent with g, scattered back through P
//   dE/dh = Σ_rows x̃ ⋆ dE/dy    correlation of the extended signal with the cotangent (reversed
//                               for convolve), summed over the leading axes
//   ẏ = conv(ẋ, h) + conv(x, ḣ)  (bilinear)
#include <cstdint>
#include <string>
#include <string_view>

#include "nodal/nodes/node_builder.hpp"

namespace nodal {

enum class SignalMode { full, same, valid };
enum class SignalBoundary { zero, replicate, circular };

std::string_view to_string(SignalMode mode);
std::string_view to_string(SignalBoundary boundary);
SignalMode parse_signal_mode(std::string_view text);          // ValueError on anything else
SignalBoundary parse_signal_boundary(std::string_view text);  // ValueError on anything else

// The resolved lengths of one problem. The extended signal x̃ is read on [start, start + padded).
struct SignalGeometry {
  std::int64_t rows = 1, n = 0, m = 0, out = 0, start = 0, padded = 0;
  Shape output_shape;
  static SignalGeometry resolve(std::string_view node, const Shape& x, const Shape& h, SignalMode mode, bool correlate);
};

class Convolve1d final : public Node {
 public:
  Convolve1d(bool correlate, SignalMode mode, SignalBoundary boundary)
      : correlate_(correlate), mode_(mode), boundary_(boundary) {}
  std::string_view type() const override { return correlate_ ? "correlate" : "convolve"; }
  Attributes attributes() const override;
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;

  bool correlate() const { return correlate_; }
  SignalMode mode() const { return mode_; }
  SignalBoundary boundary() const { return boundary_; }
  SignalGeometry geometry(const Shape& x, const Shape& h) const {
    return SignalGeometry::resolve(type(), x, h, mode_, correlate_);
  }

 private:
  bool correlate_;
  SignalMode mode_;
  SignalBoundary boundary_;
};

// NumPy's defaults: convolve is 'full', correlate is 'valid'.
Value convolve(const Value& x, const Value& h, SignalMode mode = SignalMode::full,
               SignalBoundary boundary = SignalBoundary::zero, std::source_location where = std::source_location::current());
Value correlate(const Value& x, const Value& h, SignalMode mode = SignalMode::valid,
                SignalBoundary boundary = SignalBoundary::zero, std::source_location where = std::source_location::current());
Tensor convolve(const Tensor& x, const Tensor& h, SignalMode mode = SignalMode::full,
                SignalBoundary boundary = SignalBoundary::zero);
Tensor correlate(const Tensor& x, const Tensor& h, SignalMode mode = SignalMode::valid,
                 SignalBoundary boundary = SignalBoundary::zero);

}  // namespace nodal
