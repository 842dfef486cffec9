#pragma once
// The channel products of the Winograd convolution, one per transform point ξ (α² of them), on
// lane vectors of tiles (conv_winograd_tiles.hpp):
//
//   forward / input gradient   M[ξ][o][t] = Σ_c U[ξ][c][o] · V[ξ][c][t]      (t in lanes)
//   weight gradient            W[ξ][o][c] += Σ_t Z[ξ][o][t] · V[ξ][c][t]     (sum over lanes)
//
// The first keeps an OB × TV tile of accumulators in registers over the input channels (TV lane
// vectors share each broadcast weight, OB weights share each loaded vector). The second keeps a
// 4 × 4 tile of (o, c) accumulators over a long run of lane vectors and then folds the lanes of
// the 16 accumulators into one vector by a shuffle tree (log2(lanes) levels of two shuffles and an
// add), instead of 16 separate horizontal sums.
#include <array>
#include <cstdint>
#include <cstring>

#include "nodal/backends/cpu/conv_winograd_tiles.hpp"

namespace nodal::cpu::winograd {

// m[b·TV + v] = Σ_c u[c·u_stride + b] · v[c·TV + v] for b < OB, v < TV.
template <class T, int OB, int TV>
inline void channel_product_tile(std::int64_t cin, const T* u, std::int64_t u_stride, const typename Lanes<T>::type* v,
                                 typename Lanes<T>::type* m) {
  using V = typename Lanes<T>::type;
  V acc[OB][TV];
  for (int b = 0; b < OB; ++b)
    for (int t = 0; t < TV; ++t) acc[b][t] = V{};
  for (std::int64_t c = 0; c < cin; ++c) {
    V x[TV];
    for (int t = 0; t < TV; ++t) x[t] = v[c * TV + t];
    const T* uc = u + c * u_stride;
    for (int b = 0; b < OB; ++b) {
      const T w = uc[b];
      for (int t = 0; t < TV; ++t) acc[b][t] += w * x[t];
    }
  }
  for (int b = 0; b < OB; ++b)
    for (int t = 0; t < TV; ++t) m[b * TV + t] = acc[b][t];
}

// One transform point: every output channel, OB at a time.
template <class T, int TV>
inline void channel_product(std::int64_t cin, std::int64_t cout, const T* u, const typename Lanes<T>::type* v,
                            typename Lanes<T>::type* m) {
  constexpr int OB = 6;
  std::int64_t o = 0;
  for (; o + OB <= cout; o += OB) channel_product_tile<T, OB, TV>(cin, u + o, cout, v, m + o * TV);
  switch (cout - o) {
    case 5: channel_product_tile<T, 5, TV>(cin, u + o, cout, v, m + o * TV); break;
    case 4: channel_product_tile<T, 4, TV>(cin, u + o, cout, v, m + o * TV); break;
    case 3: channel_product_tile<T, 3, TV>(cin, u + o, cout, v, m + o * TV); break;
    case 2: channel_product_tile<T, 2, TV>(cin, u + o, cout, v, m + o * TV); break;
    case 1: channel_product_tile<T, 1, TV>(cin, u + o, cout, v, m + o * TV); break;
    default: break;
  }
}

// Shuffle masks of one level of the lane fold: vectors X, Y each hold k inputs as groups of g
// partial sums; lo takes the first g/2 of every group (X's then Y's), hi the second g/2, and
// lo + hi holds 2k inputs as groups of g/2.
template <class T, int g> constexpr std::array<std::int64_t, Lanes<T>::count> fold_mask(bool high) {
  constexpr int W = Lanes<T>::count, half = W / 2, h = g / 2;
  std::array<std::int64_t, W> mask{};
  for (int lane = 0; lane < W; ++lane) {
    const int from_y = lane >= half ? W : 0, local = lane % half;
    mask[std::size_t(lane)] = from_y + (local / h) * g + local % h + (high ? h : 0);
  }
  return mask;
}

template <class T> struct FoldIndex;
template <> struct FoldIndex<float> {
  typedef std::int32_t type __attribute__((vector_size(64)));
};
template <> struct FoldIndex<double> {
  typedef std::int64_t type __attribute__((vector_size(64)));
};

template <class T, int g> [[gnu::always_inline]] inline typename Lanes<T>::type fold_pair(typename Lanes<T>::type x, typename Lanes<T>::type y) {
  using I = typename FoldIndex<T>::type;
  using E = std::remove_reference_t<decltype(I{}[0])>;
  constexpr auto lo = fold_mask<T, g>(false), hi = fold_mask<T, g>(true);
  I mlo, mhi;
  for (int l = 0; l < Lanes<T>::count; ++l) mlo[l] = E(lo[std::size_t(l)]), mhi[l] = E(hi[std::size_t(l)]);
  return __builtin_shuffle(x, y, mlo) + __builtin_shuffle(x, y, mhi);
}

// Lane i of the result = the sum of the lanes of acc[i], for W = lanes accumulators.
template <class T, int g = Lanes<T>::count>
[[gnu::always_inline]] inline typename Lanes<T>::type fold_lanes(typename Lanes<T>::type* acc) {
  constexpr int W = Lanes<T>::count, k = W / g;  // k inputs per vector on entry; W/k vectors
  if constexpr (g == 1) {
    return acc[0];
  } else {
    for (int i = 0; i < W / k / 2; ++i) acc[i] = fold_pair<T, g>(acc[2 * i], acc[2 * i + 1]);
    return fold_lanes<T, g / 2>(acc);
  }
}

// sums[b·4 + k] += Σ_t z[b·TV + t] · v[k·TV + t] (all lanes) for b < 4, k < 4: the 16 lane sums of
// one 4 × 4 (o, c) tile as one vector (as two for double) — W/16 vectors at `sums`.
template <class T>
inline void weight_product_tile(std::int64_t TV, const typename Lanes<T>::type* z, const typename Lanes<T>::type* v,
                                typename Lanes<T>::type* sums) {
  using V = typename Lanes<T>::type;
  constexpr int W = Lanes<T>::count;
  V acc[16];
  for (V& a : acc) a = V{};
  for (std::int64_t t = 0; t < TV; ++t) {
    const V z0 = z[t], z1 = z[TV + t], z2 = z[2 * TV + t], z3 = z[3 * TV + t];
    const V v0 = v[t], v1 = v[TV + t], v2 = v[2 * TV + t], v3 = v[3 * TV + t];
    acc[0] += z0 * v0, acc[1] += z0 * v1, acc[2] += z0 * v2, acc[3] += z0 * v3;
    acc[4] += z1 * v0, acc[5] += z1 * v1, acc[6] += z1 * v2, acc[7] += z1 * v3;
    acc[8] += z2 * v0, acc[9] += z2 * v1, acc[10] += z2 * v2, acc[11] += z2 * v3;
    acc[12] += z3 * v0, acc[13] += z3 * v1, acc[14] += z3 * v2, acc[15] += z3 * v3;
  }
  for (int part = 0; part < 16 / W; ++part) sums[part] += fold_lanes<T>(acc + part * W);
}

// One transform point: w[o·cin + c] (+)= Σ_t z[o][t] · v[c][t]. The 4 × 4 tiles accumulate in
// `tile_sums` (lane vectors, one tile after another: (cout/4)·(cin/4)·16/W of them), the rest
// (channel counts that are not multiples of 4) straight into w, one pair at a time.
template <class T>
inline void weight_product(std::int64_t TV, std::int64_t cout, std::int64_t cin, const typename Lanes<T>::type* z,
                           const typename Lanes<T>::type* v, typename Lanes<T>::type* tile_sums, T* w) {
  using V = typename Lanes<T>::type;
  constexpr int W = Lanes<T>::count, per_tile = 16 / W;
  const std::int64_t o4 = cout / 4 * 4, c4 = cin / 4 * 4;
  for (std::int64_t o = 0; o < o4; o += 4)
    for (std::int64_t c = 0; c < c4; c += 4)
      weight_product_tile<T>(TV, z + o * TV, v + c * TV, tile_sums + ((o / 4) * (c4 / 4) + c / 4) * per_tile);
  for (std::int64_t o = 0; o < cout; ++o)
    for (std::int64_t c = (o < o4 ? c4 : 0); c < cin; ++c) {
      V acc{};
      for (std::int64_t t = 0; t < TV; ++t) acc += z[o * TV + t] * v[c * TV + t];
      T s = 0;
      for (int l = 0; l < W; ++l) s += acc[l];
      w[o * cin + c] += s;
    }
}

// The sum of (o, c) from weight_product's two stores.
template <class T>
inline T weight_sum(const typename Lanes<T>::type* tile_sums, const T* w, std::int64_t cout, std::int64_t cin,
                    std::int64_t o, std::int64_t c) {
  constexpr int W = Lanes<T>::count, per_tile = 16 / W;
  const std::int64_t o4 = cout / 4 * 4, c4 = cin / 4 * 4;
  if (o >= o4 || c >= c4) return w[o * cin + c];
  const std::int64_t lane = (o % 4) * 4 + c % 4;
  const typename Lanes<T>::type& part = tile_sums[((o / 4) * (c4 / 4) + c / 4) * per_tile + lane / W];
  return part[lane % W];
}

}  // namespace nodal::cpu::winograd
