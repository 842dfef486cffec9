// matmul and linear: values against hand-computed numbers and naive float64 loops, gradcheck of
// every case (batched, broadcast, 1-D, non-contiguous, complex), and the shape errors.
#include <doctest/doctest.h>

#include <cmath>

#include "nodal/core/gradcheck.hpp"
#include "nodal/nodes/linear.hpp"
#include "nodal/nodes/matmul.hpp"

using namespace nodal;

namespace {

Tensor randn64(const Shape& s, std::uint64_t seed) { return Tensor::randn(s, seed, DType::float64); }

// C[b] = A[b]·B[b] by triple loops, A and B contiguous stacks of `batch` matrices (batch
// index of an operand with one matrix is always 0: a plain broadcast).
std::vector<double> naive_batched(const std::vector<double>& a, std::int64_t batch_a, const std::vector<double>& b,
                                  std::int64_t batch_b, std::int64_t n, std::int64_t k, std::int64_t m) {
  const std::int64_t batch = std::max(batch_a, batch_b);
  std::vector<double> c(batch * n * m, 0.0);
  for (std::int64_t t = 0; t < batch; ++t)
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < m; ++j) {
        double s = 0;
        for (std::int64_t p = 0; p < k; ++p)
          s += a[(batch_a > 1 ? t : 0) * n * k + i * k + p] * b[(batch_b > 1 ? t : 0) * k * m + p * m + j];
        c[t * n * m + i * m + j] = s;
      }
  return c;
}

void check_close(const std::vector<double>& got, const std::vector<double>& want, double tol = 1e-12) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(tol));
}

void check_grad(GradcheckResult r) {
  INFO(r.report());
  CHECK(bool(r));
}

}  // namespace

TEST_CASE("matmul forward: hand-computed 2x3 · 3x2") {
  const Tensor a = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  const Tensor b = Tensor::from_vector<double>({7, 8, 9, 10, 11, 12}, Shape{3, 2});
  const Tensor c = matmul(a, b);
  CHECK(c.shape() == Shape{2, 2});
  // [1·7+2·9+3·11, 1·8+2·10+3·12; 4·7+5·9+6·11, 4·8+5·10+6·12]
  CHECK(c.to_vector<double>() == std::vector<double>{58, 64, 139, 154});
  const Tensor cf = matmul(a.astype(DType::float32), b.astype(DType::float32));
  CHECK(cf.dtype() == DType::float32);
  CHECK(cf.to_vector<float>() == std::vector<float>{58, 64, 139, 154});
}

TEST_CASE("matmul forward: 1-D operands follow NumPy") {
  const Tensor v = Tensor::from_vector<double>({1, 2, 3}, Shape{3});
  const Tensor w = Tensor::from_vector<double>({4, 5, 6}, Shape{3});
  const Tensor m = Tensor::from_vector<double>({1, 0, 2, 1, 0, 3}, Shape{3, 2});
  const Tensor dot = matmul(v, w);
  CHECK(dot.shape() == Shape{});
  CHECK(dot.item<double>() == 32.0);  // 4 + 10 + 18
  const Tensor vm = matmul(v, m);     // [1+4+0, 0+2+9]
  CHECK(vm.shape() == Shape{2});
  CHECK(vm.to_vector<double>() == std::vector<double>{5, 11});
  const Tensor mt = Tensor::from_vector<double>({1, 2, 3, 0, 1, 0}, Shape{2, 3});
  const Tensor mv = matmul(mt, v);  // [1+4+9, 0+2+0]
  CHECK(mv.shape() == Shape{2});
  CHECK(mv.to_vector<double>() == std::vector<double>{14, 2});
}

TEST_CASE("matmul forward: batched with broadcast batch dims against naive loops") {
  const Tensor a = randn64(Shape{4, 3, 5}, 1);
  const Tensor b = randn64(Shape{5, 2}, 2);
  const Tensor c = matmul(a, b);
  CHECK(c.shape() == Shape{4, 3, 2});
  check_close(c.to_vector<double>(), naive_batched(a.to_vector<double>(), 4, b.to_vector<double>(), 1, 3, 5, 2));
  const Tensor b3 = randn64(Shape{4, 5, 2}, 3);
  const Tensor a1 = randn64(Shape{1, 3, 5}, 4);
  check_close(matmul(a1, b3).to_vector<double>(),
              naive_batched(a1.to_vector<double>(), 1, b3.to_vector<double>(), 4, 3, 5, 2));
  // [2, 1, n, k] @ [3, k, m] -> [2, 3, n, m]
  const Tensor x = randn64(Shape{2, 1, 2, 3}, 5);
  const Tensor y = randn64(Shape{3, 3, 4}, 6);
  const Tensor z = matmul(x, y);
  CHECK(z.shape() == Shape{2, 3, 2, 4});
  const std::vector<double> xv = x.to_vector<double>(), yv = y.to_vector<double>(), zv = z.to_vector<double>();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      const std::vector<double> xi(xv.begin() + i * 6, xv.begin() + i * 6 + 6);
      const std::vector<double> yj(yv.begin() + j * 12, yv.begin() + j * 12 + 12);
      const std::vector<double> want = naive_batched(xi, 1, yj, 1, 2, 3, 4);
      const std::vector<double> got(zv.begin() + (i * 3 + j) * 8, zv.begin() + (i * 3 + j) * 8 + 8);
      check_close(got, want);
    }
}

TEST_CASE("matmul forward: non-contiguous operands (transposed and strided views)") {
  const Tensor at = randn64(Shape{5, 3}, 7);
  const Tensor a = at.transpose(0, 1);  // [3, 5], column-major
  const Tensor big = randn64(Shape{5, 4}, 8);
  const Tensor b = big.slice(1, 0, 4, 2);  // [5, 2], neither rows nor columns unit-stride
  const Tensor c = matmul(a, b);
  check_close(c.to_vector<double>(),
              naive_batched(a.contiguous().to_vector<double>(), 1, b.contiguous().to_vector<double>(), 1, 3, 5, 2));
}

TEST_CASE("matmul forward: complex against a hand-computed product") {
  using C = std::complex<double>;
  const Tensor a = Tensor::from_vector<C>({C(1, 1), C(0, 2)}, Shape{1, 2});
  const Tensor b = Tensor::from_vector<C>({C(2, 0), C(1, -1)}, Shape{2, 1});
  // (1+i)·2 + 2i·(1−i) = 2+2i + 2i+2 = 4+4i
  const Tensor c = matmul(a, b);
  CHECK(c.to_vector<C>()[0] == C(4, 4));
}

TEST_CASE("matmul gradcheck: 2-D, batched, broadcast, 1-D and non-contiguous") {
  auto node = std::make_shared<MatMul>();
  check_grad(gradcheck(node, {randn64(Shape{3, 4}, 10), randn64(Shape{4, 2}, 11)}));
  check_grad(gradcheck(node, {randn64(Shape{2, 3, 4}, 12), randn64(Shape{2, 4, 5}, 13)}));
  check_grad(gradcheck(node, {randn64(Shape{2, 1, 3, 4}, 14), randn64(Shape{3, 4, 2}, 15)}));  // both broadcast
  check_grad(gradcheck(node, {randn64(Shape{3, 3, 4}, 16), randn64(Shape{4, 2}, 17)}));        // folded rows
  check_grad(gradcheck(node, {randn64(Shape{4}, 18), randn64(Shape{4}, 19)}));                 // dot
  check_grad(gradcheck(node, {randn64(Shape{4}, 20), randn64(Shape{2, 4, 3}, 21)}));           // vector @ stack
  check_grad(gradcheck(node, {randn64(Shape{2, 3, 4}, 22), randn64(Shape{4}, 23)}));           // stack @ vector
  // A permuted tensor fed as input: gradcheck builds the graph around the view.
  check_grad(gradcheck(
      [](std::span<const Value> in) { return std::vector<Value>{matmul(in[0], in[1])}; },
      {randn64(Shape{4, 3}, 24).transpose(0, 1), randn64(Shape{2, 4}, 25).transpose(0, 1)}));
}

TEST_CASE("matmul and linear gradcheck in float32 (float32 step and tolerances)") {
  const GradcheckOptions f32 = gradcheck_float32_options();
  auto r32 = [](const Shape& s, std::uint64_t seed) { return Tensor::randn(s, seed, DType::float32); };
  check_grad(gradcheck(std::make_shared<MatMul>(), {r32(Shape{2, 3, 4}, 60), r32(Shape{4, 2}, 61)}, f32));
  check_grad(gradcheck(std::make_shared<Linear>(), {r32(Shape{3, 4}, 62), r32(Shape{2, 4}, 63), r32(Shape{2}, 64)}, f32));
}

TEST_CASE("matmul gradcheck: complex128") {
  auto node = std::make_shared<MatMul>();
  const Tensor a = randn64(Shape{2, 3}, 30).astype(DType::complex128);
  const Tensor b = randn64(Shape{3, 2}, 31).astype(DType::complex128);
  // give them imaginary parts too: a + i·a', b + i·b'
  Tensor ai = Tensor::randn(Shape{2, 3}, 32, DType::complex128);
  Tensor bi = Tensor::randn(Shape{3, 2}, 33, DType::complex128);
  check_grad(gradcheck(node, {ai, bi}));
  check_grad(gradcheck(node, {a, b}));
}

TEST_CASE("matmul errors name the node and both shapes") {
  Graph g;
  Value a = g.input("a", Shape{2, 3}, DType::float64);
  Value b = g.input("b", Shape{4, 5}, DType::float64);
  try {
    (void)matmul(a, b);
    FAIL("expected ShapeError");
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("matmul#") != std::string::npos);  // the node's name in the graph
    CHECK(msg.find("inner dimensions") != std::string::npos);
    CHECK(msg.find("[2, 3]") != std::string::npos);
    CHECK(msg.find("[4, 5]") != std::string::npos);
  }
  CHECK_THROWS_AS(matmul(Tensor::zeros(Shape{2, 2, 3}), Tensor::zeros(Shape{3, 3, 2})), ShapeError);  // batch 2 vs 3
  CHECK_THROWS_AS(matmul(Tensor::zeros(Shape{2, 3}), Tensor::zeros(Shape{3, 2}, DType::float64)), DTypeError);
  CHECK_THROWS_AS(matmul(Tensor::scalar(1.0), Tensor::zeros(Shape{3})), ShapeError);
}

TEST_CASE("linear forward: x·Wᵀ + b by hand, with leading batch axes") {
  const Tensor x = Tensor::from_vector<double>({1, 2, 3, 4}, Shape{2, 2});
  const Tensor w = Tensor::from_vector<double>({1, 0, 2, 1, -1, 3}, Shape{3, 2});  // [out=3, in=2]
  const Tensor b = Tensor::from_vector<double>({10, 20, 30}, Shape{3});
  // row 1: [1, 2+2, -1+6] = [1, 4, 5];  row 2: [3, 6+4, -3+12] = [3, 10, 9]
  CHECK(linear(x, w).to_vector<double>() == std::vector<double>{1, 4, 5, 3, 10, 9});
  CHECK(linear(x, w, b).to_vector<double>() == std::vector<double>{11, 24, 35, 13, 30, 39});
  const Tensor x3 = x.reshape(Shape{2, 1, 2});
  const Tensor y3 = linear(x3, w, b);
  CHECK(y3.shape() == Shape{2, 1, 3});
  CHECK(y3.to_vector<double>() == std::vector<double>{11, 24, 35, 13, 30, 39});
}

TEST_CASE("linear gradcheck: with and without bias, batched, transposed weight view, complex") {
  auto node = std::make_shared<Linear>();
  check_grad(gradcheck(node, {randn64(Shape{4, 3}, 40), randn64(Shape{2, 3}, 41), randn64(Shape{2}, 42)}));
  check_grad(gradcheck(node, {randn64(Shape{2, 3, 3}, 43), randn64(Shape{5, 3}, 44)}));
  check_grad(gradcheck(node, {randn64(Shape{3}, 45), randn64(Shape{2, 3}, 46), randn64(Shape{2}, 47)}));
  check_grad(gradcheck(node, {randn64(Shape{4, 3}, 48), randn64(Shape{3, 2}, 49).transpose(0, 1), randn64(Shape{2}, 50)}));
  check_grad(gradcheck(node, {Tensor::randn(Shape{2, 3}, 51, DType::complex128),
                              Tensor::randn(Shape{2, 3}, 52, DType::complex128),
                              Tensor::randn(Shape{2}, 53, DType::complex128)}));
}

TEST_CASE("linear errors: feature mismatch and bad bias name both shapes") {
  CHECK_THROWS_WITH_AS(linear(Tensor::zeros(Shape{2, 3}), Tensor::zeros(Shape{4, 5})),
                       doctest::Contains("[4, 5]"), ShapeError);
  CHECK_THROWS_WITH_AS(linear(Tensor::zeros(Shape{2, 3}), Tensor::zeros(Shape{4, 3}), Tensor::zeros(Shape{3})),
                       doctest::Contains("bias"), ShapeError);
}
