// The training run's artefacts: metrics.csv rows, an SVG chart that parses as XML-ish text with
// one polyline per series, atomic file writes, and the progress bar's plain-text lines.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "nodal/core/error.hpp"
#include "nodal/nn/progress.hpp"
#include "nodal/nn/training_log.hpp"

using namespace nodal;

namespace {

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("metrics.csv has a header and one row per epoch") {
  nn::TrainingLog log;
  log.add({1, 0.5, 0.8, 0.45, 0.82, 10.0, 6000.0});
  log.add({2, 0.25, 0.9, 0.3, 0.88, 9.5, 6300.0});
  CHECK(log.csv() ==
        "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,images_per_second\n"
        "1,0.500000,0.800000,0.450000,0.820000,10.000,6000.0\n"
        "2,0.250000,0.900000,0.300000,0.880000,9.500,6300.0\n");
}

TEST_CASE("the SVG chart draws both panels with a line per series") {
  nn::TrainingLog log;
  for (int e = 1; e <= 3; ++e) log.add({e, 1.0 / e, 0.7 + 0.05 * e, 1.1 / e, 0.68 + 0.05 * e, 1, 1});
  const std::string svg = log.svg();
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(count(svg, "<polyline") == 4);
  CHECK(count(svg, "<circle") == 12);
  CHECK(svg.find(">accuracy<") != std::string::npos);
  CHECK(nn::TrainingLog{}.svg().find("no epochs recorded") != std::string::npos);
}

TEST_CASE("files are written atomically and failures name the path") {
  const auto dir = std::filesystem::temp_directory_path() / "nodal_test_training_log";
  std::filesystem::create_directories(dir);
  nn::write_file_atomically(dir / "a.txt", "old");
  nn::write_file_atomically(dir / "a.txt", "new");
  CHECK(read(dir / "a.txt") == "new");
  CHECK_FALSE(std::filesystem::exists(dir / "a.txt.tmp"));
  CHECK_THROWS_WITH_AS(nn::write_file_atomically(dir / "missing" / "b.txt", "x"), doctest::Contains("missing"), IoError);
  std::filesystem::remove_all(dir);
}

TEST_CASE("progress bar prints plain lines when not on a terminal") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  {
    nn::ProgressBar bar("epoch 1/2", 5, f, /*force_plain=*/true, /*log_every=*/2);
    for (int b = 0; b < 5; ++b) bar.update(b, 64, 0.5, 0.75);
    bar.finish();
  }
  std::rewind(f);
  char buffer[4096] = {};
  const std::size_t n = std::fread(buffer, 1, sizeof buffer - 1, f);
  std::fclose(f);
  const std::string text(buffer, n);
  CHECK(count(text, "\n") == 3);  // after batches 2 and 4, and the final line
  CHECK(text.find("epoch 1/2 5/5  loss 0.5000  acc  75.0%") != std::string::npos);
  CHECK(text.find('\r') == std::string::npos);
  CHECK(nn::ProgressBar::format_duration(65) == "1:05");
  CHECK(nn::ProgressBar::format_duration(3723) == "1:02:03");
}
