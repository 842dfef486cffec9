#pragma once
// The weight-gradient loop of the "direct" algorithm:
//
//   dw[o, c, k] = Σ_n Σ_p dy[n, o, p] · xp[n, c, p·s + k·d]      (xp: the zero-padded input)
//
// register-blocked like the forward row kernel: a work item owns OB output channels of one input
// channel (so it alone writes their weights: no races, no atomics) and keeps OB·KB vector
// partial sums for KB neighbouring taps along the row, so each loaded vector of dy serves KB
// taps and each loaded vector of x serves OB channels.
#include <algorithm>
#include <cstdint>

#include "nodal/backends/cpu/conv_direct_kernel.hpp"

namespace nodal::cpu::conv_detail {

// dw for channels o .. o+OB−1 (one group), input channel c of the group, taps (k0, k1, k2 .. k2+KB−1).
template <class T, int OB, int KB>
void weight_taps(const DirectProblem& q, std::int64_t cin_total, const T* xp, const T* dy, T* dw, std::int64_t o,
                 std::int64_t c, std::int64_t k0, std::int64_t k1, std::int64_t k2) {
  using S = Simd<T>;
  using V = typename S::type;
  const std::int64_t O1 = q.O[1], O2 = q.O[2], Opix = q.O_pixels(), Lpix = q.L_pixels();
  const std::int64_t cout = q.groups * q.cout_g, group = o / q.cout_g, s2 = q.s[2], d2 = q.d[2];
  V acc[OB][KB];
  for (int b = 0; b < OB; ++b)
    for (int t = 0; t < KB; ++t) acc[b][t] = V{};
  for (std::int64_t n = 0; n < q.batch; ++n) {
    const T* xc = xp + (n * cin_total + group * q.cin_g + c) * Lpix;
    for (std::int64_t o0 = 0; o0 < q.O[0]; ++o0)
      for (std::int64_t o1 = 0; o1 < O1; ++o1) {
        const T* dyr[OB];
        for (int b = 0; b < OB; ++b) dyr[b] = dy + (n * cout + o + b) * Opix + (o0 * O1 + o1) * O2;
        const T* xr = xc + ((o0 * q.s[0] + k0 * q.d[0]) * q.L[1] + o1 * q.s[1] + k1 * q.d[1]) * q.L[2] + k2 * d2;
        std::int64_t ow = 0;
        for (; ow + S::lanes <= O2; ow += S::lanes) {
          V dv[OB];
#pragma GCC unroll 8
          for (int b = 0; b < OB; ++b) dv[b] = S::load(dyr[b] + ow);
#pragma GCC unroll 8
          for (int t = 0; t < KB; ++t) {
            const V xv = s2 == 1 ? S::load(xr + t * d2 + ow) : S::load_strided(xr + t * d2 + ow * s2, s2);
#pragma GCC unroll 8
            for (int b = 0; b < OB; ++b) acc[b][t] += dv[b] * xv;
          }
        }
        if (ow < O2) {  // the last partial vector (all of a row narrower than a vector), zero-filled
          const std::int64_t rest = O2 - ow;
          T dt[OB][S::lanes] = {}, xt[KB][S::lanes] = {};
          for (int b = 0; b < OB; ++b)
            for (std::int64_t l = 0; l < rest; ++l) dt[b][l] = dyr[b][ow + l];
          for (int t = 0; t < KB; ++t)
            for (std::int64_t l = 0; l < rest; ++l) xt[t][l] = xr[t * d2 + (ow + l) * s2];
          for (int t = 0; t < KB; ++t) {
            const V xv = S::load(xt[t]);
            for (int b = 0; b < OB; ++b) acc[b][t] += S::load(dt[b]) * xv;
          }
        }
      }
  }
  const std::int64_t K = q.K_pixels();
  for (int b = 0; b < OB; ++b)
    for (int t = 0; t < KB; ++t) {
      T lanes[S::lanes];
      __builtin_memcpy(lanes, &acc[b][t], sizeof(lanes));
      T total = 0;
      for (int l = 0; l < S::lanes; ++l) total += lanes[l];
      dw[((o + b) * q.cin_g + c) * K + (k0 * q.K[1] + k1) * q.K[2] + k2 + t] = total;
    }
}

// Every tap of channels o .. o+OB−1 and input channel c: taps along the row in blocks of 4,
// the last block of 1 to 3.
template <class T, int OB>
void weight_item(const DirectProblem& q, std::int64_t cin_total, const T* xp, const T* dy, T* dw, std::int64_t o,
                 std::int64_t c) {
  for (std::int64_t k0 = 0; k0 < q.K[0]; ++k0)
    for (std::int64_t k1 = 0; k1 < q.K[1]; ++k1) {
      std::int64_t k2 = 0;
      for (; k2 + 4 <= q.K[2]; k2 += 4) weight_taps<T, OB, 4>(q, cin_total, xp, dy, dw, o, c, k0, k1, k2);
      switch (q.K[2] - k2) {
        case 3: weight_taps<T, OB, 3>(q, cin_total, xp, dy, dw, o, c, k0, k1, k2); break;
        case 2: weight_taps<T, OB, 2>(q, cin_total, xp, dy, dw, o, c, k0, k1, k2); break;
        case 1: weight_taps<T, OB, 1>(q, cin_total, xp, dy, dw, o, c, k0, k1, k2); break;
        default: break;
      }
    }
}

// dw [Cout, cin_g, K] from the prepared input xp [N, Cin, L] and dy [N, Cout, O], in parallel over
// (block of 4 output channels, input channel of the group).
template <class T> void weight_gradient(const DirectProblem& q, const T* xp, const T* dy, T* dw) {
  constexpr int OB = 4;
  const std::int64_t blocks_per_group = (q.cout_g + OB - 1) / OB;
  const std::int64_t items = q.groups * blocks_per_group * q.cin_g;
  const std::int64_t cin_total = q.groups * q.cin_g;
  const std::int64_t work_per_item = OB * q.K_pixels() * q.batch * q.O_pixels();
  parallel_for(
      items,
      [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t item = begin; item < end; ++item) {
          const std::int64_t c = item % q.cin_g, block = item / q.cin_g;
          const std::int64_t group = block / blocks_per_group;
          const std::int64_t o = group * q.cout_g + (block % blocks_per_group) * OB;
          const std::int64_t count = std::min<std::int64_t>(OB, (group + 1) * q.cout_g - o);
          if (count == OB) weight_item<T, OB>(q, cin_total, xp, dy, dw, o, c);
          else
            for (std::int64_t b = 0; b < count; ++b) weight_item<T, 1>(q, cin_total, xp, dy, dw, o + b, c);
        }
      },
      std::max<std::int64_t>(1, (1 << 16) / std::max<std::int64_t>(1, work_per_item)));
}

}  // namespace nodal::cpu::conv_detail
