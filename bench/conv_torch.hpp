#pragma once
// libtorch as bench/conv's peer, in its own file so that only it sees torch's headers. Built
// when CMake finds Torch (NODAL_HAVE_TORCH); otherwise torch_available() is false.
#include <optional>
#include <string>

#include "conv_shapes.hpp"

namespace nodal::bench {

struct TorchResult {
  double forward_s = 0;  // under torch::NoGradGuard
  double train_s = 0;    // forward + backward to x, weight and bias
  double max_error = 0;  // forward vs the given nodal output, max |Δ| / max |y|
};

bool torch_available();
std::string torch_description();  // "libtorch 1.13.1, 2 intra-op threads, ..."
void torch_set_threads(int threads);
// Times conv2d on the same float32 data nodal used (x, weight, bias, cotangent dy all contiguous)
// and compares its forward with nodal's `y`.
TorchResult time_torch_conv2d(const ConvShape& s, const float* x, const float* w, const float* b, const float* dy,
                              const float* y, const TimingPolicy& policy);

}  // namespace nodal::bench
