#pragma once
// The passes of the OpenCL spectral convolution over one problem (conv_spectral.cpp runs them for
// forward, vjp and jvp): the tile plan (the CPU engine's, cpu::spectral::make_tile_plan), spectra of
// x, w and ȳ for a range of tiles, the three per-frequency products, and the crops back into y,
// x̄ and w̄. Boxes of T tiles are handled as T·N samples, so one launch covers every tile.
#include <array>
#include <cstdint>
#include <string>

#include "nodal/backends/cpu/conv_spectral.hpp"
#include "nodal/backends/opencl/conv_spectral_engine.hpp"
#include "nodal/nodes/conv.hpp"

namespace nodal::opencl::spectral {

enum class Method { whole, tiled };

struct Problem {
  ConvGeometry g;
  bool flip = false;
  DType dtype = DType::float32;
  Method method = Method::whole;
  cpu::spectral::TilePlan plan;
  Box box;
  Dims span{1, 1, 1}, z{1, 1, 1};
  std::string node;  // for messages
};

// `forced_tile`: fft_tiled's input block per axis, 0 where the cost model chooses.
Problem problem_of(const Conv& node, const Tensor& x, const Tensor& w, Method method, const Dims& forced_tile);
// Tiles per chunk: all of them when the forward keeps X̂ (or for "fft"), else as many as keep
// the chunk's spectra and real boxes under `budget` bytes (at least one).
std::size_t chunk_size(const Problem& p, bool keep_all, double budget);

Tensor spectra_of(Context& context, const Problem& p, std::int64_t rows);  // uninitialised [rows, F]
Tensor filter_spectra(Context& context, const Problem& p, const Tensor& w);  // Ŵ [Cout·Cin_g, F]
// X̂ [count·N·Cin, F] of x, DŶ [count·N·Cout, F] of dy on the stride-1 grid, tiles [first, first + count)
Tensor input_spectra(Context& context, const Problem& p, const Tensor& x, std::size_t first, std::size_t count);
Tensor output_spectra(Context& context, const Problem& p, const Tensor& dy, std::size_t first, std::size_t count);

// Ŷ (+)= X̂ · Ŵᴴ;  DX̂ = DŶ · Ŵ;  DŴ (+)= Σ_{tile, n} X̂ · conj DŶ  (per frequency, per group)
void mac_forward(Context& context, const Problem& p, const Tensor& X, std::int64_t x_first, const Tensor& W,
                 Tensor& Y, std::int64_t tiles, bool accumulate);
void mac_dx(Context& context, const Problem& p, const Tensor& DY, const Tensor& W, Tensor& DX, std::int64_t tiles);
void mac_dw(Context& context, const Problem& p, const Tensor& X, std::int64_t x_first, const Tensor& DY,
            Tensor& DW, std::int64_t tiles, bool accumulate);

// y's starting value for the overlap-add accumulation: the bias broadcast, or zeros.
Tensor initial_output(Context& context, const Problem& p, const Tensor& bias);
// Inverse of Ŷ of tiles [first, first + count), cropped into y: "fft" writes y with the bias in
// one launch; "fft_tiled" adds one colour class per launch into a y that holds the bias already.
// Returns the number of colour launches.
std::size_t crop_outputs(Context& context, const Problem& p, Tensor spectra, std::size_t first, std::size_t count,
                         Tensor& y, const Tensor& bias);
// Inverse of DX̂ of tiles [first, first + count), each block written into dx (disjoint: one launch).
void crop_input_gradient(Context& context, const Problem& p, Tensor spectra, std::size_t first, std::size_t count,
                         Tensor& dx);
// Inverse of DŴ read at the taps k·d (flipped back for flip): dw of `w_shape`.
Tensor crop_filter_gradient(Context& context, const Problem& p, Tensor spectra, const Shape& w_shape);

}  // namespace nodal::opencl::spectral
