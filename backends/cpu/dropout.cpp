#include "nodal/backends/cpu/elementwise.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/dropout.hpp"

namespace nodal {
namespace {

// A stream per (seed, pass): the pass number is hashed into the seed of Tensor::rand, whose
// elements are themselves a pure function of (seed, index).
std::uint64_t pass_seed(std::uint64_t seed, std::uint64_t pass) {
  std::uint64_t z = seed * 0x9E3779B97F4A7C15ULL + pass + 0x632BE59BD9B4E019ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

struct DropoutCpu final : NodeImpl {
  // y = x·mask
  void forward(const ForwardCall& c) const override {
    DropoutState& st = c.as<Dropout>().state();
    const Tensor& x = c.inputs[0];
    if (!st.training || st.p == 0) {
      c.outputs[0] = x;
      c.outputs[1] = Tensor::ones(x.shape(), x.dtype());
      return;
    }
    const std::uint64_t pass = st.advance ? st.step.fetch_add(1) : st.step.load();
    visit_real_dtype(x.dtype(), "dropout", [&](auto tag) {
      using T = typename decltype(tag)::type;
      Tensor mask = Tensor::rand(x.shape(), pass_seed(st.seed, pass), x.dtype());
      const T keep_scale = T(1.0 / (1.0 - st.p)), p = T(st.p);
      T* m = mask.data<T>();
      for (std::int64_t i = 0; i < mask.numel(); ++i) m[i] = m[i] >= p ? keep_scale : T(0);
      c.outputs[1] = mask;
      c.outputs[0] = cpu::map_binary<T, T>(x, mask, mask.shape(), [](T a, T b) { return a * b; });
    });
  }
  // x̄ = ȳ·mask  (the mask output carries no gradient)
  void vjp(const VjpCall& c) const override {
    if (!c.wanted[0]) return;
    const Tensor& mask = c.outputs[1];
    if (!c.output_cotangents[0].defined()) {
      c.input_cotangents[0] = Tensor::zeros(mask.shape(), mask.dtype());
      return;
    }
    visit_real_dtype(mask.dtype(), "dropout", [&](auto tag) {
      using T = typename decltype(tag)::type;
      c.input_cotangents[0] = cpu::map_binary<T, T>(c.output_cotangents[0], mask, mask.shape(), [](T a, T b) { return a * b; });
    });
  }
  // ẏ = ẋ·mask
  void jvp(const JvpCall& c) const override {
    const Tensor& mask = c.outputs[1];
    const Tensor& dx = c.input_tangents[0];
    visit_real_dtype(mask.dtype(), "dropout", [&](auto tag) {
      using T = typename decltype(tag)::type;
      c.output_tangents[0] = dx.defined() ? cpu::map_binary<T, T>(dx, mask, mask.shape(), [](T a, T b) { return a * b; })
                                          : Tensor::zeros(mask.shape(), mask.dtype());
      c.output_tangents[1] = Tensor::zeros(mask.shape(), mask.dtype());
    });
  }
};

NODAL_REGISTER_IMPL("dropout", Backend::cpu, DropoutCpu);

}  // namespace
}  // namespace nodal
