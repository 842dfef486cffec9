#include "conv_torch.hpp"

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

TorchResult time_torch_conv2d(const ConvShape& s, const float* x, const float* w, const float* b, const float* dy,
                              const float* y, const TimingPolicy& policy) {
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  // from_blob does not copy: clone so that torch owns (and may grad) its own tensors.
  const torch::Tensor tx = torch::from_blob(const_cast<float*>(x), {s.n, s.cin, s.h, s.w}, f32).clone().requires_grad_(true);
  const torch::Tensor tw = torch::from_blob(const_cast<float*>(w), {s.cout, s.cin, s.k, s.k}, f32).clone().requires_grad_(true);
  const torch::Tensor tb = torch::from_blob(const_cast<float*>(b), {s.cout}, f32).clone().requires_grad_(true);
  const torch::Tensor tdy = torch::from_blob(const_cast<float*>(dy), {s.n, s.cout, s.out_h(), s.out_w()}, f32).clone();
  const torch::Tensor ty_nodal = torch::from_blob(const_cast<float*>(y), {s.n, s.cout, s.out_h(), s.out_w()}, f32);

  TorchResult r;
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor ty = torch::conv2d(tx, tw, tb, 1, s.pad);
    r.max_error = (ty - ty_nodal).abs().max().item<double>() / std::max(ty.abs().max().item<double>(), 1e-30);
    r.forward_s = min_seconds([&] { (void)torch::conv2d(tx, tw, tb, 1, s.pad); }, policy);
  }
  r.train_s = min_seconds(
      [&] {
        for (const torch::Tensor& t : {tx, tw, tb}) t.mutable_grad().reset();  // fresh gradients, as zero_grad(set_to_none)
        torch::conv2d(tx, tw, tb, 1, s.pad).backward(tdy);
      },
      policy);
  return r;
}

#else

bool torch_available() { return false; }
std::string torch_description() { return "libtorch not found at configure time: no peer column"; }
void torch_set_threads(int) {}
TorchResult time_torch_conv2d(const ConvShape&, const float*, const float*, const float*, const float*, const float*,
                              const TimingPolicy&) {
  return {};
}

#endif

}  // namespace nodal::bench
