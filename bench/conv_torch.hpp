#pragma once
// libtorch as bench/conv's peer, in its own file so that only it sees torch's headers. Built
// when CMake finds Torch (NODAL_HAVE_TORCH); otherwise torch_available() is false.
#include <memory>
#include <string>

#include "conv_shapes.hpp"

namespace nodal::bench {

// torch::conv2d on a copy of the given float32 data (x, weight, bias, cotangent dy, contiguous).
class TorchConv {
 public:
  virtual ~TorchConv() = default;
  virtual void forward() = 0;  // under torch::NoGradGuard
  virtual void train() = 0;    // forward + backward to x, weight and bias (gradients reset first)
  // max |y_torch − y| / max |y_torch| against another implementation's output y.
  virtual double max_error(const float* y) = 0;
};

bool torch_available();
std::string torch_description();  // "libtorch 1.13.1 (2 intra-op threads, 1 inter-op)"
void torch_set_threads(int threads);
std::unique_ptr<TorchConv> make_torch_conv(const ConvShape& s, const float* x, const float* w, const float* b,
                                           const float* dy);

}  // namespace nodal::bench
