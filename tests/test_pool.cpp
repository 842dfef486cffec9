// Pooling: max_pool2d (values + indices), avg_pool2d and global_avg_pool2d against naive float64
// loops written here from PyTorch's definitions, hand-computed examples, ties, padding, strides,
// dilation, ceil_mode, bad attributes, and float64 gradcheck of each node.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "nodal/core/execution.hpp"
#include "nodal/core/gradcheck.hpp"
#include "nodal/nodes/pool.hpp"

using namespace nodal;

namespace {

struct Cfg {
  std::int64_t kh, kw, sh, sw, ph, pw, dh = 1, dw = 1;
  bool ceil = false, include_pad = true;
  Pool2dOptions options() const {
    return {.kernel = {kh, kw}, .stride = {sh, sw}, .padding = {ph, pw}, .dilation = {dh, dw}, .ceil_mode = ceil,
            .count_include_pad = include_pad};
  }
};

// PyTorch's output size, written out independently of the library.
std::int64_t out_size(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t d, bool ceil) {
  const double exact = double(in + 2 * p - d * (k - 1) - 1) / double(s);
  std::int64_t o = std::int64_t(ceil ? std::ceil(exact) : std::floor(exact)) + 1;
  if (ceil && (o - 1) * s >= in + p) --o;
  return o;
}

struct Naive {
  std::int64_t oh, ow;
  std::vector<double> values, indices;
};

// For every plane and output, scan the window in row-major order, keeping the first maximum.
Naive naive_max(const std::vector<double>& x, std::int64_t planes, std::int64_t H, std::int64_t W, const Cfg& c) {
  Naive r{out_size(H, c.kh, c.sh, c.ph, c.dh, c.ceil), out_size(W, c.kw, c.sw, c.pw, c.dw, c.ceil), {}, {}};
  for (std::int64_t p = 0; p < planes; ++p)
    for (std::int64_t i = 0; i < r.oh; ++i)
      for (std::int64_t j = 0; j < r.ow; ++j) {
        double best = -std::numeric_limits<double>::infinity();
        double at = -1;
        for (std::int64_t a = 0; a < c.kh; ++a)
          for (std::int64_t b = 0; b < c.kw; ++b) {
            const std::int64_t h = i * c.sh - c.ph + a * c.dh, w = j * c.sw - c.pw + b * c.dw;
            if (h < 0 || h >= H || w < 0 || w >= W) continue;  // −∞ padding never wins
            const double v = x[std::size_t(p * H * W + h * W + w)];
            if (at < 0 || v > best) {
              best = v;
              at = double(h * W + w);
            }
          }
        r.values.push_back(best);
        r.indices.push_back(at);
      }
  return r;
}

// Sum over the window clipped to the input, divided by PyTorch's divisor.
Naive naive_avg(const std::vector<double>& x, std::int64_t planes, std::int64_t H, std::int64_t W, const Cfg& c) {
  Naive r{out_size(H, c.kh, c.sh, c.ph, 1, c.ceil), out_size(W, c.kw, c.sw, c.pw, 1, c.ceil), {}, {}};
  for (std::int64_t p = 0; p < planes; ++p)
    for (std::int64_t i = 0; i < r.oh; ++i)
      for (std::int64_t j = 0; j < r.ow; ++j) {
        const std::int64_t h0 = i * c.sh - c.ph, w0 = j * c.sw - c.pw;
        const std::int64_t h1 = std::min(h0 + c.kh, H + c.ph), w1 = std::min(w0 + c.kw, W + c.pw);
        double sum = 0;
        std::int64_t inside = 0;
        for (std::int64_t h = h0; h < h1; ++h)
          for (std::int64_t w = w0; w < w1; ++w)
            if (h >= 0 && h < H && w >= 0 && w < W) {
              sum += x[std::size_t(p * H * W + h * W + w)];
              ++inside;
            }
        const double divisor = c.include_pad ? double((h1 - h0) * (w1 - w0)) : double(inside);
        r.values.push_back(sum / divisor);
      }
  return r;
}

void check_close(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    CHECK(std::abs(got[i] - want[i]) <= tol * (1 + std::abs(want[i])));
  }
}

void check_grad(const GradcheckResult& r) {
  INFO(r.report());
  CHECK(bool(r));
}

// Distinct values with gaps of 0.05 (i·37 mod n is a permutation when gcd(37, n) = 1), so a
// finite-difference step of 1e-6 never changes the argmax.
Tensor tie_free(const Shape& s) {
  const std::int64_t n = s.numel();
  REQUIRE(n % 37 != 0);
  std::vector<double> v(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) v[std::size_t(i)] = 0.05 * double((i * 37) % n) - 1.0;
  return Tensor::from_vector(v, s);
}

const Cfg configs[] = {
    {2, 2, 2, 2, 0, 0},                           // the classic 2×2/2
    {3, 3, 2, 2, 1, 1},                           // ResNet's stem pool: padding and overlap
    {3, 2, 1, 2, 1, 0},                           // stride ≠ kernel, rectangular
    {3, 3, 3, 3, 0, 0, 1, 1, true},               // ceil_mode with a partial last window
    {2, 3, 2, 1, 1, 1, 1, 1, true, false},        // ceil_mode + count_include_pad = false
    {3, 3, 1, 1, 1, 1, 1, 1, false, false},       // stride 1 same-size pooling without pad count
    {1, 1, 2, 3, 0, 0},                           // 1×1 subsampling
};

}  // namespace

TEST_CASE("max_pool2d: hand-computed 4x4 with a 2x2 window") {
  // x = 0..15 in a 4×4 plane; each 2×2 block's maximum is its bottom-right element.
  const Tensor x = Tensor::arange(16, DType::float64).reshape(Shape{1, 1, 4, 4});
  const MaxPoolTensors r = max_pool2d(x, {.kernel = {2}});
  CHECK(r.values.shape() == Shape{1, 1, 2, 2});
  CHECK(r.values.to_vector<double>() == std::vector<double>{5, 7, 13, 15});
  CHECK(r.indices.dtype() == DType::float64);
  CHECK(r.indices.to_vector<double>() == std::vector<double>{5, 7, 13, 15});
  CHECK(max_pool2d_values(x, {.kernel = {2}}).to_vector<double>() == std::vector<double>{5, 7, 13, 15});
}

TEST_CASE("avg_pool2d: hand-computed 3x3 with padding 1 both divisor conventions") {
  // x = 1..9 in a 3×3 plane, 2×2 windows at stride 2 with padding 1: windows cover
  // {1}, {2,3}, {4,7}, {5,6,8,9}. With the pad counted every divisor is 4.
  const Tensor x = Tensor::arange(1, 10, 1, DType::float64).reshape(Shape{1, 3, 3});
  const Tensor with_pad = avg_pool2d(x, {.kernel = {2}, .stride = {2}, .padding = {1}});
  CHECK(with_pad.shape() == Shape{1, 2, 2});
  CHECK(with_pad.to_vector<double>() == std::vector<double>{1.0 / 4, 5.0 / 4, 11.0 / 4, 28.0 / 4});
  const Tensor without = avg_pool2d(x, {.kernel = {2}, .stride = {2}, .padding = {1}, .count_include_pad = false});
  CHECK(without.to_vector<double>() == std::vector<double>{1.0, 5.0 / 2, 11.0 / 2, 28.0 / 4});
}

TEST_CASE("max_pool2d and avg_pool2d match naive loops for many attribute sets") {
  const std::int64_t N = 2, C = 3, H = 7, W = 9;  // odd sizes
  const Tensor x64 = Tensor::randn(Shape{N, C, H, W}, 11, DType::float64);
  const std::vector<double> xv = x64.to_vector<double>();
  for (const Cfg& c : configs) {
    INFO("kernel " << c.kh << "x" << c.kw << " stride " << c.sh << "x" << c.sw << " pad " << c.ph << "x" << c.pw
                   << " ceil " << c.ceil << " include_pad " << c.include_pad);
    const Naive m = naive_max(xv, N * C, H, W, c);
    const MaxPoolTensors r = max_pool2d(x64, c.options());
    CHECK(r.values.shape() == Shape{N, C, m.oh, m.ow});
    CHECK(r.values.to_vector<double>() == m.values);  // a max is exact
    CHECK(r.indices.to_vector<double>() == m.indices);
    // float32: the maximum of rounded values is the rounded maximum, and the argmax is the same
    // because randn values are distinct after rounding too (checked below by the index equality).
    const MaxPoolTensors r32 = max_pool2d(x64.astype(DType::float32), c.options());
    CHECK(r32.indices.to_vector<double>() == m.indices);

    const Naive a = naive_avg(xv, N * C, H, W, c);
    const Tensor y = avg_pool2d(x64, c.options());
    CHECK(y.shape() == Shape{N, C, a.oh, a.ow});
    check_close(y.to_vector<double>(), a.values, 1e-14);
    // float32: a sum of ≤ 9 terms of size O(1) and one division: relative error ≲ 10·2⁻²⁴ ≈ 6e-7
    // of the magnitudes involved; 1e-5 leaves margin for the |x| ~ 3 tails of randn.
    check_close(avg_pool2d(x64.astype(DType::float32), c.options()).to_vector<double>(), a.values, 1e-5);
  }
}

TEST_CASE("max_pool2d with dilation matches naive loops") {
  const Tensor x = Tensor::randn(Shape{1, 2, 9, 8}, 5, DType::float64);
  for (const Cfg& c : {Cfg{3, 3, 1, 1, 1, 1, 2, 2}, Cfg{2, 3, 2, 1, 1, 1, 3, 2, true}}) {
    const Naive m = naive_max(x.to_vector<double>(), 2, 9, 8, c);
    const MaxPoolTensors r = max_pool2d(x, c.options());
    CHECK(r.values.shape() == Shape{1, 2, m.oh, m.ow});
    CHECK(r.values.to_vector<double>() == m.values);
    CHECK(r.indices.to_vector<double>() == m.indices);
  }
}

TEST_CASE("max_pool2d ties go to the first element and the vjp routes there") {
  // A constant plane: every window is a tie. The first element in row-major window order wins.
  const Tensor x = Tensor::full(Shape{1, 1, 4, 4}, 2.0, DType::float64);
  const MaxPoolTensors r = max_pool2d(x, {.kernel = {2}, .stride = {1}});
  // Window (i, j) starts at (i, j): index 4i + j.
  CHECK(r.indices.to_vector<double>() == std::vector<double>{0, 1, 2, 4, 5, 6, 8, 9, 10});

  Graph g;
  const Value in = g.input("x", x.shape(), DType::float64);
  const MaxPoolValues pooled = max_pool2d(in, {.kernel = {2}, .stride = {1}});
  Execution run = g.forward({pooled.values, pooled.indices}, {{in, x}});
  CHECK(run[pooled.indices].to_vector<double>() == r.indices.to_vector<double>());
  const Tensor ones = Tensor::ones(Shape{1, 1, 3, 3}, DType::float64);
  const Tensor dx = run.backward(pooled.values, {in}, {.cotangent = ones})[in];
  // Each window's cotangent lands on its top-left element: positions (i, j) with i, j < 3.
  CHECK(dx.to_vector<double>() == std::vector<double>{1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0});
}

TEST_CASE("max_pool2d: -inf windows and NaN propagation") {
  const double inf = std::numeric_limits<double>::infinity();
  const Tensor x = Tensor::from_vector<double>({-inf, -inf, 1, std::nan(""), -inf, -inf, 3, 2}, Shape{1, 2, 4});
  const MaxPoolTensors r = max_pool2d(x, {.kernel = {2}});
  const std::vector<double> v = r.values.to_vector<double>();
  CHECK(v[0] == -inf);  // all −∞: the value is −∞ and the index the window's first element
  CHECK(std::isnan(v[1]));
  CHECK(r.indices.to_vector<double>() == std::vector<double>{0, 3});
}

TEST_CASE("global_avg_pool2d matches the naive plane mean") {
  const Tensor x = Tensor::randn(Shape{2, 3, 5, 7}, 3, DType::float64);
  const Tensor y = global_avg_pool2d(x);
  CHECK(y.shape() == Shape{2, 3, 1, 1});
  const std::vector<double> xv = x.to_vector<double>();
  std::vector<double> want;
  for (int p = 0; p < 6; ++p) {
    double s = 0;
    for (int i = 0; i < 35; ++i) s += xv[std::size_t(p * 35 + i)];
    want.push_back(s / 35);
  }
  check_close(y.to_vector<double>(), want, 1e-14);
  // float32 input, float64 accumulation: only the 35 input roundings (2⁻²⁴ relative each, mean of
  // values ~1) and the final rounding remain, ≲ 1e-7; 1e-6 is the bound.
  check_close(global_avg_pool2d(x.astype(DType::float32)).to_vector<double>(), want, 1e-6);
}

TEST_CASE("pooling accepts non-contiguous input") {
  const Tensor x = Tensor::randn(Shape{2, 5, 6, 3}, 8, DType::float64).permute({0, 3, 1, 2});  // [2, 3, 5, 6]
  const Cfg c{2, 2, 2, 2, 1, 1};
  CHECK(max_pool2d(x, c.options()).values.to_vector<double>() == naive_max(x.to_vector<double>(), 6, 5, 6, c).values);
  check_close(avg_pool2d(x, c.options()).to_vector<double>(), naive_avg(x.to_vector<double>(), 6, 5, 6, c).values, 1e-14);
}

TEST_CASE("pooling rejects bad shapes dtypes and attributes") {
  const Tensor x = Tensor::zeros(Shape{1, 1, 4, 4}, DType::float64);
  CHECK_THROWS_AS(max_pool2d(Tensor::zeros(Shape{4, 4}), {.kernel = {2}}), ShapeError);
  CHECK_THROWS_AS(avg_pool2d(Tensor::zeros(Shape{1, 1, 1, 4, 4}), {.kernel = {2}}), ShapeError);
  CHECK_THROWS_AS(max_pool2d(x, {.kernel = {0}}), ValueError);
  CHECK_THROWS_AS(max_pool2d(x, {.kernel = {2, 2, 2}}), ValueError);
  CHECK_THROWS_AS(max_pool2d(x, {.kernel = {2}, .stride = {0}}), ValueError);
  CHECK_THROWS_AS(max_pool2d(x, {.kernel = {2}, .padding = {2}}), ValueError);  // > kernel / 2
  CHECK_THROWS_AS(avg_pool2d(x, {.kernel = {3}, .padding = {2}}), ValueError);
  CHECK_THROWS_AS(avg_pool2d(x, {.kernel = {2}, .dilation = {2}}), ValueError);
  CHECK_THROWS_AS(max_pool2d(x, {.kernel = {5}}), ShapeError);  // window larger than the plane
  // Dilated taps at −1 and 2 both miss a 2-wide plane: a window of padding only.
  CHECK_THROWS_AS(max_pool2d(Tensor::zeros(Shape{1, 1, 2, 2}), {.kernel = {2}, .padding = {1}, .dilation = {3}}),
                  ShapeError);
  CHECK_THROWS_AS(max_pool2d(x, {.kernel = {3}, .padding = {2}, .dilation = {2}}), ValueError);  // p > k/2
  CHECK_THROWS_AS(avg_pool2d(Tensor::zeros(Shape{1, 1, 4, 4}, DType::complex64), {.kernel = {2}}), DTypeError);
  CHECK_THROWS_AS(global_avg_pool2d(Tensor::zeros(Shape{1, 1, 0, 4})), ShapeError);
  try {
    max_pool2d(x, {.kernel = {2}, .padding = {2}});
    FAIL("expected an error");
  } catch (const ValueError& e) {
    CHECK(std::string(e.what()).find("max_pool2d") != std::string::npos);
  }
}

TEST_CASE("gradcheck of max_pool2d on tie-free inputs") {
  for (const Cfg& c : {Cfg{2, 2, 2, 2, 0, 0}, Cfg{3, 3, 2, 2, 1, 1}, Cfg{3, 2, 1, 2, 1, 0, 1, 1, true}}) {
    check_grad(gradcheck(std::make_shared<MaxPool2d>(c.options()), {tie_free(Shape{2, 2, 5, 6})}));
  }
}

TEST_CASE("gradcheck of avg_pool2d and global_avg_pool2d") {
  for (const Cfg& c : configs) {
    check_grad(gradcheck(std::make_shared<AvgPool2d>(c.options()), {Tensor::randn(Shape{1, 2, 5, 7}, 4, DType::float64)}));
  }
  check_grad(gradcheck(std::make_shared<GlobalAvgPool2d>(), {Tensor::randn(Shape{2, 2, 3, 4}, 6, DType::float64)}));
}
