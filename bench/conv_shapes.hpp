#pragma once
// The layers bench/conv times, and the timing helper it shares with its libtorch peer
// (bench/conv_torch.cpp): warm-up once, then at least `min_reps` runs and more while under
// `budget_s`, reporting the minimum (the run least disturbed by other work on the machine).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

#include <fmt/format.h>

namespace nodal::bench {

// One conv2d layer: x [n, cin, h, w], weight [cout, cin, k, k], bias [cout], stride 1, zero padding `pad`.
struct ConvShape {
  std::int64_t n, cin, cout, h, w, k, pad;
  std::string label() const { return fmt::format("{}x{}->{} {}x{} k{}", n, cin, cout, h, w, k); }
  std::int64_t out_h() const { return h + 2 * pad - k + 1; }
  std::int64_t out_w() const { return w + 2 * pad - k + 1; }
  // 2·N·Cout·Cin·Ho·Wo·k², the flops of the forward pass (the "effective" count: what a
  // direct loop would do, whatever the algorithm really does).
  double forward_flops() const { return 2.0 * double(n * cout * cin * out_h() * out_w() * k * k); }
};

struct TimingPolicy {
  int min_reps = 3;
  int max_reps = 10;
  double budget_s = 1.0;  // keep repeating (up to max_reps) while the total is below this
};

template <class F> double min_seconds(F&& run, const TimingPolicy& p) {
  using clock = std::chrono::steady_clock;
  run();  // warm-up: plans, caches, first-touch page faults
  double best = std::numeric_limits<double>::infinity(), total = 0;
  for (int r = 0; r < p.max_reps && (r < p.min_reps || total < p.budget_s); ++r) {
    const auto start = clock::now();
    run();
    const double s = std::chrono::duration<double>(clock::now() - start).count();
    best = std::min(best, s);
    total += s;
  }
  return best;
}

}  // namespace nodal::bench
