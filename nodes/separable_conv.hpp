#pragma once
// Separable convolution: a 2-D filter that is an outer product (a rank-1 template, e.g. Sobel
// = [1,2,1]ᵀ·[1,0,−1]) applied as two 1-D passes, columns then rows, at O(kH + kW) multiply-adds
// per pixel instead of O(kH·kW) (the design text, §5.1: "two successive 1-D layers").
//
//   separable_conv2d(x [N, C, H, W], col [C, kH], row [C, kW]) -> y [N, C, OH, OW]
//   t[n, c, i, w] = Σ_a x[n, c, i·sh − ph + a·dh, w] · col[c, a]          (column pass, zero padding)
//   y[n, c, i, j] = Σ_b t[n, c, i, j·sw − pw + b·dw] · row[c, b]          (row pass)
// which is exactly conv2d(x, w, groups = C) with w[c, 0] = col[c] ⊗ row[c] (depthwise,
// cross-correlation like conv2d; flip = true reverses both vectors: a true convolution).
// Depthwise only: a pointwise 1×1 stage that mixes channels (MobileNet's "depthwise separable")
// is a different idea; compose it with conv2d(1×1) when wanted.
//
// Backward, pass by pass (each is a 1-D correlation, §2 of the design text):
//   dE/dt = dE/dy ⋆ᵀ row   (scatter through the row pass);   dE/drow[c, b] = Σ dE/dy · t(shifted by b)
//   dE/dx = dE/dt ⋆ᵀ col   (scatter through the column pass); dE/dcol[c, a] = Σ dE/dt · x(shifted by a)
//   ẏ = sep(ẋ, col, row) + sep(x, ċol, row) + sep(x, col, ṙow)   (trilinear)
//
// factor_separable: any 2-D filter W = Σ_i σ_i u_i v_iᵀ (SVD, float64); keeping r terms gives the
// best rank-r approximation in the Frobenius norm (Eckart–Young), with relative error
//   ‖W − W_r‖_F / ‖W‖_F = sqrt(Σ_{i>r} σ_i²) / sqrt(Σ_i σ_i²),
// and the factors col_i = √σ_i·u_i, row_i = √σ_i·v_i: r separable passes summed equal conv2d with W_r.
#include <cstdint>
#include <vector>

#include "nodal/nodes/conv.hpp"
#include "nodal/nodes/node_builder.hpp"

namespace nodal {

struct SeparableConvOptions {
  std::vector<std::int64_t> stride{1};    // one value, or (sH, sW)
  ConvPadding padding{};                  // as conv2d: 'same', 'valid', or explicit zero padding
  std::vector<std::int64_t> dilation{1};  // one value, or (dH, dW)
  bool flip = false;                      // true convolution (both vectors reversed)
};

class SeparableConv2d final : public Node {
 public:
  explicit SeparableConv2d(SeparableConvOptions options = {}) : options_(std::move(options)) {}
  std::string_view type() const override { return "separable_conv2d"; }
  Attributes attributes() const override;
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
  const SeparableConvOptions& options() const { return options_; }
  // The equivalent depthwise conv2d geometry (groups = C, kernel kH×kW), shapes checked.
  ConvGeometry geometry(const Shape& x, const Shape& col, const Shape& row) const;

 private:
  SeparableConvOptions options_;
};

Value separable_conv2d(const Value& x, const Value& col, const Value& row, const SeparableConvOptions& options = {},
                       std::source_location where = std::source_location::current());
Tensor separable_conv2d(const Tensor& x, const Tensor& col, const Tensor& row, const SeparableConvOptions& options = {});

// Rank-r factors of a filter [kH, kW] or a filter bank [Cout, Cin, kH, kW] (each kH×kW filter
// factored on its own), in the dtype of the input:
//   [kH, kW]             -> columns [r, kH],            rows [r, kW]
//   [Cout, Cin, kH, kW]  -> columns [Cout, Cin, r, kH], rows [Cout, Cin, r, kW]
// so that W_r = Σ_i columns[.., i, :] ⊗ rows[.., i, :].
struct SeparableFactors {
  Tensor columns, rows;
  Tensor singular_values;     // float64, [min(kH, kW)] or [Cout, Cin, min(kH, kW)], descending
  double relative_error = 0;  // ‖W − W_r‖_F / ‖W‖_F over the whole tensor (0 for W = 0)
};
// ValueError for rank outside [1, min(kH, kW)], ShapeError for another rank of w, DTypeError for complex.
SeparableFactors factor_separable(const Tensor& w, int rank);

}  // namespace nodal
