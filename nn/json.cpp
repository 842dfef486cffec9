#include "nodal/nn/json.hpp"

#include <fmt/format.h>

#include "nodal/core/error.hpp"

namespace nodal::nn::json {
namespace {

constexpr int max_depth = 16;

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not valid.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned c = b(i);
  if (c < 0x80) return 1;
  std::size_t n;
  std::uint32_t cp;
  if ((c & 0xE0) == 0xC0) n = 2, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0) n = 3, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0) n = 4, cp = c & 0x07;
  else return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  const std::uint32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_for_length[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

class Parser {
 public:
  Parser(std::string_view text, std::string_view context) : s_(text), context_(context) {}

  Value document() {
    skip_space();
    Value v = value(0);
    skip_space();
    if (at_ < s_.size()) fail("unexpected content after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(std::string_view what) const {
    throw IoError(fmt::format("{}: invalid JSON header at byte {}: {}", context_, at_, what));
  }
  bool more() const { return at_ < s_.size(); }
  char peek() const { return more() ? s_[at_] : '\0'; }
  void skip_space() {
    while (more() && (s_[at_] == ' ' || s_[at_] == '\t' || s_[at_] == '\n' || s_[at_] == '\r')) ++at_;
  }
  void expect(char c) {
    if (peek() != c || !more())
      fail(more() ? fmt::format("expected '{}', found '{}'", c, peek())
                  : fmt::format("expected '{}', found the end", c));
    ++at_;
  }

  Value value(int depth) {
    if (depth > max_depth) fail(fmt::format("nested deeper than {} levels", max_depth));
    if (!more()) fail("expected a value, found the end");
    const char c = peek();
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') {
      Value v;
      v.kind = Value::Kind::string;
      v.string = string();
      return v;
    }
    if (c >= '0' && c <= '9') return integer();
    if (c == '-') fail("negative numbers are not used in a safetensors header");
    if (c == 't' || c == 'f' || c == 'n') fail("true, false and null are not used in a safetensors header");
    fail(fmt::format("unexpected character 0x{:02X}", static_cast<unsigned char>(c)));
  }

  Value object(int depth) {
    Value v;
    v.kind = Value::Kind::object;
    expect('{');
    skip_space();
    if (peek() == '}') {
      ++at_;
      return v;
    }
    for (;;) {
      skip_space();
      if (peek() != '"') fail("expected a string key");
      std::string key = string();
      if (v.find(key)) fail(fmt::format("duplicate key \"{}\"", key));
      skip_space();
      expect(':');
      skip_space();
      Value member = value(depth + 1);
      v.object.emplace_back(std::move(key), std::move(member));
      skip_space();
      if (peek() == ',' && more()) {
        ++at_;
        continue;
      }
      expect('}');
      return v;
    }
  }

  Value array(int depth) {
    Value v;
    v.kind = Value::Kind::array;
    expect('[');
    skip_space();
    if (peek() == ']') {
      ++at_;
      return v;
    }
    for (;;) {
      skip_space();
      v.array.push_back(value(depth + 1));
      skip_space();
      if (peek() == ',' && more()) {
        ++at_;
        continue;
      }
      expect(']');
      return v;
    }
  }

  Value integer() {
    Value v;
    v.kind = Value::Kind::integer;
    const std::size_t start = at_;
    while (more() && peek() >= '0' && peek() <= '9') {
      const unsigned d = unsigned(peek() - '0');
      if (v.integer > (UINT64_MAX - d) / 10) fail("integer larger than 2^64-1");
      v.integer = v.integer * 10 + d;
      ++at_;
    }
    if (at_ - start > 1 && s_[start] == '0') {
      at_ = start;
      fail("leading zero in a number");
    }
    if (peek() == '.' || peek() == 'e' || peek() == 'E')
      fail("fractions and exponents are not used in a safetensors header");
    return v;
  }

  std::uint32_t hex4() {
    if (at_ + 4 > s_.size()) fail("truncated \\u escape");
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[at_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= unsigned(c - '0');
      else if (c >= 'a' && c <= 'f') v |= unsigned(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= unsigned(c - 'A' + 10);
      else fail("invalid hex digit in a \\u escape");
    }
    return v;
  }

  std::string string() {
    expect('"');
    std::string out;
    for (;;) {
      if (!more()) fail("unterminated string");
      const unsigned char c = static_cast<unsigned char>(s_[at_]);
      if (c == '"') {
        ++at_;
        return out;
      }
      if (c < 0x20) fail(fmt::format("unescaped control character 0x{:02X} in a string", c));
      if (c == '\\') {
        ++at_;
        if (!more()) fail("unterminated escape");
        const char e = s_[at_++];
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            std::uint32_t cp = hex4();
            if (cp >= 0xDC00 && cp <= 0xDFFF) fail("lone low surrogate in a \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              if (at_ + 2 > s_.size() || s_[at_] != '\\' || s_[at_ + 1] != 'u')
                fail("high surrogate without its low half");
              at_ += 2;
              const std::uint32_t low = hex4();
              if (low < 0xDC00 || low > 0xDFFF) fail("high surrogate without its low half");
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            }
            append_utf8(out, cp);
            break;
          }
          default: --at_; fail(fmt::format("invalid escape '\\{}'", e));
        }
        continue;
      }
      const std::size_t n = utf8_length(s_, at_);
      if (n == 0) fail("invalid UTF-8");
      out.append(s_.substr(at_, n));
      at_ += n;
    }
  }

  std::string_view s_;
  std::string_view context_;
  std::size_t at_ = 0;
};

}  // namespace

const Value* Value::find(std::string_view key) const {
  for (const auto& [k, v] : object)
    if (k == key) return &v;
  return nullptr;
}

std::string_view kind_name(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::object: return "object";
    case Value::Kind::array: return "array";
    case Value::Kind::string: return "string";
    case Value::Kind::integer: return "integer";
  }
  return "?";
}

Value parse(std::string_view text, std::string_view context) { return Parser(text, context).document(); }

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) out += fmt::format("\\u{:04x}", c);
        else out += ch;
    }
  }
  return out + '"';
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

}  // namespace nodal::nn::json
