#include "nodal/nn/progress.hpp"

#include <unistd.h>

#include <fmt/format.h>

namespace nodal::nn {

ProgressBar::ProgressBar(std::string label, std::int64_t total_batches, std::FILE* out, bool force_plain,
                         std::int64_t log_every)
    : label_(std::move(label)),
      total_(total_batches),
      log_every_(std::max<std::int64_t>(log_every, 1)),
      out_(out),
      terminal_(out != nullptr && !force_plain && isatty(fileno(out)) == 1),
      start_(std::chrono::steady_clock::now()) {}

double ProgressBar::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}
double ProgressBar::images_per_second() const {
  const double s = elapsed_seconds();
  return s > 0 ? double(images_) / s : 0.0;
}

std::string ProgressBar::format_duration(double seconds) {
  const auto s = std::int64_t(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string ProgressBar::line(std::int64_t done) const {
  const double elapsed = elapsed_seconds();
  const double eta = done > 0 ? elapsed * double(total_ - done) / double(done) : 0.0;
  constexpr int width = 20;
  const int filled = total_ > 0 ? int(width * done / total_) : width;
  const std::string bar = terminal_ ? fmt::format(" [{}{}]", std::string(std::size_t(filled), '#'),
                                                  std::string(std::size_t(width - filled), '.'))
                                    : std::string();
  return fmt::format("{}{} {:>{}}/{}  loss {:.4f}  acc {:5.1f}%  {:.0f} img/s  {} {}", label_, bar, done,
                     std::to_string(total_).size(), total_, loss_, 100 * accuracy_, images_per_second(),
                     done < total_ ? "ETA" : "time", format_duration(done < total_ ? eta : elapsed));
}

void ProgressBar::update(std::int64_t batch_index, std::int64_t images, double mean_loss, double accuracy) {
  done_ = batch_index + 1;
  images_ += images;
  loss_ = mean_loss;
  accuracy_ = accuracy;
  if (!out_) return;
  if (terminal_) {
    // Redraw at most ~10 times a second: printing is not free at 10k+ images/s.
    const auto now = std::chrono::steady_clock::now();
    if (done_ < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    fmt::print(out_, "\r{}\x1b[K", line(done_));
    std::fflush(out_);
  } else if (done_ % log_every_ == 0 && done_ < total_) {
    fmt::print(out_, "{}\n", line(done_));
    std::fflush(out_);
  }
}

void ProgressBar::finish() {
  if (!out_) return;
  if (terminal_) fmt::print(out_, "\r{}\x1b[K\n", line(done_));
  else fmt::print(out_, "{}\n", line(done_));
  std::fflush(out_);
}

}  // namespace nodal::nn
