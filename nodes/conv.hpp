#pragma once
// Convolution layers as differentiable nodes, in PyTorch's NC(D)HW layout and semantics:
//
//   y[n, o, p] = b[o] + Σ_{c ∈ group(o)} Σ_k  x[n, c, p·s + k·d − pad_before] · w[o, c − c0, k]
//
// a cross-correlation (`flip = true` turns it into a true convolution by reversing the kernel).
//   x [N, Cin, *S], w [Cout, Cin/groups, *K], b [Cout] (optional)  ->  y [N, Cout, *O]
//   O = ⌊(S + pad_before + pad_after − d·(K−1) − 1) / s⌋ + 1
//
// The backward rules are correlations too (docs/convolution.md):
//   dE/dx = dE/dy ⋆ᵀ w   (a transposed convolution: scatter dE/dy through the flipped kernel)
//   dE/dw = x ⋆ dE/dy    (correlate the input with the output cotangent, summed over the batch)
//   dE/db = Σ_{n,p} dE/dy
// so every algorithm (direct, gemm, fft, fft_tiled, helix) computes all three.
//
// conv1d/conv2d/conv3d are one node type each over the same code: a 1-D or 2-D problem is a 3-D
// one whose leading spatial extents are 1 (ConvGeometry).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "nodal/nodes/node_builder.hpp"

namespace nodal {

// Zero padding of a convolution, per side of each spatial axis.
struct ConvPadding {
  enum class Kind { explicit_sides, same, valid };
  Kind kind = Kind::explicit_sides;
  // explicit_sides: one value (every side), one per axis (both sides), or two per axis
  // (before, after for the first axis, then the next: [h_before, h_after, w_before, w_after]).
  std::vector<std::int64_t> sides{0};

  static ConvPadding same() { return {Kind::same, {}}; }    // output extent ⌈S / s⌉ (TensorFlow's rule; PyTorch's for s = 1)
  static ConvPadding valid() { return {Kind::valid, {}}; }  // no padding
  static ConvPadding all(std::int64_t p) { return {Kind::explicit_sides, {p}}; }
  static ConvPadding per_side(std::vector<std::int64_t> sides) { return {Kind::explicit_sides, std::move(sides)}; }

  std::string to_string() const;                           // "same", "valid", "2", "1,2", "1,2,0,3"
  static ConvPadding parse(std::string_view text);         // ValueError on anything else
};

// Everything a convolution's attributes say, with the defaults of PyTorch's Conv2d.
struct ConvOptions {
  std::vector<std::int64_t> stride{1};    // one value for every axis, or one per axis
  ConvPadding padding{};
  std::vector<std::int64_t> dilation{1};  // one value for every axis, or one per axis
  std::int64_t groups = 1;
  bool flip = false;                      // true convolution (kernel reversed on every spatial axis)
  std::string algorithm = "auto";         // auto | measure | direct | gemm | fft | fft_tiled | helix
};

// The resolved shape of one convolution, always as 3 spatial axes (d, h, w): a conv2d has
// in[0] = kernel[0] = out[0] = 1, stride/dilation 1 and no padding on axis 0; a conv1d also on axis 1.
struct ConvGeometry {
  int rank = 2;  // spatial rank the user asked for: 1, 2 or 3
  std::int64_t batch = 1, in_channels = 1, out_channels = 1, groups = 1;
  std::array<std::int64_t, 3> in{1, 1, 1}, kernel{1, 1, 1}, out{1, 1, 1};
  std::array<std::int64_t, 3> stride{1, 1, 1}, dilation{1, 1, 1}, pad_before{0, 0, 0}, pad_after{0, 0, 0};

  std::int64_t in_per_group() const { return in_channels / groups; }
  std::int64_t out_per_group() const { return out_channels / groups; }
  std::int64_t in_pixels() const { return in[0] * in[1] * in[2]; }
  std::int64_t kernel_pixels() const { return kernel[0] * kernel[1] * kernel[2]; }
  std::int64_t out_pixels() const { return out[0] * out[1] * out[2]; }
  // Multiply-adds of the forward pass counted as 2 flops: 2·N·Cout·(Cin/groups)·|O|·|K|.
  double forward_flops() const;
  // Shapes of x, w and y in the user's rank ([N, C, H, W] for rank 2).
  Shape input_shape() const;
  Shape weight_shape() const;
  Shape output_shape() const;
  // A stable text key ("conv2d n64 c1->32 g1 in28x28 k5x5 s1x1 d1x1 p2,2,2,2"), for caches and logs.
  std::string key() const;

  // Resolves options against x and w shapes; ShapeError/ValueError naming `node` and the shapes.
  static ConvGeometry resolve(std::string_view node, int rank, const Shape& x, const Shape& w, const ConvOptions& options);
};

// conv1d / conv2d / conv3d: inputs x, w[, b].
class Conv final : public Node {
 public:
  Conv(int rank, ConvOptions options);
  std::string_view type() const override;
  Attributes attributes() const override;
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;

  int rank() const { return rank_; }
  const ConvOptions& options() const { return options_; }
  ConvGeometry geometry(const Shape& x, const Shape& w) const;

  static ConvOptions options_from(const Attributes& attributes);
  static std::vector<AttrSpec> attribute_schema();

 private:
  int rank_;
  ConvOptions options_;
};

Value conv1d(const Value& x, const Value& w, const ConvOptions& options = {},
             std::source_location where = std::source_location::current());
Value conv1d(const Value& x, const Value& w, const Value& b, const ConvOptions& options = {},
             std::source_location where = std::source_location::current());
Value conv2d(const Value& x, const Value& w, const ConvOptions& options = {},
             std::source_location where = std::source_location::current());
Value conv2d(const Value& x, const Value& w, const Value& b, const ConvOptions& options = {},
             std::source_location where = std::source_location::current());
Value conv3d(const Value& x, const Value& w, const ConvOptions& options = {},
             std::source_location where = std::source_location::current());
Value conv3d(const Value& x, const Value& w, const Value& b, const ConvOptions& options = {},
             std::source_location where = std::source_location::current());
Tensor conv1d(const Tensor& x, const Tensor& w, const ConvOptions& options = {});
Tensor conv1d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvOptions& options = {});
Tensor conv2d(const Tensor& x, const Tensor& w, const ConvOptions& options = {});
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvOptions& options = {});
Tensor conv3d(const Tensor& x, const Tensor& w, const ConvOptions& options = {});
Tensor conv3d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvOptions& options = {});

}  // namespace nodal
