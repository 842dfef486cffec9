#pragma once
// A printed table for bench/conv: aligned plain text, or GitHub markdown with --markdown.
#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace nodal::bench {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

  // The first column is left-aligned (names), the others right-aligned (numbers).
  void print(bool markdown) const {
    std::vector<std::size_t> width(header_.size(), 0);
    auto measure = [&](const std::vector<std::string>& row) {
      for (std::size_t c = 0; c < row.size() && c < width.size(); ++c) width[c] = std::max(width[c], display_width(row[c]));
    };
    measure(header_);
    for (const auto& row : rows_) measure(row);
    auto line = [&](const std::vector<std::string>& row) {
      std::string text = markdown ? "|" : "";
      for (std::size_t c = 0; c < width.size(); ++c) {
        const std::string cell = c < row.size() ? row[c] : "";
        const std::string pad(width[c] - display_width(cell), ' ');
        text += markdown ? " " : (c ? "  " : "");
        text += c == 0 ? cell + pad : pad + cell;
        text += markdown ? " |" : "";
      }
      fmt::print("{}\n", text);
    };
    line(header_);
    if (markdown) {
      std::string rule = "|";
      for (std::size_t c = 0; c < width.size(); ++c) rule += c == 0 ? "---|" : "---:|";
      fmt::print("{}\n", rule);
    } else {
      std::size_t total = 0;
      for (std::size_t w : width) total += w + 2;
      fmt::print("{}\n", std::string(total - 2, '-'));
    }
    for (const auto& row : rows_) line(row);
  }

 private:
  // Characters, not bytes, so that "→" and "×" do not break the alignment.
  static std::size_t display_width(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
    return n;
  }
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace nodal::bench
