// gradcheck: the checks listed in core/gradcheck.hpp. Every tensor is flattened to real
// coordinates (complex = Re, Im pairs); x is the concatenation of the differentiated inputs,
// y = f(x) the concatenation of all outputs, and J = ∂y/∂x is n_out × n_in.
#include "nodal/core/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/core/error.hpp"
#include "nodal/core/execution.hpp"
#include "nodal/core/gradcheck_detail.hpp"

namespace nodal {
namespace {

using namespace gradcheck_detail;

// Above this many Jacobian entries the full check is refused in favour of fast mode.
constexpr std::int64_t max_full_jacobian = std::int64_t(1) << 22;
constexpr int projection_count = 3;  // random (u, v) pairs for jvp_vs_vjp and projection

struct Problem {
  Graph graph;
  std::vector<Value> inputs, outputs;
  std::vector<Tensor> values;       // the given inputs, on their backends
  std::vector<std::size_t> diff;    // indices of the differentiated inputs
  std::vector<Value> wrt;           // their graph inputs
  std::vector<std::int64_t> in_offset, out_offset;  // coordinate offsets (size + 1 each)
  std::vector<TensorSpec> out_specs;

  std::int64_t n_in() const { return in_offset.back(); }
  std::int64_t n_out() const { return out_offset.back(); }
  const TensorSpec& diff_spec(std::size_t d) const { return inputs[diff[d]].spec(); }

  // The given inputs with the differentiated ones replaced by coordinates x.
  std::vector<Feed> feeds(std::span<const double> x) const {
    std::vector<Feed> f;
    for (std::size_t i = 0; i < inputs.size(); ++i) f.push_back({inputs[i], values[i]});
    for (std::size_t d = 0; d < diff.size(); ++d) {
      Tensor t = from_coords(diff_spec(d), x.subspan(in_offset[d], in_offset[d + 1] - in_offset[d]));
      const Backend b = values[diff[d]].backend();
      f[diff[d]].value = b == Backend::cpu ? t : t.to(b);
    }
    return f;
  }
  std::vector<double> evaluate(std::span<const double> x) {
    NoGradGuard no_grad;
    Execution run = graph.forward(outputs, feeds(x));
    std::vector<double> y;
    for (const Value& o : outputs) {
      std::vector<double> c = to_coords(run[o]);
      y.insert(y.end(), c.begin(), c.end());
    }
    return y;
  }
  // Jᵀ(cotangent of output o) as input coordinates, from reverse mode.
  std::vector<double> vjp(Execution& run, std::size_t o, std::span<const double> cot) {
    Tensor c = from_coords(out_specs[o], cot);
    const Backend b = run[outputs[o]].backend();
    Gradients g = run.backward(outputs[o], wrt, {.cotangent = b == Backend::cpu ? c : c.to(b), .retain = true});
    std::vector<double> xbar;
    for (const Tensor& t : g.tensors()) {
      std::vector<double> part = to_coords(t);
      xbar.insert(xbar.end(), part.begin(), part.end());
    }
    return xbar;
  }
  // J·u as output coordinates, from forward mode.
  std::vector<double> jvp(std::span<const double> x, std::span<const double> u) {
    std::vector<Feed> tangents;
    std::vector<Feed> tangent_feeds = feeds(u);  // u laid out like x
    for (std::size_t d = 0; d < diff.size(); ++d) tangents.push_back(tangent_feeds[diff[d]]);
    JvpResult r = graph.jvp(outputs, feeds(x), tangents);
    std::vector<double> ydot;
    for (const Tensor& t : r.tangents) {
      std::vector<double> part = to_coords(t);
      ydot.insert(ydot.end(), part.begin(), part.end());
    }
    return ydot;
  }
  std::pair<std::size_t, std::int64_t> split_in(std::int64_t c) const {
    const auto d = std::size_t(std::upper_bound(in_offset.begin(), in_offset.end(), c) - in_offset.begin() - 1);
    return {d, c - in_offset[d]};
  }
  std::pair<std::size_t, std::int64_t> split_out(std::int64_t c) const {
    const auto o = std::size_t(std::upper_bound(out_offset.begin(), out_offset.end(), c) - out_offset.begin() - 1);
    return {o, c - out_offset[o]};
  }
  // Fills the indices of Jacobian entry (row k, column j).
  void place(GradcheckEntry& e, std::int64_t k, std::int64_t j) const {
    const auto [o, ko] = split_out(k);
    const auto [d, jd] = split_in(j);
    const Located out_at = locate(out_specs[o], ko), in_at = locate(diff_spec(d), jd);
    e.output = o;
    e.output_index = out_at.index;
    e.output_imag = out_at.imag;
    e.output_complex = is_complex(out_specs[o].dtype);
    e.input = diff[d];
    e.input_index = in_at.index;
    e.input_imag = in_at.imag;
    e.input_complex = is_complex(diff_spec(d).dtype);
  }
};

GradcheckCheck make_check(std::string name, std::string detail) {
  GradcheckCheck c;
  c.name = std::move(name);
  c.detail = std::move(detail);
  return c;
}

double dot(std::span<const double> a, std::span<const double> b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

std::vector<double> random_unit(std::mt19937_64& rng, std::int64_t n) {
  std::normal_distribution<double> normal;
  std::vector<double> v(static_cast<std::size_t>(n));
  for (double& x : v) x = normal(rng);
  const double norm = std::sqrt(dot(v, v));
  for (double& x : v) x /= norm > 0 ? norm : 1.0;
  return v;
}

std::vector<double> basis(std::int64_t n, std::int64_t k) {
  std::vector<double> e(static_cast<std::size_t>(n), 0.0);
  e[std::size_t(k)] = 1.0;
  return e;
}

// Runs `body`; a nodal::Error thrown by a rule fails `check` with its message.
template <class Body> void guarded(GradcheckCheck& check, Body&& body) {
  try {
    body();
  } catch (const Error& e) {
    check.passed = false;
    check.detail = fmt::format("threw: {}", e.what());
  }
}

// The numeric Jacobian by central differences, column by column.
std::vector<double> numeric_jacobian(Problem& p, const std::vector<double>& x, double eps) {
  const std::int64_t n_in = p.n_in(), n_out = p.n_out();
  std::vector<double> J(static_cast<std::size_t>(n_in * n_out));
  std::vector<double> xp = x;
  for (std::int64_t j = 0; j < n_in; ++j) {
    xp[j] = x[j] + eps;
    const std::vector<double> plus = p.evaluate(xp);
    xp[j] = x[j] - eps;
    const std::vector<double> minus = p.evaluate(xp);
    xp[j] = x[j];
    for (std::int64_t k = 0; k < n_out; ++k) J[k * n_in + j] = (plus[k] - minus[k]) / (2 * eps);
  }
  return J;
}

void full_checks(Problem& p, Execution& run, const std::vector<double>& x, const GradcheckOptions& o,
                 std::vector<GradcheckCheck>& checks, bool& analytic_zero, double& numeric_max) {
  const std::int64_t n_in = p.n_in(), n_out = p.n_out();
  const std::vector<double> J = numeric_jacobian(p, x, o.eps);
  for (double v : J) numeric_max = std::max(numeric_max, std::abs(v));

  GradcheckCheck rows = make_check("jacobian_vjp", "vjp rows vs central differences");
  double worst = -1;
  guarded(rows, [&] {
    for (std::int64_t k = 0; k < n_out; ++k) {
      const auto [out, ko] = p.split_out(k);
      const std::vector<double> row = p.vjp(run, out, basis(p.out_offset[out + 1] - p.out_offset[out], ko));
      for (std::int64_t j = 0; j < n_in; ++j) {
        analytic_zero = analytic_zero && row[j] == 0.0;
        compare(rows, worst, row[j], J[k * n_in + j], o, [&](GradcheckEntry& e) { p.place(e, k, j); });
      }
    }
  });
  checks.push_back(std::move(rows));

  GradcheckCheck cols = make_check("jacobian_jvp", "jvp columns vs central differences");
  worst = -1;
  guarded(cols, [&] {
    for (std::int64_t j = 0; j < n_in; ++j) {
      const std::vector<double> col = p.jvp(x, basis(n_in, j));
      for (std::int64_t k = 0; k < n_out; ++k) {
        analytic_zero = analytic_zero && col[k] == 0.0;
        compare(cols, worst, col[k], J[k * n_in + j], o, [&](GradcheckEntry& e) { p.place(e, k, j); });
      }
    }
  });
  checks.push_back(std::move(cols));
}

// ⟨v, J u⟩ three ways: forward mode, reverse mode and (fast mode) one directional difference.
void projection_checks(Problem& p, Execution& run, const std::vector<double>& x, const GradcheckOptions& o,
                       std::vector<GradcheckCheck>& checks, bool& analytic_zero, double& numeric_max) {
  std::mt19937_64 rng(o.seed);
  GradcheckCheck both = make_check("jvp_vs_vjp", fmt::format("<v, J u> by jvp and by vjp, {} random unit (u, v)", projection_count));
  GradcheckCheck fast = make_check("projection", fmt::format("<J^T v, u> by vjp vs v^T (f(x + eps u) - f(x - eps u)) / 2 eps, {} random unit (u, v)",
                                            projection_count));
  double worst_both = -1, worst_fast = -1;
  for (int r = 0; r < projection_count; ++r) {
    const std::vector<double> u = random_unit(rng, p.n_in()), v = random_unit(rng, p.n_out());
    double by_vjp = 0;
    bool have_vjp = false;
    guarded(both, [&] {
      for (std::size_t out = 0; out < p.outputs.size(); ++out) {
        const std::span<const double> v_out(v.data() + p.out_offset[out], std::size_t(p.out_offset[out + 1] - p.out_offset[out]));
        by_vjp += dot(p.vjp(run, out, v_out), u);
      }
      have_vjp = true;
      const double by_jvp = dot(p.jvp(x, u), v);
      analytic_zero = analytic_zero && by_jvp == 0.0 && by_vjp == 0.0;
      compare(both, worst_both, by_jvp, by_vjp, o, [](GradcheckEntry&) {});
    });
    if (!o.fast || !have_vjp) continue;
    std::vector<double> xp(x.size()), xm(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) xp[i] = x[i] + o.eps * u[i], xm[i] = x[i] - o.eps * u[i];
    const std::vector<double> plus = p.evaluate(xp), minus = p.evaluate(xm);
    double numeric = 0;
    for (std::size_t k = 0; k < v.size(); ++k) numeric += v[k] * (plus[k] - minus[k]) / (2 * o.eps);
    numeric_max = std::max(numeric_max, std::abs(numeric));
    compare(fast, worst_fast, by_vjp, numeric, o, [](GradcheckEntry&) {});
  }
  if (o.fast) {
    if (!fast.worst && fast.passed) fast.passed = false, fast.detail = "no projection could be computed (vjp failed)";
    checks.push_back(std::move(fast));
  }
  checks.push_back(std::move(both));
}

// Backward twice with retain gives identical bits; a zero cotangent gives exact zeros.
void reverse_mode_checks(Problem& p, Execution& run, const GradcheckOptions& o, std::vector<GradcheckCheck>& checks) {
  std::mt19937_64 rng(o.seed + 1);
  GradcheckCheck twice = make_check("retain_bitwise", "backward run twice (retain = true) gives identical bits");
  guarded(twice, [&] {
    for (std::size_t out = 0; out < p.outputs.size(); ++out) {
      const std::vector<double> v = random_unit(rng, p.out_offset[out + 1] - p.out_offset[out]);
      const std::vector<double> first = p.vjp(run, out, v), second = p.vjp(run, out, v);
      if (std::memcmp(first.data(), second.data(), first.size() * sizeof(double)) != 0) {
        twice.passed = false;
        twice.detail = fmt::format("output{}: the second backward differs from the first", out);
        return;
      }
    }
  });
  checks.push_back(std::move(twice));

  GradcheckCheck zero = make_check("zero_cotangent", "a zero cotangent gives zero gradients");
  guarded(zero, [&] {
    for (std::size_t out = 0; out < p.outputs.size(); ++out) {
      const std::vector<double> g = p.vjp(run, out, std::vector<double>(std::size_t(p.out_offset[out + 1] - p.out_offset[out]), 0.0));
      for (std::size_t j = 0; j < g.size(); ++j)
        if (g[j] != 0.0) {
          GradcheckEntry e;
          p.place(e, p.out_offset[out], std::int64_t(j));
          zero.passed = false;
          zero.detail = fmt::format("output{}: gradient of input{}[{}] is {} (not 0)", out, e.input, fmt::join(e.input_index, ", "), g[j]);
          return;
        }
    }
  });
  checks.push_back(std::move(zero));
}

std::string header_of(const Problem& p, const GradcheckOptions& o) {
  std::vector<std::string> ins, outs;
  for (std::size_t i = 0; i < p.inputs.size(); ++i) {
    const bool nograd = std::find(p.diff.begin(), p.diff.end(), i) == p.diff.end();
    ins.push_back(fmt::format("input{} {}{}", i, to_string(p.inputs[i].spec()), nograd ? " (no grad)" : ""));
  }
  for (std::size_t k = 0; k < p.outputs.size(); ++k)
    outs.push_back(fmt::format("output{} = {} {}", k, p.outputs[k].name(), to_string(p.out_specs[k])));
  std::string h = fmt::format("{} mode, eps {:g}, atol {:g}, rtol {:g}, seed {}; Jacobian {} x {} (real coordinates)\n  inputs: {}\n  outputs: {}",
                              o.fast ? "fast (random projection)" : "full Jacobian", o.eps, o.atol, o.rtol, o.seed,
                              p.n_out(), p.n_in(), fmt::join(ins, ", "), fmt::join(outs, ", "));
  bool float32 = false;
  for (std::size_t d = 0; d < p.diff.size(); ++d) float32 = float32 || real_dtype(p.diff_spec(d).dtype) == DType::float32;
  if (float32 && o.eps < 1e-4)
    h += fmt::format("\n  note: float32 inputs with eps {:g} drown in round-off; use gradcheck_float32_options()", o.eps);
  return h;
}

}  // namespace

GradcheckResult gradcheck(const GraphFunction& f, const std::vector<Tensor>& inputs, const GradcheckOptions& o) {
  if (inputs.empty()) throw ValueError("gradcheck: needs at least one input tensor");
  if (!(o.eps > 0) || !(o.atol >= 0) || !(o.rtol >= 0))
    throw ValueError(fmt::format("gradcheck: eps must be > 0 and atol, rtol >= 0 (got eps {}, atol {}, rtol {})", o.eps, o.atol, o.rtol));
  if (!grad_enabled()) throw ValueError("gradcheck: called under NoGradGuard; reverse mode needs grad state");
  for (std::size_t i : o.no_grad_inputs)
    if (i >= inputs.size())
      throw ValueError(fmt::format("gradcheck: no_grad_inputs names input {} but there are {} inputs", i, inputs.size()));

  Problem p;
  p.in_offset.push_back(0);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) throw ValueError(fmt::format("gradcheck: input {} is undefined", i));
    p.inputs.push_back(p.graph.input(fmt::format("input{}", i), inputs[i].shape(), inputs[i].dtype()));
    p.values.push_back(inputs[i]);
    if (std::find(o.no_grad_inputs.begin(), o.no_grad_inputs.end(), i) != o.no_grad_inputs.end()) continue;
    p.diff.push_back(i);
    p.wrt.push_back(p.inputs.back());
    p.in_offset.push_back(p.in_offset.back() + coord_count(spec_of(inputs[i])));
  }
  p.outputs = f(p.inputs);
  if (p.outputs.empty()) throw ValueError("gradcheck: the function returned no outputs");
  p.out_offset.push_back(0);
  for (const Value& v : p.outputs) {
    if (!v.valid() || &v.graph() != &p.graph)
      throw ValueError("gradcheck: the function returned a value that is not of the graph it was given");
    p.out_specs.push_back(v.spec());
    p.out_offset.push_back(p.out_offset.back() + coord_count(v.spec()));
  }
  if (p.diff.empty()) throw ValueError("gradcheck: every input is in no_grad_inputs; nothing to differentiate");
  if (p.n_in() == 0 || p.n_out() == 0)
    throw ValueError(fmt::format("gradcheck: the Jacobian is empty ({} output x {} input coordinates)", p.n_out(), p.n_in()));
  if (!o.fast && p.n_in() > max_full_jacobian / p.n_out())
    throw ValueError(fmt::format("gradcheck: the full Jacobian would have {} x {} entries; pass fast = true", p.n_out(), p.n_in()));

  std::vector<double> x;
  for (std::size_t d : p.diff) {
    std::vector<double> c = to_coords(inputs[d]);
    x.insert(x.end(), c.begin(), c.end());
  }
  Execution run = p.graph.forward(p.outputs, p.feeds(x));  // errors here are the caller's: they propagate

  std::vector<GradcheckCheck> checks;
  bool analytic_zero = true;
  double numeric_max = 0;
  if (!o.fast) full_checks(p, run, x, o, checks, analytic_zero, numeric_max);
  projection_checks(p, run, x, o, checks, analytic_zero, numeric_max);
  reverse_mode_checks(p, run, o, checks);
  if (!o.allow_zero_jacobian) {
    GradcheckCheck nonzero = make_check("nonzero_jacobian", "the Jacobian is not identically zero");
    if (analytic_zero && numeric_max <= o.atol) {
      nonzero.passed = false;
      nonzero.detail = "the analytic Jacobian is identically zero (and so are the differences): nothing was really "
                       "checked; pass allow_zero_jacobian = true if that is intended";
    }
    checks.push_back(std::move(nonzero));
  }
  return GradcheckResult(std::move(checks), header_of(p, o));
}

GradcheckResult gradcheck(std::shared_ptr<const Node> node, const std::vector<Tensor>& inputs, const GradcheckOptions& o) {
  if (!node) throw ValueError("gradcheck: the node is null");
  return gradcheck(
      [node](std::span<const Value> in) {
        return in.front().graph().add(node, in, std::source_location::current());
      },
      inputs, o);
}

}  // namespace nodal
