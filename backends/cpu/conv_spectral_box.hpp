#pragma once
// Permutation-free 1-to-3-D transforms of one zero-padded box (L0×L1×L2, row-major), by the
// row–column method with the 1-D plans: the forward runs DIF along each axis without the digit
// reversal (Order::scrambled), the inverse runs DIT consuming that order (Order::from_scrambled).
// The N-D DFT is separable and a permutation per axis commutes with pointwise products, so
//   x ⊛ w = IDIT(DIF(x) · DIF(w))   with no permutation pass anywhere (fft/convolve.hpp).
//
// Pruning: the forward is told which planes/rows can be non-zero (the data's extent on axes 0
// and 1), the inverse which planes/rows are read afterwards; zero rows are never transformed and
// unread rows never inverted. Axis 2 (contiguous rows) is always transformed whole.
#include <array>
#include <complex>
#include <cstdint>
#include <memory>

#include "nodal/fft/plan.hpp"

namespace nodal::cpu::spectral {

template <class T>
class BoxTransform {
 public:
  using Complex = std::complex<T>;
  using Extent = std::array<std::int64_t, 3>;

  explicit BoxTransform(const Extent& length) : n_(length) {
    for (int direction = 0; direction < 2; ++direction) {
      const bool forward = direction == 0;
      auto make = [&](std::int64_t n, std::int64_t batch, std::int64_t stride) -> std::shared_ptr<const fft::Plan<T>> {
        if (n == 1) return nullptr;  // a length-1 DFT is the identity
        fft::Spec s;
        s.n = std::size_t(n);
        s.batch = std::size_t(batch);
        s.in_stride = s.out_stride = stride;
        s.in_distance = s.out_distance = stride == 1 ? 0 : 1;
        s.direction = forward ? fft::Direction::forward : fft::Direction::inverse;
        s.order = forward ? fft::Order::scrambled : fft::Order::from_scrambled;
        return fft::Plan<T>::cached(s);
      };
      Plans& p = forward ? forward_ : inverse_;
      p.rows = make(n_[2], 1, 1);
      p.columns = make(n_[1], n_[2], n_[2]);
      p.depth = make(n_[0], n_[1] * n_[2], n_[1] * n_[2]);
    }
  }

  const Extent& length() const { return n_; }
  std::int64_t points() const { return n_[0] * n_[1] * n_[2]; }

  // In place: box (natural order, non-zero only on planes [lo0, hi0) × rows [lo1, hi1)) → its
  // scrambled spectrum.
  void forward(Complex* box, const Extent& lo, const Extent& hi) const {
    const std::int64_t plane = n_[1] * n_[2];
    if (forward_.rows)
      for (std::int64_t i0 = lo[0]; i0 < hi[0]; ++i0)
        for (std::int64_t i1 = lo[1]; i1 < hi[1]; ++i1) {
          Complex* row = box + i0 * plane + i1 * n_[2];
          forward_.rows->execute(row, row);
        }
    if (forward_.columns)
      for (std::int64_t i0 = lo[0]; i0 < hi[0]; ++i0) forward_.columns->execute(box + i0 * plane, box + i0 * plane);
    if (forward_.depth) forward_.depth->execute(box, box);
  }

  // In place: scrambled spectrum → the unscaled (×L0·L1·L2) inverse, correct on planes [lo0, hi0) ×
  // rows [lo1, hi1) (other rows are left partially transformed).
  void inverse(Complex* box, const Extent& lo, const Extent& hi) const {
    const std::int64_t plane = n_[1] * n_[2];
    if (inverse_.depth) inverse_.depth->execute(box, box);
    if (inverse_.columns)
      for (std::int64_t i0 = lo[0]; i0 < hi[0]; ++i0) inverse_.columns->execute(box + i0 * plane, box + i0 * plane);
    if (inverse_.rows)
      for (std::int64_t i0 = lo[0]; i0 < hi[0]; ++i0)
        for (std::int64_t i1 = lo[1]; i1 < hi[1]; ++i1) {
          Complex* row = box + i0 * plane + i1 * n_[2];
          inverse_.rows->execute(row, row);
        }
  }

 private:
  struct Plans {
    std::shared_ptr<const fft::Plan<T>> rows, columns, depth;
  };
  Extent n_;
  Plans forward_, inverse_;
};

}  // namespace nodal::cpu::spectral
