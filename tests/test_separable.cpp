// Separable convolution and SVD factoring: factors of known separable filters (Sobel, random
// outer products), singular values and truncation errors against closed forms (diagonal and
// 2×2 matrices), separable_conv2d against a naive depthwise 2-D loop with the outer-product
// filter, a rank-r sum of passes against the naive conv with the rank-r filter, gradcheck.
#include <doctest/doctest.h>

#include <cmath>

#include "nodal/core/gradcheck.hpp"
#include "nodal/nodes/separable_conv.hpp"

using namespace nodal;

namespace {

struct Geo {
  std::int64_t sh = 1, sw = 1, pt = 0, pb = 0, pl = 0, pr = 0, dh = 1, dw = 1;
  bool flip = false;
  SeparableConvOptions options() const {
    return {.stride = {sh, sw}, .padding = ConvPadding::per_side({pt, pb, pl, pr}), .dilation = {dh, dw}, .flip = flip};
  }
};

// Depthwise y[n, c, i, j] = Σ_{a, b} x[n, c, i·sh − pt + a·dh, j·sw − pl + b·dw] · w[c, a, b] (zero
// outside), w [C, kH, kW]; flip reverses the kernel on both axes.
std::vector<double> naive_depthwise(const Tensor& x, const std::vector<double>& w, std::int64_t kh, std::int64_t kw,
                                    const Geo& g, std::int64_t& oh, std::int64_t& ow) {
  const std::int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  oh = (H + g.pt + g.pb - g.dh * (kh - 1) - 1) / g.sh + 1;
  ow = (W + g.pl + g.pr - g.dw * (kw - 1) - 1) / g.sw + 1;
  const std::vector<double> xv = x.to_vector<double>();
  std::vector<double> y;
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t i = 0; i < oh; ++i)
        for (std::int64_t j = 0; j < ow; ++j) {
          double s = 0;
          for (std::int64_t a = 0; a < kh; ++a)
            for (std::int64_t b = 0; b < kw; ++b) {
              const std::int64_t h = i * g.sh - g.pt + a * g.dh, v = j * g.sw - g.pl + b * g.dw;
              if (h < 0 || h >= H || v < 0 || v >= W) continue;
              const std::int64_t wa = g.flip ? kh - 1 - a : a, wb = g.flip ? kw - 1 - b : b;
              s += xv[std::size_t(((n * C + c) * H + h) * W + v)] * w[std::size_t((c * kh + wa) * kw + wb)];
            }
          y.push_back(s);
        }
  return y;
}

// w[c, a, b] = col[c, a] · row[c, b]
std::vector<double> outer_bank(const Tensor& col, const Tensor& row) {
  const std::int64_t C = col.dim(0), kh = col.dim(1), kw = row.dim(1);
  const std::vector<double> cv = col.to_vector<double>(), rv = row.to_vector<double>();
  std::vector<double> w;
  for (std::int64_t c = 0; c < C; ++c)
    for (std::int64_t a = 0; a < kh; ++a)
      for (std::int64_t b = 0; b < kw; ++b) w.push_back(cv[std::size_t(c * kh + a)] * rv[std::size_t(c * kw + b)]);
  return w;
}

// Σ_i columns[f, i] ⊗ rows[f, i] for every filter f: the reconstruction W_r.
std::vector<double> reconstruct(const SeparableFactors& f, std::int64_t filters, int rank, std::int64_t kh, std::int64_t kw) {
  const std::vector<double> cv = f.columns.to_vector<double>(), rv = f.rows.to_vector<double>();
  std::vector<double> w(std::size_t(filters * kh * kw), 0.0);
  for (std::int64_t q = 0; q < filters; ++q)
    for (int i = 0; i < rank; ++i)
      for (std::int64_t a = 0; a < kh; ++a)
        for (std::int64_t b = 0; b < kw; ++b)
          w[std::size_t((q * kh + a) * kw + b)] +=
              cv[std::size_t((q * rank + i) * kh + a)] * rv[std::size_t((q * rank + i) * kw + b)];
  return w;
}

double frobenius(const std::vector<double>& a, const std::vector<double>& b = {}) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = a[i] - (b.empty() ? 0.0 : b[i]);
    s += d * d;
  }
  return std::sqrt(s);
}

void check_close(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    CHECK(std::abs(got[i] - want[i]) <= tol);
  }
}

void check_grad(const GradcheckResult& r) {
  INFO(r.report());
  CHECK(bool(r));
}

}  // namespace

TEST_CASE("factor_separable recovers the Sobel filter exactly") {
  // Sobel x = [1, 2, 1]ᵀ · [1, 0, −1]: rank 1 with σ₁ = ‖[1,2,1]‖·‖[1,0,−1]‖ = √6·√2 = √12.
  const std::vector<double> sobel{1, 0, -1, 2, 0, -2, 1, 0, -1};
  const SeparableFactors f = factor_separable(Tensor::from_vector(sobel, Shape{3, 3}), 1);
  CHECK(f.columns.shape() == Shape{1, 3});
  CHECK(f.rows.shape() == Shape{1, 3});
  CHECK(frobenius(reconstruct(f, 1, 1, 3, 3), sobel) <= 1e-12);
  CHECK(f.relative_error <= 1e-12);
  const std::vector<double> s = f.singular_values.to_vector<double>();
  CHECK(s[0] == doctest::Approx(std::sqrt(12.0)).epsilon(1e-14));
  CHECK(std::abs(s[1]) <= 1e-14);
  // The column factor is ∝ [1, 2, 1] and the row ∝ [1, 0, −1].
  const std::vector<double> col = f.columns.to_vector<double>(), row = f.rows.to_vector<double>();
  CHECK(col[1] == doctest::Approx(2 * col[0]).epsilon(1e-12));
  CHECK(col[2] == doctest::Approx(col[0]).epsilon(1e-12));
  CHECK(std::abs(row[1]) <= 1e-14);
  CHECK(row[2] == doctest::Approx(-row[0]).epsilon(1e-12));
}

TEST_CASE("factor_separable recovers random outer products and filter banks") {
  const Tensor a = Tensor::randn(Shape{4}, 1, DType::float64), b = Tensor::randn(Shape{5}, 2, DType::float64);
  const std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>();
  std::vector<double> w;
  for (double x : av)
    for (double y : bv) w.push_back(x * y);
  const SeparableFactors f = factor_separable(Tensor::from_vector(w, Shape{4, 5}), 1);
  CHECK(frobenius(reconstruct(f, 1, 1, 4, 5), w) <= 1e-12 * frobenius(w));
  CHECK(f.relative_error <= 1e-12);
  CHECK(f.singular_values.to_vector<double>()[0] == doctest::Approx(frobenius(av) * frobenius(bv)).epsilon(1e-13));

  // A bank [2, 3, 3, 4] at full rank 3 reconstructs every filter.
  const Tensor bank = Tensor::randn(Shape{2, 3, 3, 4}, 3, DType::float64);
  const SeparableFactors full = factor_separable(bank, 3);
  CHECK(full.columns.shape() == Shape{2, 3, 3, 3});
  CHECK(full.rows.shape() == Shape{2, 3, 3, 4});
  CHECK(full.singular_values.shape() == Shape{2, 3, 3});
  CHECK(frobenius(reconstruct(full, 6, 3, 3, 4), bank.to_vector<double>()) <= 1e-12 * frobenius(bank.to_vector<double>()));
  CHECK(full.relative_error <= 1e-15);
  // At rank 1 the reported error is the measured one: ‖W − W₁‖_F / ‖W‖_F over the whole bank.
  const SeparableFactors one = factor_separable(bank, 1);
  const double measured = frobenius(reconstruct(one, 6, 1, 3, 4), bank.to_vector<double>()) / frobenius(bank.to_vector<double>());
  CHECK(one.relative_error == doctest::Approx(measured).epsilon(1e-10));
  CHECK(one.relative_error > 0.1);  // random 3×4 filters are far from rank 1
  // float32 in, float32 factors out.
  CHECK(factor_separable(bank.astype(DType::float32), 2).columns.dtype() == DType::float32);
}

TEST_CASE("factor_separable reports closed-form errors of non-separable filters") {
  // diag(3, 2, 1): σ = 3, 2, 1. Rank 1 error √(2² + 1²)/√14, rank 2 error 1/√14, and W₂ = diag(3, 2, 0).
  const std::vector<double> d{3, 0, 0, 0, 2, 0, 0, 0, 1};
  const Tensor w = Tensor::from_vector(d, Shape{3, 3});
  const SeparableFactors f1 = factor_separable(w, 1), f2 = factor_separable(w, 2);
  check_close(f1.singular_values.to_vector<double>(), {3, 2, 1}, 1e-14);
  CHECK(f1.relative_error == doctest::Approx(std::sqrt(5.0 / 14.0)).epsilon(1e-14));
  CHECK(f2.relative_error == doctest::Approx(std::sqrt(1.0 / 14.0)).epsilon(1e-14));
  check_close(reconstruct(f2, 1, 2, 3, 3), {3, 0, 0, 0, 2, 0, 0, 0, 0}, 1e-14);

  // 2×2 [[1, 2], [3, 4]]: σ² = (S ± √(S² − 4D²))/2 with S = Σ entries² = 30, D = det = −2.
  const double S = 30, D = -2;
  const double s1 = std::sqrt((S + std::sqrt(S * S - 4 * D * D)) / 2), s2 = std::sqrt((S - std::sqrt(S * S - 4 * D * D)) / 2);
  const SeparableFactors g = factor_separable(Tensor::from_vector<double>({1, 2, 3, 4}, Shape{2, 2}), 1);
  check_close(g.singular_values.to_vector<double>(), {s1, s2}, 1e-13);
  CHECK(g.relative_error == doctest::Approx(s2 / std::sqrt(S)).epsilon(1e-12));
}

TEST_CASE("factor_separable rejects bad ranks and shapes") {
  const Tensor w = Tensor::ones(Shape{3, 5}, DType::float64);
  CHECK_THROWS_AS(factor_separable(w, 0), ValueError);
  CHECK_THROWS_AS(factor_separable(w, 4), ValueError);
  CHECK_THROWS_AS(factor_separable(Tensor::ones(Shape{2, 3, 3}), 1), ShapeError);
  CHECK_THROWS_AS(factor_separable(Tensor::ones(Shape{3, 3}, DType::complex64), 1), DTypeError);
  CHECK(factor_separable(Tensor::zeros(Shape{2, 2}, DType::float64), 1).relative_error == 0.0);
}

TEST_CASE("separable_conv2d equals the naive depthwise conv with the outer-product filter") {
  const Tensor x = Tensor::randn(Shape{2, 3, 9, 8}, 7, DType::float64);
  const Tensor col = Tensor::randn(Shape{3, 3}, 8, DType::float64);
  const Tensor row = Tensor::randn(Shape{3, 4}, 9, DType::float64);  // rectangular 3×4 kernel
  const std::vector<double> w = outer_bank(col, row);
  const Geo geos[] = {
      {},                                          // valid, stride 1
      {2, 2, 1, 1, 1, 1},                          // stride 2, padding 1
      {1, 2, 1, 0, 2, 1},                          // asymmetric padding, stride ≠ on the two axes
      {1, 1, 2, 2, 3, 3, 2, 2},                    // dilation 2
      {1, 1, 1, 1, 1, 2, 1, 1, true},              // a true convolution
  };
  for (const Geo& g : geos) {
    INFO("stride " << g.sh << "x" << g.sw << " pad " << g.pt << "," << g.pb << "," << g.pl << "," << g.pr << " dilation "
                   << g.dh << " flip " << g.flip);
    std::int64_t oh = 0, ow = 0;
    const std::vector<double> want = naive_depthwise(x, w, 3, 4, g, oh, ow);
    const Tensor y = separable_conv2d(x, col, row, g.options());
    CHECK(y.shape() == Shape{2, 3, oh, ow});
    check_close(y.to_vector<double>(), want, 1e-13);
    // float32: 12 products summed in two stages of ≤ 4 terms with O(1) values: |error| ≲
    // 8 roundings·2⁻²⁴·Σ|x·w| ≈ 5e-7·12·O(1); 2e-5 bounds it with room for randn tails.
    const Tensor y32 = separable_conv2d(x.astype(DType::float32), col.astype(DType::float32), row.astype(DType::float32), g.options());
    check_close(y32.to_vector<double>(), want, 2e-5);
  }
  // 'same' padding keeps the plane size at stride 1.
  CHECK(separable_conv2d(x, col, row, {.padding = ConvPadding::same()}).shape() == Shape{2, 3, 9, 8});
}

TEST_CASE("a rank-r sum of separable passes equals the conv with the rank-r filter") {
  const std::int64_t C = 2, k = 5;
  const Tensor x = Tensor::randn(Shape{1, C, 10, 11}, 12, DType::float64);
  const Tensor bank = Tensor::randn(Shape{C, 1, k, k}, 13, DType::float64);  // depthwise, not separable
  const Geo g{1, 1, 2, 2, 2, 2};
  for (int rank : {1, 2, 5}) {
    INFO("rank " << rank);
    const SeparableFactors f = factor_separable(bank, rank);
    // Sum the rank passes: pass i uses columns[:, 0, i] and rows[:, 0, i].
    Tensor sum;
    for (int i = 0; i < rank; ++i) {
      const Tensor col = f.columns.slice(2, i, i + 1).reshape(Shape{C, k});
      const Tensor row = f.rows.slice(2, i, i + 1).reshape(Shape{C, k});
      const std::vector<double> part = separable_conv2d(x, col, row, g.options()).to_vector<double>();
      if (!sum.defined()) sum = Tensor::from_vector(part, Shape{std::int64_t(part.size())});
      else {
        std::vector<double> s = sum.to_vector<double>();
        for (std::size_t e = 0; e < s.size(); ++e) s[e] += part[e];
        sum = Tensor::from_vector(s, sum.shape());
      }
    }
    std::int64_t oh = 0, ow = 0;
    const std::vector<double> wr = reconstruct(f, C, rank, k, k);
    check_close(sum.to_vector<double>(), naive_depthwise(x, wr, k, k, g, oh, ow), 1e-12);
    // At full rank W_r is W itself: the passes reproduce the original (non-separable) filter.
    if (rank == 5) check_close(sum.to_vector<double>(), naive_depthwise(x, bank.to_vector<double>(), k, k, g, oh, ow), 1e-12);
  }
}

TEST_CASE("separable_conv2d rejects bad shapes and dtypes") {
  const Tensor x = Tensor::zeros(Shape{1, 2, 5, 5}, DType::float64);
  const Tensor c3 = Tensor::zeros(Shape{2, 3}, DType::float64);
  CHECK_THROWS_AS(separable_conv2d(x, Tensor::zeros(Shape{3, 3}, DType::float64), c3), ShapeError);
  CHECK_THROWS_AS(separable_conv2d(x, c3, Tensor::zeros(Shape{2, 3, 1}, DType::float64)), ShapeError);
  CHECK_THROWS_AS(separable_conv2d(Tensor::zeros(Shape{2, 5, 5}, DType::float64), c3, c3), ShapeError);
  CHECK_THROWS_AS(separable_conv2d(x, c3, Tensor::zeros(Shape{2, 3})), DTypeError);
  CHECK_THROWS_AS(separable_conv2d(x, Tensor::zeros(Shape{2, 7}, DType::float64), c3), ShapeError);  // kernel > input
  CHECK_THROWS_AS(separable_conv2d(x, c3, c3, {.stride = {0}}), ValueError);
}

TEST_CASE("gradcheck of separable_conv2d") {
  const Geo geos[] = {{}, {2, 1, 1, 1, 0, 2}, {1, 2, 1, 1, 1, 1, 2, 1, true}};
  for (const Geo& g : geos) {
    const Tensor x = Tensor::randn(Shape{2, 2, 6, 7}, 20, DType::float64);
    const Tensor col = Tensor::randn(Shape{2, 3}, 21, DType::float64);
    const Tensor row = Tensor::randn(Shape{2, 2}, 22, DType::float64);
    check_grad(gradcheck(std::make_shared<SeparableConv2d>(g.options()), {x, col, row}));
  }
}

TEST_CASE("separable_conv2d agrees with the library's depthwise conv2d") {
  // Same problem through conv2d (groups = C, weight [C, 1, kH, kW] = col ⊗ row), with stride,
  // 'same' padding and flip: the two nodes must describe one operation.
  const Tensor x = Tensor::randn(Shape{2, 4, 11, 9}, 30, DType::float64);
  const Tensor col = Tensor::randn(Shape{4, 5}, 31, DType::float64);
  const Tensor row = Tensor::randn(Shape{4, 3}, 32, DType::float64);
  const Tensor w = Tensor::from_vector(outer_bank(col, row), Shape{4, 1, 5, 3});
  for (bool flip : {false, true}) {
    const SeparableConvOptions so{.stride = {2, 1}, .padding = ConvPadding::same(), .flip = flip};
    const ConvOptions co{.stride = {2, 1}, .padding = ConvPadding::same(), .groups = 4, .flip = flip};
    const Tensor a = separable_conv2d(x, col, row, so), b = conv2d(x, w, co);
    REQUIRE(a.shape() == b.shape());
    check_close(a.to_vector<double>(), b.to_vector<double>(), 1e-12);
  }
}
