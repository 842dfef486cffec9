#pragma once
// 1-to-3-D transforms of one zero-padded box (L0×L1×L2, row-major) by the row–column method with
// the 1-D plans, out of place between two buffers a and b:
//
//   forward, per plane:  rows (axis 2) a → b,  transpose b → a,  rows (axis 1) a → b
//   then axis 0 in place on b (3-D only).
//
// The spectrum is left TRANSPOSED (each plane as [k2][k1]) and in natural bin order otherwise: it is
// only multiplied pointwise and inverted, and a pointwise product commutes with any fixed
// permutation of the bins, so x ⊛ w = F⁻¹(F(x)·F(w)) holds in this layout as well and the
// transposition back is done only by the inverse's own row–column pass:
//
//   inverse: axis 0 in place on b (3-D), then per plane: rows (axis 1) b → a, transpose a → b,
//   rows (axis 2) b → a; the result is in a, natural order.
//
// No digit-reversal pass runs: the 1-D plans are self-sorting Stockham transforms. (The scrambled-
// order DIF/DIT pair of fft/convolve.hpp was measured 2–5× slower than Stockham for these sizes on
// this machine — e.g. 32×32: 5.7 µs against 1.6 µs — so it is not used here.)
//
// Pruning: the forward is told which planes/rows can be non-zero (the data's extent on axes 0 and
// 1), the inverse which planes/rows are read afterwards; zero rows are never transformed and unread
// rows never finished.
#include <algorithm>
#include <array>
#include <complex>
#include <cstdint>
#include <map>
#include <memory>

#include "nodal/fft/plan.hpp"
#include "nodal/fft/transpose.hpp"

namespace nodal::cpu::spectral {

template <class T>
class BoxTransform {
 public:
  using Complex = std::complex<T>;
  using Extent = std::array<std::int64_t, 3>;

  explicit BoxTransform(const Extent& length) : n_(length) {
    for (int direction = 0; direction < 2; ++direction) {
      Plans& p = direction == 0 ? forward_ : inverse_;
      const fft::Direction d = direction == 0 ? fft::Direction::forward : fft::Direction::inverse;
      if (n_[1] > 1 && n_[2] > 1) p.columns = make(n_[1], n_[2], 1, d);
      else if (n_[1] * n_[2] > 1) p.line = make(n_[1] * n_[2], 1, 1, d);
      if (n_[0] > 1) p.depth = make(n_[0], n_[1] * n_[2], n_[1] * n_[2], d);
    }
  }

  // Builds the row plans for a region of `rows` rows (call for every region size before use).
  void prepare(std::int64_t rows) {
    if (n_[1] == 1 || n_[2] == 1 || forward_.rows.contains(rows)) return;
    forward_.rows[rows] = make(n_[2], rows, 1, fft::Direction::forward);
    inverse_.rows[rows] = make(n_[2], rows, 1, fft::Direction::inverse);
  }

  const Extent& length() const { return n_; }
  std::int64_t points() const { return n_[0] * n_[1] * n_[2]; }

  // Zeroes the part of `a` that forward(a, b, lo, hi) reads (the region's rows, or whole planes
  // when a plane is one line), before the data is written into it.
  void clear(Complex* a, const Extent& lo, const Extent& hi) const {
    const std::int64_t plane = n_[1] * n_[2];
    for (std::int64_t i0 = lo[0]; i0 < hi[0]; ++i0) {
      Complex* pa = a + i0 * plane;
      if (forward_.columns) std::fill(pa + lo[1] * n_[2], pa + hi[1] * n_[2], Complex(0));
      else std::fill(pa, pa + plane, Complex(0));
    }
  }

  // a (natural order, non-zero only on planes [lo0, hi0) × rows [lo1, hi1); clobbered) → the
  // transposed-layout spectrum in b.
  void forward(Complex* a, Complex* b, const Extent& lo, const Extent& hi) const {
    const std::int64_t plane = n_[1] * n_[2];
    for (std::int64_t i0 = 0; i0 < n_[0]; ++i0) {
      Complex* pa = a + i0 * plane;
      Complex* pb = b + i0 * plane;
      if (i0 < lo[0] || i0 >= hi[0]) {
        std::fill(pb, pb + plane, Complex(0));
        continue;
      }
      if (forward_.line) forward_.line->execute(pa, pb);
      else if (!forward_.columns) *pb = *pa;
      else {
        const std::int64_t count = hi[1] - lo[1];
        forward_.rows.at(count)->execute(pa + lo[1] * n_[2], pb + lo[1] * n_[2]);
        fft::transpose(pb + lo[1] * n_[2], pa + lo[1], std::size_t(count), std::size_t(n_[2]), std::size_t(n_[2]),
                       std::size_t(n_[1]));
        for (std::int64_t k2 = 0; k2 < n_[2]; ++k2) {  // the zero rows, now columns of the transposed plane
          Complex* row = pa + k2 * n_[1];
          std::fill(row, row + lo[1], Complex(0));
          std::fill(row + hi[1], row + n_[1], Complex(0));
        }
        forward_.columns->execute(pa, pb);
      }
    }
    if (forward_.depth) forward_.depth->execute(b, b);
  }

  // b (a spectrum in the layout forward() leaves; clobbered) → the unscaled (×L0·L1·L2) inverse in
  // a, correct on planes [lo0, hi0) × rows [lo1, hi1).
  void inverse(Complex* b, Complex* a, const Extent& lo, const Extent& hi) const {
    const std::int64_t plane = n_[1] * n_[2];
    if (inverse_.depth) inverse_.depth->execute(b, b);
    for (std::int64_t i0 = lo[0]; i0 < hi[0]; ++i0) {
      Complex* pa = a + i0 * plane;
      Complex* pb = b + i0 * plane;
      if (inverse_.line) inverse_.line->execute(pb, pa);
      else if (!inverse_.columns) *pa = *pb;
      else {
        const std::int64_t count = hi[1] - lo[1];
        inverse_.columns->execute(pb, pa);
        fft::transpose(pa + lo[1], pb + lo[1] * n_[2], std::size_t(n_[2]), std::size_t(count), std::size_t(n_[1]),
                       std::size_t(n_[2]));
        inverse_.rows.at(count)->execute(pb + lo[1] * n_[2], pa + lo[1] * n_[2]);
      }
    }
  }

 private:
  static std::shared_ptr<const fft::Plan<T>> make(std::int64_t n, std::int64_t batch, std::int64_t stride,
                                                  fft::Direction direction) {
    fft::Spec s;
    s.n = std::size_t(n);
    s.batch = std::size_t(batch);
    s.in_stride = s.out_stride = stride;
    s.in_distance = s.out_distance = stride == 1 ? 0 : 1;
    s.direction = direction;
    return fft::Plan<T>::cached(s);
  }
  struct Plans {
    std::map<std::int64_t, std::shared_ptr<const fft::Plan<T>>> rows;  // axis 2, by region rows
    std::shared_ptr<const fft::Plan<T>> columns;                       // axis 1 on the transposed plane
    std::shared_ptr<const fft::Plan<T>> line;                          // a plane that is one line
    std::shared_ptr<const fft::Plan<T>> depth;                         // axis 0, strided, in place
  };
  Extent n_;
  Plans forward_, inverse_;
};

}  // namespace nodal::cpu::spectral
