// Which algorithm runs a convolution: the one the node names, the cheapest by the calibrated cost
// model (`auto`), or the fastest measured on the real shapes (`measure`, cached per process).
// The rules are in conv_select.hpp; this file also writes the log line and the explanation.
#include "nodal/backends/cpu/conv_select.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <new>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/backends/cpu/conv_cost.hpp"
#include "nodal/core/error.hpp"
#include "nodal/core/log.hpp"

namespace nodal::cpu {
namespace {

std::string ms(double seconds) { return fmt::format("{:.3g} ms", seconds * 1e3); }

std::string choice_key(const ConvGeometry& g, DType dtype) { return fmt::format("{} {}", g.key(), dtype_name(dtype)); }

// Every registered algorithm's standing: supported ones first, by increasing calibrated estimate.
std::vector<ConvCandidate> rank_candidates(const ConvGeometry& g, DType dtype) {
  std::vector<ConvCandidate> all;
  for (const ConvAlgorithm* a : conv_algorithms()) {
    ConvCandidate c;
    c.name = std::string(a->name());
    c.supported = a->supports(g, &c.why_not);
    if (c.supported) {
      c.raw_estimate_s = a->estimated_seconds(g, dtype);
      c.estimate_s = c.raw_estimate_s * conv_cost::calibration(c.name);
    }
    all.push_back(std::move(c));
  }
  std::stable_sort(all.begin(), all.end(), [](const ConvCandidate& a, const ConvCandidate& b) {
    if (a.supported != b.supported) return a.supported;
    return a.supported && a.estimate_s < b.estimate_s;
  });
  return all;
}

[[noreturn]] void throw_none_supports(const ConvGeometry& g, const std::vector<ConvCandidate>& all) {
  std::string why;
  for (const ConvCandidate& c : all) why += fmt::format("; {}: {}", c.name, c.why_not);
  throw BackendError(fmt::format("conv{}d: no CPU algorithm can run {}{}", g.rank, g.key(), why));
}

const ConvAlgorithm& named(const ConvGeometry& g, std::string_view requested) {
  const ConvAlgorithm* a = find_conv_algorithm(requested);
  if (!a) {
    std::string names;
    for (const ConvAlgorithm* known : conv_algorithms()) names += fmt::format(", {}", known->name());
    throw ValueError(fmt::format("conv{}d: unknown algorithm '{}'; known: auto, measure{}", g.rank, requested, names));
  }
  std::string why;
  if (!a->supports(g, &why))
    throw ValueError(fmt::format("conv{}d: algorithm '{}' cannot run {}: {}", g.rank, requested, g.key(), why));
  return *a;
}

// "fft est. 1.2 ms < gemm 3.4 ms < direct 9 ms"
std::string estimate_ranking(const std::vector<ConvCandidate>& ranked) {
  std::string text;
  for (const ConvCandidate& c : ranked) {
    if (!c.supported) break;
    text += fmt::format("{}{} {}", text.empty() ? "" : " < ", c.name, ms(c.estimate_s));
  }
  return text;
}

// ---- measure ---------------------------------------------------------------------------------

struct Timing {
  std::string name;
  double seconds;
};
struct Measured {
  const ConvAlgorithm* winner = nullptr;
  std::vector<Timing> timings;       // fastest first
  std::vector<std::string> skipped;  // estimate too far above the best
  std::string ranking;               // "gemm 0.41 ms < fft 0.93 ms < direct 1.2 ms"
};

struct MeasureCache {
  std::mutex map_mutex;      // guards `entries`
  std::mutex timing_mutex;   // one timing at a time: two timings would share the cores and skew both
  std::map<std::string, Measured, std::less<>> entries;
  std::atomic<std::int64_t> runs{0};
};
MeasureCache& cache() {
  static MeasureCache c;
  return c;
}

std::optional<Measured> cached(const std::string& key) {
  MeasureCache& c = cache();
  std::lock_guard lock(c.map_mutex);
  const auto it = c.entries.find(key);
  if (it == c.entries.end()) return std::nullopt;
  return it->second;
}

// One training step's worth of one algorithm: forward (keeping what backward reuses) then both
// backward correlations, timed.
double time_forward_backward(const ConvAlgorithm& a, const ConvGeometry& g, const Tensor& x, const Tensor& w,
                             const Tensor& dy, Tensor& y, Tensor& dx, Tensor& dw) {
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<ConvSaved> saved = a.forward(g, x, w, y, true);
  a.backward(g, x, w, dy, &dx, &dw, saved.get());
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Every candidate within measure_skip_factor of the best estimate: a warm-up each (plans, caches,
// page faults), then up to 3 rounds in which each candidate runs once, keeping each one's minimum.
// Rounds, not runs in a row, so that a spell of other work on the machine slows one round of every
// candidate rather than every run of one; further rounds only while the rounds so far took < 0.2 s,
// so that measuring costs a few training steps, not a benchmark.
Measured measure(const ConvGeometry& g, DType dtype, const std::vector<ConvCandidate>& ranked) {
  Measured m;
  const double best_estimate = ranked.front().estimate_s;
  const Tensor x = Tensor::randn(g.input_shape(), 1, dtype);
  const Tensor w = Tensor::randn(g.weight_shape(), 2, dtype);
  const Tensor dy = Tensor::randn(g.output_shape(), 3, dtype);
  Tensor y = Tensor::empty(g.output_shape(), dtype);
  Tensor dx = Tensor::empty(g.input_shape(), dtype);
  Tensor dw = Tensor::empty(g.weight_shape(), dtype);
  std::vector<const ConvAlgorithm*> timed;
  for (const ConvCandidate& c : ranked) {
    if (!c.supported) break;
    if (c.estimate_s > measure_skip_factor * best_estimate) {
      m.skipped.push_back(c.name);
      continue;
    }
    const ConvAlgorithm* a = find_conv_algorithm(c.name);
    try {
      time_forward_backward(*a, g, x, w, dy, y, dx, dw);  // warm-up; a failing candidate is left out, not fatal
      timed.push_back(a);
      m.timings.push_back({c.name, std::numeric_limits<double>::infinity()});
    } catch (const std::exception& e) {
      log_warn("{} {}: measure: {} failed and is left out: {}", g.key(), dtype_name(dtype), c.name, e.what());
    }
  }
  if (timed.empty()) throw BackendError(fmt::format("conv{}d: measure: every candidate failed on {}", g.rank, g.key()));
  double spent = 0;
  for (int round = 0; round < 3 && (round == 0 || spent < 0.2); ++round)
    for (std::size_t i = 0; i < timed.size(); ++i) {
      const double s = time_forward_backward(*timed[i], g, x, w, dy, y, dx, dw);
      m.timings[i].seconds = std::min(m.timings[i].seconds, s);
      spent += s;
    }
  cache().runs.fetch_add(std::int64_t(timed.size()), std::memory_order_relaxed);
  std::stable_sort(m.timings.begin(), m.timings.end(), [](const Timing& a, const Timing& b) { return a.seconds < b.seconds; });
  m.winner = find_conv_algorithm(m.timings.front().name);
  for (const Timing& t : m.timings) m.ranking += fmt::format("{}{} {}", m.ranking.empty() ? "" : " < ", t.name, ms(t.seconds));
  if (!m.skipped.empty())
    m.ranking += fmt::format(" (not timed, estimate > {:g}x best: {})", measure_skip_factor, fmt::join(m.skipped, ", "));
  return m;
}

ConvChoice choose_by_measure(const ConvGeometry& g, DType dtype, const std::string& key) {
  if (std::optional<Measured> hit = cached(key)) return {hit->winner, fmt::format("measure: {} (cached)", hit->ranking)};
  MeasureCache& c = cache();
  std::lock_guard timing(c.timing_mutex);
  if (std::optional<Measured> hit = cached(key))  // another thread timed it while we waited
    return {hit->winner, fmt::format("measure: {} (cached)", hit->ranking)};
  const std::vector<ConvCandidate> ranked = rank_candidates(g, dtype);
  if (ranked.empty() || !ranked.front().supported) throw_none_supports(g, ranked);
  Measured m = measure(g, dtype, ranked);
  ConvChoice choice{m.winner, fmt::format("measure: {}", m.ranking)};
  std::lock_guard lock(c.map_mutex);
  c.entries.emplace(key, std::move(m));
  return choice;
}

}  // namespace

ConvChoice choose_conv_algorithm(const ConvGeometry& g, DType dtype, std::string_view requested) {
  const std::string key = choice_key(g, dtype);
  ConvChoice choice;
  if (requested == "measure") {
    choice = choose_by_measure(g, dtype, key);
  } else if (requested == "auto") {
    const std::vector<ConvCandidate> ranked = rank_candidates(g, dtype);
    if (ranked.empty() || !ranked.front().supported) throw_none_supports(g, ranked);
    choice = {find_conv_algorithm(ranked.front().name), fmt::format("auto: {}", estimate_ranking(ranked))};
  } else {
    choice = {&named(g, requested), fmt::format("{}: requested", requested)};
  }
  log_debug("{}: {}", key, choice.reason);
  return choice;
}

ConvExplanation explain_conv_choice(const ConvGeometry& g, DType dtype, std::string_view requested) {
  ConvExplanation e;
  e.key = choice_key(g, dtype);
  e.requested = std::string(requested);
  e.candidates = rank_candidates(g, dtype);
  const bool any = !e.candidates.empty() && e.candidates.front().supported;
  const double best_estimate = any ? e.candidates.front().estimate_s : 0;
  const std::optional<Measured> hit = cached(e.key);
  for (ConvCandidate& c : e.candidates) {
    if (!c.supported) continue;
    c.skipped_by_measure = c.estimate_s > measure_skip_factor * best_estimate;
    if (hit)
      for (const Timing& t : hit->timings)
        if (t.name == c.name) c.measured_s = t.seconds;
  }
  if (requested == "measure") {
    if (hit) {
      e.chosen = std::string(hit->winner->name());
      e.reason = fmt::format("measure: {} (cached)", hit->ranking);
    } else {
      std::vector<std::string> would;
      for (const ConvCandidate& c : e.candidates)
        if (c.supported && !c.skipped_by_measure) would.push_back(c.name);
      e.reason = fmt::format("measure: not yet timed in this process; would time {}", fmt::join(would, ", "));
    }
  } else if (requested == "auto") {
    if (!any) throw_none_supports(g, e.candidates);
    e.chosen = e.candidates.front().name;
    e.reason = fmt::format("auto: {}", estimate_ranking(e.candidates));
  } else {
    e.chosen = std::string(named(g, requested).name());
    e.reason = fmt::format("{}: requested", requested);
  }
  return e;
}

std::string format_explanation(const ConvExplanation& e) {
  std::string text = fmt::format("{}\nalgorithm = {}\n", e.key, e.requested);
  text += fmt::format("  {:<18} {:>13} {:>12} {:>13} {:>13}  {}\n", "candidate", "own estimate", "calibration", "estimate",
                      "measured", "note");
  for (const ConvCandidate& c : e.candidates) {
    if (!c.supported) {
      text += fmt::format("  {:<18} {:>13} {:>12} {:>13} {:>13}  cannot run: {}\n", c.name, "-", "-", "-", "-", c.why_not);
      continue;
    }
    const std::string note = c.name == e.chosen ? "<- chosen" : c.skipped_by_measure ? "not timed by measure" : "";
    text += fmt::format("  {:<18} {:>13} {:>12} {:>13} {:>13}  {}\n", c.name, ms(c.raw_estimate_s),
                        fmt::format("x {:.3g}", conv_cost::calibration(c.name)), ms(c.estimate_s),
                        c.measured_s ? ms(*c.measured_s) : "-", note);
  }
  text += fmt::format("choice: {}\n", e.reason);
  return text;
}

std::int64_t conv_measure_runs() { return cache().runs.load(std::memory_order_relaxed); }

void clear_conv_measure_cache() {
  MeasureCache& c = cache();
  std::lock_guard timing(c.timing_mutex);
  std::lock_guard lock(c.map_mutex);
  c.entries.clear();
}

}  // namespace nodal::cpu
