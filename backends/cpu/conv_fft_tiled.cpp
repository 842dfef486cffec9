// Algorithms "fft_tiled" (overlap-add) and "fft_overlap_save" (overlap-discard): the spectral
// convolution in tiles, so that large images need transforms of a bounded size and the spectra in
// flight stay bounded (docs/convolution.md).
//
//   overlap-add: the padded input is cut into blocks of B points per axis; each block's full
//     correlation (B + span − 1 points, fits a transform of L ≥ B + span − 1) is added into the
//     output. Neighbouring blocks' outputs overlap by span − 1, so blocks are processed in
//     m = ⌈(B + span − 1)/B⌉ interleaved steps per axis: blocks of one step are ≥ m apart and never
//     write the same point, so they run in parallel without atomics.
//   overlap-save: the output is cut into tiles of B; each tile reads its input plus a halo of
//     span − 1 and keeps the B outputs that did not wrap around (the rest is discarded).
//
// Tile sizes: the cost model (conv_spectral_tiles.cpp) tries every smooth transform size per axis
// with tile = L − span + 1 and keeps the cheapest tiles × (transforms + MAC) estimate.
#include "nodal/backends/cpu/conv_algorithm.hpp"
#include "nodal/backends/cpu/conv_spectral.hpp"

namespace nodal::cpu {
namespace {

template <spectral::TileMethod method>
class TiledFftConvolution final : public ConvAlgorithm {
 public:
  std::string_view name() const override {
    return method == spectral::TileMethod::overlap_add ? "fft_tiled" : "fft_overlap_save";
  }

  double estimated_seconds(const ConvGeometry& g, DType dtype) const override {
    return spectral::estimated_seconds(g, dtype, spectral::choose_tiles(g, dtype, method));
  }

  std::unique_ptr<ConvSaved> forward(const ConvGeometry& g, const Tensor& x, const Tensor& w, Tensor& y,
                                     bool keep) const override {
    return spectral::conv_forward(g, spectral::choose_tiles(g, x.dtype(), method), x, w, y, keep);
  }

  // The bias is where the inverse transforms' outputs start (no pass over y of its own).
  std::unique_ptr<ConvSaved> forward_with_bias(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& b,
                                               Tensor& y, bool keep) const override {
    return spectral::conv_forward(g, spectral::choose_tiles(g, x.dtype(), method), x, w, y, keep, &b);
  }

  void backward(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor* dw,
                const ConvSaved* saved) const override {
    spectral::conv_backward(g, spectral::choose_tiles(g, x.dtype(), method), x, w, dy, dx, dw, saved);
  }
};

using OverlapAdd = TiledFftConvolution<spectral::TileMethod::overlap_add>;
using OverlapSave = TiledFftConvolution<spectral::TileMethod::overlap_save>;
NODAL_REGISTER_CONV_ALGORITHM(OverlapAdd);
NODAL_REGISTER_CONV_ALGORITHM(OverlapSave);

}  // namespace
}  // namespace nodal::cpu
