// Direct convolution (nodes/conv.hpp) in gather form: every output element is computed by the
// work-item that owns it, from the inputs it reads, so no kernel here needs atomics.
//
//   forward   y[n, o, p]  = b[o] + Σ_{c ∈ group(o)} Σ_k x̃[n, c, p·s + k·d − pad] · w[o, c, tap(k)]
//   dx        dx[n, c, i] = Σ_{o ∈ group(c)} Σ_{k, p: p·s + k·d − pad = i} dy[n, o, p] · w[o, c, tap(k)]
//   dw        dw[o, c, j] = Σ_n Σ_p dy[n, o, p] · x̃[n, c, p·s + tap⁻¹(j)·d − pad]      (partial sums)
//   fold      dx[r, i]    = Σ_{t: src(start + t) = i} dx̃[r, t]     (the adjoint of a boundary gather)
// tap(k) = K − 1 − k with flip (a true convolution), else k; x̃ is x extended by the boundary
// rule: zeros (conv), or replicate / circular (the signal nodes, nodes/convolve1d.hpp).
//
// Every problem is 3-D (d, h, w; conv1d/conv2d have unit leading extents). The geometry travels as
// six int4 arguments (GEOMETRY below), so one program per element type serves every shape:
//   in   = (D, H, W, Cin)      out  = (OD, OH, OW, Cout)    ksize = (KD, KH, KW, groups)
//   step = (sd, sh, sw, N)     dil  = (dd, dh, dw, flip)    pad   = (pd, ph, pw, boundary)
// boundary: 0 zero, 1 replicate, 2 circular. Indices are int: the host refuses tensors of 2^31
// elements or more. Compiled per element type (-DT=float | -DT=double -DNODAL_FP64).
#ifdef NODAL_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#define GEOMETRY const int4 in, const int4 out, const int4 ksize, const int4 step, const int4 dil, const int4 pad

// Output channels per work-item in the tiled kernel (a register block: each staged input value
// serves OB multiply-adds).
#define OB 4

// The position read along one axis for extended index i of an axis of n, and whether it is inside
// (for the zero boundary; the other rules always read a real sample).
inline int source_of(const int i, const int n, const int boundary) {
  if (boundary == 1) return clamp(i, 0, n - 1);
  if (boundary == 2) return ((i % n) + n) % n;
  return clamp(i, 0, n - 1);  // read in bounds; `inside` says whether the value counts
}
inline bool inside_of(const int i, const int n, const int boundary) { return boundary != 0 || (i >= 0 && i < n); }

// ------------------------------------------------------------------------------ forward, general
// Layout: 1-D, one work-item per output element (n, o, od, oh, ow), grid-stride over all of them
// (ow fastest, so neighbouring items read neighbouring inputs: coalesced for stride 1). No local
// memory: covers every geometry (1-D, 3-D, any dilation or kernel size). Weights in __constant
// memory when they fit the device's constant buffer (conv_forward_cw), else __global
// (conv_forward_gw); the items of a group mostly share o, so weight reads are broadcasts.
// `accumulate` adds the existing y (the second term of a jvp); `has_bias` adds b[o].
#define DEFINE_CONV_FORWARD(NAME, WSPACE)                                                                          \
  kernel void NAME(global const T* x, const int x_off, WSPACE const T* w, const int w_off, global const T* b,       \
                   const int b_off, global T* y, const int has_bias, const int accumulate, GEOMETRY) {              \
    const int OD = out.x, OH = out.y, OW = out.z, Cout = out.w;                                                     \
    const int groups = ksize.w, cin_g = in.w / groups, cout_g = Cout / groups;                                      \
    const int Kpix = ksize.x * ksize.y * ksize.z, boundary = pad.w;                                                 \
    const int total = step.w * Cout * OD * OH * OW;                                                                 \
    for (int e = get_global_id(0); e < total; e += get_global_size(0)) {                                            \
      int r = e;                                                                                                    \
      const int ow = r % OW; r /= OW;                                                                               \
      const int oh = r % OH; r /= OH;                                                                               \
      const int od = r % OD; r /= OD;                                                                               \
      const int o = r % Cout, n = r / Cout;                                                                         \
      const int c0 = (o / cout_g) * cin_g;                                                                          \
      T acc = (T)0;                                                                                                 \
      for (int c = 0; c < cin_g; ++c) {                                                                             \
        global const T* xc = x + x_off + (n * in.w + c0 + c) * in.x * in.y * in.z;                                 \
        WSPACE const T* wc = w + w_off + (o * cin_g + c) * Kpix;                                                    \
        int t = 0;                                                                                                  \
        for (int kd = 0; kd < ksize.x; ++kd) {                                                                      \
          const int id = od * step.x + kd * dil.x - pad.x;                                                          \
          const bool vd = inside_of(id, in.x, boundary);                                                            \
          const int md = source_of(id, in.x, boundary);                                                             \
          for (int kh = 0; kh < ksize.y; ++kh) {                                                                    \
            const int ih = oh * step.y + kh * dil.y - pad.y;                                                        \
            const bool vh = vd && inside_of(ih, in.y, boundary);                                                    \
            global const T* xr = xc + (md * in.y + source_of(ih, in.y, boundary)) * in.z;                           \
            for (int kw = 0; kw < ksize.z; ++kw, ++t) {                                                             \
              const int iw = ow * step.z + kw * dil.z - pad.z;                                                      \
              const T v = xr[source_of(iw, in.z, boundary)];                                                        \
              const T wv = wc[dil.w ? Kpix - 1 - t : t];                                                            \
              acc += (vh && inside_of(iw, in.z, boundary)) ? v * wv : (T)0;                                         \
            }                                                                                                       \
          }                                                                                                         \
        }                                                                                                           \
      }                                                                                                             \
      if (has_bias) acc += b[b_off + o];                                                                            \
      if (accumulate) acc += y[e];                                                                                  \
      y[e] = acc;                                                                                                   \
    }                                                                                                               \
  }
DEFINE_CONV_FORWARD(conv_forward_cw, constant)
DEFINE_CONV_FORWARD(conv_forward_gw, global)

// ------------------------------------------------------------------------------ forward, 2-D tiled
// For D = KD = 1 (conv1d, conv2d). Layout: 1-D work-groups of TW·TH items (item l owns output
// pixel (ly, lx) = (l / TW, l % TW) of a TH×TW tile) and OB output channels; group g is
// (tile column, tile row, channel block, sample), the tile column fastest. Channel blocks never
// cross a group boundary; a block's missing channels (cout_g not a multiple of OB) and the pixels
// of a boundary tile that lie outside the output are computed from clamped, valid indices and
// simply not stored, so the hot loop has no branches.
//
// Local memory (`tile`, R · P elements): per input channel the tile's input window plus halo,
// R = (TH−1)·sh + (KH−1)·dh + 1 rows of Q = (TW−1)·sw + (KW−1)·dw + 1 columns, staged by the whole
// group with consecutive items loading consecutive columns (coalesced), zeros written where the
// window leaves the input (zero padding is materialised in the stage, not tested per tap). The
// row pitch P is Q rounded up to an odd number: an odd pitch is never a multiple of the 32 banks,
// so the items of one row and the next (TW = 16: two rows per 32-wide warp) hit different banks.
#define DEFINE_CONV2D_TILED(NAME, WSPACE)                                                                          \
  kernel void NAME(global const T* x, const int x_off, WSPACE const T* w, const int w_off, global const T* b,       \
                   const int b_off, global T* y, const int has_bias, const int accumulate, GEOMETRY,                \
                   local T* tile, const int TW, const int TH, const int tiles_x, const int tiles_y) {               \
    const int H = in.y, W = in.z, OH = out.y, OW = out.z, Cout = out.w;                                             \
    const int groups = ksize.w, cin_g = in.w / groups, cout_g = Cout / groups, KH = ksize.y, KW = ksize.z;          \
    const int Kpix = KH * KW, blocks = (cout_g + OB - 1) / OB;                                                      \
    const int l = get_local_id(0), L = get_local_size(0), lx = l % TW, ly = l / TW;                                 \
    int gid = get_group_id(0);                                                                                      \
    const int tx = gid % tiles_x; gid /= tiles_x;                                                                   \
    const int ty = gid % tiles_y; gid /= tiles_y;                                                                   \
    const int block = gid % (groups * blocks), n = gid / (groups * blocks);                                         \
    const int grp = block / blocks, o0 = grp * cout_g + (block % blocks) * OB, o_end = (grp + 1) * cout_g;          \
    const int R = (TH - 1) * step.y + (KH - 1) * dil.y + 1, Q = (TW - 1) * step.z + (KW - 1) * dil.z + 1;           \
    const int P = Q | 1;                                                                                            \
    const int row0 = ty * TH * step.y - pad.y, col0 = tx * TW * step.z - pad.z;                                     \
    T acc[OB];                                                                                                      \
    for (int j = 0; j < OB; ++j) acc[j] = (T)0;                                                                     \
    for (int c = 0; c < cin_g; ++c) {                                                                               \
      global const T* xc = x + x_off + (n * in.w + grp * cin_g + c) * H * W;                                        \
      for (int e = l; e < R * Q; e += L) {                                                                          \
        const int ih = row0 + e / Q, iw = col0 + e % Q;                                                             \
        const bool v = ih >= 0 && ih < H && iw >= 0 && iw < W;                                                      \
        tile[(e / Q) * P + e % Q] = v ? xc[clamp(ih, 0, H - 1) * W + clamp(iw, 0, W - 1)] : (T)0;                   \
      }                                                                                                             \
      barrier(CLK_LOCAL_MEM_FENCE);                                                                                 \
      local const T* base = tile + ly * step.y * P + lx * step.z;                                                   \
      WSPACE const T* wc[OB];                                                                                       \
      for (int j = 0; j < OB; ++j) wc[j] = w + w_off + (min(o0 + j, o_end - 1) * cin_g + c) * Kpix;                 \
      int t = 0;                                                                                                    \
      for (int kh = 0; kh < KH; ++kh)                                                                               \
        for (int kw = 0; kw < KW; ++kw, ++t) {                                                                      \
          const T v = base[kh * dil.y * P + kw * dil.z];                                                            \
          const int tap = dil.w ? Kpix - 1 - t : t;                                                                 \
          for (int j = 0; j < OB; ++j) acc[j] += v * wc[j][tap];                                                    \
        }                                                                                                           \
      barrier(CLK_LOCAL_MEM_FENCE);                                                                                 \
    }                                                                                                               \
    const int oh = ty * TH + ly, ow = tx * TW + lx;                                                                 \
    if (oh < OH && ow < OW)                                                                                         \
      for (int j = 0; j < OB && o0 + j < o_end; ++j) {                                                              \
        const int at = ((n * Cout + o0 + j) * OH + oh) * OW + ow;                                                   \
        T r = acc[j];                                                                                               \
        if (has_bias) r += b[b_off + o0 + j];                                                                       \
        if (accumulate) r += y[at];                                                                                 \
        y[at] = r;                                                                                                  \
      }                                                                                                             \
  }
DEFINE_CONV2D_TILED(conv2d_tiled_cw, constant)
DEFINE_CONV2D_TILED(conv2d_tiled_gw, global)

// ------------------------------------------------------------------------------ forward, 2-D tiled, 8 wide
// For D = KD = 1 and column stride 1: the tiled kernel with each item computing 8 consecutive
// outputs of its row (as a T8 vector) for OB output channels, so every tap is one vload8 from the
// staged tile and OB vector multiply-adds: explicit vectors that a CPU device (PoCL) runs as SIMD
// instructions and a GPU as 8 independent chains. The tile is TH rows of TW = 8·TWV outputs
// (item l: row l / TWV, columns 8·(l % TWV) + 0..7); the staged window is R × Q with
// Q = TW + (KW − 1)·dw, row pitch P = Q rounded up to odd (not a multiple of the 32 banks).
// Also runs the backward input pass of stride-1 problems as a forward correlation (the host
// passes dy as x, the pad (K − 1)·d − pad, flip toggled and `wl` = the weight's channel strides
// exchanged): the weight of (output channel o_l of the group, input channel c) is at
// (group · cout_g · cin_g + o_l · wl.x + c · wl.y) · Kpix, wl = (cin_g, 1) for a forward pass.
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define T8 CAT(T, 8)
#define DEFINE_CONV2D_TILED8(NAME, WSPACE)                                                                         \
  kernel void NAME(global const T* x, const int x_off, WSPACE const T* w, const int w_off, global const T* b,       \
                   const int b_off, global T* y, const int has_bias, const int accumulate, GEOMETRY,                \
                   local T* tile, const int TWV, const int TH, const int tiles_x, const int tiles_y, const int2 wl) { \
    const int H = in.y, W = in.z, OH = out.y, OW = out.z, Cout = out.w;                                             \
    const int groups = ksize.w, cin_g = in.w / groups, cout_g = Cout / groups, KH = ksize.y, KW = ksize.z;          \
    const int Kpix = KH * KW, blocks = (cout_g + OB - 1) / OB, TW = 8 * TWV;                                        \
    const int l = get_local_id(0), L = get_local_size(0), lx = l % TWV, ly = l / TWV;                               \
    int gid = get_group_id(0);                                                                                      \
    const int tx = gid % tiles_x; gid /= tiles_x;                                                                   \
    const int ty = gid % tiles_y; gid /= tiles_y;                                                                   \
    const int block = gid % (groups * blocks), n = gid / (groups * blocks);                                         \
    const int grp = block / blocks, o0 = grp * cout_g + (block % blocks) * OB, o_end = (grp + 1) * cout_g;          \
    const int R = (TH - 1) * step.y + (KH - 1) * dil.y + 1, Q = TW + (KW - 1) * dil.z, P = Q | 1;                   \
    const int row0 = ty * TH * step.y - pad.y, col0 = tx * TW - pad.z;                                              \
    T8 acc[OB];                                                                                                     \
    for (int j = 0; j < OB; ++j) acc[j] = (T8)0;                                                                    \
    for (int c = 0; c < cin_g; ++c) {                                                                               \
      global const T* xc = x + x_off + (n * in.w + grp * cin_g + c) * H * W;                                        \
      for (int e = l; e < R * Q; e += L) {                                                                          \
        const int ih = row0 + e / Q, iw = col0 + e % Q;                                                             \
        const bool v = ih >= 0 && ih < H && iw >= 0 && iw < W;                                                      \
        tile[(e / Q) * P + e % Q] = v ? xc[clamp(ih, 0, H - 1) * W + clamp(iw, 0, W - 1)] : (T)0;                   \
      }                                                                                                             \
      barrier(CLK_LOCAL_MEM_FENCE);                                                                                 \
      local const T* base = tile + ly * step.y * P + 8 * lx;                                                        \
      WSPACE const T* wc[OB];                                                                                       \
      for (int j = 0; j < OB; ++j)                                                                                  \
        wc[j] = w + w_off + (grp * cout_g * cin_g + (min(o0 + j, o_end - 1) - grp * cout_g) * wl.x + c * wl.y) * Kpix; \
      int t = 0;                                                                                                    \
      for (int kh = 0; kh < KH; ++kh)                                                                               \
        for (int kw = 0; kw < KW; ++kw, ++t) {                                                                      \
          const T8 v = vload8(0, base + kh * dil.y * P + kw * dil.z);                                               \
          const int tap = dil.w ? Kpix - 1 - t : t;                                                                 \
          for (int j = 0; j < OB; ++j) acc[j] += v * wc[j][tap];                                                    \
        }                                                                                                           \
      barrier(CLK_LOCAL_MEM_FENCE);                                                                                 \
    }                                                                                                               \
    const int oh = ty * TH + ly, ow0 = tx * TW + 8 * lx;                                                            \
    if (oh < OH)                                                                                                    \
      for (int j = 0; j < OB && o0 + j < o_end; ++j) {                                                              \
        T lanes[8];                                                                                                 \
        vstore8(acc[j], 0, lanes);                                                                                  \
        const T bias = has_bias ? b[b_off + o0 + j] : (T)0;                                                         \
        global T* yr = y + ((n * Cout + o0 + j) * OH + oh) * OW;                                                    \
        for (int q = 0; q < 8 && ow0 + q < OW; ++q) yr[ow0 + q] = lanes[q] + bias + (accumulate ? yr[ow0 + q] : (T)0); \
      }                                                                                                             \
  }
DEFINE_CONV2D_TILED8(conv2d_tiled8_cw, constant)
DEFINE_CONV2D_TILED8(conv2d_tiled8_gw, global)

// ------------------------------------------------------------------------------ forward, image
// float32 only (no double image format). The input planes are an image2d_array (one layer per
// (n, c) plane, CL_R / CL_FLOAT); the sampler's CLK_ADDRESS_CLAMP returns the border colour, 0,
// for coordinates outside a layer, which is exactly zero padding: no bounds logic at all, and the
// texture cache serves the overlapping windows. Layout as conv_forward_cw (one item per output
// element, D = 1), weights in __constant memory when they fit.
#ifndef NODAL_FP64
#define DEFINE_CONV2D_IMAGE(NAME, WSPACE)                                                                          \
  kernel void NAME(read_only image2d_array_t x, WSPACE const T* w, const int w_off, global const T* b,              \
                   const int b_off, global T* y, const int has_bias, const int accumulate, GEOMETRY) {              \
    const sampler_t smp = CLK_NORMALIZED_COORDS_FALSE | CLK_ADDRESS_CLAMP | CLK_FILTER_NEAREST;                     \
    const int OH = out.y, OW = out.z, Cout = out.w;                                                                 \
    const int groups = ksize.w, cin_g = in.w / groups, cout_g = Cout / groups, Kpix = ksize.y * ksize.z;            \
    const int total = step.w * Cout * OH * OW;                                                                      \
    for (int e = get_global_id(0); e < total; e += get_global_size(0)) {                                            \
      int r = e;                                                                                                    \
      const int ow = r % OW; r /= OW;                                                                               \
      const int oh = r % OH; r /= OH;                                                                               \
      const int o = r % Cout, n = r / Cout;                                                                         \
      const int layer0 = n * in.w + (o / cout_g) * cin_g;                                                           \
      T acc = (T)0;                                                                                                 \
      for (int c = 0; c < cin_g; ++c) {                                                                             \
        WSPACE const T* wc = w + w_off + (o * cin_g + c) * Kpix;                                                    \
        int t = 0;                                                                                                  \
        for (int kh = 0; kh < ksize.y; ++kh)                                                                        \
          for (int kw = 0; kw < ksize.z; ++kw, ++t) {                                                               \
            const int4 at = (int4)(ow * step.z + kw * dil.z - pad.z, oh * step.y + kh * dil.y - pad.y, layer0 + c, 0); \
            acc += read_imagef(x, smp, at).x * wc[dil.w ? Kpix - 1 - t : t];                                        \
          }                                                                                                         \
      }                                                                                                             \
      if (has_bias) acc += b[b_off + o];                                                                            \
      if (accumulate) acc += y[e];                                                                                  \
      y[e] = acc;                                                                                                   \
    }                                                                                                               \
  }
DEFINE_CONV2D_IMAGE(conv2d_image_cw, constant)
DEFINE_CONV2D_IMAGE(conv2d_image_gw, global)
#endif

// ------------------------------------------------------------------------------ dx (gather)
// The output index along one axis whose tap k reads input index i, or -1 when no output does:
// q = i + pad − k·dil must be a non-negative multiple of the stride, below O strides (the gather
// form of the transposed convolution, shared by conv_backward_input and conv_col2im).
inline int reading_output(const int i, const int pad, const int k, const int dil, const int step, const int O) {
  const int q = i + pad - k * dil;
  return q >= 0 && q % step == 0 && q / step < O ? q / step : -1;
}

// The transposed convolution as a gather: one work-item per dx element (n, c, id, ih, iw), grid-
// stride, iw fastest. Per axis, tap k reached input i from output p = (i + pad − k·d) / s when that
// is an integer in [0, O); the item enumerates the valid (kd, kh, kw) and, innermost, the output
// channels of c's group. Zero boundary only (the signal nodes fold their other boundaries with
// signal_fold). Also the forward of conv_transpose, hence `has_bias` / `accumulate` as forward.
kernel void conv_backward_input(global const T* dy, const int dy_off, global const T* w, const int w_off,
                                global const T* b, const int b_off, global T* dx, const int has_bias,
                                const int accumulate, GEOMETRY) {
  const int D = in.x, H = in.y, W = in.z, Cin = in.w, OD = out.x, OH = out.y, OW = out.z, Cout = out.w;
  const int groups = ksize.w, cin_g = Cin / groups, cout_g = Cout / groups;
  const int Kpix = ksize.x * ksize.y * ksize.z, Opix = OD * OH * OW;
  const int total = step.w * Cin * D * H * W;
  for (int e = get_global_id(0); e < total; e += get_global_size(0)) {
    int r = e;
    const int iw = r % W; r /= W;
    const int ih = r % H; r /= H;
    const int id = r % D; r /= D;
    const int c = r % Cin, n = r / Cin;
    const int grp = c / cin_g, cc = c % cin_g;
    global const T* dyn = dy + dy_off + (n * Cout + grp * cout_g) * Opix;
    global const T* wg = w + w_off + (grp * cout_g * cin_g + cc) * Kpix;
    T acc = (T)0;
    for (int kd = 0; kd < ksize.x; ++kd) {
      const int od = reading_output(id, pad.x, kd, dil.x, step.x, OD);
      if (od < 0) continue;
      for (int kh = 0; kh < ksize.y; ++kh) {
        const int oh = reading_output(ih, pad.y, kh, dil.y, step.y, OH);
        if (oh < 0) continue;
        for (int kw = 0; kw < ksize.z; ++kw) {
          const int ow = reading_output(iw, pad.z, kw, dil.z, step.z, OW);
          if (ow < 0) continue;
          const int p = (od * OH + oh) * OW + ow;
          const int t = (kd * ksize.y + kh) * ksize.z + kw;
          const int tap = dil.w ? Kpix - 1 - t : t;
          for (int o = 0; o < cout_g; ++o) acc += dyn[o * Opix + p] * wg[o * cin_g * Kpix + tap];
        }
      }
    }
    if (has_bias) acc += b[b_off + c];
    if (accumulate) acc += dx[e];
    dx[e] = acc;
  }
}

// ------------------------------------------------------------------------------ dw (reduction)
// dw is a sum over R = N · OD · OH · OW terms per weight; the host cuts it into `pieces` pieces
// (of `chunk` samples for conv_weight_rows, of `chunk` terms for conv_weight_tree) and the kernels
// write partial[weight · pieces + piece] (then sums the pieces with the reduce
// kernels when pieces > 1, a second small launch). Term r = (n, p) with p fastest.
inline T weight_term(global const T* x, global const T* dy, const int n, int p, const int o, const int c_abs,
                     const int kd, const int kh, const int kw, const int4 in, const int4 out, const int4 step,
                     const int4 dil, const int4 pad) {
  const int OD = out.x, OH = out.y, OW = out.z, boundary = pad.w;
  const int ow = p % OW; p /= OW;
  const int oh = p % OH;
  const int od = p / OH;
  const int id = od * step.x + kd * dil.x - pad.x, ih = oh * step.y + kh * dil.y - pad.y, iw = ow * step.z + kw * dil.z - pad.z;
  const bool v = inside_of(id, in.x, boundary) && inside_of(ih, in.y, boundary) && inside_of(iw, in.z, boundary);
  const T xv = x[((n * in.w + c_abs) * in.x + source_of(id, in.x, boundary)) * in.y * in.z +
                 source_of(ih, in.y, boundary) * in.z + source_of(iw, in.z, boundary)];
  const T g = dy[((n * out.w + o) * OD + od) * OH * OW + oh * OW + ow];
  return v ? xv * g : (T)0;
}

// The tap position (kd, kh, kw) whose weight is stored at flattened index j (flip reverses).
inline int3 tap_position(const int j, const int4 ksize, const int flip) {
  const int Kpix = ksize.x * ksize.y * ksize.z;
  const int t = flip ? Kpix - 1 - j : j;
  return (int3)(t / (ksize.y * ksize.z), (t / ksize.z) % ksize.y, t % ksize.z);
}

// Serial: one work-item per (weight, piece) unit, grid-stride; a piece is a range of `chunk`
// samples, whose terms the item walks as nested loops over (n, od, oh, ow) with running indices:
// no division per term, and loop bounds that are the same for every item (validity is a select),
// so a CPU device vectorises across neighbouring items (neighbouring taps: neighbouring x, the
// same dy). The CPU devices' weight kernel (there a work-item is a loop iteration).
kernel void conv_weight_rows(global const T* x, const int x_off, global const T* dy, const int dy_off,
                             global T* partial, const int chunk, const int pieces, GEOMETRY) {
  const int OD = out.x, OH = out.y, OW = out.z, Cout = out.w, boundary = pad.w;
  const int cin_g = in.w / ksize.w, cout_g = Cout / ksize.w;
  const int Kpix = ksize.x * ksize.y * ksize.z, weights = Cout * cin_g * Kpix;
  x += x_off;
  dy += dy_off;
  for (int u = get_global_id(0); u < weights * pieces; u += get_global_size(0)) {
    const int piece = u % pieces, wi = u / pieces;
    const int j = wi % Kpix, c = (wi / Kpix) % cin_g, o = wi / (Kpix * cin_g);
    const int3 k = tap_position(j, ksize, dil.w);
    const int c_abs = (o / cout_g) * cin_g + c;
    T sum = (T)0;
    const int n_end = min(step.w, (piece + 1) * chunk);
    for (int n = piece * chunk; n < n_end; ++n) {
      global const T* xc = x + (n * in.w + c_abs) * in.x * in.y * in.z;
      global const T* g = dy + (n * Cout + o) * OD * OH * OW;
      for (int od = 0; od < OD; ++od) {
        const int id = od * step.x + k.x * dil.x - pad.x;
        const bool vd = inside_of(id, in.x, boundary);
        const int md = source_of(id, in.x, boundary);
        for (int oh = 0; oh < OH; ++oh, g += OW) {
          const int ih = oh * step.y + k.y * dil.y - pad.y;
          const bool vh = vd && inside_of(ih, in.y, boundary);
          global const T* xr = xc + (md * in.y + source_of(ih, in.y, boundary)) * in.z;
          for (int ow = 0; ow < OW; ++ow) {
            const int iw = ow * step.z + k.z * dil.z - pad.z;
            const T v = xr[source_of(iw, in.z, boundary)] * g[ow];
            sum += (vh && inside_of(iw, in.z, boundary)) ? v : (T)0;
          }
        }
      }
    }
    partial[u] = sum;
  }
}

// conv_weight_rows for the common case of a zero boundary and column stride 1: per (n, od, oh)
// the columns whose input lies inside the row, [lo, hi), are found once, and the row product
// runs 8 outputs at a time as T8 vectors (vload8 of dy and of x, both contiguous), then a scalar
// tail. Loop bounds differ between items (taps), which costs a GPU but not a CPU device, whose
// weight kernel this is; the 8 lanes are added at the end.
kernel void conv_weight_rows8(global const T* x, const int x_off, global const T* dy, const int dy_off,
                              global T* partial, const int chunk, const int pieces, GEOMETRY) {
  const int OD = out.x, OH = out.y, OW = out.z, Cout = out.w;
  const int cin_g = in.w / ksize.w, cout_g = Cout / ksize.w;
  const int Kpix = ksize.x * ksize.y * ksize.z, weights = Cout * cin_g * Kpix;
  x += x_off;
  dy += dy_off;
  for (int u = get_global_id(0); u < weights * pieces; u += get_global_size(0)) {
    const int piece = u % pieces, wi = u / pieces;
    const int j = wi % Kpix, c = (wi / Kpix) % cin_g, o = wi / (Kpix * cin_g);
    const int3 k = tap_position(j, ksize, dil.w);
    const int c_abs = (o / cout_g) * cin_g + c;
    const int shift = k.z * dil.z - pad.z;  // iw = ow + shift
    const int lo = clamp(-shift, 0, OW), hi = clamp(in.z - shift, lo, OW);
    T8 acc8 = (T8)0;
    T sum = (T)0;
    const int n_end = min(step.w, (piece + 1) * chunk);
    for (int n = piece * chunk; n < n_end; ++n) {
      global const T* xc = x + (n * in.w + c_abs) * in.x * in.y * in.z;
      global const T* gn = dy + (n * Cout + o) * OD * OH * OW;
      for (int od = 0; od < OD; ++od) {
        const int id = od * step.x + k.x * dil.x - pad.x;
        if (id < 0 || id >= in.x) continue;
        for (int oh = 0; oh < OH; ++oh) {
          const int ih = oh * step.y + k.y * dil.y - pad.y;
          if (ih < 0 || ih >= in.y) continue;
          global const T* xr = xc + (id * in.y + ih) * in.z + shift;
          global const T* g = gn + (od * OH + oh) * OW;
          int ow = lo;
          for (; ow + 8 <= hi; ow += 8) acc8 += vload8(0, g + ow) * vload8(0, xr + ow);
          for (; ow < hi; ++ow) sum += g[ow] * xr[ow];
        }
      }
    }
    partial[u] = sum + (((acc8.s0 + acc8.s1) + (acc8.s2 + acc8.s3)) + ((acc8.s4 + acc8.s5) + (acc8.s6 + acc8.s7)));
  }
}

// db partial sums on CPU devices: one work-item per (channel, piece of samples) unit, grid-stride,
// summing its samples' pixel rows 8 at a time as T8 vectors (then a scalar tail), so that the few
// channels of a layer still give every core work; the host sums the pieces.
kernel void conv_bias_rows(global const T* dy, const int dy_off, global T* partial, const int chunk, const int pieces,
                           const int N, const int C, const int P) {
  for (int u = get_global_id(0); u < C * pieces; u += get_global_size(0)) {
    const int piece = u % pieces, o = u / pieces;
    T8 acc8 = (T8)0;
    T sum = (T)0;
    const int n_end = min(N, (piece + 1) * chunk);
    for (int n = piece * chunk; n < n_end; ++n) {
      global const T* g = dy + dy_off + (n * C + o) * P;
      int p = 0;
      for (; p + 8 <= P; p += 8) acc8 += vload8(0, g + p);
      for (; p < P; ++p) sum += g[p];
    }
    partial[u] = sum + (((acc8.s0 + acc8.s1) + (acc8.s2 + acc8.s3)) + ((acc8.s4 + acc8.s5) + (acc8.s6 + acc8.s7)));
  }
}

// Tree: one work-group per (weight, piece) unit (group g takes units g, g + groups, ...). Its L
// items (L a power of two) stride over the piece, consecutive items reading consecutive pixels of
// dy and x (coalesced), then the L partial sums are halved log2 L times in __local memory
// (`scratch`, L elements), a barrier per step; item 0 writes. Loop bounds depend only on the
// unit, so every item reaches every barrier. For GPUs.
kernel void conv_weight_tree(global const T* x, const int x_off, global const T* dy, const int dy_off,
                             global T* partial, const int chunk, const int pieces, GEOMETRY, local T* scratch) {
  const int Cout = out.w, cin_g = in.w / ksize.w, cout_g = Cout / ksize.w;
  const int Kpix = ksize.x * ksize.y * ksize.z, Opix = out.x * out.y * out.z, R = step.w * Opix;
  const int weights = Cout * cin_g * Kpix;
  const int l = get_local_id(0), L = get_local_size(0);
  x += x_off;
  dy += dy_off;
  for (int u = get_group_id(0); u < weights * pieces; u += get_num_groups(0)) {
    const int piece = u % pieces, wi = u / pieces;
    const int j = wi % Kpix, c = (wi / Kpix) % cin_g, o = wi / (Kpix * cin_g);
    const int3 k = tap_position(j, ksize, dil.w);
    const int c_abs = (o / cout_g) * cin_g + c;
    T sum = (T)0;
    const int stop = min(R, (piece + 1) * chunk);
    for (int r = piece * chunk + l; r < stop; r += L)
      sum += weight_term(x, dy, r / Opix, r % Opix, o, c_abs, k.x, k.y, k.z, in, out, step, dil, pad);
    scratch[l] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int step2 = L / 2; step2 > 0; step2 /= 2) {
      if (l < step2) scratch[l] += scratch[l + step2];
      barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) partial[u] = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);  // scratch[0] is read before the next unit overwrites it
  }
}

// ------------------------------------------------------------------------------ signal fold
// dx[r, i] = Σ over extended positions t ∈ [0, padded) read from sample i of dxe[r, t]: the adjoint
// of the boundary gather x̃[t] = x[src(start + t)] (replicate: the ends collect every position
// beyond them; circular: every position congruent to i mod n). One work-item per dx element,
// grid-stride; each visits only its own preimage positions, so no atomics.
kernel void signal_fold(global const T* dxe, global T* dx, const int rows, const int n, const int padded,
                        const int start, const int boundary) {
  for (int e = get_global_id(0); e < rows * n; e += get_global_size(0)) {
    const int i = e % n, row = e / n;
    global const T* src = dxe + row * padded;
    T acc = (T)0;
    if (boundary == 2) {
      int t = ((i - start) % n + n) % n;
      for (; t < padded; t += n) acc += src[t];
    } else {
      int lo = i - start, hi = i - start;
      if (boundary == 1 && i == 0) lo = 0;
      if (boundary == 1 && i == n - 1) hi = padded - 1;
      lo = max(lo, 0);
      hi = min(hi, padded - 1);
      for (int t = lo; t <= hi; ++t) acc += src[t];
    }
    dx[e] = acc;
  }
}

// ------------------------------------------------------------------------------ im2col / col2im
// The `gemm` algorithm's lowering (backends/opencl/conv_gemm.cpp): the taps every output reads as
// the columns of a matrix, so that the convolution is one batched GEMM per pass.
//   cols[(c · K + j) · N·|O| + n · |O| + p] = x̃[n, c, p·s + tap(j)·d − pad]     (c over all Cin)
// with tap(j) = K − 1 − j under flip, so row j pairs with w[o, c, j] as stored. One work-item per
// element, grid-stride, p fastest (coalesced writes). The host checks that cols has < 2^31 elements.
kernel void conv_im2col(global const T* x, const int x_off, global T* cols, GEOMETRY) {
  const int OD = out.x, OH = out.y, OW = out.z, N = step.w, boundary = pad.w;
  const int Kpix = ksize.x * ksize.y * ksize.z, Opix = OD * OH * OW;
  const int total = in.w * Kpix * N * Opix;
  for (int e = get_global_id(0); e < total; e += get_global_size(0)) {
    int r = e;
    const int p = r % Opix; r /= Opix;
    const int n = r % N; r /= N;
    const int j = r % Kpix, c = r / Kpix;
    const int3 k = tap_position(j, ksize, dil.w);
    const int ow = p % OW, oh = (p / OW) % OH, od = p / (OW * OH);
    const int id = od * step.x + k.x * dil.x - pad.x, ih = oh * step.y + k.y * dil.y - pad.y,
              iw = ow * step.z + k.z * dil.z - pad.z;
    const bool v = inside_of(id, in.x, boundary) && inside_of(ih, in.y, boundary) && inside_of(iw, in.z, boundary);
    const T value = x[x_off + ((n * in.w + c) * in.x + source_of(id, in.x, boundary)) * in.y * in.z +
                      source_of(ih, in.y, boundary) * in.z + source_of(iw, in.z, boundary)];
    cols[e] = v ? value : (T)0;
  }
}

// dx[n, c, i] = Σ over the taps and outputs that read i of dcols (the adjoint of conv_im2col, zero
// boundary), as a gather like conv_backward_input: one item per dx element, grid-stride.
kernel void conv_col2im(global const T* dcols, global const T* b, const int b_off, global T* dx, const int has_bias,
                        const int accumulate, GEOMETRY) {
  const int D = in.x, H = in.y, W = in.z, Cin = in.w, OD = out.x, OH = out.y, OW = out.z, N = step.w;
  const int Kpix = ksize.x * ksize.y * ksize.z, Opix = OD * OH * OW;
  const int total = N * Cin * D * H * W;
  for (int e = get_global_id(0); e < total; e += get_global_size(0)) {
    int r = e;
    const int iw = r % W; r /= W;
    const int ih = r % H; r /= H;
    const int id = r % D; r /= D;
    const int c = r % Cin, n = r / Cin;
    T acc = (T)0;
    for (int kd = 0; kd < ksize.x; ++kd) {
      const int od = reading_output(id, pad.x, kd, dil.x, step.x, OD);
      if (od < 0) continue;
      for (int kh = 0; kh < ksize.y; ++kh) {
        const int oh = reading_output(ih, pad.y, kh, dil.y, step.y, OH);
        if (oh < 0) continue;
        for (int kw = 0; kw < ksize.z; ++kw) {
          const int ow = reading_output(iw, pad.z, kw, dil.z, step.z, OW);
          if (ow < 0) continue;
          const int p = (od * OH + oh) * OW + ow;
          const int t = (kd * ksize.y + kh) * ksize.z + kw;
          const int j = dil.w ? Kpix - 1 - t : t;
          acc += dcols[((c * Kpix + j) * N + n) * Opix + p];
        }
      }
    }
    if (has_bias) acc += b[b_off + c];
    if (accumulate) acc += dx[e];
    dx[e] = acc;
  }
}
