#include "nodal/nodes/fourier.hpp"

#include "nodal/core/registry.hpp"

namespace nodal {

namespace {
constexpr std::string_view type_names[2][4] = {{"fft", "ifft", "rfft", "irfft"}, {"fft2", "ifft2", "rfft2", "irfft2"}};

Fourier make(FourierKind kind, int rank, std::string norm, std::int64_t n = -1) {
  if (norm != "backward" && norm != "ortho" && norm != "forward")
    throw ValueError(fmt::format("{}: norm must be backward, ortho or forward, got '{}'", type_names[rank - 1][int(kind)], norm));
  if (n == 0 || n < -1) throw ValueError(fmt::format("{}: n must be positive (or -1 for the default), got {}", type_names[rank - 1][int(kind)], n));
  Fourier f;
  f.kind = kind;
  f.rank = rank;
  f.norm = std::move(norm);
  f.n = n;
  return f;
}
}  // namespace

std::string_view Fourier::type() const { return type_names[rank - 1][int(kind)]; }

Attributes Fourier::attributes() const {
  Attributes a{{"norm", norm}};
  if (kind == FourierKind::irfft) a.set("n", n);
  return a;
}

std::int64_t Fourier::real_length(const Shape& s) const {
  if (kind == FourierKind::irfft) return n > 0 ? n : 2 * (s.back() - 1);
  return s.back();
}

std::vector<TensorSpec> Fourier::infer(std::span<const TensorSpec> in) const {
  const TensorSpec& x = in[0];
  if (x.shape.rank() < rank)
    throw ShapeError(fmt::format("{}: needs at least {} axes, got shape {}", type(), rank, to_string(x.shape)));
  for (int a = x.shape.rank() - rank; a < x.shape.rank(); ++a)
    if (x.shape[a] == 0) throw ShapeError(fmt::format("{}: cannot transform an empty axis (shape {})", type(), to_string(x.shape)));
  Shape out = x.shape;
  switch (kind) {
    case FourierKind::fft:
    case FourierKind::ifft: return {{out, complex_dtype(x.dtype)}};
    case FourierKind::rfft:
      if (is_complex(x.dtype)) throw DTypeError(fmt::format("{}: input must be real, got {}", type(), dtype_name(x.dtype)));
      out[out.rank() - 1] = x.shape.back() / 2 + 1;
      return {{out, complex_dtype(x.dtype)}};
    case FourierKind::irfft: {
      if (!is_complex(x.dtype)) throw DTypeError(fmt::format("{}: input must be complex, got {}", type(), dtype_name(x.dtype)));
      const std::int64_t length = real_length(x.shape);
      if (length < 1 || length / 2 + 1 != x.shape.back())
        throw ShapeError(fmt::format("{}: a half spectrum of {} bins cannot make {} samples (needs n/2+1 = {} bins)", type(),
                                     x.shape.back(), length, length / 2 + 1));
      out[out.rank() - 1] = length;
      return {{out, real_dtype(x.dtype)}};
    }
  }
  return {};
}

namespace fourier {

#define NODAL_FOURIER_BUILDERS(name, kind_, rank_)                                                         \
  Value name(const Value& x, std::string norm, std::source_location where) {                               \
    return detail::add_node(make(kind_, rank_, std::move(norm)), {x}, where);                              \
  }                                                                                                         \
  Tensor name(const Tensor& x, std::string norm) { return detail::run_node(make(kind_, rank_, std::move(norm)), {x}); }
NODAL_FOURIER_BUILDERS(fft, FourierKind::fft, 1)
NODAL_FOURIER_BUILDERS(ifft, FourierKind::ifft, 1)
NODAL_FOURIER_BUILDERS(rfft, FourierKind::rfft, 1)
NODAL_FOURIER_BUILDERS(fft2, FourierKind::fft, 2)
NODAL_FOURIER_BUILDERS(ifft2, FourierKind::ifft, 2)
NODAL_FOURIER_BUILDERS(rfft2, FourierKind::rfft, 2)
#undef NODAL_FOURIER_BUILDERS

Value irfft(const Value& x, std::int64_t n, std::string norm, std::source_location where) {
  return detail::add_node(make(FourierKind::irfft, 1, std::move(norm), n), {x}, where);
}
Tensor irfft(const Tensor& x, std::int64_t n, std::string norm) {
  return detail::run_node(make(FourierKind::irfft, 1, std::move(norm), n), {x});
}
Value irfft2(const Value& x, std::int64_t n, std::string norm, std::source_location where) {
  return detail::add_node(make(FourierKind::irfft, 2, std::move(norm), n), {x}, where);
}
Tensor irfft2(const Tensor& x, std::int64_t n, std::string norm) {
  return detail::run_node(make(FourierKind::irfft, 2, std::move(norm), n), {x});
}

}  // namespace fourier

namespace {
void register_fourier(FourierKind kind, int rank, std::string doc) {
  std::vector<AttrSpec> attrs{{"norm", std::string("backward"), "backward | ortho | forward (NumPy's meaning)"}};
  if (kind == FourierKind::irfft) attrs.push_back({"n", std::int64_t(-1), "length of the last output axis (-1: 2(m-1))"});
  Registry::instance().add_type({.name = std::string(type_names[rank - 1][int(kind)]),
                                 .doc = std::move(doc),
                                 .attributes = attrs,
                                 .make = [kind, rank](const Attributes& a) {
                                   return std::make_unique<Fourier>(make(kind, rank, a.get<std::string>("norm"),
                                                                         kind == FourierKind::irfft ? a.get<std::int64_t>("n") : -1));
                                 }});
}
[[maybe_unused]] const bool registered = [] {
  register_fourier(FourierKind::fft, 1, "DFT over the last axis (real input promoted to complex)");
  register_fourier(FourierKind::ifft, 1, "inverse DFT over the last axis");
  register_fourier(FourierKind::rfft, 1, "DFT of real input over the last axis: n/2+1 bins");
  register_fourier(FourierKind::irfft, 1, "inverse of rfft: half spectrum -> n real samples");
  register_fourier(FourierKind::fft, 2, "2-D DFT over the last two axes");
  register_fourier(FourierKind::ifft, 2, "2-D inverse DFT over the last two axes");
  register_fourier(FourierKind::rfft, 2, "2-D DFT of real input (half spectrum on the last axis)");
  register_fourier(FourierKind::irfft, 2, "inverse of rfft2");
  return true;
}();
}  // namespace

}  // namespace nodal
