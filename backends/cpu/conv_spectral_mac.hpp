#pragma once
// The channel multiply-accumulate of the spectral convolutions: for one block of `spectral_block`
// frequencies, a complex GEMM
//   C[i, j] (+)= Σ_k opA(A[i, k]) · opB(B[k, j]),   op = identity or conjugate,
// where every element is a vector of `block` frequencies stored split (block real parts, then block
// imaginary parts). The innermost loop runs over the frequencies of the block: with the element
// count fixed at compile time the compiler keeps an IB×JB tile of accumulators in vector registers
// and emits plain FMAs (no shuffles, as an interleaved complex layout would need).
//
// Strides are in elements (one element = 2·block reals).
#include <cstdint>

#include "nodal/backends/cpu/conv_spectral.hpp"

namespace nodal::cpu::spectral {

template <class T, bool conj_a, bool conj_b, int IB, int JB>
inline void block_gemm_tile(std::int64_t K, const T* a, std::int64_t a_i, std::int64_t a_k, const T* b,
                            std::int64_t b_k, std::int64_t b_j, T* c, std::int64_t c_i, std::int64_t c_j,
                            bool accumulate) {
  constexpr std::int64_t blk = spectral_block<T>, e = 2 * blk;
  T re[IB][JB][blk], im[IB][JB][blk];
  for (int i = 0; i < IB; ++i)
    for (int j = 0; j < JB; ++j)
      for (std::int64_t l = 0; l < blk; ++l) re[i][j][l] = im[i][j][l] = T(0);
  for (std::int64_t k = 0; k < K; ++k) {
    for (int i = 0; i < IB; ++i) {
      const T* ar = a + (i * a_i + k * a_k) * e;
      for (int j = 0; j < JB; ++j) {
        const T* br = b + (k * b_k + j * b_j) * e;
#pragma omp simd
        for (std::int64_t l = 0; l < blk; ++l) {
          const T xr = ar[l], xi = conj_a ? -ar[blk + l] : ar[blk + l];
          const T yr = br[l], yi = conj_b ? -br[blk + l] : br[blk + l];
          re[i][j][l] += xr * yr - xi * yi;
          im[i][j][l] += xr * yi + xi * yr;
        }
      }
    }
  }
  for (int i = 0; i < IB; ++i)
    for (int j = 0; j < JB; ++j) {
      T* cr = c + (i * c_i + j * c_j) * e;
      if (accumulate) {
#pragma omp simd
        for (std::int64_t l = 0; l < blk; ++l) {
          cr[l] += re[i][j][l];
          cr[blk + l] += im[i][j][l];
        }
      } else {
#pragma omp simd
        for (std::int64_t l = 0; l < blk; ++l) {
          cr[l] = re[i][j][l];
          cr[blk + l] = im[i][j][l];
        }
      }
    }
}

// C (I×J) (+)= opA(A) (I×K) · opB(B) (K×J) on one frequency block; tiles of 2×4 with edge tiles.
template <class T, bool conj_a, bool conj_b>
void block_gemm(std::int64_t I, std::int64_t J, std::int64_t K, const T* a, std::int64_t a_i, std::int64_t a_k,
                const T* b, std::int64_t b_k, std::int64_t b_j, T* c, std::int64_t c_i, std::int64_t c_j,
                bool accumulate) {
  constexpr std::int64_t e = 2 * spectral_block<T>;
  auto rows = [&]<int IB>(std::int64_t i) {
    const T* ai = a + i * a_i * e;
    T* ci = c + i * c_i * e;
    std::int64_t j = 0;
    for (; j + 4 <= J; j += 4)
      block_gemm_tile<T, conj_a, conj_b, IB, 4>(K, ai, a_i, a_k, b + j * b_j * e, b_k, b_j, ci + j * c_j * e, c_i,
                                                c_j, accumulate);
    switch (J - j) {
      case 3:
        block_gemm_tile<T, conj_a, conj_b, IB, 3>(K, ai, a_i, a_k, b + j * b_j * e, b_k, b_j, ci + j * c_j * e, c_i,
                                                  c_j, accumulate);
        break;
      case 2:
        block_gemm_tile<T, conj_a, conj_b, IB, 2>(K, ai, a_i, a_k, b + j * b_j * e, b_k, b_j, ci + j * c_j * e, c_i,
                                                  c_j, accumulate);
        break;
      case 1:
        block_gemm_tile<T, conj_a, conj_b, IB, 1>(K, ai, a_i, a_k, b + j * b_j * e, b_k, b_j, ci + j * c_j * e, c_i,
                                                  c_j, accumulate);
        break;
      default: break;
    }
  };
  std::int64_t i = 0;
  for (; i + 2 <= I; i += 2) rows.template operator()<2>(i);
  if (i < I) rows.template operator()<1>(i);
}

}  // namespace nodal::cpu::spectral
