#pragma once
// The register-blocked correlation loop behind the "direct" algorithm:
//
//   y[n, o, p] = Σ_{c ∈ group(o)} Σ_k  xp[n, c, p·s + k·d] · w[o, c, k]
//
// on a *prepared* input xp whose zero padding (and, for the backward input pass, zero insertion)
// is already materialised, so the hot loop has no bounds checks. Each work item is one output row
// (o0, o1) of B output channels; it walks the row in chunks of V pixels, keeping the B·V partial
// sums in registers across every input channel and kernel tap, and stores them once. Per tap the
// V input pixels are loaded once and reused by the B channels (B FMAs per load).
#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "nodal/backends/cpu/elementwise.hpp"
#include "nodal/nodes/conv.hpp"

namespace nodal::cpu::conv_detail {

// One correlation on a prepared input (all extents per axis d, h, w).
struct DirectProblem {
  std::int64_t batch = 1, groups = 1, cin_g = 1, cout_g = 1;
  std::array<std::int64_t, 3> L{1, 1, 1};  // prepared input extents
  std::array<std::int64_t, 3> K{1, 1, 1}, O{1, 1, 1}, s{1, 1, 1}, d{1, 1, 1};
  std::int64_t L_pixels() const { return L[0] * L[1] * L[2]; }
  std::int64_t K_pixels() const { return K[0] * K[1] * K[2]; }
  std::int64_t O_pixels() const { return O[0] * O[1] * O[2]; }
  // Elements a kernel may read past the last prepared pixel (the tail of the last chunk).
  std::int64_t slack(std::int64_t V) const { return V * s[2] + 1; }
};

// A 64-byte SIMD vector of T (GCC vector extension: one zmm register with AVX-512, split by
// the compiler elsewhere). Spelled out because the auto-vectorizer kept the B·V accumulators of
// an array on the stack (and used 256-bit registers), at a third of this loop's speed.
template <class T> struct Simd {
  static constexpr int lanes = int(64 / sizeof(T));
  typedef T type __attribute__((vector_size(64)));
  static type load(const T* p) {
    type v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
  }
  // The first `count` lanes of v to p (all of them when count ≥ lanes, none when ≤ 0).
  static void store(T* p, const type& v, std::int64_t count) {
    if (count >= lanes) {
      __builtin_memcpy(p, &v, sizeof(v));
      return;
    }
#if defined(__AVX512F__)
    if (count > 0) {
      if constexpr (sizeof(T) == 4) {
        __m512 r;
        __builtin_memcpy(&r, &v, sizeof(r));
        _mm512_mask_storeu_ps(p, __mmask16((1u << count) - 1), r);
      } else {
        __m512d r;
        __builtin_memcpy(&r, &v, sizeof(r));
        _mm512_mask_storeu_pd(p, __mmask8((1u << count) - 1), r);
      }
    }
#else
    for (std::int64_t l = 0; l < count; ++l) p[l] = v[l];
#endif
  }
  static type load_strided(const T* p, std::int64_t step) {
    T lane[lanes];
    for (int l = 0; l < lanes; ++l) lane[l] = p[l * step];
    return load(lane);
  }
};

// One output row for channels o .. o+B−1 (all in one group), in chunks of NV vectors. xg: the
// group's first channel of sample n in xp; w: weights [Cout, cin_g, K]; y: the output of sample
// n, [Cout, O].
template <class T, int B, int NV>
void correlate_row(const DirectProblem& q, const T* xg, const T* w, const T* bias, T* y, std::int64_t o, std::int64_t o0,
                   std::int64_t o1) {
  using S = Simd<T>;
  using V = typename S::type;
  constexpr int chunk = NV * S::lanes;
  const std::int64_t K0 = q.K[0], K1 = q.K[1], K2 = q.K[2], O2 = q.O[2];
  const std::int64_t L1 = q.L[1], L2 = q.L[2], s2 = q.s[2], d2 = q.d[2];
  const std::int64_t cinK = q.cin_g * q.K_pixels(), Lpix = q.L_pixels();
  T* yrow[B];
  for (int b = 0; b < B; ++b) yrow[b] = y + (o + b) * q.O_pixels() + (o0 * q.O[1] + o1) * O2;
  for (std::int64_t ow0 = 0; ow0 < O2; ow0 += chunk) {
    V acc[B][NV];
#pragma GCC unroll 16
    for (int b = 0; b < B; ++b)
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[b][j] = bias ? V{} + bias[o + b] : V{};
    for (std::int64_t c = 0; c < q.cin_g; ++c)
      for (std::int64_t k0 = 0; k0 < K0; ++k0)
        for (std::int64_t k1 = 0; k1 < K1; ++k1) {
          const T* xr = xg + c * Lpix + ((o0 * q.s[0] + k0 * q.d[0]) * L1 + (o1 * q.s[1] + k1 * q.d[1])) * L2 + ow0 * s2;
          const T* wr = w + o * cinK + (((c * K0 + k0) * K1 + k1) * K2) * B;  // packed: [c][k][b]
          for (std::int64_t k2 = 0; k2 < K2; ++k2) {
            const T* xs = xr + k2 * d2;
            V xv[NV];
#pragma GCC unroll 4
            for (int j = 0; j < NV; ++j)
              xv[j] = s2 == 1 ? S::load(xs + j * S::lanes) : S::load_strided(xs + j * S::lanes * s2, s2);
#pragma GCC unroll 16
            for (int b = 0; b < B; ++b) {
              const T wv = wr[k2 * B + b];
#pragma GCC unroll 4
              for (int j = 0; j < NV; ++j) acc[b][j] += wv * xv[j];
            }
          }
        }
    // Stored vector by vector from the registers (a memcpy of the accumulator array to a
    // buffer went through a libc call per channel: 37 % of a 1-channel layer's time).
    const std::int64_t n = std::min<std::int64_t>(chunk, O2 - ow0);
#pragma GCC unroll 16
    for (int b = 0; b < B; ++b)
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) S::store(yrow[b] + ow0 + j * S::lanes, acc[b][j], n - j * S::lanes);
  }
}

// The register blocks a run of `count` channels is split into: 12s, then 8, 4, 1s. f(first, B).
template <class F> void for_each_channel_block(std::int64_t count, F&& f) {
  std::int64_t o = 0;
  for (; count >= 12; o += 12, count -= 12) f(o, 12);
  for (; count >= 8; o += 8, count -= 8) f(o, 8);
  for (; count >= 4; o += 4, count -= 4) f(o, 4);
  for (; count >= 1; o += 1, count -= 1) f(o, 1);
}

// Channels o .. o+count−1 of one row, block by block (w packed by pack_weights).
template <class T, int NV>
void correlate_rows(const DirectProblem& q, const T* xg, const T* w, const T* bias, T* y, std::int64_t o, std::int64_t count,
                    std::int64_t o0, std::int64_t o1) {
  for_each_channel_block(count, [&](std::int64_t first, std::int64_t B) {
    switch (B) {
      case 12: correlate_row<T, 12, NV>(q, xg, w, bias, y, o + first, o0, o1); break;
      case 8: correlate_row<T, 8, NV>(q, xg, w, bias, y, o + first, o0, o1); break;
      case 4: correlate_row<T, 4, NV>(q, xg, w, bias, y, o + first, o0, o1); break;
      default: correlate_row<T, 1, NV>(q, xg, w, bias, y, o + first, o0, o1); break;
    }
  });
}

// w [Cout, cin_g, K] repacked so that each register block of B channels starting at o reads its
// B weights of one (c, k) from consecutive addresses: packed[o·cin_g·K + (c·K + k)·B + b]. The
// block's region has the same size and place as its rows in w. (Strided per-channel weight
// pointers took 12 registers and spilled.)
template <class T> std::vector<T> pack_weights(const DirectProblem& q, const T* w, std::int64_t block) {
  const std::int64_t K = q.K_pixels(), cinK = q.cin_g * K;
  std::vector<T> packed(std::size_t(q.groups * q.cout_g * cinK));
  for (std::int64_t grp = 0; grp < q.groups; ++grp)
    for (std::int64_t start = 0; start < q.cout_g; start += block)
      for_each_channel_block(std::min(block, q.cout_g - start), [&](std::int64_t first, std::int64_t B) {
        const std::int64_t o = grp * q.cout_g + start + first;
        for (std::int64_t c = 0; c < q.cin_g; ++c)
          for (std::int64_t k = 0; k < K; ++k)
            for (std::int64_t b = 0; b < B; ++b)
              packed[std::size_t(o * cinK + (c * K + k) * B + b)] = w[((o + b) * q.cin_g + c) * K + k];
      });
  return packed;
}

// y [N, groups·cout_g, O] = the correlation of xp [N, groups·cin_g, L] (+ slack) with
// w [groups·cout_g, cin_g, K], in parallel over (sample, channel block, output row).
// bias (optional, [groups·cout_g]) starts each output at b[o] instead of 0: the bias add fused.
template <class T> void correlate(const DirectProblem& q, const T* xp, const T* w_unpacked, T* y, const T* bias = nullptr) {
  constexpr int B = 24;  // channels per work item: 12 + 12 in registers (24 accumulators with NV = 2)
  const bool narrow = q.O[2] <= Simd<T>::lanes;
  const std::int64_t blocks = (q.cout_g + B - 1) / B;
  const std::int64_t rows = q.O[0] * q.O[1];
  const std::int64_t items = q.batch * q.groups * blocks * rows;
  const std::int64_t cout = q.groups * q.cout_g;
  const std::int64_t work_per_item = B * q.O[2] * q.cin_g * q.K_pixels();
  const std::int64_t grain = std::max<std::int64_t>(1, (1 << 16) / std::max<std::int64_t>(1, work_per_item));
  const std::vector<T> packed = pack_weights(q, w_unpacked, B);
  const T* w = packed.data();
  parallel_for(
      items,
      [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t item = begin; item < end; ++item) {
          std::int64_t rest = item;
          const std::int64_t row = rest % rows;
          rest /= rows;
          const std::int64_t block = rest % blocks;
          rest /= blocks;
          const std::int64_t group = rest % q.groups;
          const std::int64_t n = rest / q.groups;
          const std::int64_t o = group * q.cout_g + block * B;
          const std::int64_t count = std::min<std::int64_t>(B, (group + 1) * q.cout_g - o);
          const T* xg = xp + (n * q.groups + group) * q.cin_g * q.L_pixels();
          T* yn = y + n * cout * q.O_pixels();
          const std::int64_t o0 = row / q.O[1], o1 = row % q.O[1];
          if (narrow) correlate_rows<T, 1>(q, xg, w, bias, yn, o, count, o0, o1);
          else correlate_rows<T, 2>(q, xg, w, bias, yn, o, count, o0, o1);
        }
      },
      grain);
}

// The widest chunk correlate() uses (sizes the slack of prepared inputs).
template <class T> constexpr std::int64_t max_chunk() { return 2 * Simd<T>::lanes; }

// xp[n, c, j] for j ∈ [0, L) per axis, from src [N, C, S] (S per axis): along each axis
// xp[j] = src[(j − offset)/up] when j − offset ≥ 0 is a multiple of `up` below S·up, else 0.
// up = 1 and offset = pad_before is zero padding; up = stride inserts zeros (backward input).
template <class T>
std::vector<T> prepare(const T* src, std::int64_t planes, const std::array<std::int64_t, 3>& S,
                       const std::array<std::int64_t, 3>& up, const std::array<std::int64_t, 3>& offset,
                       const std::array<std::int64_t, 3>& L, std::int64_t slack) {
  const std::int64_t Lpix = L[0] * L[1] * L[2], Spix = S[0] * S[1] * S[2];
  std::vector<T> out(std::size_t(planes * Lpix + slack), T(0));
  auto source = [&](int a, std::int64_t j) -> std::int64_t {  // −1 when j reads a zero
    const std::int64_t m = j - offset[std::size_t(a)];
    if (m < 0 || m % up[std::size_t(a)] != 0) return -1;
    const std::int64_t i = m / up[std::size_t(a)];
    return i < S[std::size_t(a)] ? i : -1;
  };
  const std::int64_t rows = planes * L[0] * L[1];
  parallel_for(
      rows,
      [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r) {
          const std::int64_t plane = r / (L[0] * L[1]), j0 = (r / L[1]) % L[0], j1 = r % L[1];
          const std::int64_t i0 = source(0, j0), i1 = source(1, j1);
          if (i0 < 0 || i1 < 0) continue;
          const T* s = src + plane * Spix + (i0 * S[1] + i1) * S[2];
          T* dst = out.data() + plane * Lpix + (j0 * L[1] + j1) * L[2];
          if (up[2] == 1) {
            // The run of j2 whose source lies in [0, S2): j2 ∈ [offset, offset + S2) ∩ [0, L2).
            const std::int64_t first = std::max<std::int64_t>(0, offset[2]);
            const std::int64_t last = std::min<std::int64_t>(L[2], offset[2] + S[2]);
            for (std::int64_t j2 = first; j2 < last; ++j2) dst[j2] = s[j2 - offset[2]];
          } else {
            for (std::int64_t j2 = 0; j2 < L[2]; ++j2) {
              const std::int64_t i2 = source(2, j2);
              if (i2 >= 0) dst[j2] = s[i2];
            }
          }
        }
      },
      std::max<std::int64_t>(1, (1 << 14) / std::max<std::int64_t>(1, L[2])));
  return out;
}

// The forward correlation's prepared input: x zero-padded so that every tap of every output reads
// inside it, L = (O − 1)·s + (K − 1)·d + 1 per axis.
inline DirectProblem forward_problem(const ConvGeometry& g) {
  DirectProblem q;
  q.batch = g.batch;
  q.groups = g.groups;
  q.cin_g = g.in_per_group();
  q.cout_g = g.out_per_group();
  for (std::size_t a = 0; a < 3; ++a) {
    q.K[a] = g.kernel[a];
    q.O[a] = g.out[a];
    q.s[a] = g.stride[a];
    q.d[a] = g.dilation[a];
    q.L[a] = (g.out[a] - 1) * g.stride[a] + (g.kernel[a] - 1) * g.dilation[a] + 1;
  }
  return q;
}

template <class T> std::vector<T> prepare_x(const ConvGeometry& g, const DirectProblem& q, const T* x) {
  return prepare(x, g.batch * g.in_channels, g.in, {1, 1, 1}, g.pad_before, q.L, q.slack(max_chunk<T>()));
}

// y = x ⋆ w (+ bias when given, fused into the accumulators): the direct algorithm's forward, also
// the implicit-GEMM forward of "gemm" for small reductions (conv_gemm.cpp).
template <class T> void direct_forward(const ConvGeometry& g, const T* x, const T* w, T* y, const T* bias = nullptr) {
  const DirectProblem q = forward_problem(g);
  const std::vector<T> xp = prepare_x(g, q, x);
  correlate(q, xp.data(), w, y, bias);
}

}  // namespace nodal::cpu::conv_detail
