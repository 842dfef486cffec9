// The spectral convolution algorithms (fft, fft_tiled, fft_overlap_save, helix): forward, dx and
// dw against naive float64 loops written here, on batch, groups, depthwise, stride, dilation,
// asymmetric padding, non-square kernels, kernels larger than the image, 1-D, 2-D and 3-D; tiled
// results against the untiled one for tile sizes that do and do not divide the image; and the
// transform counts that show the saved spectra are reused.
//
// Tolerance: a transform of F points computed in precision u has a relative error of about
// c·u·log2 F in the 2-norm (Cooley–Tukey error analysis), so a circular convolution of x and w has
// per-output errors ≲ c·u·log2 F·‖x‖₂·‖w‖₂; summed over the channels that meet in one output,
//   |got − exact| ≤ 8 · u · log2 F · Σ ‖a‖₂·‖b‖₂  (a, b the two convolved signals, c = 8 a margin).
// Two-per-transform packing adds the partner sample's rounding (same size), inside the margin. A
// wrong index or a missing term errs by O(|a|·|b|), orders of magnitude above this bound.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "nodal/backends/cpu/conv_algorithm.hpp"
#include "nodal/backends/cpu/conv_spectral.hpp"
#include "nodal/core/error.hpp"
#include "nodal/nodes/conv.hpp"

using namespace nodal;
using cpu::spectral::TileConfig;
using cpu::spectral::TileMethod;

namespace {

struct Case {
  const char* name;
  int rank;
  Shape x, w;
  ConvOptions options;
};

ConvOptions opts(std::vector<std::int64_t> stride, ConvPadding padding, std::vector<std::int64_t> dilation,
                 std::int64_t groups) {
  ConvOptions o;
  o.stride = std::move(stride);
  o.padding = std::move(padding);
  o.dilation = std::move(dilation);
  o.groups = groups;
  return o;
}

std::vector<Case> cases() {
  return {
      {"2-D batch 1 single channel k3 pad 1", 2, {1, 1, 8, 8}, {1, 1, 3, 3}, opts({1}, ConvPadding::all(1), {1}, 1)},
      {"2-D odd batch groups 2 stride 2 asymmetric pad", 2, {3, 4, 9, 7}, {6, 2, 3, 2},
       opts({2}, ConvPadding::per_side({1, 0, 2, 1}), {1}, 2)},
      {"2-D depthwise dilation 2", 2, {2, 4, 10, 10}, {4, 1, 3, 3}, opts({1}, ConvPadding::all(2), {2}, 4)},
      {"2-D stride 3 non-square kernel valid", 2, {3, 2, 11, 13}, {3, 2, 4, 5}, opts({3}, ConvPadding::valid(), {1}, 1)},
      {"2-D kernel larger than the image", 2, {1, 2, 3, 4}, {2, 2, 5, 5}, opts({1}, ConvPadding::all(2), {1}, 1)},
      {"2-D same padding even kernel stride 2x1", 2, {2, 3, 7, 6}, {2, 3, 4, 2}, opts({2, 1}, ConvPadding::same(), {1}, 1)},
      {"1-D stride 2 dilation 2 asymmetric pad", 1, {3, 3, 17}, {2, 3, 4}, opts({2}, ConvPadding::per_side({3, 1}), {2}, 1)},
      {"3-D stride and padding", 3, {2, 2, 5, 6, 4}, {2, 2, 3, 2, 3}, opts({1, 2, 1}, ConvPadding::all(1), {1}, 1)},
  };
}

// y[n, o, p] = Σ_{c, k} x[n, c, p·s + k·d − pad] · w[o, c, k] by loops in float64; dx and dw by
// the same loops with the sums rearranged (every term x·w·dy appears once in each).
struct Reference {
  ConvGeometry g;
  std::vector<double> y, dx, dw;
  Reference(const ConvGeometry& geometry, const std::vector<double>& x, const std::vector<double>& w,
            const std::vector<double>& dy)
      : g(geometry) {
    y.assign(std::size_t(g.batch * g.out_channels * g.out_pixels()), 0.0);
    dx.assign(std::size_t(g.batch * g.in_channels * g.in_pixels()), 0.0);
    dw.assign(std::size_t(g.out_channels * g.in_per_group() * g.kernel_pixels()), 0.0);
    const std::int64_t Cg = g.in_per_group(), Og = g.out_per_group();
    for (std::int64_t n = 0; n < g.batch; ++n)
      for (std::int64_t o = 0; o < g.out_channels; ++o)
        for (std::int64_t cg = 0; cg < Cg; ++cg) {
          const std::int64_t c = (o / Og) * Cg + cg;
          for (std::int64_t p0 = 0; p0 < g.out[0]; ++p0)
            for (std::int64_t p1 = 0; p1 < g.out[1]; ++p1)
              for (std::int64_t p2 = 0; p2 < g.out[2]; ++p2) {
                const std::int64_t yi = ((n * g.out_channels + o) * g.out[0] + p0) * g.out[1] * g.out[2] + p1 * g.out[2] + p2;
                for (std::int64_t k0 = 0; k0 < g.kernel[0]; ++k0)
                  for (std::int64_t k1 = 0; k1 < g.kernel[1]; ++k1)
                    for (std::int64_t k2 = 0; k2 < g.kernel[2]; ++k2) {
                      const std::int64_t i0 = p0 * g.stride[0] + k0 * g.dilation[0] - g.pad_before[0];
                      const std::int64_t i1 = p1 * g.stride[1] + k1 * g.dilation[1] - g.pad_before[1];
                      const std::int64_t i2 = p2 * g.stride[2] + k2 * g.dilation[2] - g.pad_before[2];
                      if (i0 < 0 || i0 >= g.in[0] || i1 < 0 || i1 >= g.in[1] || i2 < 0 || i2 >= g.in[2]) continue;
                      const std::int64_t xi = (((n * g.in_channels + c) * g.in[0] + i0) * g.in[1] + i1) * g.in[2] + i2;
                      const std::int64_t wi = (((o * Cg + cg) * g.kernel[0] + k0) * g.kernel[1] + k1) * g.kernel[2] + k2;
                      y[std::size_t(yi)] += x[std::size_t(xi)] * w[std::size_t(wi)];
                      dx[std::size_t(xi)] += dy[std::size_t(yi)] * w[std::size_t(wi)];
                      dw[std::size_t(wi)] += x[std::size_t(xi)] * dy[std::size_t(yi)];
                    }
              }
        }
  }
};

// Σ over one output's contributing channel pairs of ‖a‖₂·‖b‖₂, maximised over outputs, as
// max‖a-image‖ · max‖b-image‖ · (terms summed).
double max_image_norm(const std::vector<double>& v, std::int64_t pixels) {
  double best = 0;
  for (std::size_t i = 0; i < v.size(); i += std::size_t(pixels)) {
    double s = 0;
    for (std::int64_t j = 0; j < pixels; ++j) s += v[i + std::size_t(j)] * v[i + std::size_t(j)];
    best = std::max(best, std::sqrt(s));
  }
  return best;
}

double fft_bound(double u, const ConvGeometry& g, double norm_a, double norm_b, double terms) {
  double points = 1;
  for (std::size_t i = 0; i < 3; ++i) points *= double(2 * (g.in[i] + g.pad_before[i] + g.pad_after[i]));
  return 8.0 * u * std::log2(points) * norm_a * norm_b * terms;
}

void check_close(const Tensor& got, const std::vector<double>& want, double tol, const char* what) {
  const std::vector<double> g = got.astype(DType::float64).to_vector<double>();
  REQUIRE(g.size() == want.size());
  double worst = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < g.size(); ++i)
    if (std::abs(g[i] - want[i]) > worst) {
      worst = std::abs(g[i] - want[i]);
      at = i;
    }
  INFO(what << ": worst error " << worst << " at " << at << " (got " << g[at] << ", want " << want[at]
            << "), allowed " << tol);
  CHECK(worst <= tol);
}

void run_case(const Case& c, const std::string& algorithm, DType dtype) {
  const ConvGeometry g = ConvGeometry::resolve("conv", c.rank, c.x, c.w, c.options);
  const cpu::ConvAlgorithm* a = cpu::find_conv_algorithm(algorithm);
  REQUIRE(a != nullptr);
  if (!a->supports(g)) return;
  const Tensor x64 = Tensor::randn(c.x, 11, DType::float64);
  const Tensor w64 = Tensor::randn(c.w, 12, DType::float64);
  const Tensor dy64 = Tensor::randn(g.output_shape(), 13, DType::float64);
  const Reference ref(g, x64.to_vector<double>(), w64.to_vector<double>(), dy64.to_vector<double>());
  const Tensor x = x64.astype(dtype), w = w64.astype(dtype), dy = dy64.astype(dtype);
  const double u = dtype == DType::float64 ? 0x1p-53 : 0x1p-24;
  const double nx = max_image_norm(x64.to_vector<double>(), g.in_pixels());
  const double nw = max_image_norm(w64.to_vector<double>(), g.kernel_pixels());
  const double ndy = max_image_norm(dy64.to_vector<double>(), g.out_pixels());
  INFO(c.name << " with " << algorithm << " in " << dtype_name(dtype) << ": " << g.key());
  for (bool keep : {false, true}) {
    Tensor y = Tensor::empty(g.output_shape(), dtype);
    const auto saved = a->forward(g, x, w, y, keep);
    check_close(y, ref.y, fft_bound(u, g, nx, nw, double(g.in_per_group())), "y");
    Tensor dx = Tensor::empty(g.input_shape(), dtype), dw = Tensor::empty(g.weight_shape(), dtype);
    a->backward(g, x, w, dy, &dx, &dw, saved.get());
    check_close(dx, ref.dx, fft_bound(u, g, ndy, nw, double(g.out_per_group())), "dx");
    check_close(dw, ref.dw, fft_bound(u, g, nx, ndy, double(g.batch)), "dw");
    // Each gradient alone (the other not wanted).
    Tensor dx_only = Tensor::empty(g.input_shape(), dtype);
    a->backward(g, x, w, dy, &dx_only, nullptr, saved.get());
    check_close(dx_only, ref.dx, fft_bound(u, g, ndy, nw, double(g.out_per_group())), "dx alone");
    Tensor dw_only = Tensor::empty(g.weight_shape(), dtype);
    a->backward(g, x, w, dy, nullptr, &dw_only, saved.get());
    check_close(dw_only, ref.dw, fft_bound(u, g, nx, ndy, double(g.batch)), "dw alone");
  }
}

}  // namespace

TEST_CASE("spectral algorithms are registered") {
  for (const char* name : {"fft", "fft_tiled", "fft_overlap_save", "helix"})
    CHECK(cpu::find_conv_algorithm(name) != nullptr);
}

TEST_CASE("fft matches the float64 loops: forward dx dw") {
  for (const Case& c : cases())
    for (DType dt : {DType::float64, DType::float32}) run_case(c, "fft", dt);
}

TEST_CASE("fft_tiled matches the float64 loops: forward dx dw") {
  for (const Case& c : cases())
    for (DType dt : {DType::float64, DType::float32}) run_case(c, "fft_tiled", dt);
}

TEST_CASE("fft_overlap_save matches the float64 loops: forward dx dw") {
  for (const Case& c : cases())
    for (DType dt : {DType::float64, DType::float32}) run_case(c, "fft_overlap_save", dt);
}

TEST_CASE("helix matches the float64 loops: forward dx dw") {
  for (const Case& c : cases())
    for (DType dt : {DType::float64, DType::float32}) run_case(c, "helix", dt);
}

TEST_CASE("overlap-add and overlap-save equal the untiled fft for tiles that do and do not divide the image") {
  const ConvOptions o = opts({1}, ConvPadding::all(3), {1}, 1);
  const Shape xs{3, 2, 24, 20}, ws{3, 2, 7, 5};
  const ConvGeometry g = ConvGeometry::resolve("conv2d", 2, xs, ws, o);
  const Tensor x = Tensor::randn(xs, 21, DType::float64), w = Tensor::randn(ws, 22, DType::float64);
  const Tensor dy = Tensor::randn(g.output_shape(), 23, DType::float64);
  Tensor y0 = Tensor::empty(g.output_shape(), DType::float64);
  Tensor dx0 = Tensor::empty(xs, DType::float64), dw0 = Tensor::empty(ws, DType::float64);
  cpu::spectral::conv_forward(g, {}, x, w, y0, false);
  cpu::spectral::conv_backward(g, {}, x, w, dy, &dx0, &dw0, nullptr);
  // 30×26 padded; tiles 6 and 10 divide 30, 4 and 7 do not; 1 is the degenerate smallest.
  for (TileMethod m : {TileMethod::overlap_add, TileMethod::overlap_save})
    for (std::int64_t t : {1, 4, 6, 7, 10, 64}) {
      INFO("method " << int(m) << " tile " << t);
      const TileConfig cfg{m, {1, t, t + 1}};
      Tensor y = Tensor::empty(g.output_shape(), DType::float64);
      const auto saved = cpu::spectral::conv_forward(g, cfg, x, w, y, true);
      check_close(y, y0.to_vector<double>(), 1e-11, "y");
      Tensor dx = Tensor::empty(xs, DType::float64), dw = Tensor::empty(ws, DType::float64);
      cpu::spectral::conv_backward(g, cfg, x, w, dy, &dx, &dw, saved.get());
      check_close(dx, dx0.to_vector<double>(), 1e-11, "dx");
      check_close(dw, dw0.to_vector<double>(), 1e-10, "dw");
    }
}

TEST_CASE("fft_tiled training step transforms each x block and each dy block once") {
  const ConvOptions o = opts({1}, ConvPadding::all(2), {1}, 1);
  const Shape xs{3, 2, 40, 36}, ws{4, 2, 5, 5};
  const ConvGeometry g = ConvGeometry::resolve("conv2d", 2, xs, ws, o);
  const TileConfig cfg{TileMethod::overlap_add, {1, 12, 12}};
  const auto plan = cpu::spectral::make_tile_plan(g, cfg);
  const std::uint64_t tiles = plan.tiles.size(), pairs = 2;
  CHECK(tiles == 4 * 3);  // 40 rows and 36 columns of x data in blocks of 12
  const Tensor x = Tensor::randn(xs, 31, DType::float32), w = Tensor::randn(ws, 32, DType::float32);
  const Tensor dy = Tensor::randn(g.output_shape(), 33, DType::float32);
  Tensor y = Tensor::empty(g.output_shape(), DType::float32);
  Tensor dx = Tensor::empty(xs, DType::float32), dw = Tensor::empty(ws, DType::float32);

  const auto before = cpu::spectral::transform_counts();
  const auto saved = cpu::spectral::conv_forward(g, cfg, x, w, y, true);
  const auto middle = cpu::spectral::transform_counts();
  cpu::spectral::conv_backward(g, cfg, x, w, dy, &dx, &dw, saved.get());
  const auto after = cpu::spectral::transform_counts();
  CHECK(after.x - before.x == tiles * pairs * 2);   // every x block once (pairs × input channels)
  CHECK(after.dy - before.dy == tiles * pairs * 4);  // every dy block once, shared by dx and dw
  CHECK(after.w - before.w == 4);  // the 8 filters once, in the forward, two per transform
  CHECK(after.inverse_y - before.inverse_y == tiles * pairs * 4);
  CHECK(after.inverse_dx - before.inverse_dx == tiles * pairs * 2);
  CHECK(after.inverse_dw - before.inverse_dw == 4);  // two filter gradients per inverse

  // With the saved spectra the backward transforms only dy; without them x and w again.
  CHECK(after.forward() - middle.forward() == tiles * pairs * 4);
  const auto again = cpu::spectral::transform_counts();
  cpu::spectral::conv_backward(g, cfg, x, w, dy, &dx, &dw, nullptr);
  const auto unsaved = cpu::spectral::transform_counts();
  CHECK(unsaved.forward() - again.forward() == tiles * pairs * (4 + 2) + 4);
}

TEST_CASE("saved spectra of another problem are not used") {
  const ConvOptions o = opts({1}, ConvPadding::all(1), {1}, 1);
  const Shape xs{2, 2, 8, 8}, ws{2, 2, 3, 3}, ws_other{2, 2, 3, 2};
  const ConvGeometry g = ConvGeometry::resolve("conv2d", 2, xs, ws, o);
  const ConvGeometry other = ConvGeometry::resolve("conv2d", 2, xs, ws_other, o);
  const Tensor x = Tensor::randn(xs, 41, DType::float64), w = Tensor::randn(ws, 42, DType::float64);
  const Tensor w_other = Tensor::randn(ws_other, 43, DType::float64);
  Tensor y_other = Tensor::empty(other.output_shape(), DType::float64);
  const auto saved_other = cpu::spectral::conv_forward(other, {}, x, w_other, y_other, true);
  const Tensor dy = Tensor::randn(g.output_shape(), 44, DType::float64);
  Tensor dw_ref = Tensor::empty(ws, DType::float64), dw = Tensor::empty(ws, DType::float64);
  cpu::spectral::conv_backward(g, {}, x, w, dy, nullptr, &dw_ref, nullptr);
  cpu::spectral::conv_backward(g, {}, x, w, dy, nullptr, &dw, saved_other.get());
  check_close(dw, dw_ref.to_vector<double>(), 0.0, "dw");
}

TEST_CASE("spectral algorithms reject bad tensors with nodal errors") {
  const ConvGeometry g = ConvGeometry::resolve("conv2d", 2, Shape{1, 1, 6, 6}, Shape{1, 1, 3, 3}, ConvOptions{});
  const Tensor x = Tensor::randn(Shape{1, 1, 6, 6}, 1, DType::float32);
  const Tensor w64 = Tensor::randn(Shape{1, 1, 3, 3}, 2, DType::float64);
  const Tensor w_bad = Tensor::randn(Shape{1, 1, 3, 2}, 2, DType::float32);
  Tensor y = Tensor::empty(g.output_shape(), DType::float32);
  for (const char* name : {"fft", "fft_tiled", "fft_overlap_save", "helix"}) {
    const cpu::ConvAlgorithm* a = cpu::find_conv_algorithm(name);
    REQUIRE(a != nullptr);
    CHECK_THROWS_AS(a->forward(g, x, w64, y, false), DTypeError);
    CHECK_THROWS_AS(a->forward(g, x, w_bad, y, false), ShapeError);
  }
  CHECK_THROWS_AS(cpu::spectral::make_tile_plan(g, TileConfig{TileMethod::overlap_add, {1, 0, 4}}), ValueError);
}

TEST_CASE("spectral algorithms on an empty batch: empty y and a zero dw") {
  const ConvGeometry g = ConvGeometry::resolve("conv2d", 2, Shape{0, 2, 6, 6}, Shape{3, 2, 3, 3}, ConvOptions{});
  const Tensor x = Tensor::zeros(Shape{0, 2, 6, 6}), w = Tensor::randn(Shape{3, 2, 3, 3}, 3);
  for (const char* name : {"fft", "fft_tiled", "fft_overlap_save", "helix"}) {
    const cpu::ConvAlgorithm* a = cpu::find_conv_algorithm(name);
    Tensor y = Tensor::empty(g.output_shape());
    const auto saved = a->forward(g, x, w, y, true);
    CHECK(y.numel() == 0);
    Tensor dx = Tensor::empty(g.input_shape()), dw = Tensor::full(g.weight_shape(), 7.0);
    a->backward(g, x, w, Tensor::empty(g.output_shape()), &dx, &dw, saved.get());
    for (float v : dw.to_vector<float>()) CHECK(v == 0.0f);
  }
}

TEST_CASE("tiled results equal the untiled fft with stride dilation groups and 3-D tiles") {
  struct Problem {
    int rank;
    Shape x, w;
    ConvOptions o;
  };
  const std::vector<Problem> problems = {
      {2, {3, 4, 17, 15}, {6, 2, 4, 3}, opts({2, 3}, ConvPadding::per_side({2, 1, 0, 3}), {2, 1}, 2)},
      {3, {2, 2, 7, 9, 8}, {3, 2, 3, 2, 3}, opts({1, 2, 1}, ConvPadding::per_side({1, 0, 2, 1, 0, 2}), {2, 1, 1}, 1)},
      {1, {1, 3, 40}, {3, 1, 6}, opts({3}, ConvPadding::all(4), {2}, 3)},
  };
  for (const Problem& p : problems) {
    const ConvGeometry g = ConvGeometry::resolve("conv", p.rank, p.x, p.w, p.o);
    INFO(g.key());
    const Tensor x = Tensor::randn(p.x, 51, DType::float64), w = Tensor::randn(p.w, 52, DType::float64);
    const Tensor dy = Tensor::randn(g.output_shape(), 53, DType::float64);
    Tensor y0 = Tensor::empty(g.output_shape(), DType::float64);
    Tensor dx0 = Tensor::empty(p.x, DType::float64), dw0 = Tensor::empty(p.w, DType::float64);
    cpu::spectral::conv_forward(g, {}, x, w, y0, false);
    cpu::spectral::conv_backward(g, {}, x, w, dy, &dx0, &dw0, nullptr);
    for (TileMethod m : {TileMethod::overlap_add, TileMethod::overlap_save})
      for (std::int64_t t : {2, 3, 5}) {
        INFO("method " << int(m) << " tile " << t);
        const TileConfig cfg{m, {t, t + 1, t}};
        for (bool keep : {false, true}) {
          Tensor y = Tensor::empty(g.output_shape(), DType::float64);
          const auto saved = cpu::spectral::conv_forward(g, cfg, x, w, y, keep);
          check_close(y, y0.to_vector<double>(), 1e-11, "y");
          Tensor dx = Tensor::empty(p.x, DType::float64), dw = Tensor::empty(p.w, DType::float64);
          cpu::spectral::conv_backward(g, cfg, x, w, dy, &dx, &dw, saved.get());
          check_close(dx, dx0.to_vector<double>(), 1e-11, "dx");
          check_close(dw, dw0.to_vector<double>(), 1e-10, "dw");
        }
      }
  }
}

TEST_CASE("tiles of one accumulation colour never add into the same points") {
  // Tiles of one colour run in parallel and add into y (overlap-add) or dx (overlap-save) without
  // atomics: their written ranges must be disjoint. Checked for every pair, on tiles smaller than,
  // equal to and larger than the kernel span, 1-D to 3-D.
  struct Problem {
    int rank;
    Shape x, w;
    ConvOptions o;
    std::array<std::int64_t, 3> tile;
  };
  const std::vector<Problem> problems = {
      {2, {1, 1, 30, 26}, {1, 1, 7, 5}, opts({1}, ConvPadding::all(3), {1}, 1), {1, 4, 5}},
      {2, {1, 1, 30, 26}, {1, 1, 7, 5}, opts({2}, ConvPadding::all(3), {2}, 1), {1, 13, 2}},
      {3, {1, 1, 9, 8, 7}, {1, 1, 3, 4, 2}, opts({1}, ConvPadding::all(1), {1}, 1), {2, 3, 5}},
      {1, {1, 1, 50}, {1, 1, 9}, opts({1}, ConvPadding::all(4), {1}, 1), {1, 1, 3}},
  };
  for (const Problem& p : problems) {
    const ConvGeometry g = ConvGeometry::resolve("conv", p.rank, p.x, p.w, p.o);
    for (TileMethod m : {TileMethod::overlap_add, TileMethod::overlap_save}) {
      const auto plan = cpu::spectral::make_tile_plan(g, TileConfig{m, p.tile});
      for (auto writes : {cpu::spectral::TileWrites::y, cpu::spectral::TileWrites::dx}) {
        const bool y = writes == cpu::spectral::TileWrites::y;
        std::size_t same_colour_pairs = 0;
        for (std::size_t a = 0; a < plan.tiles.size(); ++a)
          for (std::size_t b = a + 1; b < plan.tiles.size(); ++b) {
            if (cpu::spectral::tile_colour(g, plan, a, writes) != cpu::spectral::tile_colour(g, plan, b, writes))
              continue;
            ++same_colour_pairs;
            const auto& ta = plan.tiles[a];
            const auto& tb = plan.tiles[b];
            bool disjoint = false;
            for (std::size_t i = 0; i < 3; ++i) {
              const std::int64_t alo = y ? ta.z_lo[i] : ta.x_lo[i], ahi = y ? ta.z_hi[i] : ta.x_hi[i];
              const std::int64_t blo = y ? tb.z_lo[i] : tb.x_lo[i], bhi = y ? tb.z_hi[i] : tb.x_hi[i];
              if (ahi <= blo || bhi <= alo) disjoint = true;
            }
            INFO(g.key() << " method " << int(m) << (y ? " y" : " dx") << " tiles " << a << " and " << b);
            CHECK(disjoint);
          }
        CHECK(same_colour_pairs > 0);  // the check above ran
      }
    }
  }
}

TEST_CASE("tiled problems large enough to run on several threads equal the untiled fft") {
  // Large enough that every step runs in parallel (≥ 2^15 points of work): the threaded paths of
  // transforms, GEMMs and the colour-by-colour inverse-and-add. (A race would show only by chance;
  // the colouring itself is checked exactly by the previous test.)
  const ConvOptions o = opts({1}, ConvPadding::all(3), {1}, 1);
  const Shape xs{6, 4, 64, 60}, ws{8, 4, 7, 5};
  const ConvGeometry g = ConvGeometry::resolve("conv2d", 2, xs, ws, o);
  const Tensor x = Tensor::randn(xs, 61, DType::float64), w = Tensor::randn(ws, 62, DType::float64);
  const Tensor dy = Tensor::randn(g.output_shape(), 63, DType::float64);
  Tensor y0 = Tensor::empty(g.output_shape(), DType::float64);
  Tensor dx0 = Tensor::empty(xs, DType::float64), dw0 = Tensor::empty(ws, DType::float64);
  cpu::spectral::conv_forward(g, {}, x, w, y0, false);
  cpu::spectral::conv_backward(g, {}, x, w, dy, &dx0, &dw0, nullptr);
  for (TileMethod m : {TileMethod::overlap_add, TileMethod::overlap_save}) {
    INFO("method " << int(m));
    const TileConfig cfg{m, {1, 16, 14}};
    Tensor y = Tensor::empty(g.output_shape(), DType::float64);
    const auto saved = cpu::spectral::conv_forward(g, cfg, x, w, y, true);
    check_close(y, y0.to_vector<double>(), 1e-10, "y");
    Tensor dx = Tensor::empty(xs, DType::float64), dw = Tensor::empty(ws, DType::float64);
    cpu::spectral::conv_backward(g, cfg, x, w, dy, &dx, &dw, saved.get());
    check_close(dx, dx0.to_vector<double>(), 1e-10, "dx");
    check_close(dw, dw0.to_vector<double>(), 1e-9, "dw");
  }
}
