// 2-D pooling (nodes/pool.hpp) with the CPU backend's rules, in gather form (no atomics):
//
//   max forward   y[o] = max over window(o) of x, idx[o] = its flat position h·W + w in the plane
//                 (first in row-major window order on ties; a NaN wins; all −∞: the first element)
//   max vjp       dx[i] = Σ_{o: i ∈ window(o), idx[o] = i} g[o]    (summed in the CPU's o order)
//   max jvp       ẏ[o] = ẋ[idx[o]]
//   avg forward   y[o] = Σ_{window(o) ∩ input} x / divisor(o)
//   avg vjp       dx[i] = Σ_{o: i ∈ window(o)} g[o] / divisor(o)
//
// Geometry arguments (one program per element type serves every shape):
//   size = (H, W, OH, OW)   win = (kH, kW, sH, sW)   pad = (pH, pW, dH, dW)   planes = N·C
// Every kernel is 1-D, one work-item per output (forward, jvp) or per input element (vjp), grid-
// stride, the fastest index along W so neighbouring items touch neighbouring memory. No local
// memory: a window is a handful of cached reads.
//
// The indices output is float64 whatever T is. Rather than requiring cl_khr_fp64 for float32 runs,
// the kernels write and read its IEEE-754 bit pattern as a ulong: positions are integers below
// 2^31, which a double holds exactly, and the conversion is a few integer operations.
#ifdef NODAL_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

// The bits of (double)v for 0 ≤ v < 2^31.
inline ulong index_bits(const int v) {
  if (v == 0) return 0;
  const int e = 31 - clz(v);  // v = 1.m · 2^e
  return ((ulong)(1023 + e) << 52) | (((ulong)v << (52 - e)) & 0xFFFFFFFFFFFFFUL);
}
// The integer whose double has bits `bits` (the inverse of index_bits).
inline int index_of(const ulong bits) {
  if (bits == 0) return 0;
  const int e = (int)(bits >> 52) - 1023;
  return (int)(((bits & 0xFFFFFFFFFFFFFUL) | (1UL << 52)) >> (52 - e));
}

kernel void max_pool_forward(global const T* x, const int x_off, global T* y, global ulong* idx, const int planes,
                             const int4 size, const int4 win, const int4 pad) {
  const int H = size.x, W = size.y, OH = size.z, OW = size.w;
  for (int e = get_global_id(0); e < planes * OH * OW; e += get_global_size(0)) {
    const int ow = e % OW, oh = (e / OW) % OH, p = e / (OW * OH);
    global const T* xp = x + x_off + p * H * W;
    T best = -INFINITY;
    int at = -1, first = -1;
    for (int a = 0; a < win.x; ++a) {
      const int ih = oh * win.z - pad.x + a * pad.z;
      if (ih < 0 || ih >= H) continue;
      for (int b = 0; b < win.y; ++b) {
        const int iw = ow * win.w - pad.y + b * pad.w;
        if (iw < 0 || iw >= W) continue;
        const T v = xp[ih * W + iw];
        if (first < 0) first = ih * W + iw;
        if (v > best || isnan(v)) {
          best = v;
          at = ih * W + iw;
        }
      }
    }
    y[e] = best;
    idx[e] = index_bits(at >= 0 ? at : first);
  }
}

// One item per input element; it visits the outputs whose window holds it, in increasing output
// order (a and b descending), so the sum is the CPU's scatter order and bit-identical to it.
kernel void max_pool_vjp(global const T* g, const int g_off, global const ulong* idx, const int idx_off, global T* dx,
                         const int planes, const int4 size, const int4 win, const int4 pad) {
  const int H = size.x, W = size.y, OH = size.z, OW = size.w;
  for (int e = get_global_id(0); e < planes * H * W; e += get_global_size(0)) {
    const int iw = e % W, ih = (e / W) % H, p = e / (W * H), here = ih * W + iw;
    T acc = (T)0;
    for (int a = win.x - 1; a >= 0; --a) {
      const int qh = ih + pad.x - a * pad.z;
      if (qh < 0 || qh % win.z != 0 || qh / win.z >= OH) continue;
      for (int b = win.y - 1; b >= 0; --b) {
        const int qw = iw + pad.y - b * pad.w;
        if (qw < 0 || qw % win.w != 0 || qw / win.w >= OW) continue;
        const int o = (p * OH + qh / win.z) * OW + qw / win.w;
        if (index_of(idx[idx_off + o]) == here) acc += g[g_off + o];
      }
    }
    dx[e] = acc;
  }
}

// The same vjp when windows do not overlap (stride ≥ dilated window on both axes, e.g. LeNet's
// 2×2/2): each input lies in at most one window, so one item per output can write its cotangent
// to its argmax without conflicts, into dx zero-filled by the host. (T)0 + g as the CPU computes
// it (so −0 becomes +0 there too). Layout: 1-D, one item per output, grid-stride.
kernel void max_pool_vjp_disjoint(global const T* g, const int g_off, global const ulong* idx, const int idx_off,
                                  global T* dx, const int planes, const int4 size) {
  const int H = size.x, W = size.y, OH = size.z, OW = size.w;
  for (int e = get_global_id(0); e < planes * OH * OW; e += get_global_size(0))
    dx[(e / (OH * OW)) * H * W + index_of(idx[idx_off + e])] = (T)0 + g[g_off + e];
}

kernel void max_pool_jvp(global const T* xdot, const int x_off, global const ulong* idx, const int idx_off,
                         global T* ydot, const int planes, const int4 size) {
  const int H = size.x, W = size.y, OH = size.z, OW = size.w;
  for (int e = get_global_id(0); e < planes * OH * OW; e += get_global_size(0))
    ydot[e] = xdot[x_off + (e / (OH * OW)) * H * W + index_of(idx[idx_off + e])];
}

// PyTorch's divisor: the window clipped to the padded input (ceil_mode may run past it), counted
// with padding or, without count_include_pad, only over the input elements it covers.
inline int divisor_of(const int oh, const int ow, const int4 size, const int4 win, const int4 pad, const int include_pad) {
  const int h0 = oh * win.z - pad.x, w0 = ow * win.w - pad.y;
  const int h1 = min(h0 + win.x, size.x + pad.x), w1 = min(w0 + win.y, size.y + pad.y);
  if (include_pad) return (h1 - h0) * (w1 - w0);
  return (min(h1, size.x) - max(h0, 0)) * (min(w1, size.y) - max(w0, 0));
}

kernel void avg_pool_forward(global const T* x, const int x_off, global T* y, const int planes, const int4 size,
                             const int4 win, const int4 pad, const int include_pad) {
  const int H = size.x, W = size.y, OH = size.z, OW = size.w;
  for (int e = get_global_id(0); e < planes * OH * OW; e += get_global_size(0)) {
    const int ow = e % OW, oh = (e / OW) % OH, p = e / (OW * OH);
    global const T* xp = x + x_off + p * H * W;
    T acc = (T)0;
    for (int a = 0; a < win.x; ++a) {
      const int ih = oh * win.z - pad.x + a;
      if (ih < 0 || ih >= H) continue;
      for (int b = 0; b < win.y; ++b) {
        const int iw = ow * win.w - pad.y + b;
        if (iw >= 0 && iw < W) acc += xp[ih * W + iw];
      }
    }
    y[e] = acc / (T)divisor_of(oh, ow, size, win, pad, include_pad);
  }
}

kernel void avg_pool_vjp(global const T* g, const int g_off, global T* dx, const int planes, const int4 size,
                         const int4 win, const int4 pad, const int include_pad) {
  const int H = size.x, W = size.y, OH = size.z, OW = size.w;
  for (int e = get_global_id(0); e < planes * H * W; e += get_global_size(0)) {
    const int iw = e % W, ih = (e / W) % H, p = e / (W * H);
    T acc = (T)0;
    for (int a = win.x - 1; a >= 0; --a) {
      const int qh = ih + pad.x - a;
      if (qh < 0 || qh % win.z != 0 || qh / win.z >= OH) continue;
      for (int b = win.y - 1; b >= 0; --b) {
        const int qw = iw + pad.y - b;
        if (qw < 0 || qw % win.w != 0 || qw / win.w >= OW) continue;
        const int oh = qh / win.z, ow = qw / win.w;
        acc += g[g_off + (p * OH + oh) * OW + ow] / (T)divisor_of(oh, ow, size, win, pad, include_pad);
      }
    }
    dx[e] = acc;
  }
}
