#pragma once
// The spectral convolution algorithms of the conv nodes on OpenCL: "fft" (one tile: the whole
// padded image) and "fft_tiled" (overlap-add tiles), forward, vjp and jvp, float32 and float64.
// The OpenCL conv implementation (conv.cpp) calls these first; each returns false when the node's
// algorithm is not spectral (direct, measure, or auto choosing direct), and the direct path runs.
//
//   y  = x ⋆ w + b        Ŷ = X̂ · Ŵᴴ per frequency, inverse, crop (stride sampling, bias fused)
//   x̄ = ȳ ⋆ᵀ w           DX̂ = DŶ · Ŵ     (ȳ scattered onto the stride-1 grid, transformed once)
//   w̄ = x ⋆ ȳ            DŴ = X̂ᵀ · conj DŶ summed over samples and tiles
//   ẏ = ẋ ⋆ w + x ⋆ ẇ + ḃ  both products accumulated in the frequency domain, one inverse
// With grad mode on, the forward keeps X̂ and Ŵ for the matching vjp (as the CPU backend does).
// docs/opencl.md "Spectral convolution" has the kernels, launch schedule and measurements.
#include <array>
#include <cstdint>
#include <string>

#include "nodal/core/node.hpp"
#include "nodal/nodes/conv.hpp"

namespace nodal::opencl {

bool spectral_conv_forward(const ForwardCall& c);
bool spectral_conv_vjp(const VjpCall& c);
bool spectral_conv_jvp(const JvpCall& c);

// Whether `auto` runs this geometry spectrally on OpenCL (the rule in conv_spectral.cpp), and why.
bool auto_prefers_fft(const ConvGeometry& g, std::string* why = nullptr);
// Where auto runs spectrally: as fft_tiled (true) or fft (false); see conv_spectral.cpp.
bool auto_prefers_tiles(const ConvGeometry& g);

// fft_tiled's tile extent (input block per axis, on the padded grid) for tests and experiments:
// {0, 0, 0} (the default) lets the cost model choose. Process-wide.
void set_spectral_tile(std::array<std::int64_t, 3> tile);

// fft_tiled's bound on the spectra of one chunk of tiles (bytes; default 256 MiB), for tests of
// the multi-chunk path. Process-wide; 0 restores the default.
void set_spectral_chunk_budget(double bytes);

// Counters for tests: launches of the per-colour accumulation (overlap-add) since the start.
std::uint64_t spectral_colour_launches();

}  // namespace nodal::opencl
