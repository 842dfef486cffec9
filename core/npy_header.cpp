#include "nodal/core/npy_header.hpp"

#include <bit>
#include <cstring>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/core/error.hpp"

namespace nodal::npy {
namespace {

[[noreturn]] void fail(std::string_view source, const std::string& what) {
  throw IoError(fmt::format("load_npy: '{}': {}", source, what));
}

std::uint32_t read_le(std::span<const std::byte> bytes, std::size_t at, std::size_t count) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < count; ++i) v |= std::uint32_t(std::to_integer<unsigned char>(bytes[at + i])) << (8 * i);
  return v;
}

// The dtype string: a byte-order character and a type code. '|' (not applicable) and '='
// (native) are accepted like this machine's order; NumPy writes '<' for these types on
// little-endian machines, but other writers use the alternatives.
void parse_descr(const std::string& descr, Header& h, std::string_view source) {
  static constexpr std::string_view supported = "'<f4' (float32), '<f8' (float64), '<c8' (complex64), '<c16' (complex128)";
  if (descr.size() < 2) fail(source, fmt::format("unsupported dtype '{}'; nodal reads {}", descr, supported));
  const char order = descr[0];
  const std::string code = descr.substr(1);
  constexpr bool little = std::endian::native == std::endian::little;
  if (order == '<') h.swap_bytes = !little;
  else if (order == '>') h.swap_bytes = little;
  else if (order == '=' || order == '|') h.swap_bytes = false;
  else fail(source, fmt::format("unsupported dtype '{}' (unknown byte order '{}'); nodal reads {}", descr, order, supported));
  if (code == "f4") h.dtype = DType::float32;
  else if (code == "f8") h.dtype = DType::float64;
  else if (code == "c8") h.dtype = DType::complex64;
  else if (code == "c16") h.dtype = DType::complex128;
  else fail(source, fmt::format("unsupported dtype '{}'; nodal reads {}", descr, supported));
}

// The header as text for an error message: control and non-ASCII bytes escaped, long headers
// cut, so that a corrupt file cannot fill the terminal with binary garbage.
std::string printable(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < 200; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') out += "\\n";
    else if (c < 0x20 || c >= 0x7F) out += fmt::format("\\x{:02x}", c);
    else out += char(c);
  }
  if (text.size() > 200) out += "...";
  return out;
}

// A recursive-descent reader for the one Python literal NumPy writes: a dict with the keys
// 'descr' (a string), 'fortran_order' (True/False) and 'shape' (a tuple of integers).
class DictParser {
 public:
  DictParser(std::string_view text, std::string_view source) : text_(text), source_(source) {}

  Header parse() {
    Header h;
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    for (;;) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        skip_space();
        if (peek() == '[') malformed("a structured dtype (a list of fields) in 'descr'; nodal reads plain float and complex arrays only");
        parse_descr(string_literal(), h, source_);
        have_descr = true;
      } else if (key == "fortran_order") {
        h.fortran_order = boolean();
        have_order = true;
      } else if (key == "shape") {
        h.shape = tuple();
        have_shape = true;
      } else {
        malformed(fmt::format("unexpected key '{}'", key));
      }
      skip_space();
      if (peek() == ',') { ++pos_; continue; }
      if (peek() == '}') break;
      malformed(fmt::format("expected ',' or '}}' at offset {}", pos_));
    }
    ++pos_;
    skip_space();
    if (pos_ != text_.size()) malformed(fmt::format("unexpected text after the dictionary at offset {}", pos_));
    if (!have_descr || !have_order || !have_shape)
      malformed("the dictionary must have the keys 'descr', 'fortran_order' and 'shape'");
    return h;
  }

 private:
  [[noreturn]] void malformed(const std::string& what) const {
    fail(source_, fmt::format("malformed header \"{}\": {}", printable(text_), what));
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) malformed(fmt::format("expected '{}' at offset {}", c, pos_));
    ++pos_;
  }
  std::string string_literal() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') malformed(fmt::format("expected a quoted string at offset {}", pos_));
    const std::size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) malformed("unterminated string");
    std::string s(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return s;
  }
  bool boolean() {
    skip_space();
    if (text_.substr(pos_, 4) == "True") { pos_ += 4; return true; }
    if (text_.substr(pos_, 5) == "False") { pos_ += 5; return false; }
    malformed(fmt::format("expected True or False for 'fortran_order' at offset {}", pos_));
  }
  std::int64_t integer() {
    skip_space();
    const bool negative = peek() == '-';
    if (negative) ++pos_;
    if (peek() < '0' || peek() > '9') malformed(fmt::format("expected an integer at offset {}", pos_));
    std::uint64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      const std::uint64_t digit = std::uint64_t(peek() - '0');
      if (v > (std::uint64_t(INT64_MAX) - digit) / 10) malformed("an extent of 'shape' does not fit in 64 bits");
      v = v * 10 + digit;
      ++pos_;
    }
    if (peek() == 'L') ++pos_;  // Python 2 long literals, written by old NumPy versions
    if (negative) fail(source_, fmt::format("negative extent -{} in 'shape'", v));
    return std::int64_t(v);
  }
  Shape tuple() {
    expect('(');
    std::vector<std::int64_t> dims;
    for (;;) {
      skip_space();
      if (peek() == ')') break;
      dims.push_back(integer());
      skip_space();
      if (peek() == ',') { ++pos_; continue; }
      if (peek() != ')') malformed(fmt::format("expected ',' or ')' in 'shape' at offset {}", pos_));
    }
    ++pos_;
    if (dims.size() > std::size_t(Shape::max_rank))
      fail(source_, fmt::format("shape ({}) has rank {}; nodal tensors have at most {} axes", fmt::join(dims, ", "),
                                dims.size(), Shape::max_rank));
    return Shape(dims);
  }

  std::string_view text_;
  std::string_view source_;
  std::size_t pos_ = 0;
};

}  // namespace

std::size_t header_end(std::span<const std::byte> head, std::uint64_t total_bytes, std::string_view source) {
  if (head.size() < 10 || std::memcmp(head.data(), magic.data(), magic.size()) != 0) {
    if (head.size() >= magic.size() && std::memcmp(head.data(), magic.data(), magic.size()) == 0)
      fail(source, fmt::format("truncated: the file has {} bytes, the preamble alone needs at least 10", total_bytes));
    fail(source, "not a .npy file (the magic string \\x93NUMPY is missing)");
  }
  const int major = std::to_integer<int>(head[6]), minor = std::to_integer<int>(head[7]);
  if (!((major == 1 || major == 2 || major == 3) && minor == 0))
    fail(source, fmt::format("unsupported .npy format version {}.{} (nodal reads 1.0, 2.0 and 3.0)", major, minor));
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  if (head.size() < 8 + length_bytes)
    fail(source, fmt::format("truncated: the file ends inside the header length ({} bytes)", total_bytes));
  const std::uint64_t header_length = read_le(head, 8, length_bytes);
  const std::uint64_t end = 8 + length_bytes + header_length;
  if (end > total_bytes)
    fail(source, fmt::format("header length {} goes beyond the end of the file ({} bytes)", header_length, total_bytes));
  return std::size_t(end);
}

Header parse_header(std::span<const std::byte> head, std::uint64_t total_bytes, std::string_view source) {
  const std::size_t end = header_end(head, total_bytes, source);
  const std::size_t start = std::to_integer<int>(head[6]) == 1 ? 10 : 12;
  const std::string_view text(reinterpret_cast<const char*>(head.data()) + start, end - start);
  Header h = DictParser(text, source).parse();
  h.data_offset = end;
  // Overflow-checked size, then compared with what the file holds: nothing is allocated for a
  // shape the file cannot contain.
  std::uint64_t bytes = dtype_size(h.dtype);
  for (std::int64_t d : h.shape)
    if (__builtin_mul_overflow(bytes, std::uint64_t(d), &bytes))
      fail(source, fmt::format("shape {} of {} overflows a 64-bit byte count", to_string(h.shape), dtype_name(h.dtype)));
  const std::uint64_t available = total_bytes - end;
  if (bytes > available)
    fail(source, fmt::format("truncated: shape {} of {} needs {} data bytes, the file holds {}", to_string(h.shape),
                             dtype_name(h.dtype), bytes, available));
  h.data_bytes = std::size_t(bytes);
  return h;
}

std::string format_header(const Shape& shape, DType dtype) {
  const char order = std::endian::native == std::endian::little ? '<' : '>';
  const char* code = dtype == DType::float32 ? "f4" : dtype == DType::float64 ? "f8" : dtype == DType::complex64 ? "c8" : "c16";
  // Python's repr of a tuple: (), (3,), (2, 3).
  const std::string dims = shape.rank() == 1 ? fmt::format("({},)", shape[0])
                                             : fmt::format("({})", fmt::join(shape.span(), ", "));
  std::string dict = fmt::format("{{'descr': '{}{}', 'fortran_order': False, 'shape': {}, }}", order, code, dims);
  // NumPy pads with spaces so that the data starts at a multiple of 64 bytes, then a newline.
  auto padded = [&](std::size_t preamble) {
    std::string s = dict;
    const std::size_t used = preamble + s.size() + 1;
    s.append((64 - used % 64) % 64, ' ');
    s += '\n';
    return s;
  };
  std::string header = padded(10);
  std::string out(magic);
  if (header.size() <= 0xFFFF) {
    out += '\x01';
    out += '\x00';
    out += char(header.size() & 0xFF);
    out += char(header.size() >> 8);
  } else {
    header = padded(12);
    out += '\x02';
    out += '\x00';
    for (int i = 0; i < 4; ++i) out += char((header.size() >> (8 * i)) & 0xFF);
  }
  return out + header;
}

}  // namespace nodal::npy
