#include "nodal/nn/training_log.hpp"


#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

#include <fmt/format.h>

#include "nodal/core/error.hpp"
#include "nodal/nn/atomic_file.hpp"

namespace nodal::nn {

std::string TrainingLog::csv() const {
  std::string out = "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,images_per_second\n";
  for (const EpochMetrics& m : epochs_)
    out += fmt::format("{},{:.6f},{:.6f},{:.6f},{:.6f},{:.3f},{:.1f}\n", m.epoch, m.train_loss, m.train_accuracy,
                       m.test_loss, m.test_accuracy, m.seconds, m.images_per_second);
  return out;
}

TrainingLog TrainingLog::from_csv(const std::string& text, const std::string& source) {
  TrainingLog log;
  std::size_t start = text.find('\n');
  if (text.rfind("epoch,", 0) != 0 || start == std::string::npos)
    throw IoError(fmt::format("{}: the metrics log does not start with its header", source));
  for (++start; start < text.size();) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string row = text.substr(start, end - start);
    start = end + 1;
    if (row.empty()) continue;
    EpochMetrics m;
    if (std::sscanf(row.c_str(), "%d,%lf,%lf,%lf,%lf,%lf,%lf", &m.epoch, &m.train_loss, &m.train_accuracy, &m.test_loss,
                    &m.test_accuracy, &m.seconds, &m.images_per_second) != 7)
      throw IoError(fmt::format("{}: bad metrics row '{}'", source, row));
    log.add(m);
  }
  return log;
}

namespace {

// One chart panel: series of (epoch, value) drawn into a box at (x0, y0) of size w×h.
struct Series {
  std::string label, colour;
  bool dashed;
  std::function<double(const EpochMetrics&)> value;
};

std::string panel(const std::vector<EpochMetrics>& epochs, double x0, double y0, double w, double h,
                  const std::string& title, const std::vector<Series>& series, bool percent) {
  double lo = INFINITY, hi = -INFINITY;
  for (const EpochMetrics& m : epochs)
    for (const Series& s : series) {
      lo = std::min(lo, s.value(m));
      hi = std::max(hi, s.value(m));
    }
  if (!(hi > lo)) {  // one point or a flat line: give the axis some height
    lo -= 0.5;
    hi += 0.5;
  }
  const double pad = 0.05 * (hi - lo);
  lo -= pad;
  hi += pad;
  const int first = epochs.front().epoch, last = std::max(epochs.back().epoch, first + 1);
  auto px = [&](double e) { return x0 + 50 + (w - 60) * (e - first) / double(last - first); };
  auto py = [&](double v) { return y0 + h - 30 - (h - 60) * (v - lo) / (hi - lo); };
  std::string out = fmt::format(R"(<text x="{}" y="{}" font-size="14" text-anchor="middle">{}</text>)", x0 + w / 2,
                                y0 + 18, title);
  out += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#888"/>)", x0 + 50, y0 + 30,
                     w - 60, h - 60);
  for (int k = 0; k <= 4; ++k) {  // y ticks
    const double v = lo + (hi - lo) * k / 4;
    out += fmt::format(R"(<text x="{}" y="{}" font-size="10" text-anchor="end">{}</text>)", x0 + 46, py(v) + 3,
                       percent ? fmt::format("{:.1f}%", 100 * v) : fmt::format("{:.3f}", v));
  }
  const int step = std::max(1, (last - first) / 10);
  for (int e = first; e <= last; e += step)
    out += fmt::format(R"(<text x="{}" y="{}" font-size="10" text-anchor="middle">{}</text>)", px(e), y0 + h - 16, e);
  out += fmt::format(R"(<text x="{}" y="{}" font-size="11" text-anchor="middle">epoch</text>)", x0 + w / 2, y0 + h - 2);
  for (std::size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    std::string points;
    for (const EpochMetrics& m : epochs) points += fmt::format("{:.1f},{:.1f} ", px(m.epoch), py(s.value(m)));
    out += fmt::format(R"(<polyline fill="none" stroke="{}" stroke-width="2"{} points="{}"/>)", s.colour,
                       s.dashed ? R"( stroke-dasharray="6,4")" : "", points);
    for (const EpochMetrics& m : epochs)
      out += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="3" fill="{}"/>)", px(m.epoch), py(s.value(m)), s.colour);
    const double ly = y0 + 40 + 14 * double(i);
    out += fmt::format(R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2"{}/>)", x0 + w - 120, ly,
                       x0 + w - 100, ly, s.colour, s.dashed ? R"( stroke-dasharray="6,4")" : "");
    out += fmt::format(R"(<text x="{}" y="{}" font-size="11">{}</text>)", x0 + w - 95, ly + 4, s.label);
  }
  return out;
}

}  // namespace

std::string TrainingLog::svg() const {
  constexpr double w = 440, h = 320;
  std::string body;
  if (epochs_.empty()) {
    body = R"(<text x="20" y="40" font-size="14">no epochs recorded</text>)";
  } else {
    body += panel(epochs_, 0, 0, w, h, "loss",
                  {{"training", "#1f77b4", false, [](const EpochMetrics& m) { return m.train_loss; }},
                   {"test", "#d62728", true, [](const EpochMetrics& m) { return m.test_loss; }}},
                  false);
    body += panel(epochs_, w, 0, w, h, "accuracy",
                  {{"training", "#1f77b4", false, [](const EpochMetrics& m) { return m.train_accuracy; }},
                   {"test", "#d62728", true, [](const EpochMetrics& m) { return m.test_accuracy; }}},
                  true);
  }
  return fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif">)"
                     "\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{}\n</svg>\n",
                     2 * w, h, body);
}

void write_file_atomically(const std::filesystem::path& path, const std::string& text) {
  AtomicFile out(path, "write_file_atomically");
  out.write(text.data(), text.size());
  out.commit();
}

void TrainingLog::write_csv(const std::filesystem::path& path) const { write_file_atomically(path, csv()); }
void TrainingLog::write_svg(const std::filesystem::path& path) const { write_file_atomically(path, svg()); }

}  // namespace nodal::nn
