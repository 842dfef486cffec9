#include "nodal/nodes/matmul.hpp"

#include "nodal/core/registry.hpp"

namespace nodal {

MatmulShapes matmul_shapes(const Shape& a, const Shape& b) {
  if (a.rank() == 0 || b.rank() == 0)
    throw ShapeError(fmt::format("matmul: operands must have at least one dimension, got {} and {}", to_string(a),
                                 to_string(b)));
  MatmulShapes s;
  s.a = a;
  s.b = b;
  if (a.rank() == 1) s.a.insert(0, 1);  // [k] -> [1, k]
  if (b.rank() == 1) s.b.push_back(1);  // [k] -> [k, 1]
  const std::int64_t n = s.a[s.a.rank() - 2], k = s.a.back(), kb = s.b[s.b.rank() - 2], m = s.b.back();
  if (k != kb)
    throw ShapeError(fmt::format("matmul: inner dimensions differ: {} @ {} ({} vs {})", to_string(a), to_string(b), k, kb));
  // (Shape's span constructor instantiates only pointer/vector iterators: build from vectors.)
  const Shape batch_a(std::vector<std::int64_t>(s.a.begin(), s.a.end() - 2));
  const Shape batch_b(std::vector<std::int64_t>(s.b.begin(), s.b.end() - 2));
  try {
    s.batch = broadcast_shapes(batch_a, batch_b, "matmul");
  } catch (const ShapeError&) {
    throw ShapeError(fmt::format("matmul: batch dimensions of {} and {} do not broadcast", to_string(a), to_string(b)));
  }
  s.full = s.batch;
  s.full.push_back(n);
  s.full.push_back(m);
  s.out = s.batch;
  if (a.rank() > 1) s.out.push_back(n);
  if (b.rank() > 1) s.out.push_back(m);
  return s;
}

std::vector<TensorSpec> MatMul::infer(std::span<const TensorSpec> in) const {
  if (in[0].dtype != in[1].dtype)
    throw DTypeError(fmt::format("matmul: dtypes differ ({} and {}); convert one with astype", dtype_name(in[0].dtype),
                                 dtype_name(in[1].dtype)));
  return {{matmul_shapes(in[0].shape, in[1].shape).out, in[0].dtype}};
}

Value matmul(const Value& a, const Value& b, std::source_location where) {
  return detail::add_node(MatMul{}, {a, b}, where);
}
Tensor matmul(const Tensor& a, const Tensor& b) { return detail::run_node(MatMul{}, {a, b}); }

NODAL_REGISTER_NODE_TYPE({.name = "matmul",
                          .doc = "matrix product a·b with NumPy semantics (1-D operands promoted, batch dims broadcast)",
                          .min_inputs = 2,
                          .max_inputs = 2,
                          .make = [](const Attributes&) { return std::make_unique<MatMul>(); }});

}  // namespace nodal
