#pragma once
// What a training run leaves behind: one row of metrics per epoch, written as metrics.csv and as
// an SVG chart (loss and accuracy per epoch, training and test) that any browser opens.
#include <filesystem>
#include <string>
#include <vector>

namespace nodal::nn {

struct EpochMetrics {
  int epoch = 0;
  double train_loss = 0, train_accuracy = 0;
  double test_loss = 0, test_accuracy = 0;
  double seconds = 0, images_per_second = 0;
};

class TrainingLog {
 public:
  void add(const EpochMetrics& m) { epochs_.push_back(m); }
  const std::vector<EpochMetrics>& epochs() const { return epochs_; }
  std::string csv() const;  // header + one row per epoch
  // Reads back what csv() wrote (a resumed run continues its log); IoError naming `source`.
  static TrainingLog from_csv(const std::string& text, const std::string& source);
  std::string svg() const;  // two panels: loss and accuracy against epoch
  // Writes both files atomically (temporary file + rename).
  void write_csv(const std::filesystem::path& path) const;
  void write_svg(const std::filesystem::path& path) const;

 private:
  std::vector<EpochMetrics> epochs_;
};

// Writes `text` to `path` through nn::AtomicFile (temporary file, fsync, rename), so readers
// never see a half-written file; IoError naming the path on failure.
void write_file_atomically(const std::filesystem::path& path, const std::string& text);

}  // namespace nodal::nn
