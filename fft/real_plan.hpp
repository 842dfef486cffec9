#pragma once
// Real-input transforms: r2c maps n reals to the n/2+1 non-redundant bins of their spectrum (the
// others follow from Hermitian symmetry F_{n−k} = conj F_k); c2r maps n/2+1 bins back to n reals.
//
// Methods (RealSpec::method):
//   half_length — even n: pack z_j = a_{2j} + i·a_{2j+1} into one n/2-point complex transform Z, then
//                 split it with one butterfly per bin pair (twiddles e^{−2πik/n} computed in double):
//                   E_k = (Z_k + conj Z_{M−k})/2,  O_k = (Z_k − conj Z_{M−k})/(2i),  M = n/2,
//                   F_k = E_k + e^{−2πik/n}·O_k,   F_{M−k} = conj(E_k − e^{−2πik/n}·O_k).
//                 c2r runs the same butterfly backwards before an n/2-point inverse. Cost: one
//                 complex transform of n/2 plus O(n). Odd n has no such split: it falls back to a
//                 complex transform of length n of the real data (imaginary parts zero).
//   pairs       — two real sequences per complex transform: C = A + iB, one n-point transform, then
//                 A_k = (C_k + conj C_{n−k})/2 and B_k = (C_k − conj C_{n−k})/(2i). Works for any n;
//                 the batch is processed two at a time and an odd last sample goes alone through
//                 the half_length method. c2r forms C_k = A_k + i·B_k over all n bins (the upper
//                 half by symmetry), inverts once and takes real and imaginary parts.
//
// Layout: real data has stride `real_stride` (reals) and batch distance `real_distance`; complex
// data `complex_stride`/`complex_distance` (complex elements). Distance 0 means contiguous rows:
// n·stride for real, (n/2+1)·stride for complex. r2c may run in place (the real and complex arrays
// at the same address, FFTW's padded layout: real_distance = 2·complex_distance, unit strides); c2r
// reads its whole input before writing, so it may run in place too, and otherwise never modifies
// its input. c2r ignores the imaginary parts of F_0 and (even n) F_{n/2}, which are zero for any
// spectrum of real data.
#include <complex>
#include <cstddef>
#include <memory>
#include <string>

#include "nodal/fft/plan.hpp"

namespace nodal::fft {

enum class RealMethod { half_length, pairs };

struct RealSpec {
  std::size_t n = 1;  // number of reals per transform
  std::size_t batch = 1;
  std::ptrdiff_t real_stride = 1, real_distance = 0;        // in reals
  std::ptrdiff_t complex_stride = 1, complex_distance = 0;  // in complex elements
  Direction direction = Direction::forward;                 // forward = r2c, inverse = c2r
  Scaling scaling = Scaling::none;                          // N = n
  Planning planning = Planning::estimate;
  RealMethod method = RealMethod::half_length;
};

template <class Real>  // float or double
class RealPlan {
 public:
  using Complex = std::complex<Real>;
  explicit RealPlan(const RealSpec& spec);  // throws nodal::ValueError on bad specs
  // r2c; throws ValueError if the plan is c2r. Thread-safe; allocation-free in steady state.
  void execute(const Real* in, Complex* out) const;
  // c2r; throws ValueError if the plan is r2c.
  void execute(const Complex* in, Real* out) const;
  std::string describe() const;
  const RealSpec& spec() const { return spec_; }
  std::size_t complex_size() const { return spec_.n / 2 + 1; }

 private:
  void r2c_half_length(const Real* in, Complex* out, std::size_t first, std::size_t count) const;
  void c2r_half_length(const Complex* in, Real* out, std::size_t first, std::size_t count) const;
  void r2c_complex(const Real* in, Complex* out, std::size_t first, std::size_t count) const;
  void c2r_complex(const Complex* in, Real* out, std::size_t first, std::size_t count) const;
  void r2c_pairs(const Real* in, Complex* out) const;
  void c2r_pairs(const Complex* in, Real* out) const;

  RealSpec spec_;
  std::ptrdiff_t real_distance_ = 0, complex_distance_ = 0;  // resolved
  Real scale_ = 1;
  // half_length, even n: the n/2-point plan (one sample) and e^{−2πik/n}, k = 0..n/4 (double-rounded)
  std::shared_ptr<const Plan<Real>> half_plan_;
  std::vector<Complex> twiddles_;
  bool direct_ = false;  // half-length plan reads (r2c) / writes (c2r) the reals as complex pairs
  // odd n or pairs: the n-point plan on contiguous scratch
  std::shared_ptr<const Plan<Real>> full_plan_;
};

extern template class RealPlan<float>;
extern template class RealPlan<double>;

}  // namespace nodal::fft
