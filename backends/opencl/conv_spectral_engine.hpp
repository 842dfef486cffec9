#pragma once
// The building blocks of the OpenCL spectral convolution (conv_spectral.cpp puts them together):
// boxes of the transform size, packed from dense tensors, transformed with the device FFT
// (fft_plan.hpp), multiplied per frequency (kernels/spectral_conv.cl: spectral_mac), transformed
// back and cropped into dense tensors. The math and the tile geometry are the CPU engine's
// (backends/cpu/conv_spectral.hpp, docs/convolution.md).
//
// Real boxes are [rows, L0, L1, L2]; spectra are the half spectra along the last axis, complex
// [rows, L0, L1, H2] with H2 = L2/2 + 1, i.e. F = L0·L1·H2 values per row (real-to-complex rows,
// then complex columns: the 2-D (3-D) real transform "rows then columns").
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "nodal/backends/opencl/context.hpp"
#include "nodal/core/tensor.hpp"

namespace nodal::opencl::spectral {

using Dims = std::array<std::int64_t, 3>;

struct Box {
  Dims L{1, 1, 1};
  std::int64_t half() const { return L[2] / 2 + 1; }
  std::int64_t frequencies() const { return L[0] * L[1] * half(); }  // F
  std::int64_t points() const { return L[0] * L[1] * L[2]; }
};

// One tile as the kernels see it (15 ints, layout in kernels/spectral_conv.cl): the local origin,
// the global range [lo, hi) a pass reads or writes, and the dense index range [jlo, jhi) a crop writes.
struct TileRecord {
  Dims origin{0, 0, 0}, lo{0, 0, 0}, hi{1, 1, 1}, jlo{0, 0, 0}, jhi{1, 1, 1};
};

// Tile records on the device for one pass (each distinct table uploaded once per context and
// cached; this object holds its buffer for the launches that read it).
class TileTable {
 public:
  TileTable(Context& context, const std::vector<TileRecord>& records);
  cl_mem mem() const;
  std::size_t size() const { return records_.size(); }
  const std::vector<TileRecord>& records() const { return records_; }

 private:
  std::shared_ptr<Buffer> buffer_;
  std::vector<TileRecord> records_;
};

// An int list on the device (the tiles of one colour class), uploaded once per distinct content.
std::shared_ptr<Buffer> upload_ints(Context& context, const std::vector<int>& values);

// How dense indices j map to global padded coordinates on each axis: g = j·step + off (flip:
// the dense index is S − 1 − j).
struct GridMap {
  Dims off{0, 0, 0}, step{1, 1, 1};
  bool flip = false;
};

// The rows [lo, hi) on axis 1 of every box that hold data (forward) or are read (inverse): the row
// transforms skip the others (the CPU engine does the same). hi < 0: all L1 rows.
struct Rows {
  std::int64_t lo = 0, hi = -1;
  std::int64_t begin() const { return lo; }
  std::int64_t end(const Box& box) const { return hi < 0 ? box.L[1] : hi; }
};

// How many values along a row one work-item of pack and crop handles: automatic (one on GPUs,
// a whole row on CPU devices) or forced, so that tests run both layouts on any device.
enum class ValueRuns { automatic = 0, single = 1, whole_rows = 2 };
void set_value_runs(ValueRuns runs);

// `rows` when the row transform of this box can skip rows (a local plan), else all rows.
Rows usable_rows(Context& context, const Box& box, DType real, Rows rows);

// Real boxes [tiles, planes, L0, L1, L2] of dense src [planes, S0, S1, S2] (contiguous): box point
// l of tile t holds src at the global g = t's lo + ((origin + l − lo) mod L) if g ∈ [lo, hi) lies
// on the grid map, else 0. Only the rows in `rows` are written.
Tensor pack(Context& context, const Box& box, const Tensor& src, std::int64_t planes, const Dims& src_dims,
            const GridMap& map, const TileTable& tiles, Rows rows = {});

// The spectra [rows, F] of real boxes [rows, L0, L1, L2] (consumed) whose rows outside `rows` are zero.
Tensor forward_transform(Context& context, const Box& box, Tensor real_boxes, Rows rows = {});
// Real boxes [rows, L0, L1, L2] from spectra [rows, F] (the spectra are overwritten), scaled by 1/P;
// only the rows in `rows` are computed (the others are left undefined).
Tensor inverse_transform(Context& context, const Box& box, Tensor spectra, Rows rows = {});

// One operand of spectral_mac: a tensor of spectra, the first spectrum used, and the strides
// (in spectra) of its group, row and reduction indices.
struct MacOperand {
  const Tensor* spectra = nullptr;
  std::int64_t first = 0;
  std::int64_t s_group = 0, s_row = 0, s_k = 0;
  bool conj = false;
};
// out[g, i, j] (+)= Σ_k A[g, i, k] · B[g, j, k] per frequency (conj as flagged); out's s_k is
// its j stride.
void mac(Context& context, const Box& box, const MacOperand& a, const MacOperand& b, const MacOperand& out,
         std::int64_t groups, std::int64_t rows_i, std::int64_t rows_j, std::int64_t k, bool accumulate);

// dst [planes, D0, D1, D2] (contiguous) (+)= the boxes of the tiles listed in `ids` (indices into
// `tiles` and into the boxes' tile axis), over each tile's dense range [jlo, jhi), reading 0 where
// the global coordinate leaves [lo, hi), plus bias[plane % channels] (bias may be undefined).
// The listed tiles' ranges must be disjoint.
void crop(Context& context, const Box& box, const Tensor& boxes, std::int64_t planes, Tensor& dst,
          const Dims& dst_dims, const GridMap& map, const TileTable& tiles, const std::vector<int>& ids,
          const Tensor& bias, std::int64_t channels, bool accumulate);

}  // namespace nodal::opencl::spectral
