// Convolution algorithm selection: an explicit name is honoured, an unknown one is refused with the
// known names, `auto` only picks algorithms that support the geometry, `measure` times each
// candidate once per (geometry, dtype) and then answers from its cache (also under threads), and
// the explanation runs no convolution. Test-only algorithms with recognisable geometries (3 input
// channels) make the outcomes independent of which real algorithms are registered.
#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "nodal/backends/cpu/conv_select.hpp"
#include "nodal/core/error.hpp"
#include "nodal/core/log.hpp"

using namespace nodal;
using namespace nodal::cpu;

namespace {

std::atomic<int> counting_forwards{0}, counting_backwards{0}, expensive_forwards{0};

bool is_test_geometry(const ConvGeometry& g) { return g.in_channels == 3; }
void zero(Tensor& t) { t.copy_from(Tensor::zeros(t.shape(), t.dtype())); }

// Cheap by its estimate and by its run (it writes zeros): `auto` prefers it on test geometries.
struct CountingAlgorithm final : ConvAlgorithm {
  std::string_view name() const override { return "test_counting"; }
  bool supports(const ConvGeometry& g, std::string* why) const override {
    if (is_test_geometry(g)) return true;
    if (why) *why = "test algorithm: only 3 input channels";
    return false;
  }
  double estimated_seconds(const ConvGeometry&, DType) const override { return 1e-12; }
  std::unique_ptr<ConvSaved> forward(const ConvGeometry&, const Tensor&, const Tensor&, Tensor& y, bool) const override {
    ++counting_forwards;
    zero(y);
    return nullptr;
  }
  void backward(const ConvGeometry&, const Tensor&, const Tensor&, const Tensor&, Tensor* dx, Tensor* dw,
                const ConvSaved*) const override {
    ++counting_backwards;
    if (dx) zero(*dx);
    if (dw) zero(*dw);
  }
};

// Supports the test geometries but estimates itself far slower than the best: measure must not time it.
struct ExpensiveAlgorithm final : ConvAlgorithm {
  std::string_view name() const override { return "test_expensive"; }
  bool supports(const ConvGeometry& g, std::string*) const override { return is_test_geometry(g); }
  double estimated_seconds(const ConvGeometry&, DType) const override { return 1e6; }
  std::unique_ptr<ConvSaved> forward(const ConvGeometry&, const Tensor&, const Tensor&, Tensor&, bool) const override {
    ++expensive_forwards;
    return nullptr;
  }
  void backward(const ConvGeometry&, const Tensor&, const Tensor&, const Tensor&, Tensor*, Tensor*,
                const ConvSaved*) const override {}
};

// Cheapest of all by its estimate, but supports nothing: neither auto nor measure may pick it.
struct PickyAlgorithm final : ConvAlgorithm {
  std::string_view name() const override { return "test_picky"; }
  bool supports(const ConvGeometry&, std::string* why) const override {
    if (why) *why = "test algorithm: supports nothing";
    return false;
  }
  double estimated_seconds(const ConvGeometry&, DType) const override { return 0.0; }
  std::unique_ptr<ConvSaved> forward(const ConvGeometry&, const Tensor&, const Tensor&, Tensor&, bool) const override {
    FAIL("test_picky ran");
    return nullptr;
  }
  void backward(const ConvGeometry&, const Tensor&, const Tensor&, const Tensor&, Tensor*, Tensor*,
                const ConvSaved*) const override {}
};

NODAL_REGISTER_CONV_ALGORITHM(CountingAlgorithm);
NODAL_REGISTER_CONV_ALGORITHM(ExpensiveAlgorithm);
NODAL_REGISTER_CONV_ALGORITHM(PickyAlgorithm);

// conv2d x [n, 3, h, h], w [4, 3, 3, 3], pad 1: a test geometry; `n` and `h` make distinct cache keys.
ConvGeometry test_geometry(std::int64_t n, std::int64_t h) {
  ConvOptions o;
  o.padding = ConvPadding::all(1);
  return ConvGeometry::resolve("conv2d", 2, Shape{n, 3, h, h}, Shape{4, 3, 3, 3}, o);
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("conv select: an explicitly named algorithm is used and the reason says requested") {
  const ConvGeometry g = test_geometry(1, 8);
  const ConvChoice c = choose_conv_algorithm(g, DType::float32, "test_expensive");
  REQUIRE(c.algorithm != nullptr);
  CHECK(c.algorithm->name() == "test_expensive");
  CHECK(c.reason == "test_expensive: requested");
}

TEST_CASE("conv select: an unknown algorithm is refused with the list of known ones") {
  const ConvGeometry g = test_geometry(1, 8);
  try {
    choose_conv_algorithm(g, DType::float32, "winograd_f63");
    FAIL("no error for an unknown algorithm");
  } catch (const ValueError& e) {
    const std::string m = e.what();
    CHECK(contains(m, "'winograd_f63'"));
    CHECK(contains(m, "auto, measure"));
    for (const ConvAlgorithm* a : conv_algorithms()) CHECK(contains(m, std::string(a->name())));
  }
}

TEST_CASE("conv select: a named algorithm that cannot run the geometry is refused with its reason") {
  const ConvGeometry g = test_geometry(1, 8);
  try {
    choose_conv_algorithm(g, DType::float32, "test_picky");
    FAIL("no error for an unsupported geometry");
  } catch (const ValueError& e) {
    CHECK(contains(e.what(), "supports nothing"));
    CHECK(contains(e.what(), g.key()));
  }
}

TEST_CASE("conv select: auto picks the smallest estimate among the algorithms that support the geometry") {
  // test_picky has the smallest estimate (0) but supports nothing; test_counting is next (1e-12 s).
  const ConvChoice c = choose_conv_algorithm(test_geometry(1, 8), DType::float32, "auto");
  REQUIRE(c.algorithm != nullptr);
  CHECK(c.algorithm->name() == "test_counting");
  CHECK(c.reason.starts_with("auto: test_counting"));

  // On a geometry the test algorithms refuse, auto picks a real algorithm that supports it (or
  // says that none can, when no real algorithm is registered).
  ConvOptions o;
  const ConvGeometry other = ConvGeometry::resolve("conv2d", 2, Shape{2, 5, 9, 9}, Shape{2, 5, 3, 3}, o);
  bool any_real = false;
  for (const ConvAlgorithm* a : conv_algorithms()) any_real = any_real || a->supports(other);
  if (any_real) {
    const ConvChoice r = choose_conv_algorithm(other, DType::float64, "auto");
    REQUIRE(r.algorithm != nullptr);
    CHECK(r.algorithm->supports(other));
    CHECK(r.algorithm->name() != "test_picky");
  } else {
    CHECK_THROWS_AS(choose_conv_algorithm(other, DType::float64, "auto"), BackendError);
  }
}

TEST_CASE("conv select: measure times each candidate once and then answers from its cache") {
  clear_conv_measure_cache();
  const ConvGeometry g = test_geometry(2, 10);
  const int forwards_before = counting_forwards, backwards_before = counting_backwards;
  const std::int64_t runs_before = conv_measure_runs();

  const ConvChoice first = choose_conv_algorithm(g, DType::float32, "measure");
  REQUIRE(first.algorithm != nullptr);
  CHECK(first.algorithm->supports(g));
  CHECK(first.reason.starts_with("measure: "));
  CHECK_FALSE(contains(first.reason, "(cached)"));
  CHECK(contains(first.reason, "test_counting"));
  // Timed: a warm-up and at least one timed run of forward + backward.
  CHECK(counting_forwards - forwards_before >= 2);
  CHECK(counting_backwards - backwards_before >= 2);
  const std::int64_t runs_after_first = conv_measure_runs();
  CHECK(runs_after_first > runs_before);
  // test_expensive's estimate is > 20x the best: listed as not timed, never run.
  CHECK(expensive_forwards == 0);
  CHECK(contains(first.reason, "not timed"));
  CHECK(contains(first.reason, "test_expensive"));

  const int forwards_after_first = counting_forwards;
  const ConvChoice second = choose_conv_algorithm(g, DType::float32, "measure");
  CHECK(second.algorithm == first.algorithm);
  CHECK(contains(second.reason, "(cached)"));
  CHECK(conv_measure_runs() == runs_after_first);
  CHECK(counting_forwards == forwards_after_first);

  // float64 is another cache entry: timed afresh.
  choose_conv_algorithm(g, DType::float64, "measure");
  CHECK(conv_measure_runs() > runs_after_first);
}

TEST_CASE("conv select: measure from several threads at once times the geometry once") {
  clear_conv_measure_cache();
  const ConvGeometry g = test_geometry(3, 12);
  const ConvExplanation e = explain_conv_choice(g, DType::float32, "measure");
  std::int64_t timed = 0;  // candidates measure will time: supported and not skipped
  for (const ConvCandidate& c : e.candidates) timed += c.supported && !c.skipped_by_measure;

  const std::int64_t runs_before = conv_measure_runs();
  std::vector<const ConvAlgorithm*> picked(4, nullptr);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < picked.size(); ++t)
    threads.emplace_back([&, t] { picked[t] = choose_conv_algorithm(g, DType::float32, "measure").algorithm; });
  for (std::thread& t : threads) t.join();
  CHECK(conv_measure_runs() - runs_before == timed);
  for (const ConvAlgorithm* a : picked) CHECK(a == picked.front());
}

TEST_CASE("conv select: the explanation runs no convolution and shows estimates and cached timings") {
  clear_conv_measure_cache();
  const ConvGeometry g = test_geometry(1, 16);
  const int forwards_before = counting_forwards;

  const ConvExplanation before = explain_conv_choice(g, DType::float32, "measure");
  CHECK(counting_forwards == forwards_before);
  CHECK(before.chosen.empty());
  CHECK(contains(before.reason, "not yet timed"));
  CHECK(contains(before.key, g.key()));
  CHECK(contains(before.key, "float32"));
  // Supported candidates come first, by increasing estimate; test_picky is listed as unable.
  REQUIRE_FALSE(before.candidates.empty());
  CHECK(before.candidates.front().name == "test_counting");
  bool picky_listed = false;
  for (const ConvCandidate& c : before.candidates)
    if (c.name == "test_picky") picky_listed = !c.supported && contains(c.why_not, "supports nothing");
  CHECK(picky_listed);

  const ConvExplanation as_auto = explain_conv_choice(g, DType::float32, "auto");
  CHECK(as_auto.chosen == "test_counting");
  CHECK(choose_conv_algorithm(g, DType::float32, "auto").reason == as_auto.reason);

  choose_conv_algorithm(g, DType::float32, "measure");
  const ConvExplanation after = explain_conv_choice(g, DType::float32, "measure");
  CHECK_FALSE(after.chosen.empty());
  CHECK(contains(after.reason, "(cached)"));
  for (const ConvCandidate& c : after.candidates) {
    if (c.name == "test_counting") CHECK(c.measured_s.has_value());
    if (c.name == "test_expensive") CHECK_FALSE(c.measured_s.has_value());
  }
  const std::string text = format_explanation(after);
  CHECK(contains(text, g.key()));
  CHECK(contains(text, "<- chosen"));
  CHECK(contains(text, "cannot run: test algorithm: supports nothing"));
}

TEST_CASE("log: levels parse from their names and gate the messages") {
  CHECK(parse_log_level("debug") == LogLevel::debug);
  CHECK(parse_log_level("error") == LogLevel::error);
  CHECK_THROWS_AS(parse_log_level("verbose"), ValueError);
  const LogLevel saved = log_level();
  set_log_level(LogLevel::info);
  CHECK(log_enabled(LogLevel::warn));
  CHECK_FALSE(log_enabled(LogLevel::debug));
  set_log_level(LogLevel::debug);
  CHECK(log_enabled(LogLevel::debug));
  log_debug("test_conv_select: a debug line ({})", 42);  // visible on stderr; must not crash
  set_log_level(saved);
}
