#pragma once
// Node attributes: a small typed key -> value map, printable and parseable from "key=value"
// text (the command-line tool sets attributes that way, typed by the node's schema).
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace nodal {

using AttrValue = std::variant<bool, std::int64_t, double, std::string, std::vector<std::int64_t>, std::vector<double>>;

// One entry of a node type's attribute schema.
struct AttrSpec {
  std::string name;
  AttrValue default_value;
  std::string doc;
};

class Attributes {
 public:
  Attributes() = default;
  Attributes(std::initializer_list<std::pair<std::string, AttrValue>> items) : items_(items) {}

  void set(std::string_view name, AttrValue value);
  const AttrValue* find(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name) != nullptr; }
  // The value converted to T (int64 <-> double where exact); ValueError when missing or mistyped.
  template <class T> T get(std::string_view name) const;
  template <class T> T get(std::string_view name, T fallback) const { return contains(name) ? get<T>(name) : fallback; }

  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }
  bool empty() const { return items_.empty(); }

 private:
  std::vector<std::pair<std::string, AttrValue>> items_;
};

std::string to_string(const AttrValue& value);
std::string to_string(const Attributes& attributes);  // "axis=1, keepdims=true"
std::string_view attr_type_name(const AttrValue& value);
// Parses `text` as the same alternative as `like` ("1,2,3" for lists, true/false for bool).
AttrValue parse_attr(std::string_view name, std::string_view text, const AttrValue& like);

}  // namespace nodal
