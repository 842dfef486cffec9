// softmax and log_softmax along one axis, and their Jacobian products (vjp and jvp). Compiled per
// element type like elementwise.cl (-DT=float | -DT=double -DNODAL_FP64).
//
// The tensor (contiguous, from element `*_offset`) is seen as [outer, n, inner], n the extent of
// the normalised axis: line l (of outer·inner lines) starts at (l / inner)·n·inner + l % inner and
// steps by `inner`.
//
// Work-group layout: one work-group per line (group g takes lines g, g + groups, ...), L items
// (a power of two ≤ 256 chosen by the host, ≥ the line length when that is short). Item i visits
// elements i, i + L, ... of the line. Each reduction (the maximum, Σ exp, the dot products of the
// Jacobian) leaves one private partial per item, then the L partials meet in __local memory
// (`scratch`, L · sizeof(T) bytes) and are halved log2 L times with a barrier per step (sequential
// addressing: item i adds i + step, so no two items of a step touch one bank twice and no padding
// is needed). Every item reaches every barrier: loop bounds depend only on the line.
// Numerically stable: exp is taken of x − max ≤ 0, so Σ exp ∈ [1, n] never overflows.
#ifdef NODAL_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#define TREE(op)                                                                  \
  scratch[lid] = part;                                                            \
  barrier(CLK_LOCAL_MEM_FENCE);                                                   \
  for (int step = L / 2; step > 0; step /= 2) {                                   \
    if (lid < step) scratch[lid] = op(scratch[lid], scratch[lid + step]);         \
    barrier(CLK_LOCAL_MEM_FENCE);                                                 \
  }                                                                               \
  part = scratch[0];                                                              \
  barrier(CLK_LOCAL_MEM_FENCE); /* scratch[0] is read by all before the next use */

#define ADD(a, b) ((a) + (b))
// NaN inputs are skipped by fmax, as by the CPU's std::max; they still reach Σ exp and spread.
#define MAX(a, b) fmax((a), (b))

// y = softmax(x) (log_mode 0) or log_softmax(x) (log_mode 1) along the lines.
kernel void softmax_forward(const long lines, const long n, const long inner, const int log_mode,
                            global const T* x, const long x_offset, global T* y, local T* scratch) {
  const int lid = get_local_id(0), L = get_local_size(0);
  for (long line = get_group_id(0); line < lines; line += get_num_groups(0)) {
    const long base = (line / inner) * n * inner + line % inner;
    global const T* xl = x + x_offset + base;
    global T* yl = y + base;
    T part = -INFINITY;
    for (long i = lid; i < n; i += L) part = fmax(part, xl[i * inner]);
    TREE(MAX);
    const T m = part;
    part = (T)0;
    for (long i = lid; i < n; i += L) part += exp(xl[i * inner] - m);
    TREE(ADD);
    const T sum = part;
    if (log_mode) {
      const T shift = m + log(sum);  // log_softmax = x − max − log Σ exp(x − max)
      for (long i = lid; i < n; i += L) yl[i * inner] = xl[i * inner] - shift;
    } else {
      const T inv = (T)1 / sum;  // the CPU multiplies by 1/Σ too
      for (long i = lid; i < n; i += L) yl[i * inner] = exp(xl[i * inner] - m) * inv;
    }
  }
}

// The Jacobian of the forward applied to g along each line, from the forward output y:
//   mode 0 softmax, vjp and jvp (the Jacobian is symmetric):  r = y ⊙ (g − Σ g⊙y)
//   mode 1 log_softmax vjp:                                   r = g − exp(y)·Σ g
//   mode 2 log_softmax jvp:                                   r = g − Σ exp(y)⊙g
kernel void softmax_jacobian(const long lines, const long n, const long inner, const int mode,
                             global const T* y, const long y_offset, global const T* g, const long g_offset,
                             global T* r, local T* scratch) {
  const int lid = get_local_id(0), L = get_local_size(0);
  for (long line = get_group_id(0); line < lines; line += get_num_groups(0)) {
    const long base = (line / inner) * n * inner + line % inner;
    global const T* yl = y + y_offset + base;
    global const T* gl = g + g_offset + base;
    global T* rl = r + base;
    T part = (T)0;
    for (long i = lid; i < n; i += L) {
      const long at = i * inner;
      part += mode == 0 ? gl[at] * yl[at] : mode == 1 ? gl[at] : exp(yl[at]) * gl[at];
    }
    TREE(ADD);
    const T dot = part;
    for (long i = lid; i < n; i += L) {
      const long at = i * inner;
      rl[at] = mode == 0 ? yl[at] * (gl[at] - dot) : mode == 1 ? gl[at] - exp(yl[at]) * dot : gl[at] - dot;
    }
  }
}
