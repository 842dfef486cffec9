// Algorithm "fft": the whole convolution as one spectral product per sample pair (docs/convolution.md).
//
// Transform size per axis: the smallest 2·3·5·7-smooth L ≥ the padded extent that the outputs read
// (Z + span − 1 ≤ S + pad_before + pad_after, = H + K − 1 for 'same'); conv_spectral_tiles.cpp argues
// why no circular wrap-around reaches a point that any of the three passes reads. The filter is
// zero-padded to the image's transform size (spectral interpolation of its small spectrum), dilation
// spreads its taps d apart, and a stride s computes the stride-1 grid and samples every s-th point
// (dy is likewise scattered onto every s-th point of the grid for the backward passes).
//
// Forward: x spectra (two samples per transform) and w spectra (once per call, not per sample),
// then per frequency Ŷ = X̂·Ŵᴴ over channels, one inverse per (sample pair, output channel).
// Backward: dy spectra once; dx from DŶ·Ŵ, dw from DŶᴴ·X̂, reusing X̂ and Ŵ kept by the forward.
#include <fmt/format.h>

#include "nodal/backends/cpu/conv_algorithm.hpp"
#include "nodal/backends/cpu/conv_spectral.hpp"

namespace nodal::cpu {
namespace {

class FftConvolution final : public ConvAlgorithm {
 public:
  std::string_view name() const override { return "fft"; }

  bool supports(const ConvGeometry& g, std::string* why) const override {
    // The spectra of one call live in memory together: refuse beyond 4 GiB of them.
    const spectral::TilePlan plan = spectral::make_tile_plan(g, {});
    const double bytes = 16.0 * double(plan.points()) *
                         double((g.batch + 1) / 2 * (g.in_channels + g.out_channels) + g.out_channels * g.in_per_group());
    if (bytes > 4.0 * (1ull << 30)) {
      if (why) *why = fmt::format("its spectra would take {:.1f} GiB; use fft_tiled", bytes / double(1ull << 30));
      return false;
    }
    return true;
  }

  double estimated_seconds(const ConvGeometry& g, DType dtype) const override {
    return spectral::estimated_seconds(g, dtype, {});
  }

  std::unique_ptr<ConvSaved> forward(const ConvGeometry& g, const Tensor& x, const Tensor& w, Tensor& y,
                                     bool keep) const override {
    return spectral::conv_forward(g, {}, x, w, y, keep);
  }

  // The bias is where the inverse transforms' outputs start (no pass over y of its own).
  std::unique_ptr<ConvSaved> forward_with_bias(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& b,
                                               Tensor& y, bool keep) const override {
    return spectral::conv_forward(g, {}, x, w, y, keep, &b);
  }

  void backward(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor* dw,
                const ConvSaved* saved) const override {
    spectral::conv_backward(g, {}, x, w, dy, dx, dw, saved);
  }
};

NODAL_REGISTER_CONV_ALGORITHM(FftConvolution);

}  // namespace
}  // namespace nodal::cpu
