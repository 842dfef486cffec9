// Sum reductions: out[o] = scale · Σ_r x[o, r], where the input view has been arranged by the host
// as [kept axes..., reduced axes...] (a permutation of its strides, no copy), so that output o and
// reduced position r meet at row-major index o·R + r of that arrangement. Serves sum and mean
// (scale 1/R) and the vjp of broadcasting binary nodes (summing a cotangent to an input's shape).
// Compiled per element type like elementwise.cl (-DT=float | -DT=double -DNODAL_FP64); partial
// sums are kept in T.
#ifdef NODAL_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#define MAX_RANK 8

inline long strided_offset(long i, int rank, const long* shape, const long* strides) {
  if (rank == 1) return i * strides[0];  // the common case: no 64-bit division at all
  long offset = 0;
  for (int d = rank - 1; d >= 0; --d) {
    const long extent = shape[d];
    offset += (i % extent) * strides[d];
    i /= extent;
  }
  return offset;
}

// Work-group tree reduction, for long rows (R large).
// Layout: one work-group per (output, chunk) unit: each row is cut into `chunks` pieces of
// `chunk` elements (chunks = 1 normally; more when there are too few outputs to occupy the
// device, e.g. a full sum, and the host adds the partial sums in a second launch). Group g takes
// units g, g + groups, ...; unit u is output u / chunks, piece u % chunks, written to out[u]. Its L
// work-items (L a power of two, chosen by the host ≤ the kernel's maximum work-group size) stride
// over the piece: item l adds r = start + l, start + l + L, ... into a private sum, so consecutive
// items read consecutive elements when the reduced axes are innermost. Then the L partial sums
// meet in __local memory (L · sizeof(T) bytes, the `scratch` argument) and are halved log2(L)
// times with a barrier per step; item 0 writes the result. Every item of the group reaches every
// barrier (the loop bounds depend only on the group's unit), as OpenCL requires.
kernel void reduce_sum_tree(const long M, const long R, const int rank, const long8 shape8, global const T* x,
                            const long x_offset, const long8 strides8, const T scale, global T* out,
                            local T* scratch, const long chunk, const long chunks) {
  long shape[MAX_RANK], strides[MAX_RANK];
  vstore8(shape8, 0, shape);
  vstore8(strides8, 0, strides);
  const int l = get_local_id(0), L = get_local_size(0);
  for (long u = get_group_id(0); u < M * chunks; u += get_num_groups(0)) {
    const long o = u / chunks, start = (u % chunks) * chunk, stop = min(R, start + chunk);
    T sum = (T)0;
    for (long r = start + l; r < stop; r += L) sum += x[x_offset + strided_offset(o * R + r, rank, shape, strides)];
    scratch[l] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int step = L / 2; step > 0; step /= 2) {
      if (l < step) scratch[l] += scratch[l + step];
      barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) out[u] = scale * scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);  // scratch[0] is read before the next unit overwrites it
  }
}

// Serial pieces: one work-item per (output, piece) unit, summing its elements in order; no local
// memory, no barriers. Used for short rows (R ≤ 32, pieces = 1: e.g. a bias gradient summed over a
// small batch), and on CPU devices for every row, cut into pieces so that there are enough units
// for every core: there a work-item is a loop iteration, so a private running sum over a contiguous
// piece beats a tree of barriers (PoCL runs the tree kernel ~10x slower).
// Layout: 1-D, grid-stride over the M · pieces units like the elementwise kernels.
kernel void reduce_sum_serial(const long M, const long R, const int rank, const long8 shape8, global const T* x,
                              const long x_offset, const long8 strides8, const T scale, global T* out,
                              const long chunk, const long chunks) {
  long shape[MAX_RANK], strides[MAX_RANK];
  vstore8(shape8, 0, shape);
  vstore8(strides8, 0, strides);
  for (long u = get_global_id(0); u < M * chunks; u += get_global_size(0)) {
    const long o = u / chunks, start = (u % chunks) * chunk, stop = min(R, start + chunk);
    T sum = (T)0;
    for (long r = start; r < stop; ++r) sum += x[x_offset + strided_offset(o * R + r, rank, shape, strides)];
    out[u] = scale * sum;
  }
}

// ---- max over axes ------------------------------------------------------------------------------
// The same arrangement as the sums (kept axes first, reduced axes last: output o and reduced
// position r at row-major index o·R + r). One work-item per output row, scanning it in order, so
// the argmax is the FIRST maximal element (the first NaN if any: NaN propagates), exactly the rule
// of backends/cpu/reduce.cpp's row_argmax; forward, vjp and jvp recompute it from x, so they agree.
// Layout: 1-D, grid-stride over the M outputs; no local memory. Serial per row: a full max of a
// long tensor is one work-item (correct, not fast; the models' max are over small axes).

inline long row_argmax(global const T* x, const long x_offset, const long o, const long R, const int rank,
                       const long* shape, const long* strides) {
  long best = 0;
  T best_value = x[x_offset + strided_offset(o * R, rank, shape, strides)];
  for (long r = 1; r < R && best_value == best_value; ++r) {
    const T v = x[x_offset + strided_offset(o * R + r, rank, shape, strides)];
    if (v > best_value || v != v) best = r, best_value = v;
  }
  return best;
}

// y[o] = max_r x[o, r]
kernel void reduce_max(const long M, const long R, const int rank, const long8 shape8, global const T* x,
                       const long x_offset, const long8 x_strides8, global T* out) {
  long shape[MAX_RANK], strides[MAX_RANK];
  vstore8(shape8, 0, shape);
  vstore8(x_strides8, 0, strides);
  for (long o = get_global_id(0); o < M; o += get_global_size(0)) {
    const long r = row_argmax(x, x_offset, o, R, rank, shape, strides);
    out[o] = x[x_offset + strided_offset(o * R + r, rank, shape, strides)];
  }
}

// jvp: ẏ[o] = ẋ[o, argmax_r x[o, r]]   (ẋ a view arranged like x)
kernel void reduce_max_select(const long M, const long R, const int rank, const long8 shape8, global const T* x,
                              const long x_offset, const long8 x_strides8, global const T* t, const long t_offset,
                              const long8 t_strides8, global T* out) {
  long shape[MAX_RANK], x_strides[MAX_RANK], t_strides[MAX_RANK];
  vstore8(shape8, 0, shape);
  vstore8(x_strides8, 0, x_strides);
  vstore8(t_strides8, 0, t_strides);
  for (long o = get_global_id(0); o < M; o += get_global_size(0)) {
    const long r = row_argmax(x, x_offset, o, R, rank, shape, x_strides);
    out[o] = t[t_offset + strided_offset(o * R + r, rank, shape, t_strides)];
  }
}

// vjp: x̄[o, r] = ȳ[o] where r is row o's argmax, 0 elsewhere; x̄ (a new contiguous tensor, viewed
// arranged like x) is written whole, row by row, so no separate zero fill is needed. ȳ contiguous [M]
// from g_offset.
kernel void reduce_max_scatter(const long M, const long R, const int rank, const long8 shape8, global const T* x,
                               const long x_offset, const long8 x_strides8, global const T* g, const long g_offset,
                               global T* dx, const long dx_offset, const long8 dx_strides8) {
  long shape[MAX_RANK], x_strides[MAX_RANK], dx_strides[MAX_RANK];
  vstore8(shape8, 0, shape);
  vstore8(x_strides8, 0, x_strides);
  vstore8(dx_strides8, 0, dx_strides);
  for (long o = get_global_id(0); o < M; o += get_global_size(0)) {
    const long best = row_argmax(x, x_offset, o, R, rank, shape, x_strides);
    for (long r = 0; r < R; ++r)
      dx[dx_offset + strided_offset(o * R + r, rank, shape, dx_strides)] = r == best ? g[g_offset + o] : (T)0;
  }
}
