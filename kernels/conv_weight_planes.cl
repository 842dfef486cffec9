// The weight gradient of a 2-D direct convolution (nodes/conv.hpp, zero boundary) from planes
// staged in local memory, for GPUs (host: backends/opencl/conv_weight_planes.cpp):
//
//   dw[o, c, j] = Σ_n Σ_p dy[n, o, p] · x̃[n, c, p·s + tap(j)·d − pad]       (partial sums per piece)
//
// where tap(j) = K − 1 − j with flip, else j, and x̃ is x extended by zeros. Unlike
// conv_weight_tree (kernels/conv_direct.cl: one work-group per weight, re-reading x and ȳ from
// global memory for every tap) a work-group here computes every tap of a block of weights at once
// from one staged copy of the planes, so each x and ȳ value is read from global memory once per
// (output-channel block, input-channel block) instead of once per tap.
//
// Geometry as in conv_direct.cl (six int4 arguments), plus
//   block  = (OBW, CB, TB, S): output channels, input channels and taps per group, pixel splits;
//   tiling = (BR, BC, tiles_y, tiles_x): the output tile of BR rows × BC columns and the tile counts;
//   xpitch = (XP, XPLANE): the x windows' row and window pitches in local memory (below).
//
// Work-groups: one per (piece of samples, group, output-channel block of OBW, input-channel block
// of CB, tap block of TB), the tap block fastest. Work-items: the group's weights are cut into
// `columns` = (OBW / WOB) · CB · ⌈TB / WTB⌉ columns of WOB output channels × WTB taps of one input
// channel (taps j and j + ⌈TB / WTB⌉; j fastest, so a warp reads neighbouring taps); item l owns
// column l % columns and pixel split l / columns (S splits share a column, splitting the tile's
// pixels p = split, split + S, ...; items beyond S · columns only stage). Each item keeps its
// WTB × WOB sums in registers across the whole piece.
//
// Per sample and output tile the group stages, with consecutive items loading consecutive
// columns of a row (coalesced), into `stage` (local memory):
//   ȳ: OBW planes of the tile, BR·BC values each, interleaved by WOB = 4 channels (element
//      (ch, p) at ((ch / 4)·YP + p)·4 + ch % 4, so an item reads its 4 channels of a pixel as one
//      vector), block pitch YP = (BR·BC) | 1;
//   x: CB windows of XR = (BR−1)·sh + (KH−1)·dh + 1 rows × XQ = (BC−1)·sw + (KW−1)·dw + 1
//      columns, row pitch XP and window pitch XPLANE (`xpitch`, chosen by the host);
// zeros where the window leaves the input, where the tile leaves the output, and for the channels
// beyond cout_g / cin_g of a partial block, so the hot loop has no bounds tests: out-of-range
// products are exact zeros and those weights are simply not stored. XP and YP are odd: an odd
// pitch is never a multiple of the 32 banks, so items reading the same column of neighbouring
// rows (or the same pixel of neighbouring ȳ blocks) hit different banks. Per pixel an item reads
// its WOB ȳ values (one vector, the same for all items of a warp with the same output channels:
// a broadcast) and WTB x values, for WTB · WOB multiply-adds. The x reads of a warp are its taps
// (kh, kw) at kh·dh·XP + kw·dw in one to three windows, so the host picks the odd XP ≥ XQ and the
// XPLANE ≥ XR·XP (within a few elements and the memory budget) that spread the first warps'
// reads over the most banks (a 5×5 kernel on a 14-wide window: XP = 15 puts taps (0, 0) and
// (2, 2) on one bank, a pitch ≡ 5 mod 32 none). Local memory: OBW·YP + CB·XPLANE elements, and
// L·WTB·WOB for the final combine when S > 1 (the host keeps it at most 12 KiB, so that several
// groups share a compute unit).
//
// At the end the S splits of a column are added in local memory in split order (deterministic),
// and the group writes partial[weight · pieces + piece]; the host sums the pieces with the reduce
// kernels when there is more than one. No atomics.
#ifdef NODAL_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#define GEOMETRY const int4 in, const int4 out, const int4 ksize, const int4 step, const int4 dil, const int4 pad

#define WOB 4  // output channels per item (the host's OBW is a multiple); T4 reads them at once
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define T4 CAT(T, 4)
#define WTB 2  // taps per item

kernel void conv_weight_planes(global const T* x, const int x_off, global const T* dy, const int dy_off,
                               global T* partial, const int chunk, const int pieces, GEOMETRY, local T* stage,
                               const int4 block, const int4 tiling, const int2 xpitch) {
  const int H = in.y, W = in.z, OH = out.y, OW = out.z, Cin = in.w, Cout = out.w, N = step.w;
  const int groups = ksize.w, cin_g = Cin / groups, cout_g = Cout / groups;
  const int KH = ksize.y, KW = ksize.z, Kpix = KH * KW;
  const int OBW = block.x, CB = block.y, TB = block.z, S = block.w;
  const int BR = tiling.x, BC = tiling.y, tiles_y = tiling.z, tiles_x = tiling.w;
  const int oblocks = (cout_g + OBW - 1) / OBW, cblocks = (cin_g + CB - 1) / CB, tblocks = (Kpix + TB - 1) / TB;
  int gid = get_group_id(0);
  const int tb = gid % tblocks; gid /= tblocks;
  const int cb = gid % cblocks; gid /= cblocks;
  const int ob = gid % oblocks; gid /= oblocks;
  const int grp = gid % groups, piece = gid / groups;

  const int P = BR * BC, YP = P | 1;
  const int XR = (BR - 1) * step.y + (KH - 1) * dil.y + 1, XQ = (BC - 1) * step.z + (KW - 1) * dil.z + 1;
  const int XP = xpitch.x, XPLANE = xpitch.y, XPLANE_Q = XR * XQ;  // XP ≥ XQ odd, XPLANE ≥ XR · XP
  local T* ystage = stage;
  local T* xstage = stage + OBW * YP;

  // This item's column: WOB output channels (osub), one input channel (cc), WTB taps: slots
  // pair, pair + pairs, ... of the tap block, so that the items of a warp read consecutive taps.
  const int pairs = (TB + WTB - 1) / WTB, columns = (OBW / WOB) * CB * pairs;
  const int l = get_local_id(0), L = get_local_size(0);
  const int split = l / columns, col = l % columns;
  const int pair = col % pairs, cc = (col / pairs) % CB, osub = col / (pairs * CB);
  int tap[WTB], off[WTB];
  for (int i = 0; i < WTB; ++i) {
    const int t = min(tb * TB + min(pair + i * pairs, TB - 1), Kpix - 1);  // clamped: computed, not stored
    tap[i] = t;
    off[i] = (t / KW) * dil.y * XP + (t % KW) * dil.z;
  }
  local const T* yb = ystage + osub * WOB * YP;
  local const T* xb = xstage + cc * XPLANE;
  // Moving the pixel index by S: dq columns and S / BC rows, i.e. dxo in the x window, plus
  // `wrap` when the column passes the tile's end.
  const int dq = S % BC, dxo = (S / BC) * step.y * XP + dq * step.z, wrap = step.y * XP - BC * step.z;
  // The staging loops' first element l and step L as (channel, row, column) of the ȳ and x blocks.
  const int y0c = l / P, y0r = (l % P) / BC, y0q = l % BC, yc = L / P, yr = (L % P) / BC, yq = L % BC;
  const int x0c = l / XPLANE_Q, x0i = (l % XPLANE_Q) / XQ, x0j = l % XQ;
  const int xc = L / XPLANE_Q, xr = (L % XPLANE_Q) / XQ, xq = L % XQ;
  const int first = split < S ? split : P;  // idle items (split ≥ S) run no pixel

  T acc[WTB][WOB];
  for (int i = 0; i < WTB; ++i)
    for (int j = 0; j < WOB; ++j) acc[i][j] = (T)0;

  global const T* xg = x + x_off + grp * cin_g * H * W;
  global const T* yg = dy + dy_off + grp * cout_g * OH * OW;
  const int n_end = min(N, (piece + 1) * chunk);
  for (int n = piece * chunk; n < n_end; ++n)
    for (int tile = 0; tile < tiles_y * tiles_x; ++tile) {
      const int oh0 = (tile / tiles_x) * BR, ow0 = (tile % tiles_x) * BC;
      const int ih0 = oh0 * step.y - pad.y, iw0 = ow0 * step.z - pad.z;
      // Staging: item l loads elements l, l + L, ... of the flattened [channel][row][column] block;
      // the (channel, row, column) of each is advanced by L's own decomposition with carries
      // (no division per element).
      for (int ch = y0c, rr = y0r, qq = y0q; ch < OBW;) {
        const int o = ob * OBW + ch, oh = oh0 + rr, ow = ow0 + qq;
        const bool v = o < cout_g && oh < OH && ow < OW;
        ystage[((ch / WOB) * YP + rr * BC + qq) * WOB + ch % WOB] =
            v ? yg[((n * Cout + min(o, cout_g - 1)) * OH + min(oh, OH - 1)) * OW + min(ow, OW - 1)] : (T)0;
        qq += yq;
        rr += yr;
        ch += yc;
        if (qq >= BC) qq -= BC, ++rr;  // one carry at most: qq, yq < BC
        if (rr >= BR) rr -= BR, ++ch;
      }
      for (int ch = x0c, i = x0i, j = x0j; ch < CB;) {
        const int c = cb * CB + ch, ih = ih0 + i, iw = iw0 + j;
        const bool v = c < cin_g && ih >= 0 && ih < H && iw >= 0 && iw < W;
        xstage[ch * XPLANE + i * XP + j] =
            v ? xg[((n * Cin + min(c, cin_g - 1)) * H + clamp(ih, 0, H - 1)) * W + clamp(iw, 0, W - 1)] : (T)0;
        j += xq;
        i += xr;
        ch += xc;
        if (j >= XQ) j -= XQ, ++i;
        if (i >= XR) i -= XR, ++ch;
      }
      barrier(CLK_LOCAL_MEM_FENCE);
      int q = first % BC, xo = (first / BC) * step.y * XP + q * step.z;  // x offset of pixel p
      for (int p = first; p < P; p += S) {
        const T4 g4 = vload4(p, yb);  // the WOB = 4 channels of pixel p, one vector read
        const T g[WOB] = {g4.s0, g4.s1, g4.s2, g4.s3};  // unrolled loops: g, acc, off in registers
#pragma unroll
        for (int i = 0; i < WTB; ++i) {
          const T v = xb[xo + off[i]];
#pragma unroll
          for (int j = 0; j < WOB; ++j) acc[i][j] += v * g[j];
        }
        q += dq;
        xo += dxo;
        if (q >= BC) q -= BC, xo += wrap;
      }
      barrier(CLK_LOCAL_MEM_FENCE);  // the stage is overwritten by the next tile
    }

  // Combine the S splits of each column (split order: deterministic), then store the valid weights.
  // (The barrier is unconditional: PoCL needs every barrier outside conditionals.)
  local T* sums = stage;
  if (S > 1 && split < S)
    for (int i = 0; i < WTB; ++i)
      for (int j = 0; j < WOB; ++j) sums[(l * WTB + i) * WOB + j] = acc[i][j];
  barrier(CLK_LOCAL_MEM_FENCE);
  if (S > 1 && split == 0)
    for (int s = 1; s < S; ++s)
      for (int i = 0; i < WTB; ++i)
        for (int j = 0; j < WOB; ++j) acc[i][j] += sums[((s * columns + col) * WTB + i) * WOB + j];
  if (split != 0) return;
  const int c = cb * CB + cc;
  if (c >= cin_g) return;
  for (int i = 0; i < WTB; ++i) {
    const int slot = pair + i * pairs;
    if (slot >= TB || tb * TB + slot >= Kpix) continue;
    const int jw = dil.w ? Kpix - 1 - tap[i] : tap[i];
    for (int j = 0; j < WOB; ++j) {
      const int o = ob * OBW + osub * WOB + j;
      if (o < cout_g) partial[(((grp * cout_g + o) * cin_g + c) * Kpix + jw) * pieces + piece] = acc[i][j];
    }
  }
}
