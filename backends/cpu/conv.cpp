// CPU implementation of conv1d / conv2d / conv3d: resolves the geometry, picks the algorithm
// (conv_select.cpp), and runs its passes on contiguous operands. The math (nodes/conv.hpp):
//
//   y  = x ⋆ w + b
//   x̄ = ȳ ⋆ᵀ w          w̄ = x ⋆ ȳ (Σ over the batch)          b̄ = Σ_{n,p} ȳ
//   ẏ = ẋ ⋆ w + x ⋆ ẇ + ḃ                                      (bilinear in x, w)
//
// With flip = true the algorithms see the reversed kernel w'; then w̄ = flip(w̄').
//
// Saved state: the fft algorithms can hand the forward's spectra of x and w to the backward pass.
// The node object is shared by every execution of its graph and has no per-call slot, so the
// state lives here, keyed by (node, x buffer + offset + shape, w buffer + offset + shape, the
// geometry). The
// entry holds the buffers alive, so their addresses cannot be reused by other tensors while it
// exists; the matching vjp consumes it, and only the newest few are kept (a forward without a
// backward, e.g. evaluation with gradients enabled, ages out). A vjp that finds nothing passes
// nullptr and the algorithm recomputes. Caveat: writing into x or w in place between a forward
// and its vjp (without a new forward) would make a kept spectrum stale, as it would make any
// saved activation stale.
#include <deque>
#include <mutex>

#include <fmt/format.h>

#include "nodal/backends/cpu/conv_common.hpp"
#include "nodal/core/execution.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/conv.hpp"

namespace nodal {
namespace {

using cpu::ConvAlgorithm;
using cpu::ConvSaved;

struct SavedKey {
  const Node* node = nullptr;
  std::shared_ptr<Buffer> x, w;
  std::int64_t x_offset = 0, w_offset = 0;
  Shape x_shape, w_shape;
  std::string problem;  // geometry key and flip: a node address reused by another node cannot match

  static SavedKey of(const Conv& node, const ConvGeometry& g, const Tensor& x, const Tensor& w) {
    return {&node,    x.buffer(), w.buffer(), x.offset(), w.offset(), x.shape(), w.shape(),
            fmt::format("{} flip={}", g.key(), node.options().flip)};
  }
  bool matches(const SavedKey& k) const {
    return node == k.node && x == k.x && w == k.w && x_offset == k.x_offset && w_offset == k.w_offset &&
           x_shape == k.x_shape && w_shape == k.w_shape && problem == k.problem;
  }
};

class SavedCache {
 public:
  static constexpr std::size_t capacity = 4;

  void put(SavedKey key, const ConvAlgorithm* algorithm, std::unique_ptr<ConvSaved> saved) {
    std::lock_guard lock(mutex_);
    std::erase_if(entries_, [&](const Entry& e) { return e.key.matches(key); });
    entries_.push_back({std::move(key), algorithm, std::move(saved)});
    while (entries_.size() > capacity) entries_.pop_front();
  }
  // The state kept for this key by this algorithm, removed from the cache (nullptr when none).
  std::unique_ptr<ConvSaved> take(const SavedKey& key, const ConvAlgorithm* algorithm) {
    std::lock_guard lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (it->key.matches(key)) {
        std::unique_ptr<ConvSaved> saved = it->algorithm == algorithm ? std::move(it->saved) : nullptr;
        entries_.erase(it);
        return saved;
      }
    return nullptr;
  }

 private:
  struct Entry {
    SavedKey key;
    const ConvAlgorithm* algorithm;
    std::unique_ptr<ConvSaved> saved;
  };
  std::mutex mutex_;
  std::deque<Entry> entries_;
};

// The geometry, the algorithm and the kernel as the algorithm sees it (flipped when asked).
struct Resolved {
  ConvGeometry g;
  const ConvAlgorithm* algorithm;
  Tensor w;  // contiguous, flipped for flip = true
};
Resolved resolve(const Conv& node, const Tensor& x, const Tensor& w) {
  Resolved r;
  r.g = node.geometry(x.shape(), w.shape());
  r.algorithm = cpu::choose_conv_algorithm(r.g, x.dtype(), node.options().algorithm).algorithm;
  r.w = node.options().flip ? cpu::conv_detail::flip_kernel(w, r.g.kernel_pixels()) : w.contiguous();
  return r;
}

// y = x ⋆ w (+ bias) for contiguous x; zeros (+ bias) when there is nothing to sum (no input
// channels).
Tensor correlate(const Resolved& r, const Tensor& x, const Tensor& w, std::unique_ptr<ConvSaved>* saved = nullptr,
                 const Tensor* bias = nullptr) {
  if (r.g.in_per_group() == 0 || r.g.batch == 0) {
    Tensor y = Tensor::zeros(r.g.output_shape(), x.dtype());
    if (bias) cpu::conv_detail::add_bias(y, *bias, r.g.batch, r.g.out_channels, r.g.out_pixels());
    return y;
  }
  return cpu::conv_detail::run_forward(*r.algorithm, r.g, x, w, r.g.output_shape(), saved, bias);
}

class ConvCpu final : public NodeImpl {
 public:
  // y = x ⋆ w + b
  void forward(const ForwardCall& c) const override {
    const Conv& node = c.as<Conv>();
    const Tensor& x = c.inputs[0];
    const Resolved r = resolve(node, x, c.inputs[1]);
    const bool keep = grad_enabled();
    std::unique_ptr<ConvSaved> saved;
    const Tensor* bias = c.inputs.size() == 3 ? &c.inputs[2] : nullptr;
    Tensor y = correlate(r, x.contiguous(), r.w, keep ? &saved : nullptr, bias);
    if (saved) cache_.put(SavedKey::of(node, r.g, x, c.inputs[1]), r.algorithm, std::move(saved));
    c.outputs[0] = y;
  }

  // x̄ = ȳ ⋆ᵀ w,  w̄ = x ⋆ ȳ (flipped back for flip = true),  b̄ = Σ_{n,p} ȳ
  void vjp(const VjpCall& c) const override {
    const Conv& node = c.as<Conv>();
    const Tensor& x = c.inputs[0];
    const Tensor& w = c.inputs[1];
    const Resolved r = resolve(node, x, w);
    const std::unique_ptr<ConvSaved> saved = cache_.take(SavedKey::of(node, r.g, x, w), r.algorithm);
    const Tensor& ybar = c.output_cotangents[0];
    const bool want_x = c.wanted[0], want_w = c.wanted[1];
    if (!ybar.defined() || r.g.in_per_group() == 0 || r.g.batch == 0) {
      for (std::size_t i = 0; i < c.inputs.size(); ++i)
        if (c.wanted[i]) c.input_cotangents[i] = Tensor::zeros(c.inputs[i].shape(), x.dtype());
      // with no input channels y is the bias alone, so b̄ = Σ ȳ all the same
      if (ybar.defined() && c.inputs.size() == 3 && c.wanted[2])
        c.input_cotangents[2] =
            cpu::conv_detail::bias_gradient(ybar.contiguous(), r.g.batch, r.g.out_channels, r.g.out_pixels());
      return;
    }
    const Tensor dy = ybar.contiguous();
    Tensor dx, dw;
    if (want_x) dx = Tensor::empty(x.shape(), x.dtype());
    if (want_w) dw = Tensor::empty(w.shape(), w.dtype());
    if (want_x || want_w)
      r.algorithm->backward(r.g, x.contiguous(), r.w, dy, want_x ? &dx : nullptr, want_w ? &dw : nullptr,
                            saved.get());
    if (want_x) c.input_cotangents[0] = dx;
    if (want_w) c.input_cotangents[1] = node.options().flip ? cpu::conv_detail::flip_kernel(dw, r.g.kernel_pixels()) : dw;
    if (c.inputs.size() == 3 && c.wanted[2])
      c.input_cotangents[2] = cpu::conv_detail::bias_gradient(dy, r.g.batch, r.g.out_channels, r.g.out_pixels());
  }

  // ẏ = ẋ ⋆ w + x ⋆ ẇ + ḃ  (undefined tangents are zero)
  void jvp(const JvpCall& c) const override {
    const Conv& node = c.as<Conv>();
    const Tensor& x = c.inputs[0];
    const Resolved r = resolve(node, x, c.inputs[1]);
    const Tensor& xdot = c.input_tangents[0];
    const Tensor& wdot = c.input_tangents[1];
    Tensor ydot;
    if (xdot.defined()) ydot = correlate(r, xdot.contiguous(), r.w);
    if (wdot.defined()) {
      const Tensor wd = node.options().flip ? cpu::conv_detail::flip_kernel(wdot, r.g.kernel_pixels()) : wdot.contiguous();
      Tensor term = correlate(r, x.contiguous(), wd);
      if (ydot.defined()) cpu::conv_detail::add_into(ydot, term);
      else ydot = term;
    }
    if (!ydot.defined()) ydot = Tensor::zeros(r.g.output_shape(), x.dtype());
    if (c.inputs.size() == 3 && c.input_tangents[2].defined())
      cpu::conv_detail::add_bias(ydot, c.input_tangents[2], r.g.batch, r.g.out_channels, r.g.out_pixels());
    c.output_tangents[0] = ydot;
  }

 private:
  mutable SavedCache cache_;
};

NODAL_REGISTER_IMPL("conv1d", Backend::cpu, ConvCpu);
NODAL_REGISTER_IMPL("conv2d", Backend::cpu, ConvCpu);
NODAL_REGISTER_IMPL("conv3d", Backend::cpu, ConvCpu);

}  // namespace
}  // namespace nodal
