// NdPlan: 2-D / 3-D c2c, r2c, c2r against a nested naive DFT (long double) and against successive
// 1-D transforms; both column methods; power-of-two and other shapes; batched padded layouts.
#include <doctest/doctest.h>

#include <complex>
#include <vector>

#include "fft_naive_dft.hpp"
#include "nodal/core/error.hpp"
#include "nodal/fft/nd_plan.hpp"
#include "nodal/fft/plan.hpp"

using namespace nodal::fft;
using namespace nodal::fft::testing;

namespace {

using Shape = std::vector<std::size_t>;

std::size_t total(const Shape& s) {
  std::size_t t = 1;
  for (auto d : s) t *= d;
  return t;
}

const std::vector<Shape> small_shapes = {{1, 1},  {1, 5},  {5, 1},   {4, 6},    {5, 7},
                                         {8, 8},  {3, 16}, {12, 10}, {2, 3, 7}, {4, 4, 4},
                                         {3, 5, 2}, {1, 6, 1}, {7}};

const ColumnMethod methods[] = {ColumnMethod::strided, ColumnMethod::panel, ColumnMethod::buffered,
                                 ColumnMethod::automatic};

template <class Real>
NdSpec make_spec(const Shape& shape, NdKind kind, Direction direction, ColumnMethod method,
                 Scaling scaling = Scaling::none, std::size_t batch = 1) {
  NdSpec spec;
  spec.shape = shape;
  spec.kind = kind;
  spec.direction = direction;
  spec.column_method = method;
  spec.scaling = scaling;
  spec.batch = batch;
  return spec;
}

template <class Real>
void check_c2c_against_naive(const Shape& shape, Direction direction, ColumnMethod method) {
  const std::size_t n = total(shape);
  const auto x = random_complex<Real>(n, static_cast<unsigned>(n));
  std::vector<std::complex<Real>> y(n);
  NdPlan<Real>(make_spec<Real>(shape, NdKind::c2c, direction, method)).execute(x.data(), y.data());
  const auto ref = naive_dft_nd(to_long_double(x), shape, direction == Direction::inverse);
  INFO("shape ", shape.size(), "-D ", shape[0], "x", shape.back(), " n ", n, " method ",
       static_cast<int>(method));
  CHECK(relative_l2_error(y, ref) < fft_tolerance<Real>(n));
}

// The complex half-spectrum (last axis n/2+1) of the real array x, from the nested naive DFT.
std::vector<ComplexLD> naive_half_spectrum(const std::vector<double>& x, const Shape& shape) {
  const auto full = naive_dft_nd(to_long_double(x), shape);
  const std::size_t last = shape.back(), bins = last / 2 + 1, rows = total(shape) / last;
  std::vector<ComplexLD> half(rows * bins);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t k = 0; k < bins; ++k) half[r * bins + k] = full[r * last + k];
  return half;
}

}  // namespace

TEST_CASE("c2c 1-D/2-D/3-D matches the nested naive DFT, forward and inverse, both column methods") {
  for (const Shape& shape : small_shapes)
    for (ColumnMethod method : methods)
      for (Direction direction : {Direction::forward, Direction::inverse}) {
        check_c2c_against_naive<double>(shape, direction, method);
        check_c2c_against_naive<float>(shape, direction, method);
      }
}

TEST_CASE("fft2 equals rows then columns by separate 1-D plans (128x64, 100x75, 81x48)") {
  for (const Shape& shape : {Shape{128, 64}, Shape{100, 75}, Shape{81, 48}})
    for (ColumnMethod method : methods) {
      const std::size_t rows = shape[0], cols = shape[1];
      const auto x = random_complex<double>(rows * cols, 17);
      // Reference: 1-D transforms of each row, then of each gathered column.
      std::vector<std::complex<double>> ref(x.size()), column(rows), column_out(rows);
      Spec row_spec;
      row_spec.n = cols;
      row_spec.batch = rows;
      Plan<double>(row_spec).execute(x.data(), ref.data());
      Spec col_spec;
      col_spec.n = rows;
      Plan<double> col_plan(col_spec);
      for (std::size_t c = 0; c < cols; ++c) {
        for (std::size_t r = 0; r < rows; ++r) column[r] = ref[r * cols + c];
        col_plan.execute(column.data(), column_out.data());
        for (std::size_t r = 0; r < rows; ++r) ref[r * cols + c] = column_out[r];
      }
      std::vector<std::complex<double>> y(x.size());
      NdPlan<double>(make_spec<double>(shape, NdKind::c2c, Direction::forward, method))
          .execute(x.data(), y.data());
      double diff = 0, norm = 0;
      for (std::size_t i = 0; i < y.size(); ++i) diff += std::norm(y[i] - ref[i]), norm += std::norm(ref[i]);
      INFO("shape ", rows, "x", cols, " method ", static_cast<int>(method));
      // Same double-precision 1-D transforms in a different order: rounding differences only.
      CHECK(std::sqrt(diff / norm) < 1e-14);
    }
}

TEST_CASE("float32 128x64 and 3-D 16x32x24 c2c stay within the float tolerance of the naive DFT") {
  for (const Shape& shape : {Shape{128, 64}, Shape{16, 32, 24}}) {
    const std::size_t n = total(shape);
    const auto x = random_complex<float>(n, 5);
    std::vector<std::complex<float>> y(n), back(n);
    NdPlan<float>(make_spec<float>(shape, NdKind::c2c, Direction::forward, ColumnMethod::automatic))
        .execute(x.data(), y.data());
    // A float64 NdPlan is the reference here (the naive N² DFT would be too slow at N = 12288);
    // its own error (~1e-15) is negligible against float32's ~1e-7.
    std::vector<std::complex<double>> xd(x.begin(), x.end()), yd(n);
    NdPlan<double>(make_spec<double>(shape, NdKind::c2c, Direction::forward, ColumnMethod::strided))
        .execute(xd.data(), yd.data());
    CHECK(relative_l2_error(y, to_long_double(yd)) < fft_tolerance<float>(n));
    NdPlan<float>(make_spec<float>(shape, NdKind::c2c, Direction::inverse, ColumnMethod::panel,
                                   Scaling::by_n))
        .execute(y.data(), back.data());
    CHECK(relative_l2_error(back, to_long_double(x)) < 2 * fft_tolerance<float>(n));
  }
}

TEST_CASE("r2c 2-D/3-D matches the naive DFT's half spectrum - c2r inverts it") {
  for (const Shape& shape : {Shape{6, 8}, Shape{5, 7}, Shape{4, 9}, Shape{1, 10}, Shape{9, 1},
                             Shape{3, 4, 6}, Shape{2, 5, 5}, Shape{16}})
    for (ColumnMethod method : methods) {
      const std::size_t n = total(shape);
      const auto x = random_reals<double>(n, 23);
      NdPlan<double> forward(make_spec<double>(shape, NdKind::r2c, Direction::forward, method));
      std::vector<std::complex<double>> y(forward.output_size());
      forward.execute(x.data(), y.data());
      INFO("shape ", shape[0], "x", shape.back(), " dims ", shape.size(), " method ",
           static_cast<int>(method));
      CHECK(relative_l2_error(y, naive_half_spectrum(x, shape)) < fft_tolerance<double>(n));
      const auto y_copy = y;
      std::vector<double> back(n);
      NdPlan<double>(make_spec<double>(shape, NdKind::c2r, Direction::inverse, method, Scaling::by_n))
          .execute(y.data(), back.data());
      CHECK(relative_l2_error(back, to_long_double(x)) < fft_tolerance<double>(n));
      CHECK(y == y_copy);  // c2r preserves its input
    }
}

TEST_CASE("r2c/c2r 2-D round trip in float on 256x256 and 100x75, ortho scaling") {
  for (const Shape& shape : {Shape{256, 256}, Shape{100, 75}}) {
    const std::size_t n = total(shape);
    const auto x = random_reals<float>(n, 8);
    NdPlan<float> forward(make_spec<float>(shape, NdKind::r2c, Direction::forward,
                                           ColumnMethod::automatic, Scaling::ortho));
    std::vector<std::complex<float>> y(forward.output_size());
    forward.execute(x.data(), y.data());
    // Ortho scaling preserves the energy: Σ|x|² = Σ|X|² over the full spectrum, where every bin
    // except the self-conjugate last-axis bins 0 and d/2 appears twice in the half spectrum.
    const std::size_t last = shape.back(), bins = last / 2 + 1;
    long double energy_x = 0, energy_y = 0;
    for (float v : x) energy_x += static_cast<long double>(v) * v;
    for (std::size_t i = 0; i < y.size(); ++i) {
      const std::size_t k = i % bins;
      const bool single = k == 0 || (last % 2 == 0 && k == last / 2);
      energy_y += (single ? 1 : 2) * static_cast<long double>(std::norm(y[i]));
    }
    CHECK(std::abs(energy_y / energy_x - 1) < 1e-5L);
    std::vector<float> back(n);
    NdPlan<float>(make_spec<float>(shape, NdKind::c2r, Direction::inverse, ColumnMethod::automatic,
                                   Scaling::ortho))
        .execute(y.data(), back.data());
    CHECK(relative_l2_error(back, to_long_double(x)) < 2 * fft_tolerance<float>(n));
  }
}

TEST_CASE("batched samples with padded distances: gaps untouched, each sample transformed") {
  const Shape shape{6, 10};
  const std::size_t n = total(shape), batch = 3;
  for (NdKind kind : {NdKind::c2c, NdKind::r2c})
    for (ColumnMethod method : {ColumnMethod::strided, ColumnMethod::panel, ColumnMethod::buffered}) {
      NdSpec spec = make_spec<double>(shape, kind, Direction::forward, method, Scaling::none, batch);
      const std::size_t out_size = kind == NdKind::c2c ? n : 6 * 6;
      spec.in_distance = static_cast<std::ptrdiff_t>(n + 7);
      spec.out_distance = static_cast<std::ptrdiff_t>(out_size + 5);
      const std::complex<double> sentinel(-3, 3);
      std::vector<std::complex<double>> y(batch * (out_size + 5), sentinel);
      const auto dense = random_complex<double>(n * batch, 31);
      NdPlan<double> plan(spec);
      std::vector<std::complex<double>> expected_single(out_size);
      if (kind == NdKind::c2c) {
        std::vector<std::complex<double>> x(batch * (n + 7), sentinel);
        for (std::size_t b = 0; b < batch; ++b)
          std::copy(dense.begin() + b * n, dense.begin() + (b + 1) * n, x.begin() + b * (n + 7));
        plan.execute(x.data(), y.data());
      } else {
        std::vector<double> x(batch * (n + 7), 1e300);
        for (std::size_t b = 0; b < batch; ++b)
          for (std::size_t i = 0; i < n; ++i) x[b * (n + 7) + i] = dense[b * n + i].real();
        plan.execute(x.data(), y.data());
      }
      for (std::size_t b = 0; b < batch; ++b) {
        std::vector<double> re(n);
        std::vector<std::complex<double>> sample(out_size);
        std::copy(y.begin() + b * (out_size + 5), y.begin() + b * (out_size + 5) + out_size, sample.begin());
        std::vector<ComplexLD> ref;
        if (kind == NdKind::c2c) {
          ref = naive_dft_nd(to_long_double(std::vector<std::complex<double>>(
                                 dense.begin() + b * n, dense.begin() + (b + 1) * n)),
                             shape);
        } else {
          for (std::size_t i = 0; i < n; ++i) re[i] = dense[b * n + i].real();
          ref = naive_half_spectrum(re, shape);
        }
        INFO("kind ", static_cast<int>(kind), " method ", static_cast<int>(method), " sample ", b);
        CHECK(relative_l2_error(sample, ref) < fft_tolerance<double>(n));
        for (std::size_t g = 0; g < 5; ++g) CHECK(y[b * (out_size + 5) + out_size + g] == sentinel);
      }
    }
}

TEST_CASE("NdPlan rejects bad specs and calls of the wrong kind") {
  NdSpec spec;
  CHECK_THROWS_AS(NdPlan<float>{spec}, nodal::ValueError);  // no axes
  spec.shape = {2, 3, 4, 5};
  CHECK_THROWS_AS(NdPlan<float>{spec}, nodal::ValueError);  // 4 axes
  spec.shape = {4, 0};
  CHECK_THROWS_AS(NdPlan<float>{spec}, nodal::ValueError);
  spec.shape = {4, 4};
  spec.batch = 2;
  spec.in_distance = 10;  // < 16: samples would overlap
  CHECK_THROWS_AS(NdPlan<float>{spec}, nodal::ValueError);
  spec.in_distance = 0;
  spec.kind = NdKind::c2r;  // c2r must be inverse
  CHECK_THROWS_AS(NdPlan<float>{spec}, nodal::ValueError);
  spec.direction = Direction::inverse;
  NdPlan<float> c2r(spec);
  std::vector<std::complex<float>> c(2 * 12);
  std::vector<float> r(2 * 16);
  CHECK_THROWS_AS(c2r.execute(c.data(), c.data()), nodal::ValueError);
  CHECK_THROWS_AS(c2r.execute(r.data(), c.data()), nodal::ValueError);
  CHECK_NOTHROW(c2r.execute(c.data(), r.data()));
  CHECK(c2r.describe().find("c2r") != std::string::npos);
}
