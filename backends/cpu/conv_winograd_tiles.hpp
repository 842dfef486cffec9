#pragma once
// The tile stages of the Winograd convolution (conv_winograd.cpp), on blocks of tiles held in
// SIMD lanes: lane l of every vector belongs to tile t0 + l, so each transform is a fixed sequence
// of vector adds and FMAs (winograd_matrices.hpp) that costs the same for every tile, and the
// channel products are GEMMs whose inner dimension runs over lanes.
//
//   input    d (α × α patch of x)        →  Bᵀ d B           [ξ][c][lanes]
//   output   M [ξ][o][lanes]             →  Aᵀ M A  (m × m)  → y
//   gradient ȳ (m × m patch of ȳ)        →  A ȳ Aᵀ           [ξ][o][lanes]
//
// A tile is the m × m output block at (ty·m, tx·m) of sample n; it reads the α × α input patch at
// (ty·m − pad_top, tx·m − pad_left). Parts of a patch outside the image read as zeros, parts of an
// output block outside the output are not written.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "nodal/backends/cpu/winograd_matrices.hpp"

namespace nodal::cpu::winograd {

// may_alias: the patch buffers are written as T and read as vectors.
template <class T> struct Lanes {
  static constexpr int count = int(64 / sizeof(T));
  typedef T type __attribute__((vector_size(64), __may_alias__));
};

// 64-byte aligned scratch of lane vectors that only grows (the vector type's may_alias attribute
// would be dropped as a std::vector element type).
template <class T> class LaneBuffer {
 public:
  using V = typename Lanes<T>::type;
  V* reserve(std::size_t vectors) {
    if (vectors > size_) {
      storage_.reset(static_cast<unsigned char*>(std::aligned_alloc(64, std::max<std::size_t>(vectors, 1) * sizeof(V))));
      if (!storage_) throw std::bad_alloc();
      size_ = vectors;
    }
    return data();
  }
  V* data() const { return reinterpret_cast<V*>(storage_.get()); }

 private:
  struct Free {
    void operator()(unsigned char* p) const { std::free(p); }
  };
  std::unique_ptr<unsigned char, Free> storage_;
  std::size_t size_ = 0;
};

// One correlation's extents for the tile stages (a group's channels; stride and dilation 1).
struct TileProblem {
  std::int64_t batch = 1, in_channels = 1, out_channels = 1;  // per group
  std::int64_t in_h = 1, in_w = 1, out_h = 1, out_w = 1;
  std::int64_t pad_top = 0, pad_left = 0;
  std::int64_t in_sample = 0, out_sample = 0;  // elements between samples (all groups' channels)
  std::int64_t tiles_h = 0, tiles_w = 0;
  std::int64_t tiles() const { return batch * tiles_h * tiles_w; }
};

// Where the tiles of one block start: sample, output row and output column of each tile, padded
// with empty lanes (count ≤ index < lanes) to whole lane vectors. `indexable`: every element
// offset of the operands fits in 32 bits, so the AVX-512 gathers and scatters may be used.
struct TileOrigins {
  std::vector<std::int32_t> n, y, x;
  std::int64_t count = 0;
  bool indexable = false;
  void locate(const TileProblem& p, int m, std::int64_t first, std::int64_t tiles, std::int64_t lanes) {
    n.assign(std::size_t(lanes), 0), y.assign(std::size_t(lanes), 0), x.assign(std::size_t(lanes), 0);
    count = tiles;
    const std::int64_t per_sample = p.tiles_h * p.tiles_w;
    for (std::int64_t t = 0; t < tiles; ++t) {
      const std::int64_t id = first + t, s = id / per_sample, r = id % per_sample;
      n[std::size_t(t)] = std::int32_t(s);
      y[std::size_t(t)] = std::int32_t((r / p.tiles_w) * m);
      x[std::size_t(t)] = std::int32_t((r % p.tiles_w) * m);
    }
    const std::int64_t limit = std::int64_t(1) << 30;
    indexable = p.batch * std::max(p.in_sample, p.out_sample) < limit && p.in_h * p.in_w < limit && p.out_h * p.out_w < limit;
  }
};

// patch[(i·α + j)·lanes + t] = plane[n][y + i − top][x + j − left] for the block's tiles (zeros
// outside the plane and for the empty lanes). `plane` is one channel of sample 0. With AVX-512 a
// masked gather per (i, j) fills 16 tiles at once: the masks (in-bounds rows × columns) make the
// border tiles branch-free.
template <class T, int Alpha>
void gather_patches(const T* plane, std::int64_t sample_stride, std::int64_t h, std::int64_t w, std::int64_t top,
                    std::int64_t left, const TileOrigins& at, std::int64_t lanes, T* patch) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    if (at.indexable) {
      for (std::int64_t v = 0; v < lanes; v += 16) {
        const __m512i lane = _mm512_add_epi32(_mm512_set1_epi32(std::int32_t(v)),
                                              _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
        const __mmask16 live = _mm512_cmplt_epi32_mask(lane, _mm512_set1_epi32(std::int32_t(at.count)));
        const __m512i y0 = _mm512_sub_epi32(_mm512_loadu_si512(at.y.data() + v), _mm512_set1_epi32(std::int32_t(top)));
        const __m512i x0 = _mm512_sub_epi32(_mm512_loadu_si512(at.x.data() + v), _mm512_set1_epi32(std::int32_t(left)));
        const __m512i n = _mm512_loadu_si512(at.n.data() + v);
        const __m512i base = _mm512_add_epi32(
            _mm512_add_epi32(_mm512_mullo_epi32(n, _mm512_set1_epi32(std::int32_t(sample_stride))),
                             _mm512_mullo_epi32(y0, _mm512_set1_epi32(std::int32_t(w)))),
            x0);
        __mmask16 row_ok[Alpha], col_ok[Alpha];
        for (int i = 0; i < Alpha; ++i) {
          const __m512i yy = _mm512_add_epi32(y0, _mm512_set1_epi32(i)), xx = _mm512_add_epi32(x0, _mm512_set1_epi32(i));
          row_ok[i] = live & _mm512_cmpge_epi32_mask(yy, _mm512_setzero_si512()) &
                      _mm512_cmplt_epi32_mask(yy, _mm512_set1_epi32(std::int32_t(h)));
          col_ok[i] = _mm512_cmpge_epi32_mask(xx, _mm512_setzero_si512()) &
                      _mm512_cmplt_epi32_mask(xx, _mm512_set1_epi32(std::int32_t(w)));
        }
        for (int i = 0; i < Alpha; ++i) {
          const __m512i row = _mm512_add_epi32(base, _mm512_set1_epi32(std::int32_t(i * w)));
          for (int j = 0; j < Alpha; ++j) {
            const __m512 value = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), row_ok[i] & col_ok[j],
                                                          _mm512_add_epi32(row, _mm512_set1_epi32(j)), plane, 4);
            _mm512_storeu_ps(patch + (i * Alpha + j) * lanes + v, value);
          }
        }
      }
      return;
    }
  }
#endif
  for (std::int64_t t = 0; t < at.count; ++t) {
    const std::int64_t y0 = at.y[std::size_t(t)] - top, x0 = at.x[std::size_t(t)] - left;
    const T* base = plane + at.n[std::size_t(t)] * sample_stride;
    T* out = patch + t;
    for (int i = 0; i < Alpha; ++i) {
      const std::int64_t yy = y0 + i;
      for (int j = 0; j < Alpha; ++j) {
        const std::int64_t xx = x0 + j;
        out[(i * Alpha + j) * lanes] = yy >= 0 && yy < h && xx >= 0 && xx < w ? base[yy * w + xx] : T(0);
      }
    }
  }
  for (int ij = 0; ij < Alpha * Alpha; ++ij) std::fill(patch + ij * lanes + at.count, patch + (ij + 1) * lanes, T(0));
}

// Two-stage separable transform of α_in × α_in lane vectors into α_out × α_out: columns through Op,
// then rows through Op. in[(i·a_in + j)·si], out[(a·a_out + b)·so].
template <class Op, class T, class V>
[[gnu::always_inline]] inline void transform_2d(const V* in, std::int64_t si, V* out, std::int64_t so) {
  constexpr int n_in = Op::cols, n_out = Op::rows;
  V mid[n_out * n_in];  // mid[a·n_in + j] = Σ_i Op(a, i) in[i][j]
  for (int j = 0; j < n_in; ++j) apply<Op, T>(in + j * si, n_in * si, mid + j, n_in);
  for (int a = 0; a < n_out; ++a) apply<Op, T>(mid + a * n_in, 1, out + a * n_out * so, so);
}

// Every channel of a block into the transform domain: channel c's Size × Size patches (gathered
// from plane0 + c·plane_stride, patch origin shifted by top/left) through Op into
// out[(ξ·channels + c)·tv + t] for the block's tv lane vectors t. `patch` is scratch of Size²·tv
// vectors. The input transform of the forward and weight passes (Bᵀ d B) and the gradient
// transform of the weight pass (A ȳ Aᵀ) are this with different operators and planes. Count is
// std::int64_t, or a std::integral_constant where the block size is fixed (the forward: its
// strides then fold into the addressing, 8–15 % faster than a run-time count).
template <class Op, class T, int Size, class Count>
void transform_channels(const T* plane0, std::int64_t channels, std::int64_t plane_stride, std::int64_t sample_stride,
                        std::int64_t h, std::int64_t w, std::int64_t top, std::int64_t left, const TileOrigins& at,
                        Count tv, typename Lanes<T>::type* patch, typename Lanes<T>::type* out) {
  for (std::int64_t c = 0; c < channels; ++c) {
    gather_patches<T, Size>(plane0 + c * plane_stride, sample_stride, h, w, top, left, at,
                            std::int64_t(tv) * Lanes<T>::count, reinterpret_cast<T*>(patch));
    for (std::int64_t t = 0; t < std::int64_t(tv); ++t)
      transform_2d<Op, T>(patch + t, std::int64_t(tv), out + c * tv + t, channels * tv);
  }
}

// Writes the m × m lane blocks of one lane vector of tiles (block[i·m + j], lane l = tile
// first + l) into the output plane `plane` (one channel of sample 0), clipped to h × w; with
// AVX-512 by masked scatters.
template <class T, int M>
void scatter_outputs(const typename Lanes<T>::type* block, const TileOrigins& at, std::int64_t first, T* plane,
                     std::int64_t sample_stride, std::int64_t h, std::int64_t w) {
  constexpr int W = Lanes<T>::count;
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    if (at.indexable) {
      const __m512i lane = _mm512_add_epi32(_mm512_set1_epi32(std::int32_t(first)),
                                            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
      const __mmask16 live = _mm512_cmplt_epi32_mask(lane, _mm512_set1_epi32(std::int32_t(at.count)));
      const __m512i y0 = _mm512_loadu_si512(at.y.data() + first), x0 = _mm512_loadu_si512(at.x.data() + first);
      const __m512i base = _mm512_add_epi32(
          _mm512_add_epi32(_mm512_mullo_epi32(_mm512_loadu_si512(at.n.data() + first),
                                              _mm512_set1_epi32(std::int32_t(sample_stride))),
                           _mm512_mullo_epi32(y0, _mm512_set1_epi32(std::int32_t(w)))),
          x0);
      for (int i = 0; i < M; ++i) {
        const __mmask16 row_ok = live & _mm512_cmplt_epi32_mask(_mm512_add_epi32(y0, _mm512_set1_epi32(i)),
                                                                _mm512_set1_epi32(std::int32_t(h)));
        const __m512i row = _mm512_add_epi32(base, _mm512_set1_epi32(std::int32_t(i * w)));
        for (int j = 0; j < M; ++j) {
          const __mmask16 ok = row_ok & _mm512_cmplt_epi32_mask(_mm512_add_epi32(x0, _mm512_set1_epi32(j)),
                                                                _mm512_set1_epi32(std::int32_t(w)));
          __m512 value;
          std::memcpy(&value, block + i * M + j, sizeof(value));
          _mm512_mask_i32scatter_ps(plane, ok, _mm512_add_epi32(row, _mm512_set1_epi32(j)), value, 4);
        }
      }
      return;
    }
  }
#endif
  alignas(64) T lanes[M * M][W];
  std::memcpy(lanes, block, sizeof(lanes));
  const std::int64_t count = std::min<std::int64_t>(W, at.count - first);
  for (std::int64_t l = 0; l < count; ++l) {
    const std::size_t t = std::size_t(first + l);
    const std::int64_t y0 = at.y[t], x0 = at.x[t];
    T* base = plane + at.n[t] * sample_stride;
    const int rows = int(std::min<std::int64_t>(M, h - y0)), cols = int(std::min<std::int64_t>(M, w - x0));
    for (int i = 0; i < rows; ++i) {
      T* row = base + (y0 + i) * w + x0;
      for (int j = 0; j < cols; ++j) row[j] = lanes[i * M + j][l];
    }
  }
}

}  // namespace nodal::cpu::winograd
