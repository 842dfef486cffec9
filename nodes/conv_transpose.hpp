#pragma once
// Transposed convolution ("deconvolution") layers with PyTorch's ConvTranspose semantics:
//
//   x [N, Cin, *S], w [Cin, Cout/groups, *K], b [Cout] (optional)  ->  y [N, Cout, *O]
//   O = (S − 1)·s − 2·pad + d·(K − 1) + output_padding + 1
//
// y is the vjp of a convolution with respect to its input: the convolution C whose input has
// y's shape, whose weight is w read as [Cout_C = Cin, Cin_C/groups = Cout/groups, *K] and whose
// output has x's shape satisfies ⟨C(z), x⟩ = ⟨z, y⟩ for every z. So
//
//   forward   y  = x ⋆ᵀ w           (C's backward-input pass, with dy = x)
//   vjp       x̄ = ȳ ⋆ w            (C's forward pass on ȳ)
//             w̄ = ȳ ⋆ x            (C's backward-weight pass with input ȳ and dy = x)
//             b̄ = Σ_{n,p} ȳ
//   jvp       ẏ = ẋ ⋆ᵀ w + x ⋆ᵀ ẇ + ḃ
//
// every pass runs through the same CPU convolution algorithms as conv (`algorithm` attribute).
// output_padding (< stride or < dilation, as in PyTorch) adds rows/columns at the end of each
// axis that only the last kernel taps reach; it resolves the ambiguity of O for stride > 1.
#include <cstdint>
#include <string>
#include <vector>

#include "nodal/nodes/conv.hpp"

namespace nodal {

struct ConvTransposeOptions {
  std::vector<std::int64_t> stride{1};          // one value, or one per spatial axis
  std::vector<std::int64_t> padding{0};         // removed from both sides of each axis of y
  std::vector<std::int64_t> output_padding{0};  // added at the end of each axis of y
  std::vector<std::int64_t> dilation{1};
  std::int64_t groups = 1;
  std::string algorithm = "auto";
};

// conv_transpose1d / 2d / 3d: inputs x, w[, b].
class ConvTranspose final : public Node {
 public:
  ConvTranspose(int rank, ConvTransposeOptions options);
  std::string_view type() const override;
  Attributes attributes() const override;
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;

  int rank() const { return rank_; }
  const ConvTransposeOptions& options() const { return options_; }
  // The geometry of the convolution C whose backward-input pass this node is: C's input is y,
  // its output is x. ShapeError/ValueError naming the node and the shapes.
  ConvGeometry conv_geometry(const Shape& x, const Shape& w) const;

  static ConvTransposeOptions options_from(const Attributes& attributes);
  static std::vector<AttrSpec> attribute_schema();

 private:
  int rank_;
  ConvTransposeOptions options_;
};

Value conv_transpose1d(const Value& x, const Value& w, const ConvTransposeOptions& options = {},
                       std::source_location where = std::source_location::current());
Value conv_transpose1d(const Value& x, const Value& w, const Value& b, const ConvTransposeOptions& options = {},
                       std::source_location where = std::source_location::current());
Value conv_transpose2d(const Value& x, const Value& w, const ConvTransposeOptions& options = {},
                       std::source_location where = std::source_location::current());
Value conv_transpose2d(const Value& x, const Value& w, const Value& b, const ConvTransposeOptions& options = {},
                       std::source_location where = std::source_location::current());
Value conv_transpose3d(const Value& x, const Value& w, const ConvTransposeOptions& options = {},
                       std::source_location where = std::source_location::current());
Value conv_transpose3d(const Value& x, const Value& w, const Value& b, const ConvTransposeOptions& options = {},
                       std::source_location where = std::source_location::current());
Tensor conv_transpose1d(const Tensor& x, const Tensor& w, const ConvTransposeOptions& options = {});
Tensor conv_transpose1d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvTransposeOptions& options = {});
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const ConvTransposeOptions& options = {});
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvTransposeOptions& options = {});
Tensor conv_transpose3d(const Tensor& x, const Tensor& w, const ConvTransposeOptions& options = {});
Tensor conv_transpose3d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvTransposeOptions& options = {});

}  // namespace nodal
