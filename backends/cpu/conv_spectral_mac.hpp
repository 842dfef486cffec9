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
#include <algorithm>
#include <cstdint>
#include <vector>

#include "nodal/backends/cpu/conv_spectral.hpp"

namespace nodal::cpu::spectral {

// One 64-byte vector of T as a GCC/Clang vector type: the IB×JB accumulators are named values the
// compiler keeps in registers (plain arrays of T were spilled to the stack, one load-add-store per
// product). On machines without 512-bit vectors the compiler splits each into narrower ones.
template <class T> struct Vector64;
template <> struct Vector64<float> {
  typedef float type __attribute__((vector_size(64)));
};
template <> struct Vector64<double> {
  typedef double type __attribute__((vector_size(64)));
};

template <class V> inline V load_vector(const void* p) {
  V v;
  __builtin_memcpy(&v, p, sizeof(V));
  return v;
}
template <class V> inline void store_vector(void* p, const V& v) { __builtin_memcpy(p, &v, sizeof(V)); }

template <class T, bool conj_a, bool conj_b, int IB, int JB>
inline void block_gemm_tile(std::int64_t K, const T* a, std::int64_t a_i, std::int64_t a_k, const T* b,
                            std::int64_t b_k, std::int64_t b_j, T* c, std::int64_t c_i, std::int64_t c_j,
                            bool accumulate) {
  using V = typename Vector64<T>::type;
  constexpr std::int64_t blk = spectral_block<T>, e = 2 * blk;
  static_assert(sizeof(V) == blk * sizeof(T));
  V re[IB][JB], im[IB][JB];
  for (int i = 0; i < IB; ++i)
    for (int j = 0; j < JB; ++j) re[i][j] = im[i][j] = V{} ;
  for (std::int64_t k = 0; k < K; ++k) {
    V ar[IB], ai[IB];
    for (int i = 0; i < IB; ++i) {
      const T* p = a + (i * a_i + k * a_k) * e;
      ar[i] = load_vector<V>(p);
      ai[i] = load_vector<V>(p + blk);
    }
    for (int j = 0; j < JB; ++j) {
      const T* p = b + (k * b_k + j * b_j) * e;
      const V br = load_vector<V>(p), bi = load_vector<V>(p + blk);
      for (int i = 0; i < IB; ++i) {
        // (ar + i·ai)(br + i·bi) with ai, bi negated for a conjugated operand
        re[i][j] += ar[i] * br;
        if constexpr (conj_a == conj_b) re[i][j] -= ai[i] * bi;
        else re[i][j] += ai[i] * bi;
        if constexpr (conj_b) im[i][j] -= ar[i] * bi;
        else im[i][j] += ar[i] * bi;
        if constexpr (conj_a) im[i][j] -= ai[i] * br;
        else im[i][j] += ai[i] * br;
      }
    }
  }
  for (int i = 0; i < IB; ++i)
    for (int j = 0; j < JB; ++j) {
      T* p = c + (i * c_i + j * c_j) * e;
      if (accumulate) {
        store_vector(p, load_vector<V>(p) + re[i][j]);
        store_vector(p + blk, load_vector<V>(p + blk) + im[i][j]);
      } else {
        store_vector(p, re[i][j]);
        store_vector(p + blk, im[i][j]);
      }
    }
}

// C (I×J) (+)= opA(A) (I×K) · opB(B) (K×J) on one frequency block; tiles of 2×4 with edge tiles.
template <class T, bool conj_a, bool conj_b>
void block_gemm_direct(std::int64_t I, std::int64_t J, std::int64_t K, const T* a, std::int64_t a_i,
                       std::int64_t a_k, const T* b, std::int64_t b_k, std::int64_t b_j, T* c, std::int64_t c_i,
                       std::int64_t c_j, bool accumulate) {
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

// The same, packing both operands first (as BLAS does) when the product is large enough to pay for
// it: the stored spectra put consecutive k of one block 2 KiB or more apart, a stride that maps every
// load of the k loop onto the same few L1 sets; packed, the micro-kernel streams contiguous memory.
template <class T, bool conj_a, bool conj_b>
void block_gemm(std::int64_t I, std::int64_t J, std::int64_t K, const T* a, std::int64_t a_i, std::int64_t a_k,
                const T* b, std::int64_t b_k, std::int64_t b_j, T* c, std::int64_t c_i, std::int64_t c_j,
                bool accumulate) {
  constexpr std::int64_t e = 2 * spectral_block<T>;
  if (K < 4 || I < 8) {  // B is re-read only I/2 times: not worth a copy
    block_gemm_direct<T, conj_a, conj_b>(I, J, K, a, a_i, a_k, b, b_k, b_j, c, c_i, c_j, accumulate);
    return;
  }
  thread_local std::vector<T> packed;
  const std::size_t need = std::size_t((I + J) * K * e);
  if (packed.size() < need) packed.resize(need);
  T* pa = packed.data();       // [k][i]
  T* pb = pa + I * K * e;      // [k][j]
  using V = typename Vector64<T>::type;
  constexpr std::int64_t blk = spectral_block<T>;
  auto copy = [](const T* from, T* to) {  // one element: two vectors, inline (not a memmove call)
    store_vector(to, load_vector<V>(from));
    store_vector(to + blk, load_vector<V>(from + blk));
  };
  for (std::int64_t k = 0; k < K; ++k) {
    for (std::int64_t i = 0; i < I; ++i) copy(a + (i * a_i + k * a_k) * e, pa + (k * I + i) * e);
    for (std::int64_t j = 0; j < J; ++j) copy(b + (k * b_k + j * b_j) * e, pb + (k * J + j) * e);
  }
  block_gemm_direct<T, conj_a, conj_b>(I, J, K, pa, 1, I, pb, J, 1, c, c_i, c_j, accumulate);
}

}  // namespace nodal::cpu::spectral
