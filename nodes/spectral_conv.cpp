// spectral_conv2d is a composite: irfft2 -> slice -> slice -> conv2d. Each step is an existing
// node with its own vjp/jvp, so the gradient with respect to the half spectrum is the chain of
// theirs (irfft2's adjoint carries the interior-column doubling described in the header).
#include "nodal/nodes/spectral_conv.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/nodes/fourier.hpp"
#include "nodal/nodes/shape_ops.hpp"

namespace nodal {
namespace {

struct SpectralSizes {
  std::int64_t kh, kw, l0, l1;
};

std::array<std::int64_t, 2> two(std::string_view what, const std::vector<std::int64_t>& v) {
  if (v.size() != 1 && v.size() != 2)
    throw ValueError(fmt::format("spectral_conv2d: {} needs 1 or 2 values, got [{}]", what, fmt::join(v, ", ")));
  return {v[0], v.size() == 2 ? v[1] : v[0]};
}

// Kernel and transform sizes, checked against each other (and against the spectrum's shape
// when `spectrum` is given: [Cout, Cin/groups, L0, L1/2 + 1], complex).
SpectralSizes resolve(const SpectralConvOptions& o) {
  const auto k = two("kernel_size", o.kernel_size);
  const auto l = o.transform_size.empty() ? k : two("transform_size", o.transform_size);
  if (k[0] < 1 || k[1] < 1)
    throw ValueError(fmt::format("spectral_conv2d: kernel_size must be positive, got [{}]", fmt::join(o.kernel_size, ", ")));
  if (l[0] < k[0] || l[1] < k[1])
    throw ValueError(fmt::format("spectral_conv2d: transform_size [{}] must be at least the kernel size [{}] on both axes",
                                 fmt::join(l, ", "), fmt::join(k, ", ")));
  return {k[0], k[1], l[0], l[1]};
}

SpectralSizes resolve(const SpectralConvOptions& o, const TensorSpec& spectrum) {
  const SpectralSizes s = resolve(o);
  if (!is_complex(spectrum.dtype))
    throw DTypeError(fmt::format("spectral_conv2d: the spectrum must be complex64 or complex128, got {}",
                                 dtype_name(spectrum.dtype)));
  const Shape& sh = spectrum.shape;
  if (sh.rank() != 4 || sh[2] != s.l0 || sh[3] != s.l1 / 2 + 1)
    throw ShapeError(fmt::format("spectral_conv2d: the spectrum must be [Cout, Cin/groups, {}, {}] (rfft2 layout of a "
                                 "{}×{} transform), got {}",
                                 s.l0, s.l1 / 2 + 1, s.l0, s.l1, to_string(sh)));
  return s;
}

}  // namespace

Value spectral_filter(const Value& w_spectrum, const SpectralConvOptions& options, std::source_location where) {
  const SpectralSizes s = resolve(options, w_spectrum.spec());
  const Value full = fourier::irfft2(w_spectrum, s.l1, "backward", where);  // [Cout, Cin, L0, L1], real
  return slice(slice(full, 2, 0, s.kh, 1, where), 3, 0, s.kw, 1, where);
}

Tensor spectral_filter(const Tensor& w_spectrum, const SpectralConvOptions& options) {
  const SpectralSizes s = resolve(options, spec_of(w_spectrum));
  return slice(slice(fourier::irfft2(w_spectrum, s.l1), 2, 0, s.kh), 3, 0, s.kw).contiguous();
}

Tensor filter_spectrum(const Tensor& w, const SpectralConvOptions& options) {
  const SpectralSizes s = resolve(options);
  if (w.rank() != 4 || w.dim(2) != s.kh || w.dim(3) != s.kw)
    throw ShapeError(fmt::format("filter_spectrum: w must be [Cout, Cin/groups, {}, {}], got {}", s.kh, s.kw,
                                 to_string(w.shape())));
  if (is_complex(w.dtype()))
    throw DTypeError(fmt::format("filter_spectrum: w must be real, got {}", dtype_name(w.dtype())));
  return fourier::rfft2(pad(w, {0, 0, 0, 0}, {0, 0, s.l0 - s.kh, s.l1 - s.kw}));
}

Value spectral_conv2d(const Value& x, const Value& w_spectrum, const SpectralConvOptions& options,
                      std::source_location where) {
  return conv2d(x, spectral_filter(w_spectrum, options, where), options.conv, where);
}

Tensor spectral_conv2d(const Tensor& x, const Tensor& w_spectrum, const SpectralConvOptions& options) {
  return conv2d(x, spectral_filter(w_spectrum, options), options.conv);
}

}  // namespace nodal
