// Algorithm "helix": a 2-D (or 3-D) convolution as one 1-D convolution of the row-major padded
// image (Claerbout's helix transform), computed by the 1-D spectral engine.
//
// With the padded image of Hp×Wp points flattened row by row (q = i·Wp + j), the kernel tap (kh, kw)
// lands at offset kh·dh·Wp + kw·dw of a 1-D filter of length (Kh−1)·dh·Wp + (Kw−1)·dw + 1, and
//   z1[q] = Σ_k x1[q + off(k)] w1[off(k)] = z[i, j]   for every q = flat(p·s), p a valid output,
// because p·s + k·d stays inside the padded box on every axis, where flattening is exact (a row
// never runs into the next one for the points that are read). The 1-D circular convolution of
// length ≥ Hp·Wp therefore holds every valid 2-D output; the other points are discarded. The
// backward passes are the same 1-D passes: dy is scattered onto the flattened grid, dx is the
// interior of the 1-D dx, dw is read at the tap offsets. 3-D flattens (d, h, w) the same way.
#include <fmt/format.h>

#include "nodal/backends/cpu/conv_algorithm.hpp"
#include "nodal/backends/cpu/conv_cost.hpp"
#include "nodal/backends/cpu/conv_spectral.hpp"
#include "nodal/backends/cpu/elementwise.hpp"

namespace nodal::cpu {
namespace spectral {

ConvGeometry helix_geometry(const ConvGeometry& g) {
  ConvGeometry h;
  h.rank = 1;
  h.batch = g.batch;
  h.in_channels = g.in_channels;
  h.out_channels = g.out_channels;
  h.groups = g.groups;
  std::array<std::int64_t, 3> padded{};
  for (std::size_t i = 0; i < 3; ++i) padded[i] = g.in[i] + g.pad_before[i] + g.pad_after[i];
  const std::int64_t flat = padded[0] * padded[1] * padded[2];
  const std::int64_t taps = (g.kernel[0] - 1) * g.dilation[0] * padded[1] * padded[2] +
                            (g.kernel[1] - 1) * g.dilation[1] * padded[2] + (g.kernel[2] - 1) * g.dilation[2] + 1;
  h.in = {1, 1, flat};
  h.kernel = {1, 1, taps};
  h.out = {1, 1, flat - taps + 1};
  return h;
}

}  // namespace spectral
namespace {

// Index maps between the 3-axis problem and its flattened helix.
struct Helix {
  ConvGeometry g, h;
  std::array<std::int64_t, 3> padded{};
  explicit Helix(const ConvGeometry& geometry) : g(geometry), h(spectral::helix_geometry(geometry)) {
    for (std::size_t i = 0; i < 3; ++i) padded[i] = g.in[i] + g.pad_before[i] + g.pad_after[i];
  }
  std::int64_t flat(std::int64_t a, std::int64_t b, std::int64_t c) const { return (a * padded[1] + b) * padded[2] + c; }

  // f(index in the 3-axis tensor, index in the flattened one) over one channel image of each kind.
  template <class F> void each_input(F&& f) const {
    for (std::int64_t a = 0; a < g.in[0]; ++a)
      for (std::int64_t b = 0; b < g.in[1]; ++b)
        for (std::int64_t c = 0; c < g.in[2]; ++c)
          f((a * g.in[1] + b) * g.in[2] + c, flat(a + g.pad_before[0], b + g.pad_before[1], c + g.pad_before[2]));
  }
  template <class F> void each_output(F&& f) const {
    for (std::int64_t a = 0; a < g.out[0]; ++a)
      for (std::int64_t b = 0; b < g.out[1]; ++b)
        for (std::int64_t c = 0; c < g.out[2]; ++c)
          f((a * g.out[1] + b) * g.out[2] + c, flat(a * g.stride[0], b * g.stride[1], c * g.stride[2]));
  }
  template <class F> void each_tap(F&& f) const {
    for (std::int64_t a = 0; a < g.kernel[0]; ++a)
      for (std::int64_t b = 0; b < g.kernel[1]; ++b)
        for (std::int64_t c = 0; c < g.kernel[2]; ++c)
          f((a * g.kernel[1] + b) * g.kernel[2] + c, flat(a * g.dilation[0], b * g.dilation[1], c * g.dilation[2]));
  }

  // Copies between images: `images` of `from_pixels` into zeroed images of `to_pixels` (or back).
  template <class T, class Each>
  static void scatter(const T* from, std::int64_t from_pixels, T* to, std::int64_t to_pixels, std::int64_t images,
                      Each&& each, bool to_flat) {
    std::fill(to, to + images * to_pixels, T(0));
    parallel_for(
        images,
        [&](std::int64_t b, std::int64_t e) {
          for (std::int64_t i = b; i < e; ++i) {
            const T* src = from + i * from_pixels;
            T* dst = to + i * to_pixels;
            each([&](std::int64_t small, std::int64_t big) {
              if (to_flat) dst[big] = src[small];
              else dst[small] = src[big];
            });
          }
        },
        std::max<std::int64_t>(1, (std::int64_t(1) << 15) / std::max<std::int64_t>(to_pixels, 1)));
  }

  template <class T> Tensor flatten_input(const Tensor& x) const {
    Tensor out = Tensor::empty(h.input_shape(), x.dtype());
    scatter(x.data<T>(), g.in_pixels(), out.data<T>(), h.in_pixels(), g.batch * g.in_channels,
            [&](auto&& f) { each_input(f); }, true);
    return out;
  }
  template <class T> Tensor flatten_weight(const Tensor& w) const {
    Tensor out = Tensor::empty(h.weight_shape(), w.dtype());
    scatter(w.data<T>(), g.kernel_pixels(), out.data<T>(), h.kernel_pixels(), g.out_channels * g.in_per_group(),
            [&](auto&& f) { each_tap(f); }, true);
    return out;
  }
  template <class T> Tensor flatten_output(const Tensor& y) const {
    Tensor out = Tensor::empty(h.output_shape(), y.dtype());
    scatter(y.data<T>(), g.out_pixels(), out.data<T>(), h.out_pixels(), g.batch * g.out_channels,
            [&](auto&& f) { each_output(f); }, true);
    return out;
  }
};

template <class T>
void unflatten(const Tensor& flat, std::int64_t flat_pixels, Tensor& out, std::int64_t pixels, std::int64_t images,
               auto&& each) {
  Helix::scatter(flat.data<T>(), flat_pixels, out.data<T>(), pixels, images, each, false);
}

class HelixConvolution final : public ConvAlgorithm {
 public:
  std::string_view name() const override { return "helix"; }

  bool supports(const ConvGeometry& g, std::string* why) const override {
    const ConvGeometry h = spectral::helix_geometry(g);
    const double bytes = 16.0 * double(h.in_pixels()) *
                         double((g.batch + 1) / 2 * (g.in_channels + g.out_channels) + g.out_channels * g.in_per_group());
    if (bytes > 4.0 * (1ull << 30)) {
      if (why) *why = fmt::format("its 1-D spectra would take {:.1f} GiB", bytes / double(1ull << 30));
      return false;
    }
    return true;
  }

  double estimated_seconds(const ConvGeometry& g, DType dtype) const override {
    const ConvGeometry h = spectral::helix_geometry(g);
    // The spectral passes plus flattening x, y, w and their gradients (≈ 2 passes each).
    const double bytes = 2.0 * conv_cost::element_bytes(dtype) *
                         double(g.batch * (g.in_channels + g.out_channels) * h.in_pixels());
    return spectral::estimated_seconds(h, dtype, {}) + bytes / conv_cost::bytes_per_s;
  }

  std::unique_ptr<ConvSaved> forward(const ConvGeometry& g, const Tensor& x, const Tensor& w, Tensor& y,
                                     bool keep) const override {
    const Helix hx(g);
    const bool f64 = x.dtype() == DType::float64;
    check(g, x, w);
    const Tensor xh = f64 ? hx.flatten_input<double>(x) : hx.flatten_input<float>(x);
    const Tensor wh = f64 ? hx.flatten_weight<double>(w) : hx.flatten_weight<float>(w);
    Tensor yh = Tensor::empty(hx.h.output_shape(), x.dtype());
    auto saved = spectral::conv_forward(hx.h, {}, xh, wh, yh, keep);
    auto each = [&](auto&& f) { hx.each_output(f); };
    if (f64) unflatten<double>(yh, hx.h.out_pixels(), y, g.out_pixels(), g.batch * g.out_channels, each);
    else unflatten<float>(yh, hx.h.out_pixels(), y, g.out_pixels(), g.batch * g.out_channels, each);
    return saved;
  }

  void backward(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor* dw,
                const ConvSaved* saved) const override {
    const Helix hx(g);
    const bool f64 = x.dtype() == DType::float64;
    check(g, x, w);
    const Tensor xh = f64 ? hx.flatten_input<double>(x) : hx.flatten_input<float>(x);
    const Tensor wh = f64 ? hx.flatten_weight<double>(w) : hx.flatten_weight<float>(w);
    const Tensor dyh = f64 ? hx.flatten_output<double>(dy) : hx.flatten_output<float>(dy);
    Tensor dxh, dwh;
    if (dx) dxh = Tensor::empty(hx.h.input_shape(), x.dtype());
    if (dw) dwh = Tensor::empty(hx.h.weight_shape(), x.dtype());
    spectral::conv_backward(hx.h, {}, xh, wh, dyh, dx ? &dxh : nullptr, dw ? &dwh : nullptr, saved);
    if (dx) {
      auto each = [&](auto&& f) { hx.each_input(f); };
      if (f64) unflatten<double>(dxh, hx.h.in_pixels(), *dx, g.in_pixels(), g.batch * g.in_channels, each);
      else unflatten<float>(dxh, hx.h.in_pixels(), *dx, g.in_pixels(), g.batch * g.in_channels, each);
    }
    if (dw) {
      auto each = [&](auto&& f) { hx.each_tap(f); };
      const std::int64_t images = g.out_channels * g.in_per_group();
      if (f64) unflatten<double>(dwh, hx.h.kernel_pixels(), *dw, g.kernel_pixels(), images, each);
      else unflatten<float>(dwh, hx.h.kernel_pixels(), *dw, g.kernel_pixels(), images, each);
    }
  }

 private:
  static void check(const ConvGeometry& g, const Tensor& x, const Tensor& w) {
    if ((x.dtype() != DType::float32 && x.dtype() != DType::float64) || w.dtype() != x.dtype())
      throw DTypeError(fmt::format("conv{}d (helix): x is {} and w is {}; float32 or float64 alike", g.rank,
                                   dtype_name(x.dtype()), dtype_name(w.dtype())));
    if (!x.is_contiguous() || !w.is_contiguous() || !(x.shape() == g.input_shape()) || !(w.shape() == g.weight_shape()))
      throw ShapeError(fmt::format("conv{}d (helix): expects contiguous x {} and w {} for {}, got {} and {}", g.rank,
                                   to_string(g.input_shape()), to_string(g.weight_shape()), g.key(),
                                   to_string(x.shape()), to_string(w.shape())));
  }
};

NODAL_REGISTER_CONV_ALGORITHM(HelixConvolution);

}  // namespace
}  // namespace nodal::cpu
