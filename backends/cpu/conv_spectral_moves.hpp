#pragma once
// Moving data between the tensors, the transform boxes and the block storage of the spectral
// engine (conv_spectral.cpp): where each point of a tile goes (AxisMap), placing real data into a box
// two signals at a time and reading results back, converting a box's spectrum to and from the split
// block storage, and the Hermitian split/pack that puts two real filters into one transform.
#include <algorithm>
#include <array>
#include <complex>
#include <cstdint>
#include <vector>

#include "nodal/backends/cpu/conv_spectral_storage.hpp"

namespace nodal::cpu::spectral {

using Extent = std::array<std::int64_t, 3>;

// Where each grid point of a tile goes, per axis: tensor index `src` ↔ local box index `dst`.
struct AxisMap {
  std::vector<std::int64_t> src, dst;
  bool unit = false;  // src and dst both consecutive runs (set by finish())
  void finish() {
    unit = true;
    for (std::size_t j = 1; j < src.size(); ++j)
      if (src[j] != src[0] + std::int64_t(j) || dst[j] != dst[0] + std::int64_t(j)) unit = false;
  }
};
using Maps = std::array<AxisMap, 3>;

// box[maps.dst] = a[maps.src] + i·b[maps.src] (b may be null).
template <class T>
void scatter_real(const T* a, const T* b, const Extent& extent, const Maps& m, const Extent& L, std::complex<T>* box) {
  using Complex = std::complex<T>;
  for (std::size_t j0 = 0; j0 < m[0].src.size(); ++j0)
    for (std::size_t j1 = 0; j1 < m[1].src.size(); ++j1) {
      const std::int64_t s = (m[0].src[j0] * extent[1] + m[1].src[j1]) * extent[2];
      Complex* d = box + (m[0].dst[j0] * L[1] + m[1].dst[j1]) * L[2];
      const std::int64_t* src = m[2].src.data();
      const std::int64_t* dst = m[2].dst.data();
      const std::size_t n = m[2].src.size();
      if (n == 0) continue;
      if (m[2].unit) {  // both runs contiguous: a loop the compiler vectorizes
        const T* pa = a + s + src[0];
        Complex* pd = d + dst[0];
        if (b) {
          const T* pb = b + s + src[0];
          for (std::size_t j = 0; j < n; ++j) pd[j] = Complex(pa[j], pb[j]);
        } else {
          for (std::size_t j = 0; j < n; ++j) pd[j] = Complex(pa[j], T(0));
        }
      } else if (b) {
        for (std::size_t j = 0; j < n; ++j) d[dst[j]] = Complex(a[s + src[j]], b[s + src[j]]);
      } else {
        for (std::size_t j = 0; j < n; ++j) d[dst[j]] = Complex(a[s + src[j]], T(0));
      }
    }
}

// a[maps.src] (+)= scale·Re box[maps.dst], b[maps.src] (+)= scale·Im box[maps.dst] (b may be null):
// added with `accumulate`, else written as offset + scale·… (where every point of a and b is written by
// exactly one tile, which then needs no zero-filled output to add into; offset: the bias).
template <class T>
void gather(const std::complex<T>* box, const Extent& extent, const Maps& m, const Extent& L, T scale, T* a, T* b,
            bool accumulate, T offset = T(0)) {
  using Complex = std::complex<T>;
  for (std::size_t j0 = 0; j0 < m[0].src.size(); ++j0)
    for (std::size_t j1 = 0; j1 < m[1].src.size(); ++j1) {
      const std::int64_t s = (m[0].src[j0] * extent[1] + m[1].src[j1]) * extent[2];
      const Complex* d = box + (m[0].dst[j0] * L[1] + m[1].dst[j1]) * L[2];
      const std::int64_t* src = m[2].src.data();
      const std::int64_t* dst = m[2].dst.data();
      const std::size_t n = m[2].src.size();
      if (n == 0) continue;
      if (m[2].unit) {  // both runs contiguous: loops the compiler vectorizes
        T* pa = a + s + src[0];
        T* pb = b ? b + s + src[0] : nullptr;
        const T* pd = reinterpret_cast<const T*>(d + dst[0]);  // re, im interleaved
        if (accumulate) {
          for (std::size_t j = 0; j < n; ++j) pa[j] += scale * pd[2 * j];
          if (pb)
            for (std::size_t j = 0; j < n; ++j) pb[j] += scale * pd[2 * j + 1];
        } else {
          for (std::size_t j = 0; j < n; ++j) pa[j] = offset + scale * pd[2 * j];
          if (pb)
            for (std::size_t j = 0; j < n; ++j) pb[j] = offset + scale * pd[2 * j + 1];
        }
        continue;
      }
      for (std::size_t j = 0; j < n; ++j) a[s + src[j]] = (accumulate ? a[s + src[j]] : offset) + scale * d[dst[j]].real();
      if (b)
        for (std::size_t j = 0; j < n; ++j)
          b[s + src[j]] = (accumulate ? b[s + src[j]] : offset) + scale * d[dst[j]].imag();
    }
}

// Box → storage row `row` (spectrum index f = block·blk + lane), in runs of `group` blocks.
template <class T>
void store(const std::complex<T>* box, std::int64_t points, Spectra<T>& s, std::int64_t row) {
  using Complex = std::complex<T>;
  constexpr std::int64_t blk = spectral_block<T>, G = Spectra<T>::group;
  const std::int64_t blocks = s.blocks;
  for (std::int64_t b0 = 0; b0 < blocks; b0 += G) {
    T* e = s.at(b0, row);
    const std::int64_t end = std::min(points, (b0 + G) * blk);
    std::int64_t f = b0 * blk;
    for (; f + blk <= end; f += blk, e += 2 * blk) {
      const Complex* src = box + f;
#pragma omp simd
      for (std::int64_t l = 0; l < blk; ++l) {
        e[l] = src[l].real();
        e[blk + l] = src[l].imag();
      }
    }
    if (f < end) {  // the last, partial block: zeros after the last frequency
      const std::int64_t n = end - f;
      for (std::int64_t l = 0; l < blk; ++l) {
        e[l] = l < n ? box[f + l].real() : T(0);
        e[blk + l] = l < n ? box[f + l].imag() : T(0);
      }
    }
  }
}
// Storage row `row` → box (the inverse of store).
template <class T>
void load(const Spectra<T>& s, std::int64_t row, std::int64_t points, std::complex<T>* box) {
  using Complex = std::complex<T>;
  constexpr std::int64_t blk = spectral_block<T>, G = Spectra<T>::group;
  const std::int64_t blocks = s.blocks;
  for (std::int64_t b0 = 0; b0 < blocks; b0 += G) {
    const T* e = s.at(b0, row);
    const std::int64_t end = std::min(points, (b0 + G) * blk);
    std::int64_t f = b0 * blk;
    for (; f + blk <= end; f += blk, e += 2 * blk) {
      T* dst = reinterpret_cast<T*>(box + f);  // re, im interleaved: as floats the loop vectorizes
#pragma omp simd
      for (std::int64_t l = 0; l < blk; ++l) {
        dst[2 * l] = e[l];
        dst[2 * l + 1] = e[blk + l];
      }
    }
    for (std::int64_t l = 0; f + l < end; ++l) box[f + l] = Complex(e[l], e[blk + l]);
  }
}

// f(row, mirror_row) for every line of L1 spectrum points and the line holding the negated
// frequencies −k (layout of BoxTransform: planes k0, each [k2][k1]; also right for one-line
// planes); within a line, −k1 sits at (L1 − k1) mod L1.
template <class F> void for_each_mirror_line(const Extent& L, F&& f) {
  for (std::int64_t k0 = 0; k0 < L[0]; ++k0) {
    const std::int64_t m0 = k0 == 0 ? 0 : L[0] - k0;
    for (std::int64_t k2 = 0; k2 < L[2]; ++k2) {
      const std::int64_t m2 = k2 == 0 ? 0 : L[2] - k2;
      f((k0 * L[2] + k2) * L[1], (m0 * L[2] + m2) * L[1]);
    }
  }
}

// mirror[f] = the index of the negated frequency −f, in the layout of BoxTransform.
inline std::vector<std::int32_t> mirror_table(const Extent& L) {
  std::vector<std::int32_t> mirror(std::size_t(L[0] * L[1] * L[2]));
  const std::int64_t L1 = L[1];
  for_each_mirror_line(L, [&](std::int64_t row, std::int64_t m) {
    for (std::int64_t k1 = 0; k1 < L1; ++k1) mirror[std::size_t(row + k1)] = std::int32_t(m + (k1 == 0 ? 0 : L1 - k1));
  });
  return mirror;
}

// Two real filters' spectra from one transform, written straight into storage: Z = F(w_a + i·w_b)
// → rows ra and rb, W_a[k] = (Z[k] + conj Z[−k])/2 and W_b[k] = (Z[k] − conj Z[−k])/(2i) (the
// Hermitian and anti-Hermitian parts), in one pass over Z.
template <class T>
void store_hermitian_split(const std::complex<T>* z, const std::int32_t* mirror, std::int64_t points, Spectra<T>& s,
                           std::int64_t ra, std::int64_t rb) {
  constexpr std::int64_t blk = spectral_block<T>, G = Spectra<T>::group;
  const T* zf = reinterpret_cast<const T*>(z);  // re, im interleaved
  const T h = T(0.5);
  for (std::int64_t b0 = 0; b0 < s.blocks; b0 += G) {
    T* ea = s.at(b0, ra);
    T* eb = s.at(b0, rb);
    const std::int64_t end = std::min(points, (b0 + G) * blk);
    // u = Z[k], v = Z[−k]: W_a = ((u.re + v.re)/2, (u.im − v.im)/2), W_b = ((u.im + v.im)/2, −(u.re − v.re)/2)
    auto one = [&](std::int64_t k, T* pa, T* pb) {
      const std::int64_t m = mirror[k];
      const T ur = zf[2 * k], ui = zf[2 * k + 1], vr = zf[2 * m], vi = zf[2 * m + 1];
      pa[0] = h * (ur + vr);
      pa[blk] = h * (ui - vi);
      pb[0] = h * (ui + vi);
      pb[blk] = -h * (ur - vr);
    };
    std::int64_t f = b0 * blk;
    for (; f + blk <= end; f += blk, ea += 2 * blk, eb += 2 * blk)
#pragma omp simd
      for (std::int64_t l = 0; l < blk; ++l) one(f + l, ea + l, eb + l);
    if (f < end) {  // the last, partial block: zeros after the last frequency
      for (std::int64_t l = 0; l < blk; ++l) ea[l] = ea[blk + l] = eb[l] = eb[blk + l] = T(0);
      for (std::int64_t l = 0; f + l < end; ++l) one(f + l, ea + l, eb + l);
    }
  }
}

// out = Herm(za) + i·Herm(zb), Herm(z)[k] = (z[k] + conj z[−k])/2: its inverse is
// Re F⁻¹(za) + i·Re F⁻¹(zb). `mirror` from mirror_table.
template <class T>
void hermitian_pack(const std::int32_t* mirror, std::int64_t points, const std::complex<T>* za,
                    const std::complex<T>* zb, std::complex<T>* out) {
  const T* a = reinterpret_cast<const T*>(za);  // re, im interleaved: as floats the loop vectorizes
  const T* b = reinterpret_cast<const T*>(zb);
  T* o = reinterpret_cast<T*>(out);
  const T h = T(0.5);
#pragma omp simd
  for (std::int64_t k = 0; k < points; ++k) {
    const std::int64_t m = mirror[k];
    // Herm(za) = ((a.re + am.re)/2, (a.im − am.im)/2), likewise hb; out = ha + i·hb
    const T ha_re = h * (a[2 * k] + a[2 * m]), ha_im = h * (a[2 * k + 1] - a[2 * m + 1]);
    const T hb_re = h * (b[2 * k] + b[2 * m]), hb_im = h * (b[2 * k + 1] - b[2 * m + 1]);
    o[2 * k] = ha_re - hb_im;
    o[2 * k + 1] = ha_im + hb_re;
  }
}

}  // namespace nodal::cpu::spectral
