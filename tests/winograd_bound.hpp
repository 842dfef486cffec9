#pragma once
// The float32 error bound of the Winograd convolution, per output element, for the conv tests.
//
// Winograd computes y = Aᵀ [Σ_c (G g_c Gᵀ) ⊙ (Bᵀ d_c B)] A per tile: a chain of sums (two
// transform stages of ≤ α terms each on the data, the channel sum, two stages of ≤ α terms on the
// output). Each stage rounds its sum with relative error ≤ γ_k of the sum of the magnitudes it
// adds, so the computed value differs from the exact one by at most
//
//   |ŷ − y| ≤ γ_k · ( |Aᵀ| [Σ_c (|G| |g_c| |Gᵀ|) ⊙ (|Bᵀ| |d_c| |B|)] |A| ),   k = chain length
//
// (Higham's bound for a product of matrices applied to the absolute values; the filter transform
// is computed in double and rounded once, which the +2 in k covers). Unlike Σ|terms| of the direct
// sum this scale is inflated by the transform coefficients (up to 10 and 19 in row sums for
// F(4, 3), more for F(4, 5)), which is exactly how Winograd loses accuracy; the bound follows the
// data, so a zero input tile still demands an exact zero.
//
// The weight gradient is the transposed algorithm, dw = Gᵀ [Σ_tiles (A ȳ Aᵀ) ⊙ (Bᵀ d B)] G, with
// the same bound structure. This file computes the bracketed magnitudes; the caller multiplies by
// (k + 2)·u (conv_test_util.hpp).
#include <cmath>
#include <cstdint>
#include <vector>

#include "nodal/backends/cpu/winograd_matrices.hpp"
#include "nodal/nodes/conv.hpp"

namespace winograd_bound {

using nodal::ConvGeometry;

// |Aᵀ|, |G|, |Bᵀ| of the F(m, r) the algorithm uses for this kernel size (m = 4).
struct AbsMatrices {
  int m = 0, r = 0, alpha = 0;
  std::vector<double> at, g, bt;  // m×α, α×r, α×α, row-major, absolute values
  double AT(int i, int a) const { return at[std::size_t(i * alpha + a)]; }
  double G(int a, int k) const { return g[std::size_t(a * r + k)]; }
  double BT(int a, int i) const { return bt[std::size_t(a * alpha + i)]; }
};
template <int M, int R> AbsMatrices abs_matrices() {
  constexpr auto t = nodal::cpu::winograd::toom_cook<M, R>();
  AbsMatrices a{M, R, M + R - 1, {}, {}, {}};
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < a.alpha; ++j) a.at.push_back(std::abs(t.AT[i][j]));
  for (int i = 0; i < a.alpha; ++i)
    for (int j = 0; j < R; ++j) a.g.push_back(std::abs(t.G[i][j]));
  for (int i = 0; i < a.alpha; ++i)
    for (int j = 0; j < a.alpha; ++j) a.bt.push_back(std::abs(t.BT[i][j]));
  return a;
}
inline AbsMatrices abs_matrices_for(std::int64_t r) { return r == 3 ? abs_matrices<4, 3>() : abs_matrices<4, 5>(); }

// One correlation of the tile algorithm: input planes [N][cin_all][h][w], kernel k(o, c, ky, kx)
// within a group, output [N][cout_all][ho][wo], padding top/left (may be negative).
struct Problem {
  std::int64_t batch, groups, cin, cout;  // channels per group
  std::int64_t h, w, ho, wo, top, left;
};

// |Bᵀ| |d| |B| of the α × α patch of plane p at (y0, x0) (zeros outside).
inline std::vector<double> data_magnitude(const AbsMatrices& a, const double* p, std::int64_t h, std::int64_t w,
                                          std::int64_t y0, std::int64_t x0, int size, const std::vector<double>& left,
                                          int left_rows) {
  // left: left_rows × size magnitudes (|Bᵀ| for a data patch, |A| for an output-gradient patch)
  std::vector<double> d(std::size_t(size * size), 0.0), mid(std::size_t(left_rows * size), 0.0),
      out(std::size_t(left_rows * left_rows), 0.0);
  for (int i = 0; i < size; ++i)
    for (int j = 0; j < size; ++j) {
      const std::int64_t yy = y0 + i, xx = x0 + j;
      if (yy >= 0 && yy < h && xx >= 0 && xx < w) d[std::size_t(i * size + j)] = std::abs(p[yy * w + xx]);
    }
  for (int a = 0; a < left_rows; ++a)
    for (int j = 0; j < size; ++j)
      for (int i = 0; i < size; ++i) mid[std::size_t(a * size + j)] += left[std::size_t(a * size + i)] * d[std::size_t(i * size + j)];
  for (int a = 0; a < left_rows; ++a)
    for (int b = 0; b < left_rows; ++b)
      for (int j = 0; j < size; ++j) out[std::size_t(a * left_rows + b)] += mid[std::size_t(a * size + j)] * left[std::size_t(b * size + j)];
  return out;
}

// |G| |k| |Gᵀ| for each (o, c) of a group: [o][c][α²].
template <class Kernel>
std::vector<double> filter_magnitudes(const AbsMatrices& a, std::int64_t cout, std::int64_t cin, Kernel k) {
  const int A = a.alpha, R = a.r;
  std::vector<double> u(std::size_t(cout * cin * A * A), 0.0);
  for (std::int64_t o = 0; o < cout; ++o)
    for (std::int64_t c = 0; c < cin; ++c)
      for (int x = 0; x < A; ++x)
        for (int y = 0; y < A; ++y) {
          double s = 0;
          for (int ky = 0; ky < R; ++ky)
            for (int kx = 0; kx < R; ++kx) s += a.G(x, ky) * std::abs(k(o, c, ky, kx)) * a.G(y, kx);
          u[std::size_t(((o * cin + c) * A + x) * A + y)] = s;
        }
  return u;
}

// The bracketed magnitude of every output of a forward-form correlation.
template <class Kernel>
std::vector<double> correlation_magnitude(const AbsMatrices& a, const Problem& q, const std::vector<double>& in,
                                          Kernel kernel_of_group) {
  const int A = a.alpha, M = a.m;
  std::vector<double> out(std::size_t(q.batch * q.groups * q.cout * q.ho * q.wo), 0.0);
  const std::int64_t th = (q.ho + M - 1) / M, tw = (q.wo + M - 1) / M;
  for (std::int64_t grp = 0; grp < q.groups; ++grp) {
    const std::vector<double> u = filter_magnitudes(a, q.cout, q.cin, [&](std::int64_t o, std::int64_t c, int ky, int kx) {
      return kernel_of_group(grp, o, c, ky, kx);
    });
    for (std::int64_t n = 0; n < q.batch; ++n)
      for (std::int64_t ty = 0; ty < th; ++ty)
        for (std::int64_t tx = 0; tx < tw; ++tx) {
          std::vector<std::vector<double>> v(std::size_t(q.cin));
          for (std::int64_t c = 0; c < q.cin; ++c) {
            const double* plane = in.data() + ((n * q.groups + grp) * q.cin + c) * q.h * q.w;
            v[std::size_t(c)] = data_magnitude(a, plane, q.h, q.w, ty * M - q.top, tx * M - q.left, A, a.bt, A);
          }
          for (std::int64_t o = 0; o < q.cout; ++o) {
            std::vector<double> s(std::size_t(A * A), 0.0);
            for (std::int64_t c = 0; c < q.cin; ++c)
              for (int xi = 0; xi < A * A; ++xi)
                s[std::size_t(xi)] += u[std::size_t((o * q.cin + c) * A * A + xi)] * v[std::size_t(c)][std::size_t(xi)];
            for (int i = 0; i < M; ++i)
              for (int j = 0; j < M; ++j) {
                const std::int64_t oy = ty * M + i, ox = tx * M + j;
                if (oy >= q.ho || ox >= q.wo) continue;
                double t = 0;
                for (int x = 0; x < A; ++x)
                  for (int y = 0; y < A; ++y) t += a.AT(i, x) * s[std::size_t(x * A + y)] * a.AT(j, y);
                out[std::size_t((((n * q.groups + grp) * q.cout + o) * q.ho + oy) * q.wo + ox)] = t;
              }
          }
        }
  }
  return out;
}

inline std::int64_t r_of(const ConvGeometry& g) { return g.kernel[1]; }

// Forward y = x ⋆ w.
inline std::vector<double> forward(const ConvGeometry& g, const std::vector<double>& x, const std::vector<double>& w) {
  const std::int64_t R = r_of(g), cin = g.in_per_group(), cout = g.out_per_group();
  const Problem q{g.batch, g.groups, cin, cout, g.in[1], g.in[2], g.out[1], g.out[2], g.pad_before[1], g.pad_before[2]};
  return correlation_magnitude(abs_matrices_for(R), q, x, [&](std::int64_t grp, std::int64_t o, std::int64_t c, int ky, int kx) {
    return w[std::size_t((((grp * cout + o) * cin + c) * R + ky) * R + kx)];
  });
}

// Backward input: the forward form on ȳ with the flipped, channel-swapped kernel.
inline std::vector<double> backward_input(const ConvGeometry& g, const std::vector<double>& dy, const std::vector<double>& w) {
  const std::int64_t R = r_of(g), cin = g.in_per_group(), cout = g.out_per_group();
  const Problem q{g.batch, g.groups, cout, cin, g.out[1], g.out[2], g.in[1], g.in[2], R - 1 - g.pad_before[1],
                  R - 1 - g.pad_before[2]};
  return correlation_magnitude(abs_matrices_for(R), q, dy, [&](std::int64_t grp, std::int64_t c, std::int64_t o, int ky, int kx) {
    return w[std::size_t((((grp * cout + o) * cin + c) * R + (R - 1 - ky)) * R + (R - 1 - kx))];
  });
}

// Backward weight: |G|ᵀ [Σ_{n, tiles} (|A| |ȳ| |Aᵀ|) ⊙ (|Bᵀ| |d| |B|)] |G|.
inline std::vector<double> backward_weight(const ConvGeometry& g, const std::vector<double>& x, const std::vector<double>& dy) {
  const AbsMatrices a = abs_matrices_for(r_of(g));
  const int A = a.alpha, M = a.m, R = a.r;
  const std::int64_t cin = g.in_per_group(), cout = g.out_per_group();
  const std::int64_t th = (g.out[1] + M - 1) / M, tw = (g.out[2] + M - 1) / M;
  std::vector<double> abs_a(std::size_t(A * M));  // |A| = |Aᵀ|ᵀ, α × m
  for (int x = 0; x < A; ++x)
    for (int i = 0; i < M; ++i) abs_a[std::size_t(x * M + i)] = a.AT(i, x);
  std::vector<double> out(std::size_t(g.out_channels * cin * R * R), 0.0);
  for (std::int64_t grp = 0; grp < g.groups; ++grp)
    for (std::int64_t o = 0; o < cout; ++o)
      for (std::int64_t c = 0; c < cin; ++c) {
        std::vector<double> s(std::size_t(A * A), 0.0);
        for (std::int64_t n = 0; n < g.batch; ++n) {
          const double* xp = x.data() + ((n * g.in_channels) + grp * cin + c) * g.in[1] * g.in[2];
          const double* yp = dy.data() + ((n * g.out_channels) + grp * cout + o) * g.out[1] * g.out[2];
          for (std::int64_t ty = 0; ty < th; ++ty)
            for (std::int64_t tx = 0; tx < tw; ++tx) {
              const auto v = data_magnitude(a, xp, g.in[1], g.in[2], ty * M - g.pad_before[1], tx * M - g.pad_before[2], A, a.bt, A);
              const auto z = data_magnitude(a, yp, g.out[1], g.out[2], ty * M, tx * M, M, abs_a, A);
              for (int xi = 0; xi < A * A; ++xi) s[std::size_t(xi)] += z[std::size_t(xi)] * v[std::size_t(xi)];
            }
        }
        for (int ky = 0; ky < R; ++ky)
          for (int kx = 0; kx < R; ++kx) {
            double t = 0;
            for (int p = 0; p < A; ++p)
              for (int q = 0; q < A; ++q) t += a.G(p, ky) * s[std::size_t(p * A + q)] * a.G(q, kx);
            out[std::size_t((((grp * cout + o) * cin + c) * R + ky) * R + kx)] = t;
          }
      }
  return out;
}

// The chain lengths k of the three passes (transform stages + the channel or tile sum).
inline std::int64_t forward_chain(const ConvGeometry& g) { return g.in_per_group() + 4 * (4 + r_of(g) - 1); }
inline std::int64_t backward_input_chain(const ConvGeometry& g) { return g.out_per_group() + 4 * (4 + r_of(g) - 1); }
inline std::int64_t backward_weight_chain(const ConvGeometry& g) {
  return g.batch * ((g.out[1] + 3) / 4) * ((g.out[2] + 3) / 4) + 4 * (4 + r_of(g) - 1);
}

}  // namespace winograd_bound
