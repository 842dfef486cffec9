// Out-of-place transposition: naive, blocked (tiled) and recursive cache-oblivious.
#include "nodal/fft/transpose.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <functional>

#include "nodal/core/error.hpp"

namespace nodal::fft {

std::string_view to_string(TransposeMethod method) {
  switch (method) {
    case TransposeMethod::naive: return "naive";
    case TransposeMethod::blocked: return "blocked";
    case TransposeMethod::recursive: return "recursive";
    case TransposeMethod::automatic: return "automatic";
  }
  return "unknown";
}

namespace {

// Rejects layouts that would read or write out of the described matrices, and aliasing: a
// transposition cannot be done in place through this interface (rows of `out` would overwrite
// elements of `in` not read yet).
template <class T>
void check_layout(const char* operation, const T* in, const T* out, std::size_t rows,
                  std::size_t cols, std::size_t in_ld, std::size_t out_ld) {
  if (rows == 0 || cols == 0) return;
  if (in == nullptr || out == nullptr)
    throw ValueError(fmt::format("{}: null buffer for a {}x{} matrix", operation, rows, cols));
  if (in_ld < cols)
    throw ValueError(fmt::format("{}: input leading dimension {} is smaller than the {} columns",
                                 operation, in_ld, cols));
  if (out_ld < rows)
    throw ValueError(fmt::format("{}: output leading dimension {} is smaller than the {} rows",
                                 operation, out_ld, rows));
  const T* in_end = in + (rows - 1) * in_ld + cols;
  const T* out_end = out + (cols - 1) * out_ld + rows;
  std::less<const T*> before;
  if (before(in, out_end) && before(out, in_end))
    throw ValueError(fmt::format("{}: input and output of the {}x{} transposition overlap; it is "
                                 "out-of-place only",
                                 operation, rows, cols));
}

template <class T>
void naive_kernel(const T* in, T* out, std::size_t rows, std::size_t cols, std::size_t in_ld,
                  std::size_t out_ld) {
  for (std::size_t i = 0; i < rows; ++i) {
    const T* row = in + i * in_ld;
    for (std::size_t j = 0; j < cols; ++j) out[j * out_ld + i] = row[j];
  }
}

// 4×4 blocks of 8-byte elements (complex<float>, double) transposed in registers: four row loads,
// eight element shuffles, four column stores, where the scalar loop moves one element per load and
// store. 32-byte vectors of GCC/Clang vector extensions (one AVX register, two SSE ones elsewhere).
template <class T>
void register_kernel(const T* in, T* out, std::size_t rows, std::size_t cols, std::size_t in_ld,
                     std::size_t out_ld) {
  static_assert(sizeof(T) == 8);
  typedef unsigned long long V __attribute__((vector_size(32)));
  typedef long long Mask __attribute__((vector_size(32)));
  auto load = [](const T* p) {
    V v;
    std::memcpy(&v, static_cast<const void*>(p), sizeof(V));
    return v;
  };
  auto store = [](T* p, const V& v) { std::memcpy(static_cast<void*>(p), &v, sizeof(V)); };
  const std::size_t r4 = rows / 4 * 4, c4 = cols / 4 * 4;
  for (std::size_t i = 0; i < r4; i += 4)
    for (std::size_t j = 0; j < c4; j += 4) {
      const T* p = in + i * in_ld + j;
      const V a0 = load(p), a1 = load(p + in_ld), a2 = load(p + 2 * in_ld), a3 = load(p + 3 * in_ld);
      // t0 = a0[0] a1[0] a0[2] a1[2], t1 = a0[1] a1[1] a0[3] a1[3] (likewise t2, t3 from a2, a3);
      // then column k of the block is the halves of t_{k%2} and t_{k%2 + 2}.
      const V t0 = __builtin_shuffle(a0, a1, Mask{0, 4, 2, 6}), t1 = __builtin_shuffle(a0, a1, Mask{1, 5, 3, 7});
      const V t2 = __builtin_shuffle(a2, a3, Mask{0, 4, 2, 6}), t3 = __builtin_shuffle(a2, a3, Mask{1, 5, 3, 7});
      T* q = out + j * out_ld + i;
      store(q, __builtin_shuffle(t0, t2, Mask{0, 1, 4, 5}));
      store(q + out_ld, __builtin_shuffle(t1, t3, Mask{0, 1, 4, 5}));
      store(q + 2 * out_ld, __builtin_shuffle(t0, t2, Mask{2, 3, 6, 7}));
      store(q + 3 * out_ld, __builtin_shuffle(t1, t3, Mask{2, 3, 6, 7}));
    }
  // The edges: rows below r4 over all columns, and the columns right of c4 for the first r4 rows.
  naive_kernel(in + r4 * in_ld, out + r4, rows - r4, cols, in_ld, out_ld);
  naive_kernel(in + c4, out + c4 * out_ld, r4, cols - c4, in_ld, out_ld);
}

// The small-matrix kernel of `automatic`: register blocks where the element type allows.
template <class T>
void small_kernel(const T* in, T* out, std::size_t rows, std::size_t cols, std::size_t in_ld,
                  std::size_t out_ld) {
  if constexpr (sizeof(T) == 8) register_kernel(in, out, rows, cols, in_ld, out_ld);
  else naive_kernel(in, out, rows, cols, in_ld, out_ld);
}

// Recursion on the longer side: each half is again a transposition of a sub-matrix, with the same
// leading dimensions. Depth is log2(max(rows, cols)/base), so the stack stays shallow.
template <class T>
void recursive_kernel(const T* in, T* out, std::size_t rows, std::size_t cols, std::size_t in_ld,
                      std::size_t out_ld, std::size_t base) {
  if (rows <= base && cols <= base) {
    naive_kernel(in, out, rows, cols, in_ld, out_ld);
  } else if (rows >= cols) {
    const std::size_t half = rows / 2;
    recursive_kernel(in, out, half, cols, in_ld, out_ld, base);
    recursive_kernel(in + half * in_ld, out + half, rows - half, cols, in_ld, out_ld, base);
  } else {
    const std::size_t half = cols / 2;
    recursive_kernel(in, out, rows, half, in_ld, out_ld, base);
    recursive_kernel(in + half, out + half * out_ld, rows, cols - half, in_ld, out_ld, base);
  }
}

}  // namespace

template <class T>
void transpose_naive(const T* in, T* out, std::size_t rows, std::size_t cols, std::size_t in_ld,
                     std::size_t out_ld) {
  check_layout("fft::transpose_naive", in, out, rows, cols, in_ld, out_ld);
  if (rows == 0 || cols == 0) return;
  naive_kernel(in, out, rows, cols, in_ld, out_ld);
}

template <class T>
void transpose_blocked(const T* in, T* out, std::size_t rows, std::size_t cols, std::size_t in_ld,
                       std::size_t out_ld, std::size_t tile) {
  check_layout("fft::transpose_blocked", in, out, rows, cols, in_ld, out_ld);
  if (tile == 0) throw ValueError("fft::transpose_blocked: tile size 0");
  if (rows == 0 || cols == 0) return;
  for (std::size_t i0 = 0; i0 < rows; i0 += tile) {
    const std::size_t i1 = std::min(rows, i0 + tile);
    for (std::size_t j0 = 0; j0 < cols; j0 += tile) {
      const std::size_t j1 = std::min(cols, j0 + tile);
      if constexpr (sizeof(T) == 8) {  // 4×4 register blocks within the tile
        register_kernel(in + i0 * in_ld + j0, out + j0 * out_ld + i0, i1 - i0, j1 - j0, in_ld, out_ld);
        continue;
      }
      // Within the tile, walk output rows so the stores are contiguous: loads hit the L1-resident
      // input tile, and few in-flight stores keeps the store buffer from stalling.
      for (std::size_t j = j0; j < j1; ++j) {
        T* out_row = out + j * out_ld;
        const T* in_col = in + j;
        for (std::size_t i = i0; i < i1; ++i) out_row[i] = in_col[i * in_ld];
      }
    }
  }
}

template <class T>
void transpose_recursive(const T* in, T* out, std::size_t rows, std::size_t cols,
                         std::size_t in_ld, std::size_t out_ld, std::size_t base) {
  check_layout("fft::transpose_recursive", in, out, rows, cols, in_ld, out_ld);
  if (base == 0) throw ValueError("fft::transpose_recursive: base-case size 0");
  if (rows == 0 || cols == 0) return;
  recursive_kernel(in, out, rows, cols, in_ld, out_ld, base);
}

template <class T>
void transpose(const T* in, T* out, std::size_t rows, std::size_t cols, std::size_t in_ld,
               std::size_t out_ld, TransposeMethod method) {
  switch (method) {
    case TransposeMethod::naive: return transpose_naive(in, out, rows, cols, in_ld, out_ld);
    case TransposeMethod::blocked: return transpose_blocked(in, out, rows, cols, in_ld, out_ld);
    case TransposeMethod::recursive: return transpose_recursive(in, out, rows, cols, in_ld, out_ld);
    case TransposeMethod::automatic:
      // 32 KiB: both matrices stay in a typical L1 data cache, so the naive loop has nothing to lose.
      if (rows * cols * sizeof(T) <= 16 * 1024) {
        check_layout("fft::transpose", in, out, rows, cols, in_ld, out_ld);
        if (rows == 0 || cols == 0) return;
        return small_kernel(in, out, rows, cols, in_ld, out_ld);
      }
      return transpose_blocked(in, out, rows, cols, in_ld, out_ld);
  }
  throw ValueError(fmt::format("fft::transpose: unknown method {}", static_cast<int>(method)));
}

#define NODAL_FFT_TRANSPOSE_INSTANTIATE(T)                                                      \
  template void transpose_naive<T>(const T*, T*, std::size_t, std::size_t, std::size_t,           \
                                   std::size_t);                                                  \
  template void transpose_blocked<T>(const T*, T*, std::size_t, std::size_t, std::size_t,         \
                                     std::size_t, std::size_t);                                   \
  template void transpose_recursive<T>(const T*, T*, std::size_t, std::size_t, std::size_t,       \
                                       std::size_t, std::size_t);                                 \
  template void transpose<T>(const T*, T*, std::size_t, std::size_t, std::size_t, std::size_t,    \
                             TransposeMethod);

NODAL_FFT_TRANSPOSE_INSTANTIATE(float)
NODAL_FFT_TRANSPOSE_INSTANTIATE(double)
NODAL_FFT_TRANSPOSE_INSTANTIATE(std::complex<float>)
NODAL_FFT_TRANSPOSE_INSTANTIATE(std::complex<double>)
#undef NODAL_FFT_TRANSPOSE_INSTANTIATE

}  // namespace nodal::fft
