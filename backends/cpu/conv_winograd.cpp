// Algorithm "winograd": 2-D convolution by Winograd's minimal filtering, F(4×4, 3×3) for 3×3
// kernels and F(4×4, 5×5) for 5×5, stride 1, dilation 1, any padding, groups (docs/convolution.md,
// section "Winograd"). Per m × m output tile (m = 4, α = m + r − 1):
//
//   forward          Y  = Aᵀ [ Σ_c (G w[o,c] Gᵀ) ⊙ (Bᵀ x_c B) ] A          (α² products per tile
//                                                                           and channel pair, not
//                                                                           m²·r²: 2.25× fewer
//                                                                           for 3×3, 6.25× for 5×5)
//   backward input   dx = ȳ ⋆ᵀ w: the same forward on ȳ with the kernel flipped and its channels
//                    swapped (a correlation with padding r − 1 − pad), so it runs the same code
//   backward weight  dw[o,c] = Gᵀ [ Σ_tiles (A ȳ_o Aᵀ) ⊙ (Bᵀ x_c B) ] G   — the transposed
//                    algorithm (winograd_matrices.hpp): the channel product sums over tiles in the
//                    transform domain and each (o, c) pair is transformed back once
//
// Tiles are processed in blocks held in SIMD lanes (conv_winograd_tiles.hpp); the channel
// products are register-blocked GEMMs (conv_winograd_gemm.hpp). Filter transforms are computed in
// double and rounded once.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "nodal/backends/cpu/conv_algorithm.hpp"
#include "nodal/backends/cpu/conv_cost.hpp"
#include "nodal/backends/cpu/conv_winograd_gemm.hpp"
#include "nodal/backends/cpu/elementwise.hpp"

namespace nodal::cpu {
namespace {

using winograd::Lanes;
using winograd::TileOrigins;
using winograd::TileProblem;

template <class T, int M, int R> struct Winograd2d {
  using V = typename Lanes<T>::type;
  static constexpr int W = Lanes<T>::count, A = M + R - 1, AA = A * A;
  static constexpr int TV = 4;  // lane vectors per forward block: TV·W tiles
  using In = winograd::InputTransform<M, R>;
  using Out = winograd::OutputTransform<M, R>;
  using Grad = winograd::GradientTransform<M, R>;

  // U[ξ][c][o] = (G k(o, c) Gᵀ)_ξ with k(o, c, ky, kx) the kernel tap, in double.
  // Returned in a buffer of the calling thread that the next call reuses (no allocation, hence no
  // page faults, in steady state).
  template <class Kernel> static const T* filter_transform(std::int64_t cin, std::int64_t cout, Kernel k) {
    constexpr auto& mats = winograd::Tables<M, R>::value;
    thread_local std::vector<T> u;
    u.resize(std::size_t(AA * cin * cout));
    for (std::int64_t o = 0; o < cout; ++o)
      for (std::int64_t c = 0; c < cin; ++c) {
        double gk[A][R];  // G k
        for (int a = 0; a < A; ++a)
          for (int kx = 0; kx < R; ++kx) {
            double s = 0;
            for (int ky = 0; ky < R; ++ky) s += mats.G[a][ky] * double(k(o, c, ky, kx));
            gk[a][kx] = s;
          }
        for (int a = 0; a < A; ++a)
          for (int b = 0; b < A; ++b) {
            double s = 0;
            for (int kx = 0; kx < R; ++kx) s += gk[a][kx] * mats.G[b][kx];
            u[std::size_t(((a * A + b) * cin + c) * cout + o)] = T(s);
          }
      }
    return u.data();
  }

  // y = x ⋆ k (+ bias[o], added to each output tile before it is written) for one group: x, y,
  // bias point at the group's first channel.
  static void correlate(const TileProblem& p, const T* x, const T* u, T* y, const T* bias = nullptr) {
    constexpr std::int64_t TB = TV * W;
    const std::int64_t tiles = p.tiles(), blocks = (tiles + TB - 1) / TB;
    const std::int64_t cin = p.in_channels, cout = p.out_channels;
    const std::int64_t in_plane = p.in_h * p.in_w, out_plane = p.out_h * p.out_w;
    parallel_for(
        blocks,
        [&](std::int64_t b0, std::int64_t b1) {
          thread_local winograd::LaneBuffer<T> patch_buffer, v_buffer, m_buffer;
          thread_local TileOrigins at;
          V* patch = patch_buffer.reserve(std::size_t(AA * TV));
          V* v = v_buffer.reserve(std::size_t(AA * cin * TV));
          V* m = m_buffer.reserve(std::size_t(AA * cout * TV));
          for (std::int64_t block = b0; block < b1; ++block) {
            const std::int64_t first = block * TB, count = std::min(TB, tiles - first);
            at.locate(p, M, first, count, TB);
            winograd::transform_channels<In, T, A>(x, cin, in_plane, p.in_sample, p.in_h, p.in_w, p.pad_top, p.pad_left,
                                                   at, std::integral_constant<std::int64_t, TV>{}, patch, v);
            for (int xi = 0; xi < AA; ++xi)
              winograd::channel_product<T, TV>(cin, cout, u + xi * cin * cout, v + xi * cin * TV,
                                                m + xi * cout * TV);
            for (std::int64_t o = 0; o < cout; ++o)
              for (int t = 0; t < TV && t * W < count; ++t) {
                V tile[M * M];
                winograd::transform_2d<Out, T>(m + o * TV + t, cout * TV, tile, 1);
                if (bias)
                  for (V& value : tile) value += bias[o];
                winograd::scatter_outputs<T, M>(tile, at, t * W, y + o * out_plane, p.out_sample, p.out_h, p.out_w);
              }
          }
        },
        1);
  }

  // dw[o, c] = Gᵀ [Σ_tiles (A ȳ_o Aᵀ) ⊙ (Bᵀ x_c B)] G for one group; dw points at the group's
  // first filter, [cout][cin][R][R].
  static void weight_gradient(const TileProblem& p, const T* x, const T* dy, T* dw) {
    const std::int64_t cin = p.in_channels, cout = p.out_channels;
    const std::int64_t in_plane = p.in_h * p.in_w, out_plane = p.out_h * p.out_w;
    // Long lane runs amortize the lane fold of the weight product (one fold per 16·tv products);
    // the transforms of a block stay within a few MiB (the products then read them per ξ).
    const std::int64_t per_vector = AA * (cin + cout) * std::int64_t(sizeof(V));
    const std::int64_t tv = std::clamp<std::int64_t>((std::int64_t(4) << 20) / std::max<std::int64_t>(per_vector, 1), 4, 16);
    const std::int64_t TB = tv * W, tiles = p.tiles(), blocks = (tiles + TB - 1) / TB;
    const int threads = (blocks >= 2 && !omp_in_parallel()) ? std::max(1, omp_get_max_threads()) : 1;
    // per thread and ξ: the 4 × 4 (o, c) tiles as lane vectors, and the pairs outside them
    const std::int64_t tile_vectors = (cout / 4) * (cin / 4) * (16 / W), pairs = cout * cin;
    // reused across calls (no allocation in steady state)
    thread_local std::vector<T> rest_storage;
    thread_local std::vector<winograd::LaneBuffer<T>> tile_storage;
    // the calling thread's instances, by name inside the parallel region (there a thread_local
    // name would mean the worker's own)
    std::vector<T>& rest = rest_storage;
    std::vector<winograd::LaneBuffer<T>>& tile_buffers = tile_storage;
    // pairs outside the 4 × 4 tiles (channel counts not multiples of 4) go to `rest`
    const bool ragged = cout % 4 != 0 || cin % 4 != 0;
    rest.assign(ragged ? std::size_t(threads * AA * pairs) : 0, T(0));
    if (tile_buffers.size() < std::size_t(threads)) tile_buffers.resize(std::size_t(threads));
    for (winograd::LaneBuffer<T>& b : tile_buffers) {
      V* sums = b.reserve(std::size_t(AA * tile_vectors));
      std::fill(sums, sums + AA * tile_vectors, V{});
    }
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
      const int id = omp_get_thread_num(), n = omp_get_num_threads();
      thread_local winograd::LaneBuffer<T> patch_buffer, v_buffer, z_buffer;
      V* patch = patch_buffer.reserve(std::size_t(AA * tv));
      V* v = v_buffer.reserve(std::size_t(AA * cin * tv));
      V* z = z_buffer.reserve(std::size_t(AA * cout * tv));
      V* tile_sums = tile_buffers[std::size_t(id)].reserve(std::size_t(AA * tile_vectors));
      T* mine = ragged ? rest.data() + std::size_t(id * AA * pairs) : nullptr;
      TileOrigins at;
      for (std::int64_t block = blocks * id / n; block < blocks * (id + 1) / n; ++block) {
        const std::int64_t first = block * TB, count = std::min(TB, tiles - first);
        at.locate(p, M, first, count, TB);
        winograd::transform_channels<In, T, A>(x, cin, in_plane, p.in_sample, p.in_h, p.in_w, p.pad_top, p.pad_left, at,
                                               tv, patch, v);
        winograd::transform_channels<Grad, T, M>(dy, cout, out_plane, p.out_sample, p.out_h, p.out_w, 0, 0, at, tv,
                                                 patch, z);
        for (int xi = 0; xi < AA; ++xi)
          winograd::weight_product<T>(tv, cout, cin, z + xi * cout * tv, v + xi * cin * tv,
                                      tile_sums + xi * tile_vectors, ragged ? mine + xi * pairs : nullptr);
      }
    }
    // dw = Gᵀ S G per pair, S the sums over threads; in two stages (Gᵀ S, then · G), pairs split
    // over threads.
    constexpr auto& mats = winograd::Tables<M, R>::value;
    parallel_for(
        cout * cin,
        [&](std::int64_t begin, std::int64_t end) {
          for (std::int64_t pair = begin; pair < end; ++pair) {
            const std::int64_t o = pair / cin, c = pair % cin;
            double s[A][A];
            for (int xi = 0; xi < AA; ++xi) {
              double total = 0;
              for (int id = 0; id < threads; ++id)
                total += double(winograd::weight_sum<T>(tile_buffers[std::size_t(id)].data() + xi * tile_vectors,
                                                         ragged ? rest.data() + std::size_t((id * AA + xi) * pairs) : nullptr,
                                                         cout, cin, o, c));
              s[xi / A][xi % A] = total;
            }
            double gs[R][A];  // Gᵀ S
            for (int ky = 0; ky < R; ++ky)
              for (int b = 0; b < A; ++b) {
                double total = 0;
                for (int a = 0; a < A; ++a) total += mats.G[a][ky] * s[a][b];
                gs[ky][b] = total;
              }
            for (int ky = 0; ky < R; ++ky)
              for (int kx = 0; kx < R; ++kx) {
                double total = 0;
                for (int b = 0; b < A; ++b) total += gs[ky][b] * mats.G[b][kx];
                dw[((o * cin + c) * R + ky) * R + kx] = T(total);
              }
          }
        },
        64);
  }
};

// The tile problem of one group's forward correlation (x → y) or of the backward-input
// correlation (ȳ → dx, padding r − 1 − pad).
TileProblem forward_problem(const ConvGeometry& g, int m) {
  TileProblem p;
  p.batch = g.batch, p.in_channels = g.in_per_group(), p.out_channels = g.out_per_group();
  p.in_h = g.in[1], p.in_w = g.in[2], p.out_h = g.out[1], p.out_w = g.out[2];
  p.pad_top = g.pad_before[1], p.pad_left = g.pad_before[2];
  p.in_sample = g.in_channels * g.in_pixels(), p.out_sample = g.out_channels * g.out_pixels();
  p.tiles_h = (p.out_h + m - 1) / m, p.tiles_w = (p.out_w + m - 1) / m;
  return p;
}
TileProblem input_gradient_problem(const ConvGeometry& g, int m) {
  TileProblem p;
  p.batch = g.batch, p.in_channels = g.out_per_group(), p.out_channels = g.in_per_group();
  p.in_h = g.out[1], p.in_w = g.out[2], p.out_h = g.in[1], p.out_w = g.in[2];
  p.pad_top = g.kernel[1] - 1 - g.pad_before[1], p.pad_left = g.kernel[2] - 1 - g.pad_before[2];
  p.in_sample = g.out_channels * g.out_pixels(), p.out_sample = g.in_channels * g.in_pixels();
  p.tiles_h = (p.out_h + m - 1) / m, p.tiles_w = (p.out_w + m - 1) / m;
  return p;
}

template <class T, int M, int R>
void run_forward(const ConvGeometry& g, const T* x, const T* w, T* y, const T* bias) {
  using Alg = Winograd2d<T, M, R>;
  const TileProblem p = forward_problem(g, M);
  const std::int64_t cin = p.in_channels, cout = p.out_channels;
  for (std::int64_t grp = 0; grp < g.groups; ++grp) {
    const T* wg = w + grp * cout * cin * R * R;
    const T* u = Alg::filter_transform(
        cin, cout, [&](std::int64_t o, std::int64_t c, int ky, int kx) { return wg[((o * cin + c) * R + ky) * R + kx]; });
    Alg::correlate(p, x + grp * cin * g.in_pixels(), u, y + grp * cout * g.out_pixels(), bias ? bias + grp * cout : nullptr);
  }
}

template <class T, int M, int R>
void run_backward(const ConvGeometry& g, const T* x, const T* w, const T* dy, T* dx, T* dw) {
  using Alg = Winograd2d<T, M, R>;
  const std::int64_t cin = g.in_per_group(), cout = g.out_per_group();
  for (std::int64_t grp = 0; grp < g.groups; ++grp) {
    const T* wg = w + grp * cout * cin * R * R;
    const T* dyg = dy + grp * cout * g.out_pixels();
    if (dx) {
      // the flipped kernel with channels swapped: k'(c, o, ky, kx) = w[o, c, R−1−ky, R−1−kx]
      const T* u = Alg::filter_transform(cout, cin, [&](std::int64_t c, std::int64_t o, int ky, int kx) {
        return wg[((o * cin + c) * R + (R - 1 - ky)) * R + (R - 1 - kx)];
      });
      Alg::correlate(input_gradient_problem(g, M), dyg, u, dx + grp * cin * g.in_pixels());
    }
    if (dw) Alg::weight_gradient(forward_problem(g, M), x + grp * cin * g.in_pixels(), dyg, dw + grp * cout * cin * R * R);
  }
}

class WinogradConv final : public ConvAlgorithm {
 public:
  std::string_view name() const override { return "winograd"; }

  bool supports(const ConvGeometry& g, std::string* why) const override {
    auto no = [&](std::string reason) {
      if (why) *why = std::move(reason);
      return false;
    };
    if (g.kernel[0] != 1 || g.in[0] != 1 || g.kernel[1] != g.kernel[2] || (g.kernel[1] != 3 && g.kernel[1] != 5))
      return no(fmt::format("needs a 2-D 3×3 or 5×5 kernel (F(4×4, 3×3), F(4×4, 5×5)), got {}×{}×{}", g.kernel[0],
                            g.kernel[1], g.kernel[2]));
    for (int a = 0; a < 3; ++a)
      if (g.stride[a] != 1 || g.dilation[a] != 1) return no("needs stride 1 and dilation 1");
    return true;
  }

  // Channel products (2·α² flops per tile and channel pair, in three passes) plus the tile
  // transforms, counted as the flops of dense two-stage transforms: per tile and channel α²·2α
  // for the input transform, 2m·α(α+m) for the output and the gradient transforms. Each at its
  // own rate (conv_cost.hpp), fitted on 11 layers.
  double estimated_seconds(const ConvGeometry& g, DType dtype) const override {
    const double r = double(g.kernel[1]), m = 4, a = m + r - 1;
    auto tiles = [&](std::int64_t h, std::int64_t w) {
      return double(g.batch) * std::ceil(double(h) / m) * std::ceil(double(w) / m);
    };
    const double t_fwd = tiles(g.out[1], g.out[2]), t_dx = tiles(g.in[1], g.in[2]);
    const double cin = double(g.in_per_group()), cout = double(g.out_per_group()), groups = double(g.groups);
    const double products = 2.0 * a * a * cin * cout * groups * (2 * t_fwd + t_dx);
    const double input = a * a * 2 * a, output = 2 * m * a * (a + m);  // per tile and channel
    const double transforms = groups * (t_fwd * (cin * input + cout * output) + t_dx * (cout * input + cin * output) +
                                        t_fwd * (cin * input + cout * output));
    return products / (conv_cost::winograd_flops_per_s * conv_cost::rate_scale(dtype)) +
           transforms / (conv_cost::winograd_transform_flops_per_s * conv_cost::rate_scale(dtype));
  }

  std::unique_ptr<ConvSaved> forward(const ConvGeometry& g, const Tensor& x, const Tensor& w, Tensor& y,
                                     bool) const override {
    forward_typed(g, x, w, nullptr, y);
    return nullptr;
  }
  // the bias joins each output tile before it is written
  std::unique_ptr<ConvSaved> forward_with_bias(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& b,
                                               Tensor& y, bool) const override {
    forward_typed(g, x, w, &b, y);
    return nullptr;
  }
  void forward_typed(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor* b, Tensor& y) const {
    visit_real_dtype(x.dtype(), "conv winograd", [&](auto tag) {
      using T = typename decltype(tag)::type;
      if (y.numel() == 0) return;
      const T* bias = b ? b->data<T>() : nullptr;
      if (g.kernel[1] == 3) run_forward<T, 4, 3>(g, x.data<T>(), w.data<T>(), y.data<T>(), bias);
      else run_forward<T, 4, 5>(g, x.data<T>(), w.data<T>(), y.data<T>(), bias);
    });
  }

  void backward(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor* dw,
                const ConvSaved*) const override {
    visit_real_dtype(dy.dtype(), "conv winograd", [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* pdx = dx && dx->numel() > 0 ? dx->data<T>() : nullptr;
      T* pdw = dw && dw->numel() > 0 ? dw->data<T>() : nullptr;
      if (!pdx && !pdw) return;
      if (g.kernel[1] == 3) run_backward<T, 4, 3>(g, x.data<T>(), w.data<T>(), dy.data<T>(), pdx, pdw);
      else run_backward<T, 4, 5>(g, x.data<T>(), w.data<T>(), dy.data<T>(), pdx, pdw);
    });
  }
};

NODAL_REGISTER_CONV_ALGORITHM(WinogradConv);

}  // namespace
}  // namespace nodal::cpu
