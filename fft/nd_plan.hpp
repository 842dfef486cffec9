#pragma once
// Multi-dimensional transforms (1-D to 3-D; c2c, r2c, c2r) by the row–column method: the DFT over
// shape (d_0, …, d_{k−1}) is separable, F = F_{d_0} ⊗ … ⊗ F_{d_{k−1}}, so it is a 1-D transform along
// each axis in turn. The last axis is contiguous (batched rows). Any other axis a is the column axis
// of an L×inner row-major matrix (L = d_a, inner = Π_{b>a} d_b), done by one of:
//   strided — a batched 1-D plan with stride `inner` and distance 1 (good while the L×inner block
//             sits in cache);
//   panel   — copy a panel of w columns into contiguous scratch with a tiled transpose, transform w
//             contiguous rows, transpose back (good for large blocks: long-stride accesses happen
//             only inside cache-sized tiles);
//   buffered — copy the same L×w panel row by row (no transpose) into a compact scratch block and
//             run the strided plan there (stride w), where the whole panel sits in L2.
// Planning::estimate picks panel for blocks above 32 KiB, Planning::measure times all three.
// Cost: one 1-D transform per axis per line, Σ_a N·log d_a = N log N, plus 2 transposes per panel axis.
//
// r2c: the last axis goes through RealPlan (d/2+1 complex outputs), then the c2c column passes run
// on the complex array of shape (d_0, …, d_{k−1}/2+1). c2r runs the column passes first (from the
// input into per-thread scratch, so the input is preserved), then RealPlan c2r along the last axis.
//
// Layout: each sample is row-major and contiguous; samples are `in_distance`/`out_distance`
// elements apart (elements of the input/output type; 0 = the sample size). Scaling applies with
// N = Π d_a (by_n, ortho); Direction must be forward for r2c and inverse for c2r.
#include <complex>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "nodal/fft/plan.hpp"
#include "nodal/fft/real_plan.hpp"

namespace nodal::fft {

enum class NdKind { c2c, r2c, c2r };
enum class ColumnMethod { automatic, strided, panel, buffered };

struct NdSpec {
  std::vector<std::size_t> shape;  // 1 to 3 lengths; for r2c/c2r the shape of the real array
  std::size_t batch = 1;
  std::ptrdiff_t in_distance = 0, out_distance = 0;
  NdKind kind = NdKind::c2c;
  Direction direction = Direction::forward;
  Scaling scaling = Scaling::none;
  Planning planning = Planning::estimate;
  ColumnMethod column_method = ColumnMethod::automatic;  // forces the column passes (tests, bench)
};

template <class Real>  // float or double
class NdPlan {
 public:
  using Complex = std::complex<Real>;
  explicit NdPlan(const NdSpec& spec);  // throws nodal::ValueError on bad specs
  // Thread-safe; allocation-free in steady state. Each overload throws ValueError for the wrong kind.
  void execute(const Complex* in, Complex* out) const;  // c2c; in == out allowed
  void execute(const Real* in, Complex* out) const;     // r2c; out of place
  void execute(const Complex* in, Real* out) const;     // c2r; input preserved
  std::string describe() const;
  const NdSpec& spec() const { return spec_; }
  // Elements of one sample: input and output (complex shape for the complex side of r2c/c2r).
  std::size_t input_size() const { return in_size_; }
  std::size_t output_size() const { return out_size_; }

  // One column pass: the L×inner matrices, `outer` of them per sample.
  struct AxisPass {
    std::size_t axis = 0, length = 1, inner = 1, outer = 1;
    ColumnMethod method = ColumnMethod::strided;
    std::size_t panel_width = 0;
    std::shared_ptr<const Plan<Real>> strided, panel, panel_rest;
  };

 private:
  AxisPass make_pass(std::size_t axis, const std::vector<std::size_t>& complex_shape,
                     ColumnMethod method) const;
  void run_pass(const AxisPass& pass, const Complex* src, Complex* dst) const;
  double time_pass(const AxisPass& pass) const;

  NdSpec spec_;
  std::size_t in_size_ = 0, out_size_ = 0, complex_size_ = 0;
  std::ptrdiff_t in_distance_ = 0, out_distance_ = 0;
  std::shared_ptr<const Plan<Real>> rows_;  // c2c: the last axis, contiguous rows
  std::shared_ptr<const RealPlan<Real>> real_rows_;  // r2c / c2r: the last axis
  std::vector<AxisPass> passes_;  // the other axes, in execution order
};

extern template class NdPlan<float>;
extern template class NdPlan<double>;

}  // namespace nodal::fft
