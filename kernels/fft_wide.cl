// fft_wide: one complex FFT of length L = V·N2 per work-group, longer than the group's local memory
// holds, kept in registers: N2 work-items, V values each (16384 floats: 512 × 32, 128 KiB of
// registers against a 48 KiB tile). Compiled per (device, L, N2, G, mode) by
// backends/opencl/fft_wide.cpp, which writes the #defines in front of this source.
//
// The four-step inside one group, L = V·N2, n = n2 + N2·n1, k = k1 + V·k2:
//   X[k1 + V·k2] = Σ_n2 w_N2^(n2·k2) · w_L^(n2·k1) · Σ_n1 x[n2 + N2·n1] w_V^(n1·k1)
// (1) work-item n2 loads x[n2 + N2·n1] into v[n1] (consecutive work-items, consecutive addresses),
//     DFT_V in registers, × w_L^(n2·k1): now v[k1] of work-item n2 is row k1's element n2;
// (2) the V rows' DFT_N2 run across the work-items, G rows at a time (a "round"): the tile holds only
//     G·N2 values, so round p writes its rows v[p·G .. p·G + G) into the tile, runs Stockham passes of
//     radices dividing G over them (each work-item G values of one row: row c = w / (N2/G)), and
//     reads the result back into the same registers, work-item k2 holding row k1's element k2. Only the
//     registers the round wrote are reused, so no second register array is needed (two would not fit:
//     512 work-items × 128 registers is the whole register file of an SM).
// (3) plain transform: each round leaves its rows' results where the last pass put them (no exchange
//     back); the store writes X[k1 + V·k2] through the tile in ROUNDS parts, consecutive work-items
//     writing consecutive addresses (× post[k] with MULTIPLY: a convolution's product, fused).
// Bluestein (BLUESTEIN 1): chirp on the load; inside each round, after the rows' forward passes:
//   × B̂[k1 + V·k2] (the spectrum in row order: mul[k1·N2 + k2]), conjugate, the rows' passes again,
//   × w_L^(k1·K2): the second FFT's first half in its transposed form (its input index k1 + V·k2
//   has the row as the low digit), F[K2 + N2·K1] = Σ_k1 w_V^(k1·K1) w_L^(k1·K2) Σ_k2 Z[k1 + V·k2]
//   w_N2^(k2·K2); after the rounds DFT_V in registers leaves F[K2 + N2·K1] in v[K1] of work-item K2:
//   the natural order, stored coalesced (conjugate, × chirp, × scale, the first S_COUNT values).
// The direction is a run-time argument, as in fft_stockham.cl: conjugate on load (bit 1) and on
// store (bit 2). Twiddles: the rows' pass table (fft_tables.hpp, pass_twiddle_values) and the column
// table cw[k1·N2 + n2] = w_L^(k1·n2), both computed in double precision on the host.
//
// Local memory: G·PITCH complex values, PITCH = PAD(N2) rounded up to odd, PAD(e) = e + e/16 (one
// slot every 32 four-byte banks, as in fft_stockham.cl): the rows' passes write R values per
// work-item a stride apart and the parted store writes V consecutive values per work-item, strides
// that are multiples of the bank period without it. Barriers: two per exchange; the plain transform
// has ROUNDS·passes exchanges and ROUNDS parts in its store, Bluestein ROUNDS·(2·passes + 1).
// DFT_32, the column DFT (fft_radix.cl's DFT_FOUR_STEP, 4 × 8): w32^x = (cos, −sin)(2πx/32), x ≤ 21,
// to 21 digits.
__constant T w32[44] = {
    1.0, 0.0, 0.980785280403230449126, -0.195090322016128267848, 0.923879532511286756128,
    -0.382683432365089771728, 0.831469612302545237079, -0.555570233019602224743, 0.707106781186547524401,
    -0.707106781186547524401, 0.555570233019602224743, -0.831469612302545237079, 0.382683432365089771728,
    -0.923879532511286756128, 0.195090322016128267848, -0.980785280403230449126, 0.0, -1.0,
    -0.195090322016128267848, -0.980785280403230449126, -0.382683432365089771728, -0.923879532511286756128,
    -0.555570233019602224743, -0.831469612302545237079, -0.707106781186547524401, -0.707106781186547524401,
    -0.831469612302545237079, -0.555570233019602224743, -0.923879532511286756128, -0.382683432365089771728,
    -0.980785280403230449126, -0.195090322016128267848, -1.0, 0.0, -0.980785280403230449126,
    0.195090322016128267848, -0.923879532511286756128, 0.382683432365089771728, -0.831469612302545237079,
    0.555570233019602224743, -0.707106781186547524401, 0.707106781186547524401, -0.555570233019602224743,
    0.831469612302545237079};
DFT_FOUR_STEP(32, 4, 8, w32)

#if FFT_PAD
#define PAD(e) ((e) + ((e) >> 4))
#else
#define PAD(e) (e)
#endif

#define WPR (N2 / G)  // work-items per row in a round
#define RFOR(R, BODY)                     \
  for (int q = 0; q < G / (R); ++q) {     \
    const int j = ww + q * WPR;           \
    BODY                                  \
  }
#define ROW_OUT(R, NS, t) ((j - j % (NS)) * (R) + j % (NS) + (t) * (NS))
#define ROW_IN(R, t) (j + (t) * (N2 / (R)))
#define AT(e) (c * PITCH + PAD(e))

// round P: its G rows from the registers into the tile (work-item w holds element w of each)
#define ENTER(P)                                                                          \
  for (int g = 0; g < G; ++g) tile[g * PITCH + PAD(w)] = v[(P) * G + g];                 \
  barrier(CLK_LOCAL_MEM_FENCE);
// the first pass's inputs j + t·N2/R of row c
#define FIRST(P, R)                                                                       \
  RFOR(R, { for (int t = 0; t < (R); ++t) v[(P) * G + q * (R) + t] = tile[AT(ROW_IN(R, t))]; }) \
  barrier(CLK_LOCAL_MEM_FENCE);
// a pass's twiddles w_{NS·R}^(t·k) into twv (at most G − 1 values), loaded ahead of the exchange
// before the pass, so that their latency overlaps its barriers (a group holds a whole SM here: no
// other group's work hides it)
#define TWLOAD(R, NS, TWOFF)                                                              \
  if ((NS) > 1)                                                                           \
    RFOR(R, { for (int t = 1; t < (R); ++t) twv[q * ((R) - 1) + t - 1] = tw[(TWOFF) + (j % (NS)) * ((R) - 1) + t - 1]; })
#define PASS(P, R, NS)                                                                    \
  RFOR(R, {                                                                               \
    if ((NS) > 1)                                                                         \
      for (int t = 1; t < (R); ++t) v[(P) * G + q * (R) + t] = cmul(v[(P) * G + q * (R) + t], twv[q * ((R) - 1) + t - 1]); \
    dft##R(v + (P) * G + q * (R));                                                        \
  })
#define SWAP(P, R1, NS1, R2, NS2, TWOFF2)                                                 \
  TWLOAD(R2, NS2, TWOFF2)                                                                 \
  RFOR(R1, { for (int t = 0; t < (R1); ++t) tile[AT(ROW_OUT(R1, NS1, t))] = v[(P) * G + q * (R1) + t]; }) \
  barrier(CLK_LOCAL_MEM_FENCE);                                                           \
  RFOR(R2, { for (int t = 0; t < (R2); ++t) v[(P) * G + q * (R2) + t] = tile[AT(ROW_IN(R2, t))]; }) \
  barrier(CLK_LOCAL_MEM_FENCE);
// Bluestein: B̂[k1 + V·k2] (row order) for the values the round's last pass leaves, loaded when the
// round starts so that the loads overlap its passes; then × B̂, conjugated
#define SPECTRUM_LOAD(P, R) RFOR(R, { for (int t = 0; t < (R); ++t) spec[q * (R) + t] = mul[((P) * G + c) * N2 + ROW_IN(R, t)]; })
#define SPECTRUM(P, R)                                                                    \
  RFOR(R, {                                                                               \
    for (int t = 0; t < (R); ++t) {                                                       \
      const T2 y = cmul(v[(P) * G + q * (R) + t], spec[q * (R) + t]);                     \
      v[(P) * G + q * (R) + t] = (T2)(y.x, -y.y);                                          \
    }                                                                                     \
  })
// the rows' results back into the registers, work-item w holding element w of each (× w_L^(k1·K2)
// with TWIDDLE: the second FFT's twiddle, k1 the row)
#define LEAVE(P, R, TWIDDLE)                                                              \
  RFOR(R, {                                                                               \
    for (int t = 0; t < (R); ++t) {                                                       \
      const int e = ROW_IN(R, t);                                                         \
      T2 x = v[(P) * G + q * (R) + t];                                                    \
      if (TWIDDLE) x = cmul(x, cw[((P) * G + c) * N2 + e]);                               \
      tile[AT(e)] = x;                                                                    \
    }                                                                                     \
  })                                                                                      \
  barrier(CLK_LOCAL_MEM_FENCE);                                                           \
  for (int g = 0; g < G; ++g) v[(P) * G + g] = tile[g * PITCH + PAD(w)];                 \
  barrier(CLK_LOCAL_MEM_FENCE);

// plain transform, part `part` of the store: the values of round P's rows (k1 = P·G + c, k2 the last
// pass's output index) whose position k1 + V·k2 falls in the part, into the tile
#define PART_WRITE(P, R)                                                                  \
  RFOR(R, {                                                                               \
    for (int t = 0; t < (R); ++t) {                                                       \
      const int at = (P) * G + c + V * ROW_IN(R, t) - part * G * N2;                      \
      if (at >= 0 && at < G * N2) tile[PAD(at)] = v[(P) * G + q * (R) + t];              \
    }                                                                                     \
  })

inline T2 conj_if(T2 a, bool on) { return on ? (T2)(a.x, -a.y) : a; }

__kernel __attribute__((reqd_work_group_size(N2, 1, 1))) void fft_wide(
    __global const T2* in, const long in_off, const long in_stride, __global T2* out, const long out_off,
    const long out_stride, __global const T2* restrict tw, __global const T2* restrict cw,
    __global const T2* restrict pre, __global const T2* restrict mul, __global const T2* restrict post, const T scale,
    const int inverse) {
  __local T2 tile[G * PITCH];
  T2 v[V];
  T2 twv[G];
#if BLUESTEIN
  T2 spec[G];
#endif
  const int w = get_local_id(0);
  const int c = w / WPR, ww = w % WPR;  // a round's row and work-item within it
  const long tr = get_group_id(0);
  __global const T2* src = in + in_off + tr * in_stride;
  __global T2* dst = out + out_off + tr * out_stride;
  (void)pre, (void)mul, (void)post;

  // (1) columns: x[w + N2·n1] → DFT_V → × w_L^(w·k1)
  for (int s = 0; s < V; ++s) {
    const int idx = w + N2 * s;
    T2 x = idx < L_VALID ? src[idx] : (T2)(0, 0);
    x = conj_if(x, inverse & 1);
#if BLUESTEIN
    x = cmul(x, pre[idx < L_VALID ? idx : 0]);
#endif
    v[s] = x;
  }
  DFT_V(v);
  for (int s = 1; s < V; ++s) v[s] = cmul(v[s], cw[s * N2 + w]);

  // (2) the rows, G at a time
  ROUNDS_BODY

#if BLUESTEIN
  // F[w + N2·K1] in natural order: conjugate (the second FFT was of the conjugate), chirp, scale
  DFT_V(v);
  for (int s = 0; s < V; ++s) {
    const int idx = w + N2 * s;
    if (idx < S_COUNT) dst[idx] = conj_if(cmul((T2)(v[s].x, -v[s].y), post[idx]) * scale, inverse & 2);
  }
#else
  // (3) X[k1 + V·k2], the rows' results where their last passes left them: the parts of G·N2
  // values, each through the tile, so that consecutive work-items write consecutive addresses
  for (int part = 0; part < ROUNDS; ++part) {
    PART_WRITES
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int r = 0; r < G; ++r) {
      const int e = w + r * N2;
      T2 x = tile[PAD(e)];
#if MULTIPLY
      x = cmul(x, post[part * G * N2 + e]);
#endif
      dst[part * G * N2 + e] = conj_if(x * scale, inverse & 2);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
#endif
}
