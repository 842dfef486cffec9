// Rader's two index permutations as passes of their own (backends/opencl/fft_stockham.cpp, the
// rader plan when its permutations are "separate"): the gather a_q = x[g^q] before the cyclic
// convolution's four-step, and X[k] = x_0 + c[p(k)] (g^−p(k) = k) after it. The four-step's column
// launches then read and write coalesced.
//
// Why separate passes (measured on the H100, 1023 rows of 65537): a random 8-byte gather costs
// 0.65 ms per 2^26 values when consecutive work-items take consecutive q of one row (few rows in
// flight: their 512 KiB stay in L2 while all four reads of each 32-byte sector arrive), 3.0 ms when
// the rows in flight are many. A column FFT keeps 8 values per work-item in flight, about 33 rows
// at a time, and its fused gather cost 1.0 ms more than its plain launch.
// One work-item per value, row-major; no local memory; 32-bit indices (the host keeps launches below
// 2^31 values). The read-only arguments are `const restrict`, which lets a GPU's compiler read them
// through its non-coherent (texture) path. Input and output never overlap: the plan's scratch
// buffer sits between them.
#if defined(NODAL_FP64)
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double2 T2;
#else
typedef float2 T2;
#endif

// a[b][q] = x[b][g^q] (q < m), conjugated when `conj`; the q = 0 work-item also keeps x_0 in extra[2b]
__kernel void rader_gather(const int total, const int m, __global const T2* restrict x, const long x_off, const long x_stride,
                           __global T2* restrict a, const long a_off, __global const int* restrict perm,
                           __global T2* restrict extra,
                           const int conj) {
  const int g = get_global_id(0);  // total < 2^31 (the host checks): 32-bit division, not 64-bit
  if (g >= total) return;
  const int b = g / m, q = g - b * m;
  T2 v = x[x_off + (long)b * x_stride + perm[q]];
  if (conj) v.y = -v.y;
  a[a_off + g] = v;
  if (q == 0) {
    T2 x0 = x[x_off + (long)b * x_stride];
    if (conj) x0.y = -x0.y;
    extra[2 * b] = x0;
  }
}

// X[b][k] = (x_0 + c[b][p(k)])·scale for 0 < k < n, X[b][0] = (x_0 + Σa)·scale (extra[2b + 1]),
// conjugated when `conj`
__kernel void rader_output(const int total, const int n, const int m, __global const T2* restrict c,
                           const long c_off, __global T2* restrict out, const long out_off, const long out_stride,
                           __global const int* restrict position, __global const T2* restrict extra, const T scale,
                           const int conj) {
  const int g = get_global_id(0);
  if (g >= total) return;
  const int b = g / n, k = g - b * n;
  const T2 x0 = extra[2 * b];
  T2 v = (k == 0 ? x0 + extra[2 * b + 1] : x0 + c[c_off + (long)b * m + position[k]]) * scale;
  if (conj) v.y = -v.y;
  out[out_off + (long)b * out_stride + k] = v;
}
