#pragma once
// The small part of JSON that a safetensors header uses, read strictly and written exactly.
//
// parse_json accepts RFC 8259 syntax restricted to: objects, arrays, strings and non-negative
// integers (what shapes, offsets, dtypes and metadata need). Everything else is an IoError that
// names `context` and the byte offset: true/false/null, fractions, exponents and negative
// numbers ("not used in a safetensors header"), integers beyond 2^64−1, leading zeros, trailing
// commas, unescaped control characters, invalid UTF-8 (overlong forms, surrogates, > U+10FFFF),
// lone \u surrogates, duplicate keys in one object, nesting deeper than 16, and anything but
// whitespace after the value.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nodal::nn::json {

struct Value {
  enum class Kind { object, array, string, integer };
  Kind kind = Kind::object;
  std::string string;                                 // kind string
  std::uint64_t integer = 0;                          // kind integer
  std::vector<Value> array;                           // kind array
  std::vector<std::pair<std::string, Value>> object;  // kind object, in file order, keys unique

  const Value* find(std::string_view key) const;  // objects: the member, or nullptr
};

std::string_view kind_name(Value::Kind kind);

Value parse(std::string_view text, std::string_view context);

// `s` as a JSON string literal: quotes, \" \\ and control characters escaped (as \n, \t, ... or
// \u00XX); other bytes, UTF-8 included, are copied unchanged.
std::string quote(std::string_view s);
// True when `s` is valid UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view s);

}  // namespace nodal::nn::json
