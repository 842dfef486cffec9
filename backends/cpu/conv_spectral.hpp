#pragma once
// The spectral convolution engine shared by the algorithms "fft", "fft_tiled", "fft_overlap_save"
// and "helix" (docs/convolution.md).
//
// Every pass is a circular convolution/correlation of zero-padded boxes of L0×L1×L2 points:
//   forward   Ŷ_f[n, o] = Σ_c X̂_f[n, c] · conj Ŵ_f[o, c]        y  = x ⋆ w
//   dx        DX̂_f[n, c] = Σ_o DŶ_f[n, o] · Ŵ_f[o, c]           dx = dy ⋆ᵀ w
//   dw        DŴ_f[o, c] = Σ_n conj DŶ_f[n, o] · X̂_f[n, c]      dw = x ⋆ dy (Σ over the batch)
// for every frequency f: a small complex GEMM per frequency. Spectra are stored frequency-block-
// major, `spectral_block<T>` frequencies per block, each row of a block split into `block` real
// parts then `block` imaginary parts: one SIMD register each, so the MAC is plain FMAs.
//
// A problem is cut into tiles (one tile for "fft"); each tile is a box of the transform size whose
// local point 0 sits at global padded coordinate `origin`. A tile reads x on [x_lo, x_hi) and the
// stride-1 output grid z on [z_lo, z_hi) (global padded coordinates; z_p = Σ_k x_{p+k·d} w_k, and
// y_p = z_{p·s}). Local index of global g: (g − origin) mod L.
#include <array>
#include <atomic>
#include <complex>
#include <cstdint>
#include <memory>
#include <vector>

#include "nodal/backends/cpu/conv_algorithm.hpp"

namespace nodal::cpu::spectral {

// Frequencies per block: one 64-byte vector of T.
template <class T> inline constexpr std::int64_t spectral_block = 64 / std::int64_t(sizeof(T));

enum class TileMethod {
  whole,         // one tile over the whole output ("fft")
  overlap_add,   // input blocks of `tile`, each one's full correlation accumulated into y
  overlap_save,  // output tiles of `tile`, each reading its input plus halo (overlap-discard)
};

struct TileConfig {
  TileMethod method = TileMethod::whole;
  // Per axis (d, h, w): the input block (overlap_add) or output tile (overlap_save) extent on the
  // stride-1 padded grid. Ignored for whole. The transform size is next_smooth(tile + span − 1).
  std::array<std::int64_t, 3> tile{1, 1, 1};
};

struct Tile {
  std::array<std::int64_t, 3> index{0, 0, 0};  // tile coordinates (for the accumulation colour)
  std::array<std::int64_t, 3> origin{0, 0, 0};
  std::array<std::int64_t, 3> x_lo{0, 0, 0}, x_hi{0, 0, 0};  // x data read (∩ the unpadded image)
  std::array<std::int64_t, 3> z_lo{0, 0, 0}, z_hi{0, 0, 0};  // stride-1 outputs produced
};

// The tiles and transform sizes of one problem.
struct TilePlan {
  TileMethod method = TileMethod::whole;
  std::array<std::int64_t, 3> length{1, 1, 1};  // transform size L per axis
  std::array<std::int64_t, 3> step{1, 1, 1};    // distance between tile origins
  std::array<std::int64_t, 3> count{1, 1, 1};   // tiles per axis
  std::vector<Tile> tiles;
  std::int64_t points() const { return length[0] * length[1] * length[2]; }
};
TilePlan make_tile_plan(const ConvGeometry& g, const TileConfig& config);

// The accumulation colour of tile t (the K-step schedule of overlap-add): where the ranges that
// neighbouring tiles add into overlap (overlap-add's y, overlap-save's dx), tiles are coloured by
// their index mod m per axis, m = ⌈(step + span − 1)/step⌉, so two tiles of one colour are at least
// m·step ≥ the written extent apart on some axis and never write the same point; tiles of one colour
// run in parallel, colours one after another. Always 0 where the written ranges are disjoint.
enum class TileWrites { y, dx, nothing };
std::size_t tile_colour(const ConvGeometry& g, const TilePlan& plan, std::size_t t, TileWrites writes);

// The configuration the cost model prefers for fft_tiled / fft_overlap_save, and its estimated
// seconds of forward + backward (transforms + MAC + memory traffic, conv_cost.hpp rates).
TileConfig choose_tiles(const ConvGeometry& g, DType dtype, TileMethod method);
double estimated_seconds(const ConvGeometry& g, DType dtype, const TileConfig& config);

// Forward (y is overwritten; with a bias [Cout], y = x ⋆ w + b, the bias being where the outputs start)
// and backward (dx/dw overwritten; either may be null). With `keep`, the forward returns the spectra of
// x (every tile) and w for the backward pass to reuse; backward accepts only what a forward of the same
// geometry, dtype and config returned (else recomputes).
std::unique_ptr<ConvSaved> conv_forward(const ConvGeometry& g, const TileConfig& config, const Tensor& x,
                                        const Tensor& w, Tensor& y, bool keep, const Tensor* bias = nullptr);
void conv_backward(const ConvGeometry& g, const TileConfig& config, const Tensor& x, const Tensor& w,
                   const Tensor& dy, Tensor* dx, Tensor* dw, const ConvSaved* saved);

// Process-wide instrumentation: box transforms run, by what they transformed. A training step of a
// tiled convolution transforms each x tile and each dy tile exactly once when the forward's spectra
// are kept.
struct TransformCounts {
  std::uint64_t x = 0, w = 0, dy = 0;              // forward transforms
  std::uint64_t inverse_y = 0, inverse_dx = 0, inverse_dw = 0;
  std::uint64_t forward() const { return x + w + dy; }
  std::uint64_t inverse() const { return inverse_y + inverse_dx + inverse_dw; }
};
TransformCounts transform_counts();

// Helix: a 2-D or 3-D problem as the 1-D problem over the row-major padded image (conv_helix.cpp).
ConvGeometry helix_geometry(const ConvGeometry& g);

}  // namespace nodal::cpu::spectral
