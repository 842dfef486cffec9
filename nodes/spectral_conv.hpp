#pragma once
// EXPERIMENTAL (off by default: nothing uses it unless called): a 2-D convolution whose trained
// parameter is the filter's half spectrum instead of its taps (the design text, §2.3).
//
//   spectral_conv2d(x, Ŵ, options) = conv2d(x, w, options.conv)
//   w = irfft2(Ŵ, s = (L0, L1))[:, :, :kH, :kW]
//   Ŵ complex [Cout, Cin/groups, L0, L1/2 + 1]  (rfft2's layout for a transform of size L0×L1 ≥ kH×kW)
//
// Parameterising by the half spectrum keeps w real by construction (irfft2 treats Ŵ as one half
// of a Hermitian spectrum). With L = k the map Ŵ ↔ w is a bijection up to the imaginary parts of
// the self-conjugate bins (column 0 and, for even L1, column L1/2, at rows 0 and L0/2), which
// never reach w; with L > k the taps beyond the kernel are cropped away, so Ŵ over-parameterises w.
//
// Complex-gradient convention (PyTorch's, as core/gradcheck.hpp): for the real loss E, the
// gradient stored for Ŵ is  ∂E/∂Re Ŵ + i·∂E/∂Im Ŵ.  Written out, with ḡ = dE/dw zero-padded to L:
//   dE/dŴ[k0, k1] = c(k1) / (L0·L1) · Σ_n ḡ[n] e^{−2πi(k0·n0/L0 + k1·n1/L1)}
// i.e. the unnormalised rfft2 of ḡ scaled by 1/(L0·L1), with c = 2 for the interior columns
// (each appears twice in the full spectrum, as itself and as its conjugate mirror) and c = 1 for
// the self-conjugate columns 0 and L1/2. The imaginary parts of self-conjugate bins get no gradient
// (hence gradient descent never moves them: they stay whatever the initialisation made them).
//
// Does it save anything? No: the filter transform is one small irfft2 of Cout·Cin filters per
// step, negligible next to the convolution itself, and the convolution (whichever algorithm)
// still transforms x and dE/dy every step. The design text's conclusion ("not helpful") holds;
// docs/convolution.md has a measurement.
#include <cstdint>
#include <vector>

#include "nodal/nodes/conv.hpp"
#include "nodal/nodes/node_builder.hpp"

namespace nodal {

struct SpectralConvOptions {
  std::vector<std::int64_t> kernel_size;     // (kH, kW), or one value for both
  std::vector<std::int64_t> transform_size;  // (L0, L1); empty: the kernel size
  ConvOptions conv{};                        // stride, padding, groups, algorithm ("fft" is the natural pairing)
};

// The spatial filter [Cout, Cin/groups, kH, kW] of a half spectrum (the first two steps above).
Value spectral_filter(const Value& w_spectrum, const SpectralConvOptions& options,
                      std::source_location where = std::source_location::current());
Tensor spectral_filter(const Tensor& w_spectrum, const SpectralConvOptions& options);

// The half spectrum of a spatial filter w [Cout, Cin/groups, kH, kW] zero-padded to the transform
// size: the parameter that reproduces w (e.g. to initialise Ŵ from a Kaiming-initialised w).
Tensor filter_spectrum(const Tensor& w, const SpectralConvOptions& options);

Value spectral_conv2d(const Value& x, const Value& w_spectrum, const SpectralConvOptions& options,
                      std::source_location where = std::source_location::current());
Tensor spectral_conv2d(const Tensor& x, const Tensor& w_spectrum, const SpectralConvOptions& options);

}  // namespace nodal
