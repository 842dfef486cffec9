// batch_norm over x [N, C, S] (S = product of the spatial extents), contiguous from x_offset.
// Compiled per element type like elementwise.cl (-DT=float | -DT=double -DNODAL_FP64).
//
// Work-group layout: one work-group per channel (group g takes channels g, g + groups, ...), L
// items (a power of two ≤ 256). The channel's M = N·S elements are visited as j = lid, lid + L, ...
// (element j is x[(j / S · C + ch)·S + j % S], so consecutive items read consecutive addresses
// within a row of S). Every per-channel sum (Σx, Σ(x − μ)², Σȳ, Σȳ(x − μ), the tangent sums) is
// a private partial per item, then a tree in __local memory (`scratch`, L · sizeof(T) bytes,
// sequential addressing: no bank conflicts, no padding needed). The group then writes its
// channel's results, so each kernel is ONE launch per node call (statistics and the normalised
// output fused, or the parameter gradients and x̄ fused). Every item reaches every barrier.
//
// Statistics are two-pass (mean, then Σ(x − μ)²: no cancellation, as on the CPU) and accumulated
// in T with the tree above; the CPU accumulates in double (see the parity test's tolerance).
// The running statistics are updated by item 0 of the channel's group (train + update only):
//   rm ← (1 − m)·rm + m·μ,   rv ← (1 − m)·rv + m·σ²·M/(M − 1)
#ifdef NODAL_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#define AT(j) (((j) / S * C + ch) * S + (j) % S)

#define TREE_SUM(result)                                    \
  scratch[lid] = part;                                      \
  barrier(CLK_LOCAL_MEM_FENCE);                             \
  for (int step = L / 2; step > 0; step /= 2) {             \
    if (lid < step) scratch[lid] += scratch[lid + step];    \
    barrier(CLK_LOCAL_MEM_FENCE);                           \
  }                                                         \
  result = scratch[0];                                      \
  barrier(CLK_LOCAL_MEM_FENCE);

// The channel's mean and 1/√(σ² + ε): from the batch (training) or from the running statistics.
#define CHANNEL_STATS(mean, inv_std)                                            \
  T mean, inv_std;                                                              \
  if (training) {                                                               \
    T part = (T)0;                                                              \
    for (long j = lid; j < M; j += L) part += xc[AT(j)];                        \
    T total;                                                                    \
    TREE_SUM(total);                                                            \
    mean = total / (T)M;                                                        \
    part = (T)0;                                                                \
    for (long j = lid; j < M; j += L) {                                         \
      const T d = xc[AT(j)] - mean;                                             \
      part += d * d;                                                            \
    }                                                                           \
    TREE_SUM(total);                                                            \
    var = total / (T)M;                                                         \
    inv_std = (T)1 / sqrt(var + eps);                                           \
  } else {                                                                      \
    mean = rm[rm_offset + ch];                                                  \
    inv_std = (T)1 / sqrt(rv[rv_offset + ch] + eps);                            \
  }

// y = γ·(x − μ)·inv_std + β, with the running statistics updated when training && update.
kernel void batch_norm_forward(const long N, const long C, const long S, const int training, const int update,
                               const T eps, const T momentum, const T unbiased, global const T* x,
                               const long x_offset, global const T* gamma, const long gamma_offset,
                               global const T* beta, const long beta_offset, global T* rm, const long rm_offset,
                               global T* rv, const long rv_offset, global T* y, local T* scratch) {
  const int lid = get_local_id(0), L = get_local_size(0);
  const long M = N * S;
  global const T* xc = x + x_offset;
  for (long ch = get_group_id(0); ch < C; ch += get_num_groups(0)) {
    T var = (T)0;
    CHANNEL_STATS(mean, inv_std);
    if (training && update && lid == 0) {
      rm[rm_offset + ch] = ((T)1 - momentum) * rm[rm_offset + ch] + momentum * mean;
      rv[rv_offset + ch] = ((T)1 - momentum) * rv[rv_offset + ch] + momentum * var * unbiased;
    }
    const T scale = gamma[gamma_offset + ch] * inv_std;
    const T shift = beta[beta_offset + ch] - mean * scale;
    for (long j = lid; j < M; j += L) y[AT(j)] = xc[AT(j)] * scale + shift;
  }
}

// With x̂ = (x − μ)·inv_std (sums over the channel's M elements):
//   β̄ = Σ ȳ,   γ̄ = Σ ȳ·x̂
//   training:   x̄ = γ·inv_std·(ȳ − β̄/M − x̂·γ̄/M)     (μ and σ² depend on x)
//   evaluation: x̄ = γ·inv_std·ȳ
kernel void batch_norm_vjp(const long N, const long C, const long S, const int training, const T eps,
                           global const T* x, const long x_offset, global const T* gamma, const long gamma_offset,
                           global const T* rm, const long rm_offset, global const T* rv, const long rv_offset,
                           global const T* dy, const long dy_offset, const int want_dx, global T* dx,
                           global T* dgamma, global T* dbeta, local T* scratch) {
  const int lid = get_local_id(0), L = get_local_size(0);
  const long M = N * S;
  global const T* xc = x + x_offset;
  global const T* gc = dy + dy_offset;
  for (long ch = get_group_id(0); ch < C; ch += get_num_groups(0)) {
    T var = (T)0;
    CHANNEL_STATS(mean, inv_std);
    T part = (T)0, sb, sg;
    for (long j = lid; j < M; j += L) part += gc[AT(j)];
    TREE_SUM(sb);
    part = (T)0;
    for (long j = lid; j < M; j += L) part += gc[AT(j)] * (xc[AT(j)] - mean);
    TREE_SUM(sg);
    const T dg = sg * inv_std;
    if (lid == 0) {
      dgamma[ch] = dg;
      dbeta[ch] = sb;
    }
    if (want_dx) {
      const T k = gamma[gamma_offset + ch] * inv_std;
      const T mean_dy = sb / (T)M, mean_dy_xhat = dg / (T)M;
      for (long j = lid; j < M; j += L) {
        const long at = AT(j);
        const T xhat = (xc[at] - mean) * inv_std;
        dx[at] = training ? k * (gc[at] - mean_dy - xhat * mean_dy_xhat) : k * gc[at];
      }
    }
  }
}

// ẏ = γ̇·x̂ + β̇ + γ·inv_std·ẋ_c, ẋ_c = ẋ − mean(ẋ) − x̂·mean(x̂·ẋ) in training, ẋ in evaluation.
// A missing tangent (has_* = 0) is zero and its pointer a placeholder that is never read.
kernel void batch_norm_jvp(const long N, const long C, const long S, const int training, const T eps,
                           global const T* x, const long x_offset, global const T* gamma, const long gamma_offset,
                           global const T* rm, const long rm_offset, global const T* rv, const long rv_offset,
                           const int has_dx, global const T* tx, const long tx_offset, const int has_dg,
                           global const T* tg, const long tg_offset, const int has_db, global const T* tb,
                           const long tb_offset, global T* out, local T* scratch) {
  const int lid = get_local_id(0), L = get_local_size(0);
  const long M = N * S;
  global const T* xc = x + x_offset;
  global const T* txc = tx + tx_offset;
  for (long ch = get_group_id(0); ch < C; ch += get_num_groups(0)) {
    T var = (T)0;
    CHANNEL_STATS(mean, inv_std);
    T mean_dx = (T)0, mean_xhat_dx = (T)0;
    if (training && has_dx) {
      T part = (T)0;
      for (long j = lid; j < M; j += L) part += txc[AT(j)];
      TREE_SUM(mean_dx);
      mean_dx /= (T)M;
      part = (T)0;
      for (long j = lid; j < M; j += L) part += (xc[AT(j)] - mean) * inv_std * txc[AT(j)];
      TREE_SUM(mean_xhat_dx);
      mean_xhat_dx /= (T)M;
    }
    const T g = has_dg ? tg[tg_offset + ch] : (T)0, b = has_db ? tb[tb_offset + ch] : (T)0;
    const T k = gamma[gamma_offset + ch] * inv_std;
    for (long j = lid; j < M; j += L) {
      const long at = AT(j);
      const T xhat = (xc[at] - mean) * inv_std;
      const T d = has_dx ? txc[at] : (T)0;
      const T centered = training ? d - mean_dx - xhat * mean_xhat_dx : d;
      out[at] = g * xhat + b + k * centered;
    }
  }
}
