// Batched GEMM on strided operands: for every batch b,
//   C_b = alpha · A_b · B_b + beta · C_b        A_b: M×K, B_b: K×N, C_b: M×N
// where element (m, k) of A_b sits at A[a_offset + b·a_batch + m·a_row + k·a_col] (likewise B, C).
// Any strides: a transposed operand is the same buffer with its two strides swapped, a broadcast
// batch has batch stride 0, so op(A) / op(B) never cost a copy. beta = 0 never reads C (C may be
// uninitialised); otherwise C is accumulated into (vjps adding a product to a gradient).
// Epilogue: when D is not null, D's element (m, n) at D[d_offset + m·d_row + n·d_col] is added
// last (a bias broadcast along rows or columns: one of its strides 0; the same for every batch),
// so linear's y = x·Wᵀ + b is one launch.
//
// Compiled per element type (-DT=float | -DT=double -DNODAL_FP64) and per tile configuration
// (-DTILE_M, -DTILE_N, -DTILE_K, -DWORK_M, -DWORK_N; backends/opencl/gemm.cpp picks one for CPU
// devices and one for GPUs). All five are powers of two.
//
// Work-group layout. 1-D launch of groups × (GROUP_M · GROUP_N) work-items, GROUP_M = TILE_M /
// WORK_M, GROUP_N = TILE_N / WORK_N. Group g is tile (g % tiles_n, (g / tiles_n) % tiles_m) of
// batch g / (tiles_n · tiles_m): it computes the TILE_M × TILE_N block of C at (m0, n0). Work-item
// (tx, ty) = (lid % GROUP_N, lid / GROUP_N) holds a WORK_M × WORK_N register block of it: rows
// m0 + ty + i·GROUP_M, columns n0 + tx + j·GROUP_N (interleaved, so that adjacent work-items read
// adjacent local words and store adjacent columns of C).
//
// Memory. Per step of TILE_K along K, the group stages A's TILE_M × TILE_K tile and B's TILE_K ×
// TILE_N tile in local memory, stored k-major: As[k][m], Bs[k][n], each row padded by one element
// (pitch TILE_M + 1, TILE_N + 1) so that the pitch is not a multiple of the 32 banks and a column
// walk (the store pattern when k is the operand's unit-stride axis) hits 32 different banks.
// Loads are coalesced: consecutive work-items read consecutive addresses along whichever of the
// operand's two axes has the smaller stride. Out-of-range elements (edges of M, N, K) load as 0,
// so any M, N, K (1, primes) is exact; stores are guarded. Local memory:
// TILE_K · (TILE_M + TILE_N + 2) · sizeof(T) bytes per group.
//
// Accuracy. Each C element is one sum over k in increasing order in T (fused multiply-add where
// the compiler contracts a·b + c, which only tightens the rounding), so |error| ≤ γ_K Σ_k |a||b|.
#ifdef NODAL_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
#pragma OPENCL FP_CONTRACT ON

#ifndef TILE_M
#define TILE_M 32
#define TILE_N 32
#define TILE_K 16
#define WORK_M 4
#define WORK_N 4
#endif

// VECTOR_N (CPU devices): work-item tx owns WORK_N ADJACENT columns n0 + tx·WORK_N + j and keeps
// them as one vector (WORK_N ∈ {2, 4, 8, 16}), so the inner product is WORK_M vector multiply-adds
// per k: PoCL vectorises a work-group across its work-items only in loops without inner loops, so
// the SIMD has to be spelled out here. Otherwise (GPUs) columns interleave as described above.
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#ifdef VECTOR_N
#define VT CAT(T, WORK_N)
#define VLOAD CAT(vload, WORK_N)
#define VSTORE CAT(vstore, WORK_N)
#define COLUMN(j) (tx * WORK_N + (j))
#else
#define COLUMN(j) (tx + (j) * GROUP_N)
#endif

#define GROUP_M (TILE_M / WORK_M)
#define GROUP_N (TILE_N / WORK_N)
#define THREADS (GROUP_M * GROUP_N)

kernel __attribute__((reqd_work_group_size(THREADS, 1, 1)))
void gemm(const long M, const long N, const long K, const long tiles_m, const long tiles_n, const T alpha,
          const T beta, global const T* A, const long a_offset, const long a_row, const long a_col,
          const long a_batch, global const T* B, const long b_offset, const long b_row, const long b_col,
          const long b_batch, global T* C, const long c_offset, const long c_row, const long c_col,
          const long c_batch, global const T* D, const long d_offset, const long d_row, const long d_col) {
  local T As[TILE_K][TILE_M + 1];
  local T Bs[TILE_K][TILE_N + 1];

  const long group = get_group_id(0);
  const long batch = group / (tiles_m * tiles_n);
  const long tile = group % (tiles_m * tiles_n);
  const long m0 = (tile / tiles_n) * TILE_M, n0 = (tile % tiles_n) * TILE_N;
  const int lid = get_local_id(0);
  const int tx = lid % GROUP_N, ty = lid / GROUP_N;

  global const T* a = A + a_offset + batch * a_batch;
  global const T* b = B + b_offset + batch * b_batch;
  // Which axis consecutive work-items walk when loading: the one with the smaller stride.
  const bool a_m_fast = a_row <= a_col;
  const bool b_n_fast = b_col <= b_row;

#ifdef VECTOR_N
  VT acc[WORK_M];
#pragma unroll
  for (int i = 0; i < WORK_M; ++i) acc[i] = (VT)0;
#else
  T acc[WORK_M][WORK_N];
#pragma unroll
  for (int i = 0; i < WORK_M; ++i)
#pragma unroll
    for (int j = 0; j < WORK_N; ++j) acc[i][j] = (T)0;
#endif

  for (long k0 = 0; k0 < K; k0 += TILE_K) {
    for (int l = lid; l < TILE_M * TILE_K; l += THREADS) {
      const int mm = a_m_fast ? l % TILE_M : l / TILE_K;
      const int kk = a_m_fast ? l / TILE_M : l % TILE_K;
      const long m = m0 + mm, k = k0 + kk;
      As[kk][mm] = (m < M && k < K) ? a[m * a_row + k * a_col] : (T)0;
    }
    for (int l = lid; l < TILE_K * TILE_N; l += THREADS) {
      const int nn = b_n_fast ? l % TILE_N : l / TILE_K;
      const int kk = b_n_fast ? l / TILE_N : l % TILE_K;
      const long k = k0 + kk, n = n0 + nn;
      Bs[kk][nn] = (k < K && n < N) ? b[k * b_row + n * b_col] : (T)0;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll 4
    for (int kk = 0; kk < TILE_K; ++kk) {
      T av[WORK_M];
#pragma unroll
      for (int i = 0; i < WORK_M; ++i) av[i] = As[kk][ty + i * GROUP_M];
#ifdef VECTOR_N
      const VT bv = VLOAD(0, &Bs[kk][tx * WORK_N]);
#pragma unroll
      for (int i = 0; i < WORK_M; ++i) acc[i] += av[i] * bv;
#else
      T bv[WORK_N];
#pragma unroll
      for (int j = 0; j < WORK_N; ++j) bv[j] = Bs[kk][tx + j * GROUP_N];
#pragma unroll
      for (int i = 0; i < WORK_M; ++i)
#pragma unroll
        for (int j = 0; j < WORK_N; ++j) acc[i][j] += av[i] * bv[j];
#endif
    }
    barrier(CLK_LOCAL_MEM_FENCE);  // the tiles are read before the next step overwrites them
  }

  global T* c = C + c_offset + batch * c_batch;
#pragma unroll
  for (int i = 0; i < WORK_M; ++i) {
    const long m = m0 + ty + i * GROUP_M;
#ifdef VECTOR_N
    T result[WORK_N];
    VSTORE(acc[i], 0, result);
#endif
#pragma unroll
    for (int j = 0; j < WORK_N; ++j) {
      const long n = n0 + COLUMN(j);
      if (m < M && n < N) {
        global T* out = c + m * c_row + n * c_col;
#ifdef VECTOR_N
        const T value = result[j];
#else
        const T value = acc[i][j];
#endif
        T result = beta == (T)0 ? alpha * value : alpha * value + beta * *out;
        if (D) result += D[d_offset + m * d_row + n * d_col];
        *out = result;
      }
    }
  }
}
