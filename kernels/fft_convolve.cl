// The small kernels of the device's circular convolution (backends/opencl/fft_convolve.cpp; the
// transforms are kernels/fft.cl and kernels/fft_stockham.cl). One work-item per complex value, no
// local memory: every value is read and written once by one work-item, neighbours by neighbours
// (coalesced), so there is nothing to share. Built with -DT=float or -DT=double; complex values are
// (re, im) pairs of T (vload2/vstore2, index = complex element). Indices are 32-bit: the host
// refuses launches of 2^31 values or more, as the FFT kernels do.
//
// fft_pair_rows       real x [rows, n] → complex z [⌈rows/2⌉, n], z[p][k] = x[2p][k] + i·x[2p+1][k]
//                     (a missing last odd row reads as 0): two real rows per complex transform,
//                     since (a + ib) ⊛ h = a ⊛ h + i·(b ⊛ h) for a real filter h.
// fft_unpair_rows     the inverse of that: y[2p][k] = Re z[p][k], y[2p+1][k] = Im z[p][k].
// fft_multiply_rows   z[r][q] ×= s[q] (s: the filter's spectrum, in the transforms' order), for the
//                     plans whose last store cannot take the product (Bluestein and Rader lengths).
#if defined(NODAL_FP64)
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double2 T2;
#else
typedef float2 T2;
#endif

__kernel void fft_pair_rows(const int total, const int n, const int rows, __global const T* x, const long x_off,
                            __global T* z, const long z_off) {
  const int g = get_global_id(0);
  if (g >= total) return;
  const int p = g / n, k = g - p * n;
  const long even = x_off + (long)(2 * p) * n + k;
  const T re = x[even];
  const T im = 2 * p + 1 < rows ? x[even + n] : (T)0;
  vstore2((T2)(re, im), z_off + g, z);
}

__kernel void fft_unpair_rows(const int total, const int n, const int rows, __global const T* z, const long z_off,
                              __global T* y, const long y_off) {
  const int g = get_global_id(0);
  if (g >= total) return;
  const int p = g / n, k = g - p * n;
  const T2 v = vload2(z_off + g, z);
  const long even = y_off + (long)(2 * p) * n + k;
  y[even] = v.x;
  if (2 * p + 1 < rows) y[even + n] = v.y;
}

__kernel void fft_multiply_rows(const int total, const int n, __global T* z, const long z_off,
                                __global const T* s) {
  const int g = get_global_id(0);
  if (g >= total) return;
  const T2 a = vload2(z_off + g, z), b = vload2(g % n, s);
  vstore2((T2)(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x), z_off + g, z);
}
