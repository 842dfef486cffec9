#include <fmt/format.h>

#include "nodal/backends/cpu/elementwise.hpp"

namespace nodal::cpu {

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  if (shape.rank() > g.rank() || !(broadcast_shapes(shape, g.shape(), "sum_to") == g.shape()))
    throw ShapeError(fmt::format("sum_to: cannot reduce {} to {}", to_string(g.shape()), to_string(shape)));
  Tensor out = Tensor::zeros(shape, g.dtype(), g.backend());
  // View `out` with g's shape: zero strides on the broadcast axes, so += accumulates into them.
  const Tensor target = out.expand(g.shape());
  visit_dtype(g.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* dst = static_cast<T*>(target.buffer()->host_data()) + target.offset();
    const T* src = static_cast<const T*>(g.buffer()->host_data()) + g.offset();
    const Strides* strides[2] = {&target.strides(), &g.strides()};
    for_each_row<2>(g.shape(), strides, [&](const std::int64_t* base, std::int64_t n, const std::int64_t* step) {
      T* d = dst + base[0];
      const T* s = src + base[1];
      if (step[0] == 0) {
        T acc{};
        for (std::int64_t i = 0; i < n; ++i) acc += s[i * step[1]];
        *d += acc;
      } else {
        for (std::int64_t i = 0; i < n; ++i) d[i * step[0]] += s[i * step[1]];
      }
    });
  });
  return out;
}

}  // namespace nodal::cpu
