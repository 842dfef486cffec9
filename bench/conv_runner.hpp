#pragma once
// Interleaved timing for bench/conv. On a machine other work shares, a slow spell hits whichever
// method happens to run then; running every method once per round, round after round, and keeping
// each one's minimum gives every method the same chances at a quiet moment.
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

inline double seconds_of(const std::function<void()>& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One warm-up of each (plans, caches, first-touch page faults), then rounds; the minimum of each.
inline void time_interleaved(std::vector<Runner*> runners, const RoundPolicy& p) {
  for (Runner* r : runners) r->forward(), r->train();
  double spent = 0;
  for (int round = 0; round < p.max_rounds && (round < p.min_rounds || spent < p.budget_s); ++round)
    for (Runner* r : runners) {
      const double f = seconds_of(r->forward), t = seconds_of(r->train);
      r->forward_s = std::min(r->forward_s, f);
      r->train_s = std::min(r->train_s, t);
      spent += f + t;
    }
}

}  // namespace nodal::bench
