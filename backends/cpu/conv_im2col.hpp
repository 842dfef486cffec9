#pragma once
// The im2col / col2im copies of the gemm algorithm. Along one axis, output position o of tap k
// reads input position i = o·s + k·d − pad_before; the sample's channels are first copied into a
// zero-padded buffer (pad_group), so that every copy below is a plain strided read.
//
// im2col of one sample and one channel group (rows r = (c, kd, kh, kw), columns p = (od, oh, ow)):
//
//        x[c]  (I = 4 x 4, k = 3 x 3, pad 1)         cols [Cin_g·K, P]
//     . . . . . .                                  r=(c,0,0): x shifted by (-1,-1), 0 outside
//     . a b c d .      tap (kh, kw) picks, for     r=(c,0,1): x shifted by (-1, 0)
//     . e f g h .  ->  every output p, the pixel   ...
//     . i j k l .      x[p·s + k·d − pad]          r=(c,2,2): x shifted by (+1,+1)
//     . m n o p .
//     . . . . . .
//
// so that y[g] = W[g] (Cout_g x Cin_g·K) · cols (Cin_g·K x P) is one matrix product. col2im is
// the transposed copy (a scatter-add), used by the backward input pass.
#include <algorithm>
#include <array>
#include <cstdint>

#include "nodal/nodes/conv.hpp"

namespace nodal::cpu::conv_detail {

// The padded extents L = (O − 1)·s + (K − 1)·d + 1 per axis: exactly what the outputs read. With
// the padding materialised, every im2col row is a plain strided read with no bounds checks (per-row
// tap ranges and zero fills on the unpadded input cost as much as the product for small images).
inline std::array<std::int64_t, 3> padded_extents(const ConvGeometry& g) {
  std::array<std::int64_t, 3> L{};
  for (std::size_t a = 0; a < 3; ++a) L[a] = (g.out[a] - 1) * g.stride[a] + (g.kernel[a] - 1) * g.dilation[a] + 1;
  return L;
}

// xp[c] = x[c] zero-padded (Cin_g channels, channel stride L0·L1·L2); reads only inside x.
template <class T> void pad_group(const ConvGeometry& g, const std::array<std::int64_t, 3>& L, const T* x, T* xp) {
  const std::int64_t Lpix = L[0] * L[1] * L[2];
  std::fill(xp, xp + g.in_per_group() * Lpix, T(0));
  for (std::int64_t c = 0; c < g.in_per_group(); ++c)
    for (std::int64_t i0 = 0; i0 < g.in[0]; ++i0) {
      const std::int64_t j0 = i0 + g.pad_before[0];
      if (j0 >= L[0]) break;
      for (std::int64_t i1 = 0; i1 < g.in[1]; ++i1) {
        const std::int64_t j1 = i1 + g.pad_before[1];
        if (j1 >= L[1]) break;
        const T* src = x + ((c * g.in[0] + i0) * g.in[1] + i1) * g.in[2];
        T* dst = xp + c * Lpix + (j0 * L[1] + j1) * L[2] + g.pad_before[2];
        const std::int64_t n = std::min(g.in[2], L[2] - g.pad_before[2]);
        for (std::int64_t i2 = 0; i2 < n; ++i2) dst[i2] = src[i2];
      }
    }
}

// dx[c] = the part of the padded dxp[c] that lies on the input (the inverse view of pad_group).
template <class T> void crop_group(const ConvGeometry& g, const std::array<std::int64_t, 3>& L, const T* dxp, T* dx) {
  const std::int64_t Lpix = L[0] * L[1] * L[2];
  for (std::int64_t c = 0; c < g.in_per_group(); ++c)
    for (std::int64_t i0 = 0; i0 < g.in[0]; ++i0)
      for (std::int64_t i1 = 0; i1 < g.in[1]; ++i1) {
        T* dst = dx + ((c * g.in[0] + i0) * g.in[1] + i1) * g.in[2];
        const std::int64_t j0 = i0 + g.pad_before[0], j1 = i1 + g.pad_before[1];
        for (std::int64_t i2 = 0; i2 < g.in[2]; ++i2) {
          const std::int64_t j2 = i2 + g.pad_before[2];
          // Input pixels beyond L (only reachable by no tap: the stride skipped them) get 0.
          dst[i2] = j0 < L[0] && j1 < L[1] && j2 < L[2] ? dxp[c * Lpix + (j0 * L[1] + j1) * L[2] + j2] : T(0);
        }
      }
}

// Visits every (im2col row, output row) pair of rows [row_begin, row_end): f(col_row, xp_row)
// with col_row the O2 destination pixels and xp_row the padded input they read (step s2).
template <class T, class F>
void for_each_padded_row(const ConvGeometry& g, const std::array<std::int64_t, 3>& L, T* cols, std::int64_t ld,
                         std::int64_t row_begin, std::int64_t row_end, F&& f) {
  const std::int64_t K0 = g.kernel[0], K1 = g.kernel[1], K2 = g.kernel[2], O1 = g.out[1], O2 = g.out[2];
  const std::int64_t Lpix = L[0] * L[1] * L[2];
  for (std::int64_t c = 0; c < g.in_per_group(); ++c)
    for (std::int64_t k0 = 0; k0 < K0; ++k0)
      for (std::int64_t k1 = 0; k1 < K1; ++k1)
        for (std::int64_t k2 = 0; k2 < K2; ++k2) {
          T* row = cols + (((c * K0 + k0) * K1 + k1) * K2 + k2) * ld;
          for (std::int64_t orow = row_begin; orow < row_end; ++orow) {
            const std::int64_t o0 = orow / O1, o1 = orow % O1;
            const std::int64_t offset = c * Lpix + ((o0 * g.stride[0] + k0 * g.dilation[0]) * L[1] + o1 * g.stride[1] +
                                                    k1 * g.dilation[1]) * L[2] + k2 * g.dilation[2];
            f(row + (orow - row_begin) * O2, offset);
          }
        }
}

// cols[r, j] from the padded group xp (see im2col for the layout).
template <class T>
void im2col_padded(const ConvGeometry& g, const std::array<std::int64_t, 3>& L, const T* xp, T* cols, std::int64_t ld,
                   std::int64_t row_begin, std::int64_t row_end) {
  const std::int64_t O2 = g.out[2], s2 = g.stride[2];
  for_each_padded_row(g, L, cols, ld, row_begin, row_end, [&](T* dst, std::int64_t offset) {
    const T* src = xp + offset;
    if (s2 == 1)
      for (std::int64_t j = 0; j < O2; ++j) dst[j] = src[j];
    else
      for (std::int64_t j = 0; j < O2; ++j) dst[j] = src[j * s2];
  });
}

// dxp += the scatter of cols back onto the padded group (the transpose of im2col_padded).
template <class T>
void col2im_padded_add(const ConvGeometry& g, const std::array<std::int64_t, 3>& L, T* cols, std::int64_t ld, T* dxp,
                       std::int64_t row_begin, std::int64_t row_end) {
  const std::int64_t O2 = g.out[2], s2 = g.stride[2];
  for_each_padded_row(g, L, cols, ld, row_begin, row_end, [&](T* src, std::int64_t offset) {
    T* dst = dxp + offset;
    if (s2 == 1)
      for (std::int64_t j = 0; j < O2; ++j) dst[j] += src[j];
    else
      for (std::int64_t j = 0; j < O2; ++j) dst[j * s2] += src[j];
  });
}

}  // namespace nodal::cpu::conv_detail
