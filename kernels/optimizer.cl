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
// grid-stride, one launch per parameter tensor; no local memory. Traffic per element: sgd
// 3 reads + 2 writes (with momentum), adam 4 reads + 3 writes.
// sum_squares: ONE work-group of L items (a power of two ≤ 256) strides over a gradient, then a
// tree in __local memory (L · sizeof(T) bytes, sequential addressing: no bank conflicts); item 0
// adds the gradient's Σ g² to partial[slot], so the gradients of a step are summed by one launch
// each into one small buffer that the clip kernels read (no host round-trip).
#ifdef NODAL_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
#pragma OPENCL FP_CONTRACT OFF

//   g ← ∇ + wd·p;  b ← g (first) or μ·b + (1 − dampening)·g;  g ← g + μ·b (nesterov) or b;  p ← p − lr·g
kernel void sgd_update(const long n, global T* p, const long p_offset, global const T* grad, const long g_offset,
                       const int has_buffer, global T* buf, const long buf_offset, const T lr, const T wd, const T mu,
                       const T one_minus_dampening, const int first, const int nesterov) {
  for (long i = get_global_id(0); i < n; i += get_global_size(0)) {
    const T pv = p[p_offset + i];
    T g = wd != (T)0 ? grad[g_offset + i] + wd * pv : grad[g_offset + i];  // wd = 0 keeps an inf p from giving nan
    if (has_buffer) {
      const T b = first ? g : mu * buf[buf_offset + i] + one_minus_dampening * g;
      buf[buf_offset + i] = b;
      g = nesterov ? g + mu * b : b;
    }
    p[p_offset + i] = pv - lr * g;
  }
}

//   g ← ∇ + l2·(p·shrink);  m ← m + (1 − β1)·(g − m);  v ← β2·v + (1 − β2)·g·g;
//   p ← p·shrink − step_size · m / (√v / √(1 − β2^t) + ε)
kernel void adam_update(const long n, global T* p, const long p_offset, global const T* grad, const long g_offset,
                        global T* m, const long m_offset, global T* v, const long v_offset, const T l2, const T shrink,
                        const T one_minus_beta1, const T beta2, const T one_minus_beta2, const T step_size,
                        const T bias2_sqrt, const T eps) {
  for (long i = get_global_id(0); i < n; i += get_global_size(0)) {
    const T pv = p[p_offset + i];
    const T g = grad[g_offset + i] + l2 * (pv * shrink);
    T mv = m[m_offset + i];
    mv += one_minus_beta1 * (g - mv);
    const T vv = beta2 * v[v_offset + i] + one_minus_beta2 * g * g;
    m[m_offset + i] = mv;
    v[v_offset + i] = vv;
    p[p_offset + i] = pv * shrink - step_size * (mv / (sqrt(vv) / bias2_sqrt + eps));
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
