#pragma once
// The CPU convolution algorithms behind the conv nodes. Each algorithm is one class registered by
// name (direct, gemm, fft, fft_tiled, helix, …); the conv nodes' CPU implementation looks them up,
// so an algorithm is added by adding its file. Every algorithm computes the forward pass and both
// backward correlations (docs/convolution.md):
//
//   forward          y  = x ⋆ w                 (no bias: the node adds it)
//   backward input   dx = dy ⋆ᵀ w               (transposed convolution)
//   backward weight  dw = x ⋆ dy  (Σ over batch)
//
// on contiguous float32/float64 tensors in the layout of ConvGeometry (always 3 spatial axes;
// a 2-D problem has extent 1 on the first). The kernel is never flipped here: the node flips it
// for `flip = true`.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nodal/core/registry.hpp"
#include "nodal/core/tensor.hpp"
#include "nodal/nodes/conv.hpp"

namespace nodal::cpu {

// What an algorithm keeps from the forward pass for the backward one (the spectra of x and w for
// the fft paths). Opaque to the node, which keeps it beside the forward's inputs.
struct ConvSaved {
  virtual ~ConvSaved() = default;
};

class ConvAlgorithm {
 public:
  virtual ~ConvAlgorithm() = default;
  virtual std::string_view name() const = 0;
  // Whether this algorithm can run this geometry (e.g. a size limit); `why` says why not.
  virtual bool supports(const ConvGeometry& g, std::string* why = nullptr) const {
    (void)g;
    (void)why;
    return true;
  }
  // Estimated seconds of forward + backward on this machine's CPU for the cost model of `auto`
  // (flops at the algorithm's sustained rate plus bytes moved at memory bandwidth).
  virtual double estimated_seconds(const ConvGeometry& g, DType dtype) const = 0;

  // y [N, Cout, *O] (already allocated, contiguous) = x ⋆ w. With `keep`, may return what the
  // backward pass can reuse (else nullptr).
  virtual std::unique_ptr<ConvSaved> forward(const ConvGeometry& g, const Tensor& x, const Tensor& w, Tensor& y,
                                             bool keep) const = 0;
  // y = x ⋆ w + b (b: [Cout], contiguous). By default forward() and then a pass adding b over y;
  // an algorithm that can start its sums at b[o] (or add it while the output is still in
  // registers) overrides this and saves that pass over the whole output.
  virtual std::unique_ptr<ConvSaved> forward_with_bias(const ConvGeometry& g, const Tensor& x, const Tensor& w,
                                                       const Tensor& b, Tensor& y, bool keep) const;
  // dx and/or dw (either may be null: not wanted; when given, allocated and contiguous; the
  // algorithm overwrites them). `saved` is what forward returned for these x and w, or nullptr.
  virtual void backward(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx,
                        Tensor* dw, const ConvSaved* saved) const = 0;
};

// The registry of algorithms (names unique). Registration happens at library load.
bool register_conv_algorithm(std::unique_ptr<ConvAlgorithm> algorithm);
const ConvAlgorithm* find_conv_algorithm(std::string_view name);  // nullptr when unknown
std::vector<const ConvAlgorithm*> conv_algorithms();               // in registration-independent name order

#define NODAL_REGISTER_CONV_ALGORITHM(Class)                                                                   \
  [[maybe_unused]] static const bool NODAL_CONCAT(nodal_conv_algorithm_, __LINE__) = \
      ::nodal::cpu::register_conv_algorithm(std::make_unique<Class>())

// Algorithm choice for `auto` (cost model) and `measure` (timing once per geometry and dtype,
// cached for the process). `requested` is the node's `algorithm` attribute.
struct ConvChoice {
  const ConvAlgorithm* algorithm = nullptr;
  std::string reason;  // one line: "auto: fft (est. 1.2 ms) < gemm (3.4 ms) < direct (…)"
};
ConvChoice choose_conv_algorithm(const ConvGeometry& g, DType dtype, std::string_view requested);

}  // namespace nodal::cpu
