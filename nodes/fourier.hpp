#pragma once
// Discrete Fourier transforms as differentiable nodes, with NumPy's conventions:
//   fft / ifft     complex (or real, promoted) -> complex, over the last axis
//   rfft           real [.., n]  -> complex [.., n/2+1]
//   irfft          complex [.., m] -> real [.., n], n = attribute `n` (default 2(m−1))
//   fft2 / ifft2 / rfft2 / irfft2 : the same over the last two axes
// Attribute `norm`: "backward" (forward unscaled, inverse 1/N), "ortho" (1/√N both ways) or
// "forward" (forward 1/N, inverse unscaled), N = the product of the transformed lengths.
#include <string>

#include "nodal/nodes/node_builder.hpp"

namespace nodal {

enum class FourierKind { fft, ifft, rfft, irfft };

struct Fourier final : Node {
  FourierKind kind = FourierKind::fft;
  int rank = 1;                 // transformed trailing axes: 1 or 2
  std::string norm = "backward";
  std::int64_t n = -1;          // irfft/irfft2: length of the last output axis (-1: 2(m−1))

  std::string_view type() const override;
  Attributes attributes() const override;
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
  // The real signal length of the last transformed axis (rfft: input's, irfft: output's).
  std::int64_t real_length(const Shape& complex_or_real_shape) const;
};

// The builders live in namespace `fourier` (nodal::fft is the DFT library): fourier::rfft(x).
namespace fourier {

Value fft(const Value& x, std::string norm = "backward", std::source_location where = std::source_location::current());
Value ifft(const Value& x, std::string norm = "backward", std::source_location where = std::source_location::current());
Value rfft(const Value& x, std::string norm = "backward", std::source_location where = std::source_location::current());
Value irfft(const Value& x, std::int64_t n = -1, std::string norm = "backward",
            std::source_location where = std::source_location::current());
Value fft2(const Value& x, std::string norm = "backward", std::source_location where = std::source_location::current());
Value ifft2(const Value& x, std::string norm = "backward", std::source_location where = std::source_location::current());
Value rfft2(const Value& x, std::string norm = "backward", std::source_location where = std::source_location::current());
Value irfft2(const Value& x, std::int64_t n = -1, std::string norm = "backward",
             std::source_location where = std::source_location::current());

Tensor fft(const Tensor& x, std::string norm = "backward");
Tensor ifft(const Tensor& x, std::string norm = "backward");
Tensor rfft(const Tensor& x, std::string norm = "backward");
Tensor irfft(const Tensor& x, std::int64_t n = -1, std::string norm = "backward");
Tensor fft2(const Tensor& x, std::string norm = "backward");
Tensor ifft2(const Tensor& x, std::string norm = "backward");
Tensor rfft2(const Tensor& x, std::string norm = "backward");
Tensor irfft2(const Tensor& x, std::int64_t n = -1, std::string norm = "backward");

}  // namespace fourier

}  // namespace nodal
