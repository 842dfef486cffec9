// The passes of the OpenCL spectral convolution (conv_spectral_passes.hpp): tile records for the
// kernels, the rows that hold data, spectra, products and crops.
//
// Records. Each pass describes every tile to the kernels by its origin, the global range it reads
// or writes and, for crops, the dense index range: x (pack x, crop x̄) uses the tile's x range on
// the padded grid (j = g − pad); z (pack ȳ, crop y) the stride-1 output grid range (j = g / s).
// "fft" writes every dx element (0 where no x is read); tiles write only their own block.
#include "nodal/backends/opencl/conv_spectral_passes.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "nodal/backends/opencl/conv_direct.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/backends/opencl/reduce_ops.hpp"
#include "nodal/core/log.hpp"

namespace nodal::opencl::spectral {

namespace cs = cpu::spectral;

namespace {

Dims dims(const std::array<std::int64_t, 3>& a) { return {a[0], a[1], a[2]}; }

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; }

// Records of tiles [first, first + count) for the pass reading/writing x (pack x, crop dx) or the
// stride-1 grid z (pack dy, crop y).
enum class Range { x, z };
std::vector<TileRecord> records(const Problem& p, std::size_t first, std::size_t count, Range range) {
  std::vector<TileRecord> out;
  for (std::size_t t = first; t < first + count; ++t) {
    const cs::Tile& tile = p.plan.tiles[t];
    TileRecord r;
    for (std::size_t a = 0; a < 3; ++a) {
      r.origin[a] = tile.origin[a];
      if (range == Range::x) {
        r.lo[a] = tile.x_lo[a];
        r.hi[a] = tile.x_hi[a];
        // "fft" writes all of dx (0 where no x is read); tiles write their own blocks
        r.jlo[a] = p.method == Method::whole ? 0 : tile.x_lo[a] - p.g.pad_before[a];
        r.jhi[a] = p.method == Method::whole ? p.g.in[a] : tile.x_hi[a] - p.g.pad_before[a];
      } else {
        r.lo[a] = tile.z_lo[a];
        r.hi[a] = tile.z_hi[a];
        r.jlo[a] = ceil_div(tile.z_lo[a], p.g.stride[a]);
        r.jhi[a] = std::min(ceil_div(tile.z_hi[a], p.g.stride[a]), p.g.out[a]);
      }
    }
    out.push_back(r);
  }
  return out;
}

// The filter as one "tile" at the origin: taps at k·d.
TileRecord filter_record(const Problem& p) {
  TileRecord r;
  r.hi = p.span;
  r.jhi = dims(p.g.kernel);
  return r;
}

// The local rows (axis 1) that hold the records' data: the union of [lo − origin, hi − origin)
// when no range wraps around the box, else all rows.
Rows rows_of(Context& context, const Problem& p, const std::vector<TileRecord>& rs) {
  Rows rows{p.box.L[1], 0};
  for (const TileRecord& r : rs) {
    const std::int64_t lo = r.lo[1] - r.origin[1], hi = r.hi[1] - r.origin[1];
    if (lo < 0 || hi > p.box.L[1]) return {};
    rows.lo = std::min(rows.lo, lo);
    rows.hi = std::max(rows.hi, hi);
  }
  if (rows.hi <= rows.lo) return {};
  return usable_rows(context, p.box, p.dtype, rows);
}

GridMap x_map(const Problem& p) { return {dims(p.g.pad_before), {1, 1, 1}, false}; }
GridMap z_map(const Problem& p) { return {{0, 0, 0}, dims(p.g.stride), false}; }
GridMap w_map(const Problem& p) { return {{0, 0, 0}, dims(p.g.dilation), p.flip}; }

}  // namespace

Problem problem_of(const Conv& node, const Tensor& x, const Tensor& w, Method method, const Dims& forced_tile) {
  Problem p;
  p.g = node.geometry(x.shape(), w.shape());
  p.flip = node.options().flip;
  p.dtype = x.dtype();
  p.method = method;
  p.node = std::string(node.type());
  cs::TileConfig config;
  if (method == Method::tiled) {
    config = cs::choose_tiles(p.g, p.dtype, cs::TileMethod::overlap_add);
    for (std::size_t a = 0; a < 3; ++a)
      if (forced_tile[a] > 0) config.tile[a] = forced_tile[a];
  }
  p.plan = cs::make_tile_plan(p.g, config);
  for (std::size_t a = 0; a < 3; ++a) {
    p.box.L[a] = p.plan.length[a];
    p.span[a] = p.g.dilation[a] * (p.g.kernel[a] - 1) + 1;
    p.z[a] = (p.g.out[a] - 1) * p.g.stride[a] + 1;
  }
  if (log_enabled(LogLevel::debug))
    log_debug("{} {} (opencl): {}: {} tile(s) of {}x{}x{}, transform {}x{}x{}", p.g.key(), dtype_name(p.dtype),
              method == Method::whole ? "fft" : "fft_tiled", p.plan.tiles.size(), p.plan.step[0], p.plan.step[1],
              p.plan.step[2], p.box.L[0], p.box.L[1], p.box.L[2]);
  return p;
}

// Ŵ [Cout·Cin_g, F] of w [Cout, Cin_g, *K].
Tensor filter_spectra(Context& context, const Problem& p, const Tensor& w) {
  const TileTable table(context, {filter_record(p)});
  const Rows rows = rows_of(context, p, table.records());
  return forward_transform(
      context, p.box,
      pack(context, p.box, w, p.g.out_channels * p.g.in_per_group(), dims(p.g.kernel), w_map(p), table, rows),
      rows);
}

// X̂ [tiles·N·Cin, F] of x for tiles [first, first + count).
Tensor input_spectra(Context& context, const Problem& p, const Tensor& x, std::size_t first, std::size_t count) {
  const TileTable table(context, records(p, first, count, Range::x));
  const Rows rows = rows_of(context, p, table.records());
  return forward_transform(
      context, p.box, pack(context, p.box, x, p.g.batch * p.g.in_channels, dims(p.g.in), x_map(p), table, rows),
      rows);
}

// DŶ [tiles·N·Cout, F] of dy scattered onto the stride-1 grid z.
Tensor output_spectra(Context& context, const Problem& p, const Tensor& dy, std::size_t first, std::size_t count) {
  const TileTable table(context, records(p, first, count, Range::z));
  const Rows rows = rows_of(context, p, table.records());
  return forward_transform(
      context, p.box,
      pack(context, p.box, dy, p.g.batch * p.g.out_channels, dims(p.g.out), z_map(p), table, rows), rows);
}

// Ŷ (+)= X̂ · Ŵᴴ:  i = (tile, n), j = o within the group, k = c within the group.
void mac_forward(Context& context, const Problem& p, const Tensor& X, std::int64_t x_first, const Tensor& W,
                 Tensor& Y, std::int64_t tiles, bool accumulate) {
  const ConvGeometry& g = p.g;
  const std::int64_t cg = g.in_per_group(), og = g.out_per_group();
  mac(context, p.box, {&X, x_first, cg, g.in_channels, 1, false}, {&W, 0, og * cg, cg, 1, true},
      {&Y, 0, og, g.out_channels, 1, false}, g.groups, tiles * g.batch, og, cg, accumulate);
}

// DX̂ = DŶ · Ŵ:  i = (tile, n), j = c within the group, k = o within the group.
void mac_dx(Context& context, const Problem& p, const Tensor& DY, const Tensor& W, Tensor& DX, std::int64_t tiles) {
  const ConvGeometry& g = p.g;
  const std::int64_t cg = g.in_per_group(), og = g.out_per_group();
  mac(context, p.box, {&DY, 0, og, g.out_channels, 1, false}, {&W, 0, og * cg, 1, cg, false},
      {&DX, 0, cg, g.in_channels, 1, false}, g.groups, tiles * g.batch, cg, og, false);
}

// DŴ (+)= Σ_{(tile, n)} X̂ · conj DŶ:  i = c within the group, j = o within the group.
void mac_dw(Context& context, const Problem& p, const Tensor& X, std::int64_t x_first, const Tensor& DY,
            Tensor& DW, std::int64_t tiles, bool accumulate) {
  const ConvGeometry& g = p.g;
  const std::int64_t cg = g.in_per_group(), og = g.out_per_group();
  mac(context, p.box, {&X, x_first, cg, 1, g.in_channels, false}, {&DY, 0, og, 1, g.out_channels, true},
      {&DW, 0, og * cg, 1, cg, false}, g.groups, cg, og, tiles * g.batch, accumulate);
}

Tensor spectra_of(Context& context, const Problem& p, std::int64_t rows) {
  return device_empty(context, Shape{rows, p.box.frequencies()}, complex_dtype(p.dtype));
}

// Tiles per chunk: all of them when the forward keeps X̂, else as many as fit chunk_budget.
std::size_t chunk_size(const Problem& p, bool keep_all, double budget) {
  const std::size_t tiles = p.plan.tiles.size();
  if (keep_all || p.method == Method::whole) return std::max<std::size_t>(tiles, 1);
  const double complex_bytes = 2.0 * double(dtype_size(p.dtype));
  const double per_tile = double(p.g.batch) * (complex_bytes * double(p.box.frequencies()) *
                                                   double(p.g.in_channels + p.g.out_channels) +
                                               double(dtype_size(p.dtype)) * double(p.box.points()) *
                                                   double(std::max(p.g.in_channels, p.g.out_channels)));
  return std::clamp<std::size_t>(std::size_t(budget / std::max(per_tile, 1.0)), 1, std::max<std::size_t>(tiles, 1));
}

// y (+)= the real boxes of tiles [first, first + count) cropped onto the output grid. "fft" writes
// y (with the bias) in one launch; "fft_tiled" accumulates one colour class per launch into a y
// that already holds the bias.
std::size_t crop_outputs(Context& context, const Problem& p, Tensor spectra, std::size_t first, std::size_t count,
                         Tensor& y, const Tensor& bias) {
  const TileTable table(context, records(p, first, count, Range::z));
  const Tensor boxes = inverse_transform(context, p.box, std::move(spectra), rows_of(context, p, table.records()));
  const std::int64_t planes = p.g.batch * p.g.out_channels;
  if (p.method == Method::whole) {
    crop(context, p.box, boxes, planes, y, dims(p.g.out), z_map(p), table, {0}, bias, p.g.out_channels, false);
    return 0;
  }
  std::map<std::size_t, std::vector<int>> classes;
  for (std::size_t t = 0; t < count; ++t)
    classes[cs::tile_colour(p.g, p.plan, first + t, cs::TileWrites::y)].push_back(int(t));
  for (const auto& [colour, ids] : classes)
    crop(context, p.box, boxes, planes, y, dims(p.g.out), z_map(p), table, ids, Tensor(), 1, true);
  return classes.size();
}

void crop_input_gradient(Context& context, const Problem& p, Tensor spectra, std::size_t first, std::size_t count,
                         Tensor& dx) {
  const TileTable table(context, records(p, first, count, Range::x));
  std::vector<int> ids(count);
  for (std::size_t t = 0; t < count; ++t) ids[t] = int(t);  // the blocks' dx ranges are disjoint
  const Tensor boxes = inverse_transform(context, p.box, std::move(spectra), rows_of(context, p, table.records()));
  crop(context, p.box, boxes, p.g.batch * p.g.in_channels, dx, dims(p.g.in), x_map(p), table, ids, Tensor(), 1, false);
}

Tensor crop_filter_gradient(Context& context, const Problem& p, Tensor spectra, const Shape& w_shape) {
  Tensor dw = device_empty(context, w_shape, p.dtype);
  const TileTable table(context, {filter_record(p)});
  const Tensor boxes = inverse_transform(context, p.box, std::move(spectra), rows_of(context, p, table.records()));
  crop(context, p.box, boxes, p.g.out_channels * p.g.in_per_group(), dw, dims(p.g.kernel), w_map(p), table, {0},
       Tensor(), 1, false);
  return dw;
}

// y's starting value for the overlap-add accumulation: the bias broadcast, or zeros.
Tensor initial_output(Context& context, const Problem& p, const Tensor& bias) {
  const Shape shape = p.g.output_shape();
  if (!bias.defined()) return device_zeros(context, shape, p.dtype);
  Shape view(std::vector<std::int64_t>(std::size_t(shape.rank()), 1));
  view[1] = shape[1];
  return scaled_copy(context, bias.reshape(view), shape, 1.0);
}

}  // namespace nodal::opencl::spectral
