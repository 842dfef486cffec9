// gradcheck's plumbing and its report: tensors as real coordinates, locating the worst entry,
// and formatting the result so that a failure reads without the source at hand.
#include <ostream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/core/error.hpp"
#include "nodal/core/gradcheck_detail.hpp"

namespace nodal {
namespace gradcheck_detail {

std::int64_t coord_count(const TensorSpec& spec) { return spec.shape.numel() * (is_complex(spec.dtype) ? 2 : 1); }

std::vector<double> to_coords(const Tensor& t) {
  const Tensor host = (t.backend() == Backend::cpu ? t : t.to(Backend::cpu)).contiguous();
  std::vector<double> out(std::size_t(coord_count(spec_of(host))));
  visit_dtype(host.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = host.data<T>();
    for (std::int64_t i = 0; i < host.numel(); ++i) {
      if constexpr (is_complex_v<T>) {
        out[2 * i] = double(p[i].real());
        out[2 * i + 1] = double(p[i].imag());
      } else {
        out[i] = double(p[i]);
      }
    }
  });
  return out;
}

Tensor from_coords(const TensorSpec& spec, std::span<const double> coords) {
  if (std::int64_t(coords.size()) != coord_count(spec))
    throw ValueError(fmt::format("gradcheck: {} coordinates cannot fill a tensor of {}", coords.size(), to_string(spec)));
  Tensor t = Tensor::empty(spec.shape, spec.dtype);
  visit_dtype(spec.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < t.numel(); ++i) {
      if constexpr (is_complex_v<T>) {
        using R = typename T::value_type;
        p[i] = T(R(coords[2 * i]), R(coords[2 * i + 1]));
      } else {
        p[i] = T(coords[i]);
      }
    }
  });
  return t;
}

Located locate(const TensorSpec& spec, std::int64_t c) {
  Located at;
  std::int64_t element = c;
  if (is_complex(spec.dtype)) {
    at.imag = (c % 2) == 1;
    element = c / 2;
  }
  at.index.assign(std::size_t(spec.shape.rank()), 0);
  for (int axis = spec.shape.rank() - 1; axis >= 0; --axis) {
    const std::int64_t extent = spec.shape[axis];
    at.index[std::size_t(axis)] = extent > 0 ? element % extent : 0;
    element = extent > 0 ? element / extent : 0;
  }
  return at;
}

std::string entry_place(std::string_view prefix, std::size_t which, const std::vector<std::int64_t>& index, bool imag,
                        bool is_complex_tensor) {
  std::string place = fmt::format("{}{}[{}]", prefix, which, fmt::join(index, ", "));
  if (is_complex_tensor) place += imag ? ".im" : ".re";
  return place;
}

std::string describe_entry(const GradcheckCheck& check, const GradcheckEntry& e) {
  const bool jacobian = check.name == "jacobian_vjp" || check.name == "jacobian_jvp";
  const char* analytic_name = check.name == "jvp_vs_vjp" ? "jvp" : "analytic";
  const char* numeric_name = check.name == "jvp_vs_vjp" ? "vjp" : "numeric";
  std::string where;
  if (jacobian)
    where = fmt::format("d {} / d {}: ", entry_place("output", e.output, e.output_index, e.output_imag, e.output_complex),
                        entry_place("input", e.input, e.input_index, e.input_imag, e.input_complex));
  const char* relation = e.error <= e.allowed ? "<=" : ">";
  return fmt::format("{}{} {:.9g}, {} {:.9g}, |difference| {:.3g} {} allowed {:.3g}", where, analytic_name, e.analytic,
                     numeric_name, e.numeric, e.error, relation, e.allowed);
}

}  // namespace gradcheck_detail

GradcheckOptions gradcheck_float32_options() {
  GradcheckOptions o;
  o.eps = 1e-3;
  o.atol = 1e-3;
  o.rtol = 1e-2;
  return o;
}

GradcheckResult::GradcheckResult(std::vector<GradcheckCheck> checks, std::string header) : checks_(std::move(checks)) {
  std::size_t failed = 0;
  for (const GradcheckCheck& c : checks_) failed += c.passed ? 0 : 1;
  passed_ = failed == 0;
  report_ = passed_ ? fmt::format("gradcheck PASSED ({} checks)", checks_.size())
                    : fmt::format("gradcheck FAILED ({} of {} checks failed)", failed, checks_.size());
  if (!header.empty()) report_ += "\n  " + header;
  for (const GradcheckCheck& c : checks_) {
    report_ += fmt::format("\n  [{}] {}", c.passed ? " ok " : "FAIL", c.name);
    if (c.compared > 0) report_ += fmt::format(" ({} of {} entries outside tolerance)", c.failures, c.compared);
    if (!c.detail.empty()) report_ += ": " + c.detail;
    if (c.worst) report_ += fmt::format("\n         worst: {}", gradcheck_detail::describe_entry(c, *c.worst));
  }
}

const GradcheckCheck* GradcheckResult::find(std::string_view name) const {
  for (const GradcheckCheck& c : checks_)
    if (c.name == name) return &c;
  return nullptr;
}

const GradcheckCheck* GradcheckResult::first_failure() const {
  for (const GradcheckCheck& c : checks_)
    if (!c.passed) return &c;
  return nullptr;
}

std::ostream& operator<<(std::ostream& out, const GradcheckResult& result) { return out << result.report(); }

}  // namespace nodal
