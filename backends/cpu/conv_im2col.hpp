#pragma once
// Index helpers shared by the direct and gemm convolution algorithms: which output positions of
// one kernel tap read inside the (unpadded) input, and the im2col / col2im copies.
//
// Along one axis, output position o of tap k reads input position i = o·s + k·d − pad_before.
// Zero padding is never materialised: a tap only touches the outputs whose i lies in [0, I).
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
#include <cstdint>

#include "nodal/nodes/conv.hpp"

namespace nodal::cpu::conv_detail {

// Output positions [begin, end) of one tap along one axis whose input index is inside [0, extent).
struct TapRange {
  std::int64_t begin = 0, end = 0;
  std::int64_t first_input = 0;  // input index read by output `begin`
};
inline TapRange tap_range(std::int64_t extent, std::int64_t out, std::int64_t stride, std::int64_t offset) {
  // i = o·stride + offset ∈ [0, extent)  ⇔  o ∈ [⌈−offset/stride⌉, ⌊(extent − 1 − offset)/stride⌋]
  TapRange r;
  r.begin = offset >= 0 ? 0 : std::min(out, (-offset + stride - 1) / stride);
  const std::int64_t last = extent - 1 - offset;
  r.end = last < 0 ? 0 : std::min(out, last / stride + 1);
  if (r.end < r.begin) r.end = r.begin;
  r.first_input = r.begin * stride + offset;
  return r;
}

// The offset k·d − pad_before of tap k along axis a.
inline std::int64_t tap_offset(const ConvGeometry& g, int a, std::int64_t k) {
  return k * g.dilation[std::size_t(a)] - g.pad_before[std::size_t(a)];
}

// cols[r, j] for the Cin_g channels starting at `x` (one sample, one group; channel stride
// in_pixels) and the output pixels of output rows [row_begin, row_end) (a row is one (o0, o1);
// column j = pixel − row_begin·O2). cols is row-major with row stride `ld` ≥ the block's pixels.
template <class T>
void im2col(const ConvGeometry& g, const T* x, T* cols, std::int64_t ld, std::int64_t row_begin, std::int64_t row_end) {
  const std::int64_t K0 = g.kernel[0], K1 = g.kernel[1], K2 = g.kernel[2];
  const std::int64_t O0 = g.out[0], O1 = g.out[1], O2 = g.out[2];
  const std::int64_t I1 = g.in[1], I2 = g.in[2], s2 = g.stride[2];
  const std::int64_t cin_g = g.in_per_group();
  for (std::int64_t c = 0; c < cin_g; ++c) {
    const T* xc = x + c * g.in_pixels();
    for (std::int64_t k0 = 0; k0 < K0; ++k0)
      for (std::int64_t k1 = 0; k1 < K1; ++k1)
        for (std::int64_t k2 = 0; k2 < K2; ++k2) {
          T* row = cols + (((c * K0 + k0) * K1 + k1) * K2 + k2) * ld;
          const TapRange r0 = tap_range(g.in[0], O0, g.stride[0], tap_offset(g, 0, k0));
          const TapRange r1 = tap_range(I1, O1, g.stride[1], tap_offset(g, 1, k1));
          const TapRange r2 = tap_range(I2, O2, s2, tap_offset(g, 2, k2));
          const std::int64_t n = r2.end - r2.begin;
          for (std::int64_t orow = row_begin; orow < row_end; ++orow) {
            const std::int64_t o0 = orow / O1, o1 = orow % O1;
            T* dst = row + (orow - row_begin) * O2;
            if (o0 < r0.begin || o0 >= r0.end || o1 < r1.begin || o1 >= r1.end || n <= 0) {
              std::fill(dst, dst + O2, T(0));
              continue;
            }
            const std::int64_t i0 = r0.first_input + (o0 - r0.begin) * g.stride[0];
            const std::int64_t i1 = r1.first_input + (o1 - r1.begin) * g.stride[1];
            const T* src = xc + (i0 * I1 + i1) * I2 + r2.first_input;
            std::fill(dst, dst + r2.begin, T(0));
            if (s2 == 1) std::copy(src, src + n, dst + r2.begin);
            else
              for (std::int64_t j = 0; j < n; ++j) dst[r2.begin + j] = src[j * s2];
            std::fill(dst + r2.end, dst + O2, T(0));
          }
        }
  }
}

// dx[c] += the scatter of cols[r, j] back to the input pixels each entry was copied from (the
// transpose of im2col), for every channel of the group and output rows [row_begin, row_end).
template <class T>
void col2im_add(const ConvGeometry& g, const T* cols, std::int64_t ld, T* dx, std::int64_t row_begin,
                std::int64_t row_end) {
  const std::int64_t K0 = g.kernel[0], K1 = g.kernel[1], K2 = g.kernel[2];
  const std::int64_t O1 = g.out[1], O2 = g.out[2];
  const std::int64_t I1 = g.in[1], I2 = g.in[2], s2 = g.stride[2];
  const std::int64_t cin_g = g.in_per_group();
  for (std::int64_t c = 0; c < cin_g; ++c) {
    T* xc = dx + c * g.in_pixels();
    for (std::int64_t k0 = 0; k0 < K0; ++k0)
      for (std::int64_t k1 = 0; k1 < K1; ++k1)
        for (std::int64_t k2 = 0; k2 < K2; ++k2) {
          const T* row = cols + (((c * K0 + k0) * K1 + k1) * K2 + k2) * ld;
          const TapRange r0 = tap_range(g.in[0], g.out[0], g.stride[0], tap_offset(g, 0, k0));
          const TapRange r1 = tap_range(I1, O1, g.stride[1], tap_offset(g, 1, k1));
          const TapRange r2 = tap_range(I2, O2, s2, tap_offset(g, 2, k2));
          const std::int64_t n = r2.end - r2.begin;
          if (n <= 0) continue;
          for (std::int64_t orow = row_begin; orow < row_end; ++orow) {
            const std::int64_t o0 = orow / O1, o1 = orow % O1;
            if (o0 < r0.begin || o0 >= r0.end || o1 < r1.begin || o1 >= r1.end) continue;
            const std::int64_t i0 = r0.first_input + (o0 - r0.begin) * g.stride[0];
            const std::int64_t i1 = r1.first_input + (o1 - r1.begin) * g.stride[1];
            const T* src = row + (orow - row_begin) * O2 + r2.begin;
            T* dst = xc + (i0 * I1 + i1) * I2 + r2.first_input;
            if (s2 == 1)
              for (std::int64_t j = 0; j < n; ++j) dst[j] += src[j];
            else
              for (std::int64_t j = 0; j < n; ++j) dst[j * s2] += src[j];
          }
        }
  }
}

}  // namespace nodal::cpu::conv_detail
