// In-place optimizer updates (nn/sgd.hpp, nn/adam.hpp) and gradient-norm clipping (nn/clip.hpp)
// on device parameters, gradients and state buffers. Compiled per element type like
// elementwise.cl (-DT=float | -DT=double -DNODAL_FP64).
//
// The arithmetic is the CPU kernels' (nn/sgd.cpp sgd_kernel, nn/adam.cpp adam_range), operation
// for operation and in the same order, with the scalars computed on the host in double and
// rounded to T once. FP_CONTRACT is off: OpenCL C lets each compiler decide where to fuse a·b + c
// into one rounding, so with it on two devices would give two results; off, every device gives
// the same bits. (The CPU build, GCC -O3 -march=native, does fuse some of them: device and CPU
// updates differ by at most one rounding per fused operation, ≤ 3ε after 4 steps on PoCL.) x / y
// and √ are correctly rounded (-cl-fp32-correctly-rounded-divide-sqrt).
//
// Work-group layout (sgd_update, adam_update, clip_scale): 1-D elementwise, 256 items per group,
// grid-stride over the elements of up to 8 parameter tensors fused into one launch (LeNet-5's 10
// parameter tensors: 2 launches per step); no local memory. Traffic per element: sgd 3 reads +
// 2 writes (with momentum), adam 4 reads + 3 writes.
// sum_squares: ONE work-group of L items (a power of two ≤ 256) strides over a gradient, then a
// tree in __local memory (L · sizeof(T) bytes, sequential addressing: no bank conflicts); item 0
// adds the gradient's Σ g² to partial[slot], so the gradients of a step are summed by one launch
// each into one small buffer that the clip kernels read (no host round-trip).
#ifdef NODAL_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
#pragma OPENCL FP_CONTRACT OFF

// Fused updates: up to 8 parameter tensors per launch (OpenCL 1.2 has no array of buffers, so
// each tensor's buffers are separate arguments). Element i of the launch belongs to tensor k, the
// first with i < ends[k] (ends: running element counts); unused slots repeat tensor 0 and are
// never reached. The per-element arithmetic is the same function for every tensor.
#define MAX_FUSED 8
#define PICK(name, k)                                                                                 \
  ((k) == 0 ? name##0 : (k) == 1 ? name##1 : (k) == 2 ? name##2 : (k) == 3 ? name##3 : (k) == 4 ? name##4 \
   : (k) == 5 ? name##5 : (k) == 6 ? name##6 : name##7)
#define BUFFERS(q, name) q T *name##0, q T *name##1, q T *name##2, q T *name##3, q T *name##4, q T *name##5, \
                         q T *name##6, q T *name##7

// Which fused tensor element i belongs to, and its index there.
inline int fused_tensor(long i, long8 ends8, long* local_index) {
  long ends[MAX_FUSED];
  vstore8(ends8, 0, ends);
  int k = 0;
  while (k < MAX_FUSED - 1 && i >= ends[k]) ++k;
  *local_index = i - (k == 0 ? 0 : ends[k - 1]);
  return k;
}
inline long offset_of(long8 offsets8, int k) {
  long offsets[MAX_FUSED];
  vstore8(offsets8, 0, offsets);
  return offsets[k];
}

//   g ← ∇ + wd·p;  b ← g (first) or μ·b + (1 − dampening)·g;  g ← g + μ·b (nesterov) or b;  p ← p − lr·g
kernel void sgd_update(const long total, const long8 ends, const long8 p_offsets, const long8 g_offsets,
                       const long8 b_offsets, const int has_buffer, BUFFERS(global, p), BUFFERS(global const, g),
                       BUFFERS(global, b), const T lr, const T wd, const T mu, const T one_minus_dampening,
                       const int first, const int nesterov) {
  for (long e = get_global_id(0); e < total; e += get_global_size(0)) {
    long i;
    const int k = fused_tensor(e, ends, &i);
    global T* p = PICK(p, k) + offset_of(p_offsets, k);
    global const T* grad = PICK(g, k) + offset_of(g_offsets, k);
    global T* buf = PICK(b, k) + offset_of(b_offsets, k);
    const T pv = p[i];
    T gv = wd != (T)0 ? grad[i] + wd * pv : grad[i];  // wd = 0 keeps an inf p from giving nan
    if (has_buffer) {
      const T bv = first ? gv : mu * buf[i] + one_minus_dampening * gv;
      buf[i] = bv;
      gv = nesterov ? gv + mu * bv : bv;
    }
    p[i] = pv - lr * gv;
  }
}

//   g ← ∇ + l2·(p·shrink);  m ← m + (1 − β1)·(g − m);  v ← β2·v + (1 − β2)·g·g;
//   p ← p·shrink − step_size · m / (√v / √(1 − β2^t) + ε)
kernel void adam_update(const long total, const long8 ends, const long8 p_offsets, const long8 g_offsets,
                        const long8 m_offsets, const long8 v_offsets, BUFFERS(global, p), BUFFERS(global const, g),
                        BUFFERS(global, m), BUFFERS(global, v), const T l2, const T shrink, const T one_minus_beta1,
                        const T beta2, const T one_minus_beta2, const T step_size, const T bias2_sqrt, const T eps) {
  for (long e = get_global_id(0); e < total; e += get_global_size(0)) {
    long i;
    const int k = fused_tensor(e, ends, &i);
    global T* p = PICK(p, k) + offset_of(p_offsets, k);
    global const T* grad = PICK(g, k) + offset_of(g_offsets, k);
    global T* m = PICK(m, k) + offset_of(m_offsets, k);
    global T* v = PICK(v, k) + offset_of(v_offsets, k);
    const T pv = p[i];
    const T gv = grad[i] + l2 * (pv * shrink);
    T mv = m[i];
    mv += one_minus_beta1 * (gv - mv);
    const T vv = beta2 * v[i] + one_minus_beta2 * gv * gv;
    m[i] = mv;
    v[i] = vv;
    p[i] = pv * shrink - step_size * (mv / (sqrt(vv) / bias2_sqrt + eps));
  }
}

// partial[slot] = Σ g² over the n elements of one gradient (one work-group; see above).
kernel void sum_squares(const long n, global const T* grad, const long g_offset, global T* partial, const int slot,
                        local T* scratch) {
  const int lid = get_local_id(0), L = get_local_size(0);
  T part = (T)0;
  for (long i = lid; i < n; i += L) {
    const T g = grad[g_offset + i];
    part += g * g;
  }
  scratch[lid] = part;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int step = L / 2; step > 0; step /= 2) {
    if (lid < step) scratch[lid] += scratch[lid + step];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) partial[slot] = scratch[0];
}

// total[0] = Σ partial[0 .. count) (one item; count is the number of gradients, a few dozen).
kernel void sum_partials(const int count, global const T* partial, global T* total) {
  if (get_global_id(0) != 0) return;
  T s = (T)0;
  for (int k = 0; k < count; ++k) s += partial[k];
  total[0] = s;
}

// g ← g·c with c = max_norm / (√total + 1e-6), only when c < 1 (nn/clip.cpp's test: a NaN c
// leaves the gradients as they are, an infinite total scales them by 0).
kernel void clip_scale(const long n, global T* grad, const long g_offset, global const T* total, const T max_norm) {
  const T c = max_norm / (sqrt(total[0]) + (T)1e-6);
  if (!(c < (T)1)) return;
  for (long i = get_global_id(0); i < n; i += get_global_size(0)) grad[g_offset + i] *= c;
}
