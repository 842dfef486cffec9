#pragma once
// Batched circular convolution of length n on an OpenCL device by the permutation-free pair
// (fft_plan.hpp, Order; the CPU's counterpart is fft/convolve.hpp):
//
//     x ⊛ h = IDIT( DIF(x) · DIF(h) )
//
// DIF = the forward transform leaving its spectrum scrambled, IDIT = the inverse reading it. A
// pointwise product commutes with the permutation, so no transposition runs anywhere. Per plan of
// length n (fft_plan.hpp, fft_stockham.hpp):
//   one launch    (the specialised kernels' single plan, GPUs) FFT, × spectrum, conj, FFT, conj, all
//                 in the work-group's tile: the whole convolution reads and writes each value once;
//   four-step     forward: columns, then rows stored in place with × spectrum fused into their
//                 store (2 launches); inverse: rows with the conjugate twiddle, then columns (2);
//   others        one generic launch: forward with × spectrum in its store, inverse (2 launches);
//                 Bluestein and Rader (one order only): forward, × spectrum (a pass of its own,
//                 fft_multiply_rows), inverse.
// Real rows with a real filter go two per complex transform: (a + ib) ⊛ h = a ⊛ h + i·(b ⊛ h).
#include <cstdint>
#include <memory>
#include <string>

#include "nodal/backends/opencl/context.hpp"
#include "nodal/core/tensor.hpp"

namespace nodal::opencl::fft {

class Plan;          // fft_plan.hpp
struct StockhamPlan;  // fft_stockham.hpp

// A filter's spectrum in the order the convolver's transforms use (complex [n], on the device).
struct FilterSpectrum {
  Tensor bins;
  std::int64_t n = 0;
  bool real = false;  // the filter was real: convolve_real may pair rows
};

class CircularConvolver {
 public:
  // ValueError for n < 1; DTypeError unless `real` is float32 or float64 (and the device has fp64).
  CircularConvolver(Context& context, std::int64_t n, DType real);
  std::int64_t size() const { return n_; }
  DType precision() const { return real_; }
  // The launches a convolution makes, e.g. "one launch (stockham n=1000 radices 8·5·5·5)".
  std::string describe() const;

  // h [n] on this device: float32/float64 (real) or complex64/complex128 of the precision.
  FilterSpectrum filter(const Tensor& h) const;
  // x [..., n] complex of the precision, on this device: y[r] = x[r] ⊛ h for every row r.
  Tensor convolve(const Tensor& x, const FilterSpectrum& h) const;
  // x [..., n] real: the same for real rows and a real filter, two rows per complex transform.
  Tensor convolve_real(const Tensor& x, const FilterSpectrum& h) const;

 private:
  // `rows` contiguous complex rows from `in` to `out` (which may be the same rows)
  void convolve_rows(const Tensor& in, Tensor& out, std::int64_t rows, const FilterSpectrum& h) const;
  Context& context_;
  std::int64_t n_;
  DType real_;
  std::shared_ptr<const Plan> plan_;
  std::shared_ptr<const StockhamPlan> one_launch_;  // set where the convolution is one launch
};

}  // namespace nodal::opencl::fft
