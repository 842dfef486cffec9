#include "conv_torch.hpp"

#include <algorithm>
#include <stdexcept>

#ifdef NODAL_HAVE_TORCH
#include <ATen/Parallel.h>
#include <torch/torch.h>
#include <torch/version.h>
#endif

namespace nodal::bench {

#ifdef NODAL_HAVE_TORCH

bool torch_available() { return true; }

std::string torch_description() {
  return fmt::format("libtorch {} ({} intra-op threads, {} inter-op)", TORCH_VERSION, at::get_num_threads(),
                     at::get_num_interop_threads());
}

void torch_set_threads(int threads) {
  at::set_num_interop_threads(1);  // only legal before torch's first parallel work
  at::set_num_threads(threads);
}

namespace {

class TorchConvImpl final : public TorchConv {
 public:
  TorchConvImpl(const ConvShape& s, const float* x, const float* w, const float* b, const float* dy) : s_(s) {
    // from_blob does not copy: clone so that torch owns (and may differentiate) its own tensors.
    auto own = [](const float* p, at::IntArrayRef shape) {
      return torch::from_blob(const_cast<float*>(p), shape, torch::TensorOptions().dtype(torch::kFloat32)).clone();
    };
    x_ = own(x, {s.n, s.cin, s.h, s.w}).requires_grad_(true);
    w_ = own(w, {s.cout, s.cin_per_group(), s.k, s.k}).requires_grad_(true);
    b_ = own(b, {s.cout}).requires_grad_(true);
    dy_ = own(dy, {s.n, s.cout, s.out_h(), s.out_w()});
  }
  void forward() override {
    torch::NoGradGuard no_grad;
    (void)torch::conv2d(x_, w_, b_, s_.stride, s_.pad, 1, s_.groups);
  }
  void train() override {
    for (torch::Tensor* t : {&x_, &w_, &b_}) t->mutable_grad().reset();  // as optimizer.zero_grad(set_to_none=true)
    torch::conv2d(x_, w_, b_, s_.stride, s_.pad, 1, s_.groups).backward(dy_);
  }
  double max_error(const float* y) override {
    torch::NoGradGuard no_grad;
    const torch::Tensor ty = torch::conv2d(x_, w_, b_, s_.stride, s_.pad, 1, s_.groups);
    const torch::Tensor other = torch::from_blob(const_cast<float*>(y), ty.sizes(), torch::TensorOptions().dtype(torch::kFloat32));
    return (ty - other).abs().max().item<double>() / std::max(ty.abs().max().item<double>(), 1e-30);
  }

 private:
  ConvShape s_;
  torch::Tensor x_, w_, b_, dy_;
};

}  // namespace

std::unique_ptr<TorchConv> make_torch_conv(const ConvShape& s, const float* x, const float* w, const float* b,
                                           const float* dy) {
  return std::make_unique<TorchConvImpl>(s, x, w, b, dy);
}

#else

bool torch_available() { return false; }
std::string torch_description() { return "libtorch not found at configure time: no peer column"; }
void torch_set_threads(int) {}
std::unique_ptr<TorchConv> make_torch_conv(const ConvShape&, const float*, const float*, const float*, const float*) {
  throw std::logic_error("bench/conv was built without libtorch");
}

#endif

}  // namespace nodal::bench
