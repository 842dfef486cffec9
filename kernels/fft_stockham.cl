// fft_stockham: batched complex FFTs of one length L, compiled once per (device, length, layout,
// fused operations) with every shape a compile-time constant (backends/opencl/fft_stockham.cpp
// writes the #defines below in front of this source). It serves the plain batched C2C transform and
// the passes of the two- and three-kernel plans (four-step, Bluestein); fft.cl's generic kernel
// keeps the strided, real and Hermitian layouts.
//
// Work-group layout: LANES transforms per group, ITEMS work-items per transform (local size
// ITEMS·LANES, fixed with reqd_work_group_size); work-item (c = lid / ITEMS, w = lid % ITEMS) runs
// the butterflies j = w, w + ITEMS, … < L/R of transform c in each Stockham pass (radix R, span NS):
//   inputs j + t·L/R, twiddled by w_{NS·R}^(t·k), k = j mod NS; outputs (j − k)·R + k + t·NS.
// Each pass reads its inputs into registers, a barrier, computes, writes its outputs into the
// group's local tile, a barrier. The first pass reads global memory directly and the last pass
// writes it directly (inputs j + t·L/R and outputs j + t·L/R: consecutive work-items touch
// consecutive elements, so both coalesce) when the side is "rows" (a transform's elements
// adjacent). A "lanes" side (the elements of one transform a stride apart, neighbouring
// transforms adjacent: the columns of a four-step) is staged through the tile instead, walked
// with the transform index fastest, so that it coalesces too.
//
// Local memory: LANES · PITCH complex values (float: 8 bytes, double: 16), e.g. 34.8 KiB for one
// transform of 4096 floats, 17 KiB for 8 transforms of 256.
// Bank-conflict padding: element e of transform c sits at c·PITCH + PAD(e), PAD(e) = e + e/16
// (float; e/8 for double). A Stockham pass writes its outputs t·NS apart, and the first pass
// (NS = 1) writes R consecutive values per work-item: neighbouring work-items write R values apart,
// a stride that is a multiple of the 32 four-byte banks' period (16 float2) for R = 8 or 16 and would
// put 8 work-items of a 16-item access phase on the same two banks. One pad value every 16 moves each
// 16-value block by one 8-byte slot, so those work-items land on distinct banks; consecutive
// accesses stay consecutive except at one boundary per 16. PITCH = PAD(L) rounded up to odd, so
// lanes walks (neighbouring work-items, same element of neighbouring transforms) never share a bank.
// Built with NODAL_FFT_PAD=0 the padding is off (bench/fft measures the difference).
//
// Addressing, per side (load L_*, store S_*), transform t and element e:
//   b = t / I, i = t % I, idx = e·EMUL + i·IMUL (the position in the logical sequence),
//   address = offset + b·BSTRIDE + idx.
// Fused operations (compile-time flags) on the load: zero where idx ≥ L_VALID, conjugation,
// × pre[idx] (Bluestein's chirp), × w_TWM^(e·i) (the four-step twiddle; w^x = lo[x % SPLIT]·
// hi[x / SPLIT], both tables computed in double on the host). The run-time argument `inverse`
// conjugates on load (bit 1) and on store (bit 2): inverse = conj ∘ forward ∘ conj, so both
// directions share a program. Between two runs of the passes (MID,
// Bluestein's convolution in one kernel): × mul[i·L + e] then conjugation. On the store: skip
// idx ≥ S_COUNT, conjugation, × conj(w_TWM^(e·i)), × post[idx], × scale (run-time).
// Pass twiddles: one table in global memory, per pass NS·(R−1) values w_{NS·R}^(t·k) computed on
// the host in double precision (neighbouring work-items read neighbouring values; a GPU's constant
// cache would serialise them).
// T2, cmul, mul_minus_i and the radix-R DFTs: kernels/fft_radix.cl, prepended by the host.
#if defined(NODAL_FP64)
#define PAD_SHIFT (SPLIT ? 4 : 3)
#else
#define PAD_SHIFT (SPLIT ? 5 : 4)
#endif
#if FFT_PAD
#define PAD(e) ((e) + ((e) >> PAD_SHIFT))
#else
#define PAD(e) (e)
#endif

// flags
#define LOAD_CONJ 1
#define LOAD_CHIRP 2
#define LOAD_TWIDDLE 4
#define SIDE_LANES 8
#define LOAD_GATHER 16   // Rader: element idx is x[perm[idx]]; the transform's x_0 saved in extra
#define MID_SAVE 16      // Rader: the row-0 element 0 of the forward transform (Σ a) saved in extra
#define STORE_SCATTER 32 // Rader: element idx goes to perm[S_PERM_OFFSET + idx] plus x_0; element 0 also writes X_0
#define STORE_CONJ 1
#define STORE_POST 2
#define STORE_TWIDDLE_CONJ 4

inline T2 cmul_conj(T2 a, T2 b) { return (T2)(a.x * b.x + a.y * b.y, a.y * b.x - a.x * b.y); }  // a·conj(b)
// a loaded value conjugated when exactly one of the side's LOAD_CONJ and the run-time direction asks
inline T2 load_conj_of(T2 v, int inverse) {
  if (((L_FLAGS & LOAD_CONJ) != 0) != ((inverse & 1) != 0)) v.y = -v.y;
  return v;
}
// w_TWM^x from the two-level table
inline T2 step_twiddle(int x, __global const T2* lo, __global const T2* hi) {
  return cmul(lo[x % TW_SPLIT], hi[x / TW_SPLIT]);
}

inline T2 load_value(__global const T2* in, long in_off, int t, int e, __global const T2* pre, __global const T2* lo,
                     __global const T2* hi, int inverse, __global const int* perm, __global T2* extra) {
  const int b = t / L_I, i = t % L_I;
  const int idx = e * L_EMUL + i * L_IMUL;
  if (idx >= L_VALID) return (T2)(0, 0);
  const int at = (L_FLAGS & LOAD_GATHER) ? perm[idx] : idx;
  T2 v = load_conj_of(in[in_off + (long)b * L_BSTRIDE + at], inverse);
  if ((L_FLAGS & LOAD_GATHER) && idx == 0) {  // x_0, which the cyclic convolution leaves out
    T2 x0 = in[in_off + (long)b * L_BSTRIDE];
    if (inverse & 1) x0.y = -x0.y;
    extra[2 * b] = x0;
  }
  if (L_FLAGS & LOAD_CHIRP) v = cmul(v, pre[idx]);
  if (L_FLAGS & LOAD_TWIDDLE) v = cmul(v, step_twiddle(e * i, lo, hi));
  return v;
}

inline void store_value(__global T2* out, long out_off, int t, int e, T2 v, __global const T2* post,
                        __global const T2* lo, __global const T2* hi, T scale, int inverse, __global const int* perm,
                        __global const T2* extra) {
  const int b = t / S_I, i = t % S_I;
  const int idx = e * S_EMUL + i * S_IMUL;
  if (idx >= S_COUNT) return;
  if (S_FLAGS & STORE_CONJ) v.y = -v.y;
  if (S_FLAGS & STORE_TWIDDLE_CONJ) v = cmul_conj(v, step_twiddle(e * i, lo, hi));
  if (S_FLAGS & STORE_POST) v = cmul(v, post[idx]);
  int at = idx;
  if (S_FLAGS & STORE_SCATTER) {  // X_{g^−p} = x_0 + (a ⊛ b)_p; X_0 = x_0 + Σ a
    const T2 x0 = extra[2 * b];
    v += x0;
    at = perm[S_PERM_OFFSET + idx];
    if (idx == 0) {
      T2 first = (x0 + extra[2 * b + 1]) * scale;
      if (inverse & 2) first.y = -first.y;
      out[out_off + (long)b * S_BSTRIDE] = first;
    }
  }
  v *= scale;
  if (inverse & 2) v.y = -v.y;
  out[out_off + (long)b * S_BSTRIDE + at] = v;
}

#define LSIZE (ITEMS * LANES)
#define NB(R) ((L / (R) + ITEMS - 1) / ITEMS)  // butterflies per work-item in a radix-R pass

// The pass sequence, written by the host as FFT_STEPS (fft_stockham.cpp, program_text):
//   FIRST(R)             v ← the first pass's inputs j + t·L/R, read from global memory
//   BUTTERFLY(R,NS,OFF)  v ← twiddled radix-R DFTs of v (outputs (j − k)·R + k + t·NS)
//   EXCHANGE(R1,NS1,R2)  v's outputs of a (R1, NS1) pass → the tile → v, the inputs of a radix-R2 pass
//   MID(R)               Bluestein/Rader: v (natural order, last pass R) × mul[row + e], conjugated
//   STORE(R)             v → global memory at the last pass's outputs j + t·L/R
//   STAGED(R)            v → the tile → global memory walked the store side's way
// v holds at most VMAX values. With SPLIT the tile holds one real per value (half the local memory,
// so twice the transform length or lanes) and each exchange moves the real parts, then the
// imaginary parts: four barriers instead of two.
#define FOR_BUTTERFLIES(R, BODY)            \
  for (int q = 0; q < NB(R); ++q) {         \
    const int j = w + q * ITEMS;            \
    if (j < L / R) BODY                     \
  }
#define OUT_INDEX(R, NS, t) ((j - j % (NS)) * (R) + j % (NS) + (t) * (NS))
#define IN_INDEX(R, t) (j + (t) * (L / (R)))

#define FIRST(R)                                                                                     \
  FOR_BUTTERFLIES(R, {                                                                               \
    for (int t = 0; t < R; ++t)                                                                      \
      v[q * R + t] = live ? load_value(in, in_off, tr, IN_INDEX(R, t), pre, lo, hi, inverse, perm, extra) \
                          : (T2)(0, 0);                                                              \
  })

#define BUTTERFLY(R, NS, TWOFF)                                                                      \
  FOR_BUTTERFLIES(R, {                                                                               \
    const int k = j % NS;                                                                            \
    if (NS > 1)                                                                                      \
      for (int t = 1; t < R; ++t) v[q * R + t] = cmul(v[q * R + t], tw[TWOFF + k * (R - 1) + t - 1]); \
    dft##R(v + q * R);                                                                               \
  })

#if SPLIT
#define EXCHANGE(R1, NS1, R2)                                                                        \
  FOR_BUTTERFLIES(R1, { for (int t = 0; t < R1; ++t) tile[c * PITCH + PAD(OUT_INDEX(R1, NS1, t))] = v[q * R1 + t].x; }) \
  barrier(CLK_LOCAL_MEM_FENCE);                                                                      \
  {                                                                                                  \
    T held[VMAX]; /* the imaginary parts of the outputs, while the real parts of the inputs arrive */ \
    for (int x = 0; x < VMAX; ++x) held[x] = v[x].y;                                                 \
    FOR_BUTTERFLIES(R2, { for (int t = 0; t < R2; ++t) v[q * R2 + t].x = tile[c * PITCH + PAD(IN_INDEX(R2, t))]; }) \
    barrier(CLK_LOCAL_MEM_FENCE);                                                                    \
    FOR_BUTTERFLIES(R1, { for (int t = 0; t < R1; ++t) tile[c * PITCH + PAD(OUT_INDEX(R1, NS1, t))] = held[q * R1 + t]; }) \
  }                                                                                                  \
  barrier(CLK_LOCAL_MEM_FENCE);                                                                      \
  FOR_BUTTERFLIES(R2, { for (int t = 0; t < R2; ++t) v[q * R2 + t].y = tile[c * PITCH + PAD(IN_INDEX(R2, t))]; }) \
  barrier(CLK_LOCAL_MEM_FENCE);
#else
#define EXCHANGE(R1, NS1, R2)                                                                        \
  FOR_BUTTERFLIES(R1, { for (int t = 0; t < R1; ++t) tile[c * PITCH + PAD(OUT_INDEX(R1, NS1, t))] = v[q * R1 + t]; }) \
  barrier(CLK_LOCAL_MEM_FENCE);                                                                      \
  FOR_BUTTERFLIES(R2, { for (int t = 0; t < R2; ++t) v[q * R2 + t] = tile[c * PITCH + PAD(IN_INDEX(R2, t))]; }) \
  barrier(CLK_LOCAL_MEM_FENCE);
#endif

#define MID(R)                                                                                       \
  FOR_BUTTERFLIES(R, {                                                                               \
    for (int t = 0; t < R; ++t) {                                                                    \
      const int e = IN_INDEX(R, t);                                                                  \
      if ((MID_FLAGS & MID_SAVE) && e == 0 && mid_row == 0 && live) extra[2 * (tr / L_I) + 1] = v[q * R + t]; \
      const T2 y = cmul(v[q * R + t], mul[mid_row + e]);                                             \
      v[q * R + t] = (T2)(y.x, -y.y);                                                                \
    }                                                                                                \
  })

// a one-launch Rader: x_0 (saved at the load) and Σa (saved at MID) are read by the whole group
#define GLOBAL_SYNC barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);

#define STORE(R)                                                                                     \
  if (live)                                                                                          \
    FOR_BUTTERFLIES(R, {                                                                             \
      for (int t = 0; t < R; ++t)                                                                    \
        store_value(out, out_off, tr, IN_INDEX(R, t), v[q * R + t], post, lo, hi, scale, inverse, perm, extra); \
    })

// A one-launch Rader's permutations through the tile (whole tile; both sides rows, I = 1, EMUL = 1,
// so WALKS and WALK_AT below walk the rows element-fastest): the rows x_1 … x_L are read coalesced
// into the tile, then each work-item gathers x[g^idx] from it; at the end each value goes to the
// tile at its scattered place g^−idx, then the rows are written coalesced. Gathering straight from
// global memory makes every warp access 32 sectors for 256 bytes (fft_stockham.cpp,
// permutes_through_tile, has the measurement).
#define GATHER_FIRST(R)                                                                              \
  for (int s = 0; s < WALKS; ++s) {                                                                  \
    const int qq = lid + s * LSIZE;                                                                  \
    WALK_AT(qq, cc, e)                                                                               \
    if (qq < LANES * L && first + cc < count) {                                                      \
      tile[cc * PITCH + PAD(e)] = load_conj_of(in[in_off + (long)(first + cc) * L_BSTRIDE + 1 + e], inverse); \
    }                                                                                                \
  }                                                                                                  \
  barrier(CLK_LOCAL_MEM_FENCE);                                                                      \
  FOR_BUTTERFLIES(R, {                                                                               \
    for (int t = 0; t < R; ++t) {                                                                    \
      const int idx = IN_INDEX(R, t);                                                                \
      v[q * R + t] = live ? tile[c * PITCH + PAD(perm[idx] - 1)] : (T2)(0, 0);                       \
      if (idx == 0 && live) extra[2 * tr] = load_conj_of(in[in_off + (long)tr * L_BSTRIDE], inverse); \
    }                                                                                                \
  })                                                                                                 \
  barrier(CLK_LOCAL_MEM_FENCE);
#define SCATTER_STAGED(R)                                                                            \
  {                                                                                                  \
    const T2 x0 = live ? extra[2 * tr] : (T2)(0, 0);                                                 \
    FOR_BUTTERFLIES(R, {                                                                             \
      for (int t = 0; t < R; ++t) {                                                                  \
        const int idx = IN_INDEX(R, t);                                                              \
        T2 y = v[q * R + t];                                                                         \
        if (S_FLAGS & STORE_CONJ) y.y = -y.y;                                                        \
        y = (y + x0) * scale;                                                                        \
        if (inverse & 2) y.y = -y.y;                                                                 \
        tile[c * PITCH + PAD(perm[S_PERM_OFFSET + idx] - 1)] = y;                                    \
        if (idx == 0 && live) {                                                                      \
          T2 x_first = (x0 + extra[2 * tr + 1]) * scale;                                             \
          if (inverse & 2) x_first.y = -x_first.y;                                                   \
          out[out_off + (long)tr * S_BSTRIDE] = x_first;                                             \
        }                                                                                            \
      }                                                                                              \
    })                                                                                               \
  }                                                                                                  \
  barrier(CLK_LOCAL_MEM_FENCE);                                                                      \
  for (int s = 0; s < WALKS; ++s) {                                                                  \
    const int qq = lid + s * LSIZE;                                                                  \
    WALK_AT(qq, cc, e)                                                                               \
    if (qq < LANES * L && first + cc < count)                                                        \
      out[out_off + (long)(first + cc) * S_BSTRIDE + 1 + e] = tile[cc * PITCH + PAD(e)];             \
  }

// the store side's walk: transform index fastest ("lanes") or element fastest ("rows")
#if (S_FLAGS & SIDE_LANES)
#define WALK_AT(q, cc, e) const int cc = (q) % LANES, e = (q) / LANES;
#else
#define WALK_AT(q, cc, e) const int cc = (q) / L, e = (q) % L;
#endif
#define WALKS ((LANES * L + LSIZE - 1) / LSIZE)
#if SPLIT
#define STAGED(R)                                                                                    \
  FOR_BUTTERFLIES(R, { for (int t = 0; t < R; ++t) tile[c * PITCH + PAD(IN_INDEX(R, t))] = v[q * R + t].x; }) \
  barrier(CLK_LOCAL_MEM_FENCE);                                                                      \
  {                                                                                                  \
    T re[WALKS];                                                                                     \
    for (int s = 0; s < WALKS; ++s) {                                                                \
      const int qq = lid + s * LSIZE;                                                                \
      WALK_AT(qq, cc, e)                                                                             \
      re[s] = qq < LANES * L ? tile[cc * PITCH + PAD(e)] : 0;                                        \
    }                                                                                                \
    barrier(CLK_LOCAL_MEM_FENCE);                                                                    \
    FOR_BUTTERFLIES(R, { for (int t = 0; t < R; ++t) tile[c * PITCH + PAD(IN_INDEX(R, t))] = v[q * R + t].y; }) \
    barrier(CLK_LOCAL_MEM_FENCE);                                                                    \
    for (int s = 0; s < WALKS; ++s) {                                                                \
      const int qq = lid + s * LSIZE;                                                                \
      WALK_AT(qq, cc, e)                                                                             \
      if (qq < LANES * L && first + cc < count)                                                      \
        store_value(out, out_off, first + cc, e, (T2)(re[s], tile[cc * PITCH + PAD(e)]), post, lo, hi, scale, \
                    inverse, perm, extra);                                                           \
    }                                                                                                \
  }
#else
#define STAGED(R)                                                                                    \
  FOR_BUTTERFLIES(R, { for (int t = 0; t < R; ++t) tile[c * PITCH + PAD(IN_INDEX(R, t))] = v[q * R + t]; }) \
  barrier(CLK_LOCAL_MEM_FENCE);                                                                      \
  for (int s = 0; s < WALKS; ++s) {                                                                  \
    const int qq = lid + s * LSIZE;                                                                  \
    WALK_AT(qq, cc, e)                                                                               \
    if (qq < LANES * L && first + cc < count)                                                        \
      store_value(out, out_off, first + cc, e, tile[cc * PITCH + PAD(e)], post, lo, hi, scale, inverse, perm, extra); \
  }
#endif

__kernel __attribute__((reqd_work_group_size(LSIZE, 1, 1))) void fft_stockham(
    const int count, __global const T2* in, const long in_off, __global T2* out, const long out_off,
    __global const T2* restrict tw, __global const T2* restrict pre, __global const T2* restrict mul,
    __global const T2* restrict post, __global const T2* restrict lo, __global const T2* restrict hi, const T scale,
    const int inverse, __global const int* restrict perm, __global T2* extra, __local uchar* occupancy) {
#if SPLIT
  __local T tile[LANES * PITCH];
#else
  __local T2 tile[LANES * PITCH];
#endif
  T2 v[VMAX];
  const int lid = get_local_id(0);
  const int first = (int)get_group_id(0) * LANES;
  // transform of the group and work-item within it: transform index fastest when the load side is
  // "lanes" (so the first pass reads global memory coalesced either way)
#if (L_FLAGS & SIDE_LANES)
  const int c = lid % LANES, w = lid / LANES;
#else
  const int c = lid / ITEMS, w = lid % ITEMS;
#endif
  const int tr = first + c;            // the transform this work-item computes
  const bool live = tr < count;
  // MID's table row: the transform's inner index on the load side
  const int mid_row = (tr % L_I) * L;
  (void)mid_row;

  FFT_STEPS
  (void)occupancy;  // local memory reserved only to limit the groups per compute unit (fft_stockham.cpp)
}
