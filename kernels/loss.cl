// Loss functions: cross_entropy over logits [N, C] with class-index labels (label smoothing ε),
// and mse. Compiled per element type like elementwise.cl (-DT=float | -DT=double -DNODAL_FP64).
// All operands are contiguous from their `*_offset`; the cotangent of a loss (a scalar) is read
// from device memory, so a training step never waits for the host.
//
// cross_entropy, per row i with p = softmax(z_i), q = (1 − ε)·onehot(label_i) + ε/C:
//   loss_i = logsumexp(z_i) − (1 − ε)·z_i,label − ε·mean(z_i),   ∂loss_i/∂z_i = p − q
// A label that is not an integer in [0, C) makes its row's loss and gradient NaN (the kernel never
// reads outside the row): the host cannot check device labels without waiting for them.
//
// Work-group layout (cross_entropy): the L items of a group (L a power of two ≤ 256) are cut into
// L / W segments of W items, W a power of two ≥ min(C, L): segment s handles row pass·(L/W) + s,
// so a 10-class batch puts 16 rows in a 256-item group at once instead of leaving 246 items idle.
// Each row statistic (max, Σ exp, Σ z, Σ ż terms) is a private partial per item, then a
// segmented tree in __local memory (`scratch`, L · sizeof(T) bytes; item i adds i + step within
// its segment: sequential addressing, no bank conflicts, no padding needed). Rows past N are
// computed as empty rows so that every item reaches every barrier; their statistics are made
// finite (max 0, Σ 1, label value 0): PoCL (float64) if-converts the leaders' guarded
// accumulation, and a NaN of an inactive row leaked into the batch sum before this.
//   cross_entropy_reduce: ONE group; each segment leader keeps its rows' losses (or jvp terms) in
//     a private sum, and a final tree over the group gives the batch mean: forward and jvp are
//     one launch each, with no partial-sum buffer and a fixed summation order.
//   cross_entropy_vjp: many groups (grid-stride over row passes) writing z̄ = ȳ/N·(p − q).
// mse: mse_reduce is one group of L items striding over the elements (private sums, then one
// tree); mse_vjp writes ā and b̄ in one elementwise pass.
#ifdef NODAL_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

// Reduces `part` over the W items of each segment; every item gets its segment's result.
#define SEGMENT_TREE(op)                                                                    \
  scratch[lid] = part;                                                                      \
  barrier(CLK_LOCAL_MEM_FENCE);                                                             \
  for (int step = W / 2; step > 0; step /= 2) {                                             \
    if (lane < step) scratch[lid] = op(scratch[lid], scratch[lid + step]);                  \
    barrier(CLK_LOCAL_MEM_FENCE);                                                           \
  }                                                                                         \
  part = scratch[lid - lane];                                                               \
  barrier(CLK_LOCAL_MEM_FENCE);

#define ADD(a, b) ((a) + (b))
#define MAX(a, b) fmax((a), (b))

// The statistics of one row shared by forward, vjp and jvp.
typedef struct {
  T m, sum, label_z;  // max, Σ exp(z − max), z at the label
  long label;         // −1 when the label is not a class index
} RowStats;

#define ROW_STATS(st, zr, active)                                                          \
  {                                                                                         \
    T part = -INFINITY;                                                                     \
    if (active)                                                                             \
      for (long k = lane; k < C; k += W) part = fmax(part, zr[k]);                          \
    SEGMENT_TREE(MAX);                                                                      \
    st.m = part;                                                                            \
    part = (T)0;                                                                            \
    if (active)                                                                             \
      for (long k = lane; k < C; k += W) part += exp(zr[k] - st.m);                         \
    SEGMENT_TREE(ADD);                                                                      \
    st.sum = active ? part : (T)1; /* empty rows: finite values, never used */              \
    if (!active) st.m = (T)0;                                                               \
    st.label = -1;                                                                          \
    st.label_z = active ? (T)NAN : (T)0; /* NaN marks a bad label of a real row */          \
    if (active) {                                                                           \
      const T lab = labels[labels_offset + row];                                            \
      if (lab >= (T)0 && lab < (T)C && lab == floor(lab)) {                                 \
        st.label = (long)lab;                                                               \
        st.label_z = zr[st.label];                                                          \
      }                                                                                     \
    }                                                                                       \
  }

// mode 0 (forward): out[0] = (1/N)·Σ_i loss_i
// mode 1 (jvp):     out[0] = (1/N)·Σ_i Σ_c (p_ic − q_ic)·ż_ic   (dz = the logits' tangent)
// One work-group; see the layout above.
kernel void cross_entropy_reduce(const long N, const long C, const int W, const T eps, const T inv_n,
                                 const int mode, global const T* z, const long z_offset, global const T* labels,
                                 const long labels_offset, global const T* dz, const long dz_offset,
                                 global T* out, local T* scratch) {
  const int lid = get_local_id(0), L = get_local_size(0), lane = lid % W, per_pass = L / W;
  T acc = (T)0;  // the sum of this segment's rows (meaningful in its leader, lane 0)
  for (long first = 0; first < N; first += per_pass) {
    const long row = first + lid / W;
    const bool active = row < N;
    global const T* zr = z + z_offset + (active ? row : 0) * C;
    RowStats st;
    ROW_STATS(st, zr, active);
    T part = (T)0;
    if (mode == 0) {
      if (active)
        for (long k = lane; k < C; k += W) part += zr[k];
      SEGMENT_TREE(ADD);
      // −Σ q_c log p_c = lse − (1 − ε)·z_label − ε·mean(z)
      const T row_loss = st.m + log(st.sum) - ((T)1 - eps) * st.label_z - eps * (part / (T)C);
      if (active && lane == 0) acc += row_loss;
    } else {
      global const T* dr = dz + dz_offset + (active ? row : 0) * C;
      const T inv_sum = (T)1 / st.sum, smooth = eps / (T)C;
      if (active)
        for (long k = lane; k < C; k += W) {
          const T q = (k == st.label ? (T)1 - eps : (T)0) + smooth;
          part += (exp(zr[k] - st.m) * inv_sum - q) * dr[k];
        }
      SEGMENT_TREE(ADD);
      const bool bad_label = active && st.label < 0;  // inactive rows have label −1 and part 0
      if (active && lane == 0) acc += bad_label ? (T)NAN : part;
    }
  }
  // the batch sum: a tree over the whole group (non-leaders hold 0)
  scratch[lid] = lane == 0 ? acc : (T)0;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int step = L / 2; step > 0; step /= 2) {
    if (lid < step) scratch[lid] += scratch[lid + step];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) out[0] = scratch[0] * inv_n;
}

// z̄_i = ȳ/N · (p_i − q_i), ȳ = gy[gy_offset] (the loss's cotangent, on the device).
kernel void cross_entropy_vjp(const long N, const long C, const int W, const T eps, const T inv_n,
                              global const T* z, const long z_offset, global const T* labels,
                              const long labels_offset, global const T* gy, const long gy_offset, global T* dz,
                              local T* scratch) {
  const int lid = get_local_id(0), L = get_local_size(0), lane = lid % W, per_pass = L / W;
  const T scale = gy[gy_offset] * inv_n;
  for (long first = get_group_id(0) * per_pass; first < N; first += get_num_groups(0) * per_pass) {
    const long row = first + lid / W;
    const bool active = row < N;
    global const T* zr = z + z_offset + (active ? row : 0) * C;
    RowStats st;
    ROW_STATS(st, zr, active);
    if (active) {
      const T inv_sum = (T)1 / st.sum, smooth = eps / (T)C;
      for (long k = lane; k < C; k += W) {
        const T q = (k == st.label ? (T)1 - eps : (T)0) + smooth;
        dz[row * C + k] = st.label < 0 ? (T)NAN : scale * (exp(zr[k] - st.m) * inv_sum - q);
      }
    }
  }
}

// mode 0 (forward): out[0] = s·Σ (a − b)²
// mode 1 (jvp):     out[0] = 2s·Σ (a − b)(ȧ − ḃ), a missing tangent (has_ta / has_tb 0) being 0
// One work-group of L items striding over the n elements, then a tree over the group.
kernel void mse_reduce(const long n, const T s, const int mode, global const T* a, const long a_offset,
                       global const T* b, const long b_offset, const int has_ta, global const T* ta,
                       const long ta_offset, const int has_tb, global const T* tb, const long tb_offset,
                       global T* out, local T* scratch) {
  const int lid = get_local_id(0), L = get_local_size(0);
  T part = (T)0;
  for (long i = lid; i < n; i += L) {
    const T d = a[a_offset + i] - b[b_offset + i];
    if (mode == 0) {
      part += d * d;
    } else {
      T t = (T)0;
      if (has_ta) t += ta[ta_offset + i];
      if (has_tb) t -= tb[tb_offset + i];
      part += d * t;
    }
  }
  scratch[lid] = part;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int step = L / 2; step > 0; step /= 2) {
    if (lid < step) scratch[lid] += scratch[lid + step];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) out[0] = (mode == 0 ? s : (T)2 * s) * scratch[0];
}

// ā = k·(a − b), b̄ = k·(b − a) with k = 2s·ȳ (ȳ = gy[gy_offset]), as the CPU computes them;
// either output skipped when its flag is 0. Elementwise, grid-stride.
kernel void mse_vjp(const long n, const T two_s, global const T* gy, const long gy_offset, global const T* a,
                    const long a_offset, global const T* b, const long b_offset, const int want_a, global T* da,
                    const int want_b, global T* db) {
  const T k = two_s * gy[gy_offset];
  for (long i = get_global_id(0); i < n; i += get_global_size(0)) {
    const T av = a[a_offset + i], bv = b[b_offset + i];
    if (want_a) da[i] = k * (av - bv);
    if (want_b) db[i] = k * (bv - av);
  }
}

// Training-loop metrics: sums[0] += loss·N, sums[1] += #rows whose first largest logit is at the
// label (std::max_element's choice, as the CPU trainer counts). One work-group of L items: item i
// takes rows i, i + L, ... (C is small: a serial arg-max per row), then a tree over the group's
// counts in __local memory (L · sizeof(T) bytes); item 0 updates sums. Counts stay exact in float32
// up to 2^24 images.
kernel void classification_metrics(const long N, const long C, global const T* z, const long z_offset,
                                   global const T* labels, const long labels_offset, global const T* loss,
                                   const long loss_offset, global T* sums, local T* scratch) {
  const int lid = get_local_id(0), L = get_local_size(0);
  T count = (T)0;
  for (long row = lid; row < N; row += L) {
    global const T* zr = z + z_offset + row * C;
    long best = 0;
    for (long k = 1; k < C; ++k)
      if (zr[k] > zr[best]) best = k;
    count += (T)best == labels[labels_offset + row] ? (T)1 : (T)0;
  }
  scratch[lid] = count;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int step = L / 2; step > 0; step /= 2) {
    if (lid < step) scratch[lid] += scratch[lid + step];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) {
    sums[0] += loss[loss_offset] * (T)N;
    sums[1] += scratch[0];
  }
}
