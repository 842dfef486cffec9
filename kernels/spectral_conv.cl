// The spectral convolution's own kernels (backends/opencl/conv_spectral_engine.cpp launches them;
// the transforms themselves are kernels/fft.cl). None uses local memory: every value is read
// and written by one work-item only, so there is nothing to share. Built with -DT=float or -DT=double; complex values are
// (re, im) pairs of T read and written with vload2/vstore2 (index = complex element).
//
// Boxes. A "box" is one L0×L1×L2 block of the transform (real: L2 values per row; spectrum: the
// half spectrum, H2 = L2/2 + 1 complex values per row, F = L0·L1·H2 per box). Boxes are rows of
// [T tiles × B planes] in tile-major order. Every tile has a record of 15 ints (host-built):
//   origin[3]  the global padded coordinate of local point 0 (local index of g: (g − origin) mod L)
//   lo[3], hi[3]  the global range this pass reads (pack) or writes (crop)
//   jlo[3], jhi[3]  crop only: the range of dense indices j it writes (g = j·step + off)
//
// spectral_pack   dense [B, S0, S1, S2] → real boxes [T, B, L0, L1, L2] (the rows l1 that hold
//                 data, a range given by the host); a box point l holds
//                 src[(g − off)/step] for g = lo + ((origin + l − lo) mod L) ∈ [lo, hi) on the
//                 step grid, else 0 (zero padding, dilation spreading, stride scattering, flip).
//                 One work-item per run of values along a row (see below); no local memory.
// spectral_crop   real boxes → dense [B, D0, D1, D2]: dst[b, j] (+)= box[t, b, (g − origin) mod L]
//                 (0 where g ∉ [lo, hi)) + bias[b % channels], for the tiles listed in `tile_ids`
//                 (one colour class of the overlap-add schedule, or every tile when their ranges
//                 are disjoint). One work-item per (listed tile, b, run of points of the tile's j
//                 box of the largest extent E); no two work-items of a launch write one element
//                 (disjoint ranges), so `accumulate` needs no atomics.
// spectral_mac    the per-frequency complex GEMM of every pass (see the kernel's comment).
#if defined(NODAL_FP64)
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double2 T2;
#else
typedef float2 T2;
#endif

// The global coordinate that box index l holds on one axis (within [lo, hi)), or −1.
inline int global_of(int l, int L, int origin, int lo, int hi) {
  // (origin + l − lo) mod L with origin − lo ∈ (−L, L) (a tile's ranges lie within L of its
  // origin) and l ∈ [0, L): the value is in (−L, 2L), one fold either way
  int r = origin + l - lo;
  if (r < 0) r += L;
  if (r >= L) r -= L;
  const int g = lo + r;
  return g < hi ? g : -1;
}

// The dense index on one axis for global coordinate g, or −1 when g is off the grid j·step + off.
inline int dense_of(int g, int off, int step, int S, int flip) {
  if (g < 0) return -1;
  const int q = g - off;
  if (q < 0) return -1;
  int j = q;
  if (step > 1) {  // (uniform branch: no division on the common step 1)
    if (q % step) return -1;
    j = q / step;
  }
  if (j >= S) return -1;
  return flip ? S - 1 - j : j;
}

// Both kernels give each work-item `run` consecutive values along the innermost axis (a host
// choice: 1 on GPUs, so consecutive work-items touch consecutive addresses; a whole row on CPU
// devices, so the index divisions are paid once per row instead of once per value).
__kernel void spectral_pack(__global const T* src, const long src_offset, const int4 dims, const int4 off,
                            const int4 step, const int flip, __global T* dst, const int4 box,
                            __global const int* tiles, const int row_lo, const int rows, const int run,
                            const long total) {
  // dims = (S0, S1, S2, B), box = (L0, L1, L2, T); only box rows l1 ∈ [row_lo, row_lo + rows) are
  // written (the others hold no data and are never read: the row transforms skip them).
  // 32-bit index arithmetic (the host checks every index fits): 64-bit divisions cost several
  // times more on CPU devices. `total` counts work-items: rows · ⌈L2 / run⌉.
  const int runs = (box.z + run - 1) / run;
  for (int q = (int)get_global_id(0); q < (int)total; q += (int)get_global_size(0)) {
    int rest = q;
    const int first = (rest % runs) * run;
    rest /= runs;
    const int l1 = row_lo + rest % rows;
    rest /= rows;
    const int l0 = rest % box.x;
    rest /= box.x;
    const int b = rest % dims.w;
    const int t = rest / dims.w;
    __global const int* r = tiles + 15 * t;
    const int j0 = dense_of(global_of(l0, box.x, r[0], r[3], r[6]), off.x, step.x, dims.x, flip);
    const int j1 = dense_of(global_of(l1, box.y, r[1], r[4], r[7]), off.y, step.y, dims.y, flip);
    const long src_row = src_offset + (((long)b * dims.x + j0) * dims.y + j1) * dims.z;
    const int dst_row = (((t * dims.w + b) * box.x + l0) * box.y + l1) * box.z;
    const int last = min(first + run, box.z);
    for (int l2 = first; l2 < last; ++l2) {
      const int j2 = dense_of(global_of(l2, box.z, r[2], r[5], r[8]), off.z, step.z, dims.z, flip);
      dst[dst_row + l2] = (j0 >= 0 && j1 >= 0 && j2 >= 0) ? src[src_row + j2] : (T)0;
    }
  }
}

__kernel void spectral_crop(__global const T* boxes, const int4 box, const int planes, __global T* dst,
                            const long dst_offset, const int4 dims, const int4 off, const int4 step, const int flip,
                            __global const int* tiles, __global const int* tile_ids, const int4 extent,
                            const int listed, __global const T* bias, const long bias_offset, const int has_bias,
                            const int channels, const int accumulate, const int run) {
  // box = (L0, L1, L2, unused), dims = (D0, D1, D2, unused), extent = (E0, E1, E2, unused)
  const int runs = (extent.z + run - 1) / run;
  const int total = listed * planes * extent.x * extent.y * runs;  // < 2^31: checked by the host
  for (int q = (int)get_global_id(0); q < total; q += (int)get_global_size(0)) {
    int rest = q;
    const int first = (rest % runs) * run;
    rest /= runs;
    const int e1 = rest % extent.y;
    rest /= extent.y;
    const int e0 = rest % extent.x;
    rest /= extent.x;
    const int b = rest % planes;
    const int t = tile_ids[rest / planes];
    __global const int* r = tiles + 15 * t;
    const int j0 = r[9] + e0, j1 = r[10] + e1;
    if (j0 >= r[12] || j1 >= r[13]) continue;
    const int g0 = j0 * step.x + off.x, g1 = j1 * step.y + off.y;
    const int inside01 = g0 >= r[3] && g0 < r[6] && g1 >= r[4] && g1 < r[7];
    // (g − origin) mod L: g − origin ∈ (−L, L) for every range a tile reads, so one fold
    int l0 = g0 - r[0], l1 = g1 - r[1];
    if (l0 < 0) l0 += box.x;
    if (l1 < 0) l1 += box.y;
    if (l0 >= box.x) l0 -= box.x;
    if (l1 >= box.y) l1 -= box.y;
    const int box_row = (((t * planes + b) * box.x + l0) * box.y + l1) * box.z;
    const int d0 = flip ? dims.x - 1 - j0 : j0, d1 = flip ? dims.y - 1 - j1 : j1;
    const long dst_row = dst_offset + ((long)(b * dims.x + d0) * dims.y + d1) * dims.z;
    const T add = has_bias ? bias[bias_offset + b % channels] : (T)0;
    const int last = min(r[11] + first + run, r[14]);
    for (int j2 = r[11] + first; j2 < last; ++j2) {
      const int g2 = j2 * step.z + off.z;
      T v = 0;
      if (inside01 && g2 >= r[5] && g2 < r[8]) {
        int l2 = g2 - r[2];
        if (l2 < 0) l2 += box.z;
        if (l2 >= box.z) l2 -= box.z;
        v = boxes[box_row + l2];
      }
      v += add;
      const long at = dst_row + (flip ? dims.z - 1 - j2 : j2);
      dst[at] = accumulate ? dst[at] + v : v;
    }
  }
}

inline T2 cmul(T2 a, T2 b) { return (T2)(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }

// The complex GEMM of one frequency, for every frequency f < F at once:
//   out[g, i, j, f] (+)= Σ_{k < K} opA(A[g, i, k, f]) · opB(B[g, j, k, f])     (op: conj or not)
// with every operand addressed as offset + (g·s_g + i·s_i + k·s_k)·F + f (strides in whole
// spectra, int4 (s_g, s_i/s_j, s_k, unused)), so the three passes are one kernel:
//   forward  Ŷ[n, o] = Σ_c X̂[n, c] · conj Ŵ[o, c]      (i = tile·sample, j = out channel, k = in channel)
//   dx       DX̂[n, c] = Σ_o DŶ[n, o] · Ŵ[o, c]         (i = tile·sample, j = in channel, k = out channel)
//   dw       DŴ[o, c] = Σ_n X̂[n, c] · conj DŶ[n, o]     (i = in channel, j = out channel, k = tile·sample)
// (g is the channel group in all three.)
// Work-item layout: one frequency and a register block of IB × JB = 4 × 4 outputs; consecutive
// work-items take consecutive frequencies, so every load and store of a work-group is one
// contiguous run per (i, j) row and each loaded A value serves JB, each B value IB products
// (4 × 4 measured 15 % faster than 2 × 4 on PoCL: half the passes over the larger operand).
// Work-groups (1-D) tile [G, ⌈I/IB⌉, ⌈J/JB⌉, F] frequency-fastest. No local memory: the operands
// of one frequency are used by one work-item only, there is no reuse across work-items to stage.
#define IB 4
#define JB 4
__kernel void spectral_mac(__global const T* A, const long a_off, const int4 a_s, __global const T* B,
                           const long b_off, const int4 b_s, __global T* out, const long o_off, const int4 o_s,
                           const int G, const int I, const int J, const int K, const long F, const int conj_a,
                           const int conj_b, const int accumulate) {
  const int IBlocks = (I + IB - 1) / IB, JBlocks = (J + JB - 1) / JB;
  const long total = (long)G * IBlocks * JBlocks * F;
  for (long q = get_global_id(0); q < total; q += get_global_size(0)) {
    const long f = q % F;
    long rest = q / F;
    const int jb = (int)(rest % JBlocks);
    rest /= JBlocks;
    const int ib = (int)(rest % IBlocks);
    const int g = (int)(rest / IBlocks);
    const int i0 = ib * IB, j0 = jb * JB;
    const int ni = min(IB, I - i0), nj = min(JB, J - j0);
    T2 acc[IB][JB];
    for (int x = 0; x < IB; ++x)
      for (int y = 0; y < JB; ++y) acc[x][y] = (T2)(0, 0);
    const long a_base = a_off + ((long)g * a_s.x + (long)i0 * a_s.y) * F + f;
    const long b_base = b_off + ((long)g * b_s.x + (long)j0 * b_s.y) * F + f;
    for (int k = 0; k < K; ++k) {
      T2 a[IB], b[JB];
      for (int x = 0; x < IB; ++x) {
        a[x] = x < ni ? vload2(a_base + ((long)x * a_s.y + (long)k * a_s.z) * F, A) : (T2)(0, 0);
        if (conj_a) a[x].y = -a[x].y;
      }
      for (int y = 0; y < JB; ++y) {
        b[y] = y < nj ? vload2(b_base + ((long)y * b_s.y + (long)k * b_s.z) * F, B) : (T2)(0, 0);
        if (conj_b) b[y].y = -b[y].y;
      }
      for (int x = 0; x < IB; ++x)
        for (int y = 0; y < JB; ++y) acc[x][y] += cmul(a[x], b[y]);
    }
    const long o_base = o_off + ((long)g * o_s.x + (long)i0 * o_s.y + (long)j0 * o_s.z) * F + f;
    for (int x = 0; x < ni; ++x)
      for (int y = 0; y < nj; ++y) {
        const long at = o_base + ((long)x * o_s.y + (long)y * o_s.z) * F;
        vstore2(accumulate ? vload2(at, out) + acc[x][y] : acc[x][y], at, out);
      }
  }
}
