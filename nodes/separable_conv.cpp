#include "nodal/nodes/separable_conv.hpp"

#include <cmath>

#include <Eigen/SVD>
#include <fmt/format.h>

#include "nodal/core/eigen.hpp"
#include "nodal/core/registry.hpp"

namespace nodal {

// ------------------------------------------------------------------ the node

ConvGeometry SeparableConv2d::geometry(const Shape& x, const Shape& col, const Shape& row) const {
  if (x.rank() != 4) throw ShapeError(fmt::format("separable_conv2d: x must be [N, C, H, W], got {}", to_string(x)));
  const std::int64_t c = x[1];
  if (col.rank() != 2 || col[0] != c)
    throw ShapeError(fmt::format("separable_conv2d: the column filter must be [C, kH] = [{}, kH] for x {}, got {}", c,
                                 to_string(x), to_string(col)));
  if (row.rank() != 2 || row[0] != c)
    throw ShapeError(fmt::format("separable_conv2d: the row filter must be [C, kW] = [{}, kW] for x {}, got {}", c,
                                 to_string(x), to_string(row)));
  ConvOptions o;
  o.stride = options_.stride;
  o.padding = options_.padding;
  o.dilation = options_.dilation;
  o.groups = std::max<std::int64_t>(c, 1);
  // The equivalent depthwise conv2d: weight [C, 1, kH, kW].
  return ConvGeometry::resolve("separable_conv2d", 2, x, Shape{c, 1, col[1], row[1]}, o);
}

Attributes SeparableConv2d::attributes() const {
  return {{"stride", options_.stride},
          {"padding", options_.padding.to_string()},
          {"dilation", options_.dilation},
          {"flip", options_.flip}};
}

std::vector<TensorSpec> SeparableConv2d::infer(std::span<const TensorSpec> in) const {
  const DType dt = in[0].dtype;
  if (dt != DType::float32 && dt != DType::float64)
    throw DTypeError(fmt::format("separable_conv2d: x is {}; it takes float32 or float64", dtype_name(dt)));
  for (std::size_t i = 1; i < in.size(); ++i)
    if (in[i].dtype != dt)
      throw DTypeError(fmt::format("separable_conv2d: input {} is {} but x is {}; convert with astype", i,
                                   dtype_name(in[i].dtype), dtype_name(dt)));
  return {{geometry(in[0].shape, in[1].shape, in[2].shape).output_shape(), dt}};
}

Value separable_conv2d(const Value& x, const Value& col, const Value& row, const SeparableConvOptions& options,
                       std::source_location where) {
  return detail::add_node(SeparableConv2d(options), {x, col, row}, where);
}
Tensor separable_conv2d(const Tensor& x, const Tensor& col, const Tensor& row, const SeparableConvOptions& options) {
  return detail::run_node(SeparableConv2d(options), {x, col, row});
}

NODAL_REGISTER_NODE_TYPE({.name = "separable_conv2d",
                          .doc = "depthwise separable filter: x [N, C, H, W] ⋆ (col [C, kH] ⊗ row [C, kW]) as two 1-D passes",
                          .min_inputs = 3,
                          .max_inputs = 3,
                          .attributes = {{"stride", std::vector<std::int64_t>{1}, "one value, or sH,sW"},
                                         {"padding", std::string("0"), "'same', 'valid', or explicit zero padding as conv2d"},
                                         {"dilation", std::vector<std::int64_t>{1}, "one value, or dH,dW"},
                                         {"flip", false, "true convolution: reverse both vectors"}},
                          .make = [](const Attributes& a) {
                            SeparableConvOptions o;
                            o.stride = a.get<std::vector<std::int64_t>>("stride", o.stride);
                            o.padding = ConvPadding::parse(a.get<std::string>("padding", "0"));
                            o.dilation = a.get<std::vector<std::int64_t>>("dilation", o.dilation);
                            o.flip = a.get<bool>("flip", o.flip);
                            return std::make_unique<SeparableConv2d>(std::move(o));
                          }});

// ------------------------------------------------------------------ SVD factoring

SeparableFactors factor_separable(const Tensor& w, int rank) {
  if (!w.defined()) throw ValueError("factor_separable: the filter tensor is undefined");
  if (w.rank() != 2 && w.rank() != 4)
    throw ShapeError(fmt::format("factor_separable: w must be [kH, kW] or [Cout, Cin, kH, kW], got {}", to_string(w.shape())));
  if (is_complex(w.dtype()))
    throw DTypeError(fmt::format("factor_separable: w is {}; real filters only", dtype_name(w.dtype())));
  const std::int64_t kh = w.dim(-2), kw = w.dim(-1), full_rank = std::min(kh, kw);
  if (rank < 1 || rank > full_rank)
    throw ValueError(fmt::format("factor_separable: rank must be in [1, min(kH, kW) = {}] for w {}, got {}", full_rank,
                                 to_string(w.shape()), rank));
  const std::int64_t filters = w.numel() / std::max<std::int64_t>(kh * kw, 1);
  const std::vector<double> values = w.to_vector<double>();

  std::vector<double> cols(std::size_t(filters * rank * kh)), rows(std::size_t(filters * rank * kw));
  std::vector<double> sigma(std::size_t(filters * full_rank));
  double kept_out = 0, total = 0;  // Σ discarded σ², Σ all σ²
  for (std::int64_t f = 0; f < filters; ++f) {
    const Eigen::Map<const RowMajorMatrix<double>> m(values.data() + f * kh * kw, kh, kw);
    // Jacobi SVD: slow for big matrices but the most accurate, and filters are tiny.
    const Eigen::JacobiSVD<Eigen::MatrixXd> svd(m, Eigen::ComputeThinU | Eigen::ComputeThinV);
    const Eigen::VectorXd& s = svd.singularValues();
    for (std::int64_t i = 0; i < full_rank; ++i) {
      sigma[std::size_t(f * full_rank + i)] = s[i];
      total += s[i] * s[i];
      if (i >= rank) kept_out += s[i] * s[i];
    }
    // Balanced split √σ to each side keeps both factors of one scale.
    for (std::int64_t i = 0; i < rank; ++i) {
      const double root = std::sqrt(s[i]);
      for (std::int64_t a = 0; a < kh; ++a) cols[std::size_t((f * rank + i) * kh + a)] = root * svd.matrixU()(a, i);
      for (std::int64_t b = 0; b < kw; ++b) rows[std::size_t((f * rank + i) * kw + b)] = root * svd.matrixV()(b, i);
    }
  }
  Shape col_shape{rank, kh}, row_shape{rank, kw}, sigma_shape{full_rank};
  if (w.rank() == 4) {
    col_shape = Shape{w.dim(0), w.dim(1), rank, kh};
    row_shape = Shape{w.dim(0), w.dim(1), rank, kw};
    sigma_shape = Shape{w.dim(0), w.dim(1), full_rank};
  }
  SeparableFactors out;
  out.columns = Tensor::from_vector(cols, col_shape).astype(w.dtype());
  out.rows = Tensor::from_vector(rows, row_shape).astype(w.dtype());
  out.singular_values = Tensor::from_vector(sigma, sigma_shape);
  out.relative_error = total > 0 ? std::sqrt(kept_out / total) : 0.0;
  return out;
}

}  // namespace nodal
