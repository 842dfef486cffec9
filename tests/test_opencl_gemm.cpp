// The OpenCL GEMM (kernels/gemm.cl through opencl::gemm) against a host reference, and the matmul
// and linear nodes against the CPU backend; float32 and float64, on PoCL in CI.
//
// GEMM tolerance. Each element of C is alpha·Σ_k a_mk·b_kn + beta·c_mn, summed in T: a sum of K
// products rounds by at most γ_K·Σ_k|a_mk·b_kn| ≤ K·ε·Σ|a||b| (to first order; each product and
// each addition rounds once, fused or not), then alpha·(…) and + beta·c round twice more. So
//   |C − C_exact| ≤ (K + 2)·ε·(|alpha|·Σ_k|a_mk||b_kn| + |beta|·|c_mn|).
// The reference is computed in long double (64-bit mantissa: 2^11 times finer than float64's) from
// the very values the device reads, so its own error is negligible against that bound. The test
// checks the bound per element (K + 3 with an epilogue addend d, whose |d| joins the scale) and
// prints the largest ratio error / (ε·(|alpha|Σ|a||b| +
// |beta||c|)), which in practice is far below K + 2 (random signs: errors grow like √K).
#include <doctest/doctest.h>

#ifndef NODAL_HAS_OPENCL
TEST_CASE("OpenCL GEMM tests are skipped: this build has no OpenCL backend") {
  MESSAGE("skipped: configured with -DNODAL_OPENCL=OFF");
}
#else

#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "nodal/backends/opencl/context.hpp"
#include "nodal/backends/opencl/gemm.hpp"
#include "nodal/core/error.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/linear.hpp"
#include "nodal/nodes/matmul.hpp"
#include "opencl_parity_util.hpp"
#include "opencl_test_util.hpp"

using namespace nodal;
using nodal::test::opencl_present;

namespace {

using Real = long double;

// An operand stored as `stored` on the host, used through `view` (a transpose, a broadcast...):
// the device operand is the same view of the uploaded storage, so both see identical strides.
struct Operand {
  Tensor stored;
  bool transposed = false;
  Tensor host() const { return transposed ? stored.transpose(-2, -1) : stored; }
  Tensor device() const {
    const Tensor d = stored.to(Backend::opencl);
    return transposed ? d.transpose(-2, -1) : d;
  }
};

Operand operand(Shape shape, bool transposed, std::uint64_t seed, DType dtype) {
  if (transposed) std::swap(shape[shape.rank() - 2], shape[shape.rank() - 1]);
  return Operand{Tensor::randn(shape, seed, dtype), transposed};
}

// Runs c = alpha·a·b + beta·c0 on the device and returns the worst error ratio (see the header).
double check_gemm(const Operand& a, const Operand& b, const Operand* c0, double alpha, double beta, const Shape& batch,
                  const Tensor* add = nullptr) {
  const Tensor ha = a.host(), hb = b.host();
  const std::int64_t M = ha.shape()[ha.rank() - 2], K = ha.shape()[ha.rank() - 1], N = hb.shape()[hb.rank() - 1];
  const DType dtype = ha.dtype();
  Shape c_shape = batch;
  c_shape.push_back(M), c_shape.push_back(N);
  Tensor dc = c0 ? c0->device() : Tensor::empty(c_shape, dtype, Backend::opencl);
  const Tensor d_add = add ? add->to(Backend::opencl) : Tensor();
  opencl::gemm(a.device(), b.device(), dc, alpha, beta, "gemm", add ? &d_add : nullptr);
  Shape a_full = batch, b_full = batch;
  a_full.push_back(M), a_full.push_back(K);
  b_full.push_back(K), b_full.push_back(N);
  const auto va = ha.expand(a_full).contiguous().to_vector<double>();
  const auto vb = hb.expand(b_full).contiguous().to_vector<double>();
  const auto vc0 = c0 ? c0->host().contiguous().to_vector<double>() : std::vector<double>();
  const auto got = dc.to(Backend::cpu).contiguous().to_vector<double>();
  const auto vadd = add ? add->expand(Shape{M, N}).contiguous().to_vector<double>() : std::vector<double>();
  REQUIRE(got.size() == std::size_t(batch.numel() * M * N));
  const double eps = nodal::test::epsilon(dtype);
  double worst = 0;
  for (std::int64_t p = 0; p < batch.numel(); ++p)
    for (std::int64_t m = 0; m < M; ++m)
      for (std::int64_t n = 0; n < N; ++n) {
        Real sum = 0, abs_sum = 0;
        for (std::int64_t k = 0; k < K; ++k) {
          const Real term = Real(va[(p * M + m) * K + k]) * Real(vb[(p * K + k) * N + n]);
          sum += term;
          abs_sum += std::fabs(term);
        }
        const std::size_t i = std::size_t((p * M + m) * N + n);
        Real exact = Real(alpha) * sum, scale = std::fabs(Real(alpha)) * abs_sum;
        if (beta != 0) exact += Real(beta) * Real(vc0[i]), scale += std::fabs(Real(beta) * Real(vc0[i]));
        if (add) {  // the epilogue's addend: one more rounding
          const Real d = Real(vadd[std::size_t(m * N + n)]);
          exact += d, scale += std::fabs(d);
        }
        const double err = double(std::fabs(Real(got[i]) - exact));
        if (std::isnan(got[i]) || err > double(K + 3) * eps * double(scale)) {
          FAIL_CHECK(fmt::format("C[{}, {}, {}] = {} but exactly {} (scale {})", p, m, n, got[i], double(exact),
                                 double(scale)));
          return std::nan("");
        }
        if (scale > 0) worst = std::max(worst, err / (eps * double(scale)));
      }
  return worst;
}

}  // namespace

TEST_CASE("opencl gemm: every M, N, K in {1, 2, 3, 7, 16, 33, 64, 130} against a long double reference") {
  if (!opencl_present()) return;
  const std::int64_t sizes[] = {1, 2, 3, 7, 16, 33, 64, 130};
  // the device's own configuration, then the GPU layout (interleaved columns, no VECTOR_N) and the
  // small fallback forced, so that every variant of the kernel runs on whatever device CI has
  const opencl::GemmTiles variants[] = {{}, {64, 64, 16, 4, 4, 0}, {16, 16, 8, 2, 2, 0}};
  for (const opencl::GemmTiles& forced : variants) {
    opencl::force_gemm_tiles(forced);
    for (DType dtype : {DType::float32, DType::float64}) {
      // the forced layouts in float32 only: their code does not depend on T, and each variant is
      // one more program for PoCL to compile (about a second each)
      if (forced.tile_m > 0 && dtype == DType::float64) continue;
      double worst = 0;
      std::uint64_t seed = 1;
      for (std::int64_t M : sizes)
        for (std::int64_t N : sizes)
          for (std::int64_t K : sizes) {
            INFO(fmt::format("{} M={} N={} K={} forced tiles {}", dtype_name(dtype), M, N, K, forced.tile_m));
            // the transposes cycle so that every layout meets many shapes
            const bool ta = (seed & 1) != 0, tb = (seed & 2) != 0;
            const Operand a = operand(Shape{M, K}, ta, seed++, dtype), b = operand(Shape{K, N}, tb, seed++, dtype);
            worst = std::max(worst, check_gemm(a, b, nullptr, 1.0, 0.0, Shape{}));
          }
      const opencl::GemmTiles t = opencl::gemm_tiles(opencl::current_context(), dtype);
      MESSAGE(fmt::format("gemm {} on {}: tiles {}x{}x{} ({}x{} per work-item{}), worst error {:.3f} ε·Σ|a||b|",
                          dtype_name(dtype), opencl::current_context().device().name, t.tile_m, t.tile_n, t.tile_k,
                          t.work_m, t.work_n, t.vector_n ? ", vector" : "", worst));
      CHECK(worst <= 130 + 2);
    }
  }
  opencl::force_gemm_tiles({});
}

TEST_CASE("opencl gemm: transposed views, alpha/beta accumulation, strided C, batches with broadcasting") {
  if (!opencl_present()) return;
  for (DType dtype : {DType::float32, DType::float64}) {
    double worst = 0;
    std::uint64_t seed = 1000;
    // all four transpose combinations on shapes with ragged edges
    for (int flags = 0; flags < 4; ++flags)
      for (auto [M, N, K] : {std::array<std::int64_t, 3>{33, 7, 130}, {65, 31, 17}, {1, 130, 64}, {130, 1, 3}}) {
        INFO(fmt::format("{} M={} N={} K={} flags {}", dtype_name(dtype), M, N, K, flags));
        const Operand a = operand(Shape{M, K}, flags & 1, seed++, dtype), b = operand(Shape{K, N}, flags & 2, seed++, dtype);
        // C accumulated into (beta = 1, as vjps do), and C itself a transposed view
        const Operand c = operand(Shape{M, N}, flags == 3, seed++, dtype);
        worst = std::max(worst, check_gemm(a, b, &c, 1.0, 1.0, Shape{}));
        worst = std::max(worst, check_gemm(a, b, &c, -0.5, 2.0, Shape{}));
        worst = std::max(worst, check_gemm(a, b, nullptr, 3.0, 0.0, Shape{}));
      }
    // batches: full, broadcast A (stride 0), broadcast B, a batch axis of each, two batch axes
    struct Case { Shape a, b, batch; };
    for (const Case& k : {Case{Shape{5, 7, 9}, Shape{5, 9, 3}, Shape{5}}, Case{Shape{7, 9}, Shape{4, 9, 33}, Shape{4}},
                          Case{Shape{3, 17, 2}, Shape{2, 5}, Shape{3}}, Case{Shape{3, 1, 6, 4}, Shape{1, 2, 4, 6}, Shape{3, 2}},
                          Case{Shape{2, 3, 1, 8}, Shape{2, 3, 8, 1}, Shape{2, 3}}, Case{Shape{0, 3, 4}, Shape{4, 2}, Shape{0}}}) {
      for (int flags = 0; flags < 4; ++flags) {
        INFO(fmt::format("{} a {} b {} flags {}", dtype_name(dtype), to_string(k.a), to_string(k.b), flags));
        const Operand a = operand(k.a, flags & 1, seed++, dtype), b = operand(k.b, flags & 2, seed++, dtype);
        worst = std::max(worst, check_gemm(a, b, nullptr, 1.0, 0.0, k.batch));
      }
    }
    // the epilogue: a column bias [N], a row bias [M, 1], a full [M, N]; with accumulation and batches
    for (auto [M, N, K] : {std::array<std::int64_t, 3>{33, 7, 130}, {65, 31, 17}, {1, 1, 1}}) {
      INFO(fmt::format("{} epilogue M={} N={} K={}", dtype_name(dtype), M, N, K));
      const Operand a = operand(Shape{3, M, K}, false, seed++, dtype), b = operand(Shape{K, N}, true, seed++, dtype);
      const Operand c = operand(Shape{3, M, N}, false, seed++, dtype);
      for (const Shape& add_shape : {Shape{N}, Shape{M, 1}, Shape{M, N}}) {
        const Tensor add = Tensor::randn(add_shape, seed++, dtype);
        worst = std::max(worst, check_gemm(a, b, nullptr, 1.0, 0.0, Shape{3}, &add));
        worst = std::max(worst, check_gemm(a, b, &c, 1.0, 1.0, Shape{3}, &add));
      }
    }
    // K = 0: C = beta·C (alpha·0)
    const Operand a0 = operand(Shape{3, 0}, false, 1, dtype), b0 = operand(Shape{0, 4}, false, 2, dtype);
    const Operand c0 = operand(Shape{3, 4}, false, 3, dtype);
    check_gemm(a0, b0, &c0, 1.0, 0.5, Shape{});
    MESSAGE(fmt::format("gemm {} views/batches/epilogue: worst error {:.3f} ε·(|α|Σ|a||b| + |β||c| + |d|)", dtype_name(dtype), worst));
    CHECK(worst <= 130 + 2);
  }
}

TEST_CASE("opencl gemm: bad operands raise errors naming the shapes") {
  if (!opencl_present()) return;
  const Tensor a = Tensor::zeros(Shape{2, 3}, DType::float32, Backend::opencl);
  const Tensor b = Tensor::zeros(Shape{4, 5}, DType::float32, Backend::opencl);
  Tensor c = Tensor::zeros(Shape{2, 5}, DType::float32, Backend::opencl);
  CHECK_THROWS_WITH_AS(opencl::gemm(a, b, c), doctest::Contains("[2, 3]"), ShapeError);
  const Tensor b64 = Tensor::zeros(Shape{3, 5}, DType::float64, Backend::opencl);
  CHECK_THROWS_AS(opencl::gemm(a, b64, c), DTypeError);
  const Tensor host = Tensor::zeros(Shape{3, 5});
  CHECK_THROWS_AS(opencl::gemm(a, host, c), BackendError);
  const Tensor batched = Tensor::zeros(Shape{3, 3, 5}, DType::float32, Backend::opencl);
  CHECK_THROWS_AS(opencl::gemm(a, batched, c), ShapeError);  // b's batch does not fit c's
  const Tensor b35 = Tensor::zeros(Shape{3, 5}, DType::float32, Backend::opencl);
  const Tensor bad_add = Tensor::zeros(Shape{4}, DType::float32, Backend::opencl);
  CHECK_THROWS_WITH_AS(opencl::gemm(a, b35, c, 1.0, 0.0, "gemm", &bad_add), doctest::Contains("[4]"), ShapeError);
  CHECK_THROWS_AS(opencl::matmul_batched(Tensor::zeros(Shape{2, 2, 3}, DType::float32, Backend::opencl),
                                         Tensor::zeros(Shape{3, 3, 4}, DType::float32, Backend::opencl)),
                  ShapeError);
  // the nodes: complex is not in the OpenCL kernels yet; mismatched shapes are the node's ShapeError
  const Tensor z = Tensor::zeros(Shape{2, 2}, DType::complex64).to(Backend::opencl);
  CHECK_THROWS_WITH_AS(matmul(z, z), doctest::Contains("matmul"), DTypeError);
  CHECK_THROWS_AS(matmul(a, a), ShapeError);
  CHECK_THROWS_WITH_AS(linear(z, z), doctest::Contains("linear"), DTypeError);
}

// --- the matmul and linear nodes against the CPU backend -------------------------------------
//
// Tolerance. Every result of these nodes (outputs, cotangents, tangents) is, per element, a sum of
// products of the inputs (the batch sums of broadcast operands and the bias terms included), and
// is linear in each input. Both backends compute it within (K + 2)·ε·Σ|terms| of the exact value
// (K the number of terms, as for the GEMM above), so they differ by at most 2·(K + 2)·ε·Σ|terms|.
// Σ|terms| per element is obtained exactly by running the CPU node on the absolute values of
// every input, cotangent and tangent. The check is that per-element bound with K the longest sum
// in the case; the measured worst (error / (ε·Σ|terms|)) is printed.
namespace {

Tensor abs_of(const Tensor& t) {
  if (!t.defined()) return t;
  std::vector<double> v = t.to(Backend::cpu).contiguous().to_vector<double>();
  for (double& x : v) x = std::fabs(x);
  return Tensor::from_vector(v, t.shape()).astype(t.dtype());
}

double compare_products(const Node& node, const std::vector<Tensor>& inputs, const Tensor& g,
                        const std::vector<Tensor>& tangents, bool strided, std::int64_t terms) {
  using nodal::test::run_node;
  const auto cpu = run_node(node, inputs, g, tangents, Backend::cpu);
  const auto cl = run_node(node, inputs, g, tangents, Backend::opencl, strided);
  std::vector<Tensor> abs_inputs, abs_tangents;
  for (const Tensor& t : inputs) abs_inputs.push_back(abs_of(t));
  for (const Tensor& t : tangents) abs_tangents.push_back(abs_of(t));
  const auto scale = run_node(node, abs_inputs, abs_of(g), abs_tangents, Backend::cpu);
  double worst = 0;
  const auto take = [&](const Tensor& d, const Tensor& c, const Tensor& s) {
    if (!c.defined()) return;
    REQUIRE(d.defined());
    CHECK(d.backend() == Backend::opencl);
    const double e = nodal::test::max_error(d, c, &s);
    CHECK(e <= 2.0 * double(terms + 2));
    worst = std::isnan(e) ? e : std::max(worst, e);
  };
  take(cl.outputs[0], cpu.outputs[0], scale.outputs[0]);
  for (std::size_t i = 0; i < inputs.size(); ++i) take(cl.cotangents[i], cpu.cotangents[i], scale.cotangents[i]);
  take(cl.tangent, cpu.tangent, scale.tangent);
  for (std::size_t i = 0; i < cpu.partial_tangents.size(); ++i)
    take(cl.partial_tangents[i], cpu.partial_tangents[i], scale.partial_tangents[i]);
  return worst;
}

}  // namespace

TEST_CASE("opencl matmul: forward, vjp, jvp against the CPU backend (1-D promotion, broadcast batches, views)") {
  if (!opencl_present()) return;
  struct Case { Shape a, b; };
  const Case cases[] = {{Shape{3, 4}, Shape{4, 5}},          {Shape{7}, Shape{7}},
                        {Shape{5}, Shape{5, 3}},             {Shape{4, 5}, Shape{5}},
                        {Shape{2, 3, 4}, Shape{4, 5}},       {Shape{4, 5}, Shape{2, 5, 3}},
                        {Shape{2, 1, 3, 4}, Shape{3, 4, 6}}, {Shape{1, 33, 17}, Shape{4, 17, 9}},
                        {Shape{3, 2, 7}, Shape{7}},          {Shape{6}, Shape{2, 6, 5}},
                        {Shape{65, 130}, Shape{130, 31}},    {Shape{0, 3}, Shape{3, 4}},
                        {Shape{2, 3, 0}, Shape{0, 4}}};
  const MatMul node;
  for (DType dtype : {DType::float32, DType::float64}) {
    double worst = 0;
    std::uint64_t seed = 77;
    for (const Case& k : cases)
      for (bool strided : {false, true}) {
        INFO(fmt::format("matmul {} a {} b {}{}", dtype_name(dtype), to_string(k.a), to_string(k.b),
                         strided ? " (transposed views)" : ""));
        const MatmulShapes s = matmul_shapes(k.a, k.b);
        const Tensor a = Tensor::randn(k.a, seed++, dtype), b = Tensor::randn(k.b, seed++, dtype);
        const Tensor g = Tensor::randn(s.out, seed++, dtype);
        const Tensor ta = Tensor::randn(k.a, seed++, dtype), tb = Tensor::randn(k.b, seed++, dtype);
        // the longest sum: K of the product, or the batch·n (b̄) / batch·m rows summed in a vjp
        const std::int64_t n = s.a[s.a.rank() - 2], kk = s.a[s.a.rank() - 1], m = s.b[s.b.rank() - 1];
        const std::int64_t terms = std::max({2 * kk, s.batch.numel() * n, s.batch.numel() * m, std::int64_t(1)});
        worst = std::max(worst, compare_products(node, {a, b}, g, {ta, tb}, strided, terms));
      }
    MESSAGE(fmt::format("matmul {}: worst error {:.3f} ε·Σ|terms|", dtype_name(dtype), worst));
  }
}

TEST_CASE("opencl linear: forward, vjp, jvp against the CPU backend (with and without bias, views)") {
  if (!opencl_present()) return;
  struct Case { Shape x; std::int64_t out; };
  const Case cases[] = {{Shape{5, 7}, 3}, {Shape{7}, 4}, {Shape{2, 3, 7}, 5}, {Shape{33, 130}, 17},
                        {Shape{2, 0, 7}, 3}, {Shape{4, 3, 2, 9}, 1}, {Shape{64, 16}, 64}};
  const Linear node;
  for (DType dtype : {DType::float32, DType::float64}) {
    double worst = 0;
    std::uint64_t seed = 500;
    for (const Case& k : cases)
      for (bool with_bias : {false, true})
        for (bool strided : {false, true}) {
          INFO(fmt::format("linear {} x {} out {}{}{}", dtype_name(dtype), to_string(k.x), k.out,
                           with_bias ? " with bias" : "", strided ? " (transposed views)" : ""));
          const std::int64_t in = k.x[k.x.rank() - 1];
          Shape y_shape = k.x;
          y_shape[y_shape.rank() - 1] = k.out;
          std::vector<Tensor> inputs = {Tensor::randn(k.x, seed++, dtype), Tensor::randn(Shape{k.out, in}, seed++, dtype)};
          std::vector<Tensor> tangents = {Tensor::randn(k.x, seed++, dtype), Tensor::randn(Shape{k.out, in}, seed++, dtype)};
          if (with_bias) {
            inputs.push_back(Tensor::randn(Shape{k.out}, seed++, dtype));
            tangents.push_back(Tensor::randn(Shape{k.out}, seed++, dtype));
          }
          const Tensor g = Tensor::randn(y_shape, seed++, dtype);
          const std::int64_t rows = k.x.numel() / std::max<std::int64_t>(in, 1);
          const std::int64_t terms = std::max({2 * in + 1, rows, std::int64_t(1)});
          worst = std::max(worst, compare_products(node, inputs, g, tangents, strided, terms));
        }
    MESSAGE(fmt::format("linear {}: worst error {:.3f} ε·Σ|terms|", dtype_name(dtype), worst));
  }
}

#endif
