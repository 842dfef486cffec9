// Batched 1-D complex FFTs (backends/opencl/fft_plan.cpp drives them). Built with -DT=float or
// -DT=double; complex values are (re, im) pairs of T read and written with vload2/vstore2, so one
// buffer argument serves complex and real tensors alike.
//
// fft_local: Stockham autosort passes of radix 8, 4, 2, 7, 5, 3 (any 2·3·5·7-smooth n) done in
// local memory, one launch for the whole transform.
//   Work-group layout: `per_group` transforms per group, `items` work-items per transform
//   (local size = per_group · items). Work-item (tt = lid / items, w = lid % items) runs the
//   butterflies j = w, w + items, … < n/R of transform tt in each pass.
//   Local memory: two tiles (ping-pong between passes) of per_group rows of `pitch` complex
//   values each, then each transform's two base addresses and inner indices:
//   2 · per_group · pitch · sizeof(T2) + 24 · per_group bytes.
//   Bank-conflict padding: pitch = n | 1 (n rounded up to odd). A complex value is 2 (float) or 4
//   (double) 4-byte words, so the row pitch is 2·odd or 4·odd words: never a multiple of the
//   32 banks. When a group loads several transforms "batch-fastest" (strided columns, see below),
//   neighbouring work-items write the same element of neighbouring rows, pitch apart: with an
//   odd pitch these land in distinct banks within each access phase (16 work-items of 8 bytes,
//   8 of 16 bytes), where a power-of-two pitch would put them all in one bank.
//   Global memory: each value is read and written once per launch. Loads and stores walk the
//   group's per_group · n values either element-fastest (rows: consecutive work-items read
//   consecutive elements) or batch-fastest (columns: consecutive work-items read the same element
//   of consecutive transforms, adjacent in memory), whichever is contiguous, so both coalesce.
//
// Addressing ("sides", one long8 for the load and one for the store). Transform t and element e:
//   i = t % I, r = t / I, idx = e·k_mul + i·k_imul   (idx: the position in the logical sequence)
//   address = off + r·s_outer + i·s_inner + idx·s_elem   (in elements of the buffer's type)
// Plain rows: I = 1, k_mul = 1. Columns of a [rows, C] matrix: I = C, s_inner = 1, s_elem = C.
// Four-step steps and Bluestein use k_mul/k_imul to see one long transform as a matrix.
// Per-value operations fused into the load (in this order): real input, Hermitian extension of a
// half spectrum (irfft), conjugation (inverse = conj ∘ forward ∘ conj), zero beyond valid_len and
// a pre-multiplication by table[idx] (Bluestein's chirp), a four-step twiddle w_tw^(e·i)
// (two-level table: w^x = lo[x % split] · hi[x / split]). Into the store: skip idx ≥ store_count
// (rfft's half spectrum, Bluestein's first n), a multiplication by table[idx] (Bluestein's
// filter spectrum), conjugation, a post-multiplication by table[idx], interior-bin scaling, the
// norm scale, real output (irfft).
//
// Twiddles of the passes are computed on the host in double precision (one table: for each pass,
// ns·(R−1) values w_{ns·R}^(t·k)), in __constant memory (≤ 32 KiB: fft_plan caps the local n) unless
// the host builds with -DTWIDDLE_SPACE=__global (see fft_plan.cpp: neighbouring work-items read
// different twiddles, which a GPU's constant cache serialises).
// T2, cmul, mul_minus_i and the radix-R DFTs (2, 4, 8, 16, 3, 5, 7): kernels/fft_radix.cl,
// prepended by the host (fft_plan.cpp).

// load flags
#define LOAD_REAL 1
#define LOAD_HERMITIAN 2
#define LOAD_CONJ 4
#define LOAD_CHIRP 8
#define LOAD_TWIDDLE 16
// store flags
#define STORE_REAL 1
#define STORE_CONJ 4
#define STORE_MUL 32
#define STORE_POST 64
#define STORE_INTERIOR 128
// both: walk the values batch-fastest
#define BATCH_FASTEST 256

// One Stockham butterfly of radix R (Govindaraju et al. 2008): inputs j + t·n/R, twiddled by
// w_{ns·R}^(t·k), k = j mod ns; outputs (j − k)·R + k + t·ns.
#define BUTTERFLY(R)                                                        \
  {                                                                         \
    T2 v[R];                                                                \
    for (int t = 0; t < R; ++t) v[t] = src[j + t * m];                      \
    if (ns > 1)                                                             \
      for (int t = 1; t < R; ++t) v[t] = cmul(v[t], tw[twoff + k * (R - 1) + t - 1]); \
    dft##R(v);                                                              \
    const int base = (j - k) * R + k;                                       \
    for (int t = 0; t < R; ++t) dst[base + t * ns] = v[t];                  \
  }

// Index arithmetic in 32 bits (transform counts and lengths stay below 2^31; 64-bit division is
// a long software sequence on GPUs), addresses in 64. `base` is transform t's address
// off + r·s_outer + i·s_inner, computed once per transform (see fft_local).
inline T2 load_value(__global const T* in, long8 side, long base, int i, int e, int valid_len, int herm_n,
                     int herm_m, T herm_scale, __global const T2* pre, __global const T2* tw_lo,
                     __global const T2* tw_hi, int tw_split, int tw_n) {
  const int idx = e * (int)side.s5 + i * (int)side.s6;
  const int flags = (int)side.s7;
  if ((flags & LOAD_CHIRP) && idx >= valid_len) return (T2)(0, 0);
  int src = idx;
  int conj = flags & LOAD_CONJ;
  if ((flags & LOAD_HERMITIAN) && idx >= herm_m) {
    src = herm_n - idx;
    conj ^= LOAD_CONJ;
  }
  const long address = base + src * side.s4;
  T2 v = (flags & LOAD_REAL) ? (T2)(in[address], 0) : vload2(address, in);
  if (flags & LOAD_HERMITIAN) {
    if (idx == 0 || 2 * idx == herm_n) v.y = 0;  // bins 0 and n/2 of a real signal are real
    else v *= herm_scale;
  }
  if (conj) v.y = -v.y;
  if (flags & LOAD_CHIRP) v = cmul(v, pre[idx]);
  if (flags & LOAD_TWIDDLE) {
    const int x = (e * i) % tw_n;  // e·i < n1·n2 = tw_n
    v = cmul(v, cmul(tw_lo[x % tw_split], tw_hi[x / tw_split]));
  }
  return v;
}

inline void store_value(__global T* out, long8 side, long base, int i, int e, T2 v, long store_count, T scale,
                        T interior_scale, int interior_n, __global const T2* mul, __global const T2* post) {
  const int idx = e * (int)side.s5 + i * (int)side.s6;
  if (idx >= store_count) return;
  const int flags = (int)side.s7;
  if (flags & STORE_MUL) v = cmul(v, mul[idx]);
  if (flags & STORE_CONJ) v.y = -v.y;
  if (flags & STORE_POST) v = cmul(v, post[idx]);
  v *= scale;
  if ((flags & STORE_INTERIOR) && idx != 0 && 2 * idx != interior_n) v *= interior_scale;
  const long address = base + idx * side.s4;
  if (flags & STORE_REAL) out[address] = v.x;
  else vstore2(v, address, out);
}

// Runs BODY for every (tt, e) of the group's per_group × n values that this work-item owns.
#define WALK(side, BODY)                                                               \
  if (((int)side.s7 & BATCH_FASTEST) != 0) {                                           \
    int tt = lid % per_group, e = lid / per_group;                                     \
    const int dt = lsize % per_group, de = lsize / per_group;                          \
    while (e < n) {                                                                    \
      BODY                                                                             \
      tt += dt;                                                                        \
      e += de;                                                                         \
      if (tt >= per_group) {                                                           \
        tt -= per_group;                                                               \
        ++e;                                                                           \
      }                                                                                \
    }                                                                                  \
  } else {                                                                             \
    int e = lid % n, tt = lid / n;                                                     \
    const int de = lsize % n, dt = lsize / n;                                          \
    while (tt < per_group) {                                                           \
      BODY                                                                             \
      e += de;                                                                         \
      tt += dt;                                                                        \
      if (e >= n) {                                                                    \
        e -= n;                                                                        \
        ++tt;                                                                          \
      }                                                                                \
    }                                                                                  \
  }

#ifndef TWIDDLE_SPACE
#define TWIDDLE_SPACE __constant
#endif
// Built generic (every shape a run-time argument: one program serves every length, which keeps
// PoCL's compile time low) or, with -DFFT_N=… (fft_plan.cpp, NODAL_FFT_SPECIALIZE=1), specialised for one
// length: n, pitch, per_group, items and the radices become compile-time constants, so the pass
// loop unrolls, each pass's radix switch and j % ns fold away.
__kernel void fft_local(const int n_arg, const int pitch_arg, const int count, const int per_group_arg,
                        const int items_arg, const int passes_arg, const int16 radices, TWIDDLE_SPACE const T2* tw,
                        // load side
                        __global const T* in, const long8 load, const int valid_len, const int herm_n,
                        const int herm_m, const T herm_scale, __global const T2* pre, __global const T2* tw_lo,
                        __global const T2* tw_hi, const int tw_split, const int tw_n,
                        // store side
                        __global T* out, const long8 store, const long store_count, const T scale,
                        const T interior_scale, const int interior_n, __global const T2* mul,
                        __global const T2* post, __local T2* tiles) {
  // pitch: n | 1 (odd), see the bank-conflict note at the top; NODAL_FFT_PAD=0 gives n (to measure it)
#ifdef FFT_N
  const int n = FFT_N, pitch = FFT_PITCH, per_group = FFT_PER_GROUP, items = FFT_ITEMS, passes = FFT_PASSES;
  const int lsize = FFT_PER_GROUP * FFT_ITEMS;
  const int radix_list[16] = {FFT_RADICES};
#else
  const int n = n_arg, pitch = pitch_arg, per_group = per_group_arg, items = items_arg, passes = passes_arg;
  const int lsize = get_local_size(0);
  int radix_list[16];
  vstore16(radices, 0, radix_list);
#endif
  const int lid = get_local_id(0);
  const int first = (int)get_group_id(0) * per_group;
  __local T2* a = tiles;
  __local T2* b = tiles + per_group * pitch;

  // Per transform of the group, once: its base addresses and inner index (no division per value).
  // (after the two tiles in the same local buffer: 24 bytes per transform)
  __local long* base_in = (__local long*)(tiles + 2 * per_group * pitch);
  __local long* base_out = base_in + per_group;
  __local int* inner_in = (__local int*)(base_out + per_group);
  __local int* inner_out = inner_in + per_group;
  for (int x = lid; x < per_group; x += lsize) {
    const int t = first + x, I_in = (int)load.s1, I_out = (int)store.s1;
    inner_in[x] = t % I_in;
    base_in[x] = load.s0 + (long)(t / I_in) * load.s2 + (long)(t % I_in) * load.s3;
    inner_out[x] = t % I_out;
    base_out[x] = store.s0 + (long)(t / I_out) * store.s2 + (long)(t % I_out) * store.s3;
  }
  barrier(CLK_LOCAL_MEM_FENCE);

  // Value q = tt·n + e (element-fastest) or e·per_group + tt (batch-fastest), q = lid, lid + lsize, …,
  // walked by carrying instead of dividing.
  WALK(load, {
    a[tt * pitch + e] = first + tt < count ? load_value(in, load, base_in[tt], inner_in[tt], e, valid_len, herm_n, herm_m,
                                                         herm_scale, pre, tw_lo, tw_hi, tw_split, tw_n)
                                           : (T2)(0, 0);
  })
  barrier(CLK_LOCAL_MEM_FENCE);

  const int tt = lid / items, w = lid % items;
  int ns = 1, twoff = 0;
#ifdef FFT_N
#pragma unroll
#endif
  for (int p = 0; p < passes; ++p) {
    const int radix = radix_list[p];
    const int m = n / radix;
    if (tt < per_group) {
      __local const T2* src = a + tt * pitch;
      __local T2* dst = b + tt * pitch;
      for (int j = w; j < m; j += items) {
        const int k = j % ns;
        switch (radix) {
          case 2: BUTTERFLY(2) break;
          case 3: BUTTERFLY(3) break;
          case 4: BUTTERFLY(4) break;
          case 5: BUTTERFLY(5) break;
          case 7: BUTTERFLY(7) break;
          default: BUTTERFLY(8) break;
        }
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    __local T2* swap = a;
    a = b;
    b = swap;
    twoff += ns * (radix - 1);
    ns *= radix;
  }

  WALK(store, {
    if (first + tt < count)
      store_value(out, store, base_out[tt], inner_out[tt], e, a[tt * pitch + e], store_count, scale, interior_scale,
                  interior_n, mul, post);
  })
}

// A contiguous copy of a strided view (rank ≤ 8 after merging, row-major order), real or complex
// (`pairs` = 2 reads and writes (re, im)). One value per work-item, grid-stride loop, no local
// memory. Used where a layout cannot be described by one "side" (e.g. several non-mergeable batch
// axes) and for the transposes around four-step column passes.
__kernel void fft_gather(const long numel, const int rank, const long8 shape, __global const T* in, const long offset,
                         const long8 strides, const int pairs, __global T* out) {
  long extents[8], steps[8];
  vstore8(shape, 0, extents);
  vstore8(strides, 0, steps);
  for (long q = get_global_id(0); q < numel; q += get_global_size(0)) {
    long rest = q, address = offset;
    for (int d = rank - 1; d >= 0; --d) {
      const long coordinate = rest % extents[d];
      rest /= extents[d];
      address += coordinate * steps[d];
    }
    if (pairs) vstore2(vload2(address, in), q, out);
    else out[q] = in[address];
  }
}
