#pragma once
// A training progress display: on a terminal, one self-overwriting bar per epoch
//   epoch 2/3 [##########..........]  468/938  loss 0.4123  acc 85.2%  12034 img/s  ETA 0:04
// and, when output is not a terminal (logs, CI), a plain line every `log_every` batches and at
// the end of the epoch, so files stay readable. A null `out` prints nothing (quiet runs) but
// still measures.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace nodal::nn {

class ProgressBar {
 public:
  ProgressBar(std::string label, std::int64_t total_batches, std::FILE* out = stdout, bool force_plain = false,
              std::int64_t log_every = 100);
  // After each batch: its size, the running mean loss and accuracy of the epoch so far.
  void update(std::int64_t batch_index, std::int64_t images, double mean_loss, double accuracy);
  void finish();  // ends the line (terminal) or prints the final line (plain)
  double images_per_second() const;
  double elapsed_seconds() const;

  static std::string format_duration(double seconds);  // "1:05", "1:02:03"

 private:
  std::string line(std::int64_t done) const;
  std::string label_;
  std::int64_t total_, log_every_;
  std::FILE* out_;
  bool terminal_;
  std::chrono::steady_clock::time_point start_;
  std::int64_t images_ = 0, done_ = 0;
  double loss_ = 0, accuracy_ = 0;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace nodal::nn
