#include "nodal/core/tensor_format.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "nodal/core/error.hpp"

namespace nodal {
namespace {

constexpr std::string_view prefix = "tensor(";

// How every value of one tensor is written: the same notation and width for all, so columns
// line up.
struct NumberStyle {
  bool scientific = false;
  int precision = 4;
  std::size_t width = 0;
};

std::string format_real(double v, const NumberStyle& s) {
  return s.scientific ? fmt::format("{:.{}e}", v, s.precision) : fmt::format("{:.{}f}", v, s.precision);
}
std::string format_value(complex128 v, bool complex, const NumberStyle& s) {
  if (!complex) return format_real(v.real(), s);
  std::string imag = format_real(v.imag(), s);
  if (imag.front() != '-') imag.insert(imag.begin(), '+');
  return format_real(v.real(), s) + imag + "j";
}

// PyTorch's choice: scientific notation when the finite non-zero magnitudes span more than
// three decades or leave [1e-4, 1e8).
bool needs_scientific(const std::vector<complex128>& values, bool complex) {
  double lo = INFINITY, hi = 0.0;
  auto note = [&](double x) {
    x = std::fabs(x);
    if (!std::isfinite(x) || x == 0.0) return;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  };
  for (const complex128& v : values) {
    note(v.real());
    if (complex) note(v.imag());
  }
  if (hi == 0.0) return false;
  return hi / lo > 1000.0 || hi >= 1e8 || lo < 1e-4;
}

// Walks the displayed elements of a CPU tensor in row-major order, twice: once to collect the
// values (to choose the style), once to write them.
class TensorPrinter {
 public:
  TensorPrinter(const Tensor& t, const PrintOptions& options)
      : t_(t), options_(options), complex_(is_complex(t.dtype())),
        summarise_(t.numel() > options.threshold) {}

  std::string values_text() {
    collect(0, t_.offset());
    style_.precision = std::clamp(options_.precision, 0, 17);
    style_.scientific = needs_scientific(values_, complex_);
    for (const complex128& v : values_) style_.width = std::max(style_.width, format_value(v, complex_, style_).size());
    next_ = 0;
    write(0, t_.offset());
    return std::move(out_);
  }

 private:
  // Indices shown along an axis of extent n; -1 stands for the "..." marker.
  std::vector<std::int64_t> shown(std::int64_t n) const {
    std::vector<std::int64_t> idx;
    const std::int64_t e = std::max<std::int64_t>(options_.edge_items, 1);
    if (summarise_ && n > 2 * e) {
      for (std::int64_t i = 0; i < e; ++i) idx.push_back(i);
      idx.push_back(-1);
      for (std::int64_t i = n - e; i < n; ++i) idx.push_back(i);
    } else {
      for (std::int64_t i = 0; i < n; ++i) idx.push_back(i);
    }
    return idx;
  }

  complex128 read(std::int64_t element) const {
    return visit_dtype(t_.dtype(), [&](auto tag) -> complex128 {
      using T = typename decltype(tag)::type;
      const T* base = static_cast<const T*>(t_.buffer()->host_data());
      return complex128(base[element]);
    });
  }

  void collect(int axis, std::int64_t element) {
    if (axis == t_.rank()) {
      values_.push_back(read(element));
      return;
    }
    for (std::int64_t i : shown(t_.shape()[axis]))
      if (i >= 0) collect(axis + 1, element + i * t_.strides()[axis]);
  }

  // Between the children of `axis`: ", " in the innermost axis; otherwise a comma, one newline
  // per remaining inner axis (a blank line between matrices, as PyTorch does) and indentation
  // up to the column after this axis's opening bracket.
  std::string separator(int axis) const {
    if (axis == t_.rank() - 1) return ", ";
    std::string s(",");
    s.append(std::size_t(t_.rank() - axis - 1), '\n');
    s.append(prefix.size() + std::size_t(axis) + 1, ' ');
    return s;
  }

  void write(int axis, std::int64_t element) {
    if (axis == t_.rank()) {
      const std::string text = format_value(values_[next_++], complex_, style_);
      out_.append(style_.width - text.size(), ' ');
      out_ += text;
      return;
    }
    out_ += '[';
    bool first = true;
    for (std::int64_t i : shown(t_.shape()[axis])) {
      if (!first) out_ += separator(axis);
      first = false;
      if (i < 0) out_ += "...";
      else write(axis + 1, element + i * t_.strides()[axis]);
    }
    out_ += ']';
  }

  const Tensor& t_;
  const PrintOptions& options_;
  bool complex_;
  bool summarise_;
  std::vector<complex128> values_;
  std::size_t next_ = 0;
  NumberStyle style_;
  std::string out_;
};

std::string metadata(const Tensor& t) {
  return fmt::format("shape={}, dtype={}, backend={}", to_string(t.shape()), dtype_name(t.dtype()),
                     backend_name(t.backend()));
}

}  // namespace

std::string format_tensor(const Tensor& t, const PrintOptions& options) {
  if (!t.defined()) return "tensor(undefined)";
  if (options.threshold < 0 || options.edge_items < 0)
    throw ValueError(fmt::format("format_tensor: threshold ({}) and edge_items ({}) must be >= 0", options.threshold,
                                 options.edge_items));
  if (t.buffer()->host_data() == nullptr) return fmt::format("{}{})", prefix, metadata(t));
  std::string values = t.numel() == 0 ? std::string("[]") : TensorPrinter(t, options).values_text();
  return fmt::format("{}{}, {})", prefix, values, metadata(t));
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << format_tensor(t); }

}  // namespace nodal
