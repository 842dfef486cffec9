#pragma once
// Interleaved timing for bench/conv. On a machine other work shares, a slow spell hits whichever
// method happens to run then; running every method once per round, round after round, and keeping
// each one's minimum gives every method the same chances at a quiet moment.
//
// Within a round each method runs twice back to back and both calls count. The first call after
// another method finds the caches (a 2 MiB L2 per core here) and the allocator holding that
// method's data; which method precedes is an accident of the table's order, and it cost the same
// algorithm up to 25 % (`auto` → fft_tiled behind helix against fft_tiled behind
// fft_overlap_save). The second call is the steady state a training loop over the same layer
// sees, for every method alike, libtorch included.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace nodal::bench {

struct Runner {
  std::string method;
  std::function<void()> forward;  // inference (no-grad)
  std::function<void()> train;    // forward + backward
  double forward_s = std::numeric_limits<double>::infinity();
  double train_s = std::numeric_limits<double>::infinity();
  double error = 0;
  std::string note;
};

struct RoundPolicy {
  int min_rounds = 3;
  int max_rounds = 25;
  double budget_s = 8.0;  // stop adding rounds (past min_rounds) once this much time went into them
};

// Wall time by default. With cpu_time (bench/conv --cpu-time), the process's CPU time instead:
// with one thread it is the work itself, whatever else the machine runs (a preempted process
// accrues none), which makes it the robust measure for calibrating the cost model on a busy
// machine. With several threads it also counts time spent spinning at barriers.
inline bool& cpu_time() {
  static bool on = false;
  return on;
}

inline double now_seconds() {
  if (cpu_time()) {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline double seconds_of(const std::function<void()>& f) {
  const double start = now_seconds();
  f();
  return now_seconds() - start;
}

// One warm-up of each (plans, caches, first-touch page faults), then rounds of two calls per method;
// the minimum of each.
inline void time_interleaved(std::vector<Runner*> runners, const RoundPolicy& p) {
  for (Runner* r : runners) r->forward(), r->train();
  double spent = 0;
  for (int round = 0; round < p.max_rounds && (round < p.min_rounds || spent < p.budget_s); ++round)
    for (Runner* r : runners) {
      const double f = std::min(seconds_of(r->forward), seconds_of(r->forward));
      const double t = std::min(seconds_of(r->train), seconds_of(r->train));
      r->forward_s = std::min(r->forward_s, f);
      r->train_s = std::min(r->train_s, t);
      spent += f + t;
    }
}

}  // namespace nodal::bench
