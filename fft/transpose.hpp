#pragma once
// Out-of-place matrix transposition, the step that "many core issues of FFT implementations reduce
// to" (row–column multi-dimensional FFTs, four-step FFTs). Three variants:
//   naive      — one loop nest: reads rows contiguously, writes columns with a stride. Slow for large
//                matrices and pathologically slow for power-of-two leading dimensions, whose column
//                writes all map to the same few cache sets.
//   blocked    — the matrix is cut into tile×tile blocks; each block is transposed while it sits in
//                L1, so every cache line fetched is used fully before it is evicted.
//   recursive  — cache-oblivious: split the longer side in half until the piece is small, so some
//                level of the recursion fits every cache level without knowing its size.
// In-place transposition of non-square matrices is deliberately not offered (cycle-following is
// slow and complicated); callers provide a second buffer.
//
// Layout: `in` is rows×cols, row-major, with leading dimension in_ld ≥ cols (elements between the
// starts of consecutive rows); `out` receives cols×rows with leading dimension out_ld ≥ rows, i.e.
// out[j*out_ld + i] = in[i*in_ld + j]. Element types: float, double, complex<float>, complex<double>.
#include <complex>
#include <cstddef>
#include <string_view>

namespace nodal::fft {

enum class TransposeMethod { naive, blocked, recursive, automatic };

std::string_view to_string(TransposeMethod method);

// Side of the square tiles of the blocked variant and of the recursive variant's base case. 32
// complex<double> rows of 32 elements are 16 KiB in + 16 KiB out, about an L1 data cache.
inline constexpr std::size_t transpose_default_tile = 32;

template <class T>
void transpose_naive(const T* in, T* out, std::size_t rows, std::size_t cols, std::size_t in_ld,
                     std::size_t out_ld);

template <class T>
void transpose_blocked(const T* in, T* out, std::size_t rows, std::size_t cols, std::size_t in_ld,
                       std::size_t out_ld, std::size_t tile = transpose_default_tile);

template <class T>
void transpose_recursive(const T* in, T* out, std::size_t rows, std::size_t cols,
                         std::size_t in_ld, std::size_t out_ld,
                         std::size_t base = transpose_default_tile);

// Dispatches to a variant; `automatic` uses the naive loop order for matrices that fit in L1 (where
// tiling costs more than it saves; 8-byte elements move as 4×4 blocks through registers) and blocked
// otherwise (measured faster than recursive on this code base's benchmark machine; both are offered
// so the bench can show the difference).
template <class T>
void transpose(const T* in, T* out, std::size_t rows, std::size_t cols, std::size_t in_ld,
               std::size_t out_ld, TransposeMethod method = TransposeMethod::automatic);

// Contiguous convenience form: in_ld = cols, out_ld = rows.
template <class T>
void transpose(const T* in, T* out, std::size_t rows, std::size_t cols,
               TransposeMethod method = TransposeMethod::automatic) {
  transpose(in, out, rows, cols, cols, rows, method);
}

}  // namespace nodal::fft
