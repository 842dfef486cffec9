// The OpenCL GEMM (kernels/gemm.cl through opencl::gemm) against a host reference, and the matmul
// and linear nodes against the CPU backend; float32 and float64, on PoCL in CI.
//
// GEMM tolerance. Each element of C is alpha·Σ_k a_mk·b_kn + beta·c_mn, summed in T: a sum of K
// products rounds by at most γ_K·Σ_k|a_mk·b_kn| ≤ K·ε·Σ|a||b| (to first order; each product and
// each addition rounds once, fused or not), then alpha·(…) and + beta·c round twice more. So
//   |C − C_exact| ≤ (K + 2)·ε·(|alpha|·Σ_k|a_mk||b_kn| + |beta|·|c_mn|).
// The reference is computed in long double (64-bit mantissa: 2^11 times finer than float64's) from
// the very values the device reads, so its own error is negligible against that bound. The test
// checks the bound per element and prints the largest ratio error / (ε·(|alpha|Σ|a||b| +
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
double check_gemm(const Operand& a, const Operand& b, const Operand* c0, double alpha, double beta, const Shape& batch) {
  const Tensor ha = a.host(), hb = b.host();
  const std::int64_t M = ha.shape()[ha.rank() - 2], K = ha.shape()[ha.rank() - 1], N = hb.shape()[hb.rank() - 1];
  const DType dtype = ha.dtype();
  Shape c_shape = batch;
  c_shape.push_back(M), c_shape.push_back(N);
  Tensor dc = c0 ? c0->device() : Tensor::empty(c_shape, dtype, Backend::opencl);
  opencl::gemm(a.device(), b.device(), dc, alpha, beta);
  Shape a_full = batch, b_full = batch;
  a_full.push_back(M), a_full.push_back(K);
  b_full.push_back(K), b_full.push_back(N);
  const auto va = ha.expand(a_full).contiguous().to_vector<double>();
  const auto vb = hb.expand(b_full).contiguous().to_vector<double>();
  const auto vc0 = c0 ? c0->host().contiguous().to_vector<double>() : std::vector<double>();
  const auto got = dc.to(Backend::cpu).contiguous().to_vector<double>();
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
        const double err = double(std::fabs(Real(got[i]) - exact));
        if (std::isnan(got[i]) || err > double(K + 2) * eps * double(scale)) {
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
  for (DType dtype : {DType::float32, DType::float64}) {
    double worst = 0;
    std::uint64_t seed = 1;
    for (std::int64_t M : sizes)
      for (std::int64_t N : sizes)
        for (std::int64_t K : sizes) {
          INFO(fmt::format("{} M={} N={} K={}", dtype_name(dtype), M, N, K));
          // the transposes cycle so that every layout meets many shapes
          const bool ta = (seed & 1) != 0, tb = (seed & 2) != 0;
          const Operand a = operand(Shape{M, K}, ta, seed++, dtype), b = operand(Shape{K, N}, tb, seed++, dtype);
          worst = std::max(worst, check_gemm(a, b, nullptr, 1.0, 0.0, Shape{}));
        }
    const opencl::GemmTiles t = opencl::gemm_tiles(opencl::current_context(), dtype);
    MESSAGE(fmt::format("gemm {} on {}: tiles {}x{}x{} ({}x{} per work-item), worst error {:.3f} ε·Σ|a||b|",
                        dtype_name(dtype), opencl::current_context().device().name, t.tile_m, t.tile_n, t.tile_k,
                        t.work_m, t.work_n, worst));
    CHECK(worst <= 130 + 2);
  }
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
    // K = 0: C = beta·C (alpha·0)
    const Operand a0 = operand(Shape{3, 0}, false, 1, dtype), b0 = operand(Shape{0, 4}, false, 2, dtype);
    const Operand c0 = operand(Shape{3, 4}, false, 3, dtype);
    check_gemm(a0, b0, &c0, 1.0, 0.5, Shape{});
    MESSAGE(fmt::format("gemm {} views/batches: worst error {:.3f} ε·(|α|Σ|a||b| + |β||c|)", dtype_name(dtype), worst));
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
  CHECK_THROWS_AS(opencl::matmul_batched(Tensor::zeros(Shape{2, 2, 3}, DType::float32, Backend::opencl),
                                         Tensor::zeros(Shape{3, 3, 4}, DType::float32, Backend::opencl)),
                  ShapeError);
}

#endif
