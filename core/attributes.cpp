#include "nodal/core/attributes.hpp"

#include <charconv>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/core/error.hpp"

namespace nodal {

void Attributes::set(std::string_view name, AttrValue value) {
  for (auto& [key, v] : items_)
    if (key == name) {
      v = std::move(value);
      return;
    }
  items_.emplace_back(std::string(name), std::move(value));
}

const AttrValue* Attributes::find(std::string_view name) const {
  for (const auto& [key, v] : items_)
    if (key == name) return &v;
  return nullptr;
}

template <class T> T Attributes::get(std::string_view name) const {
  const AttrValue* v = find(name);
  if (!v) throw ValueError(fmt::format("attribute '{}' is missing", name));
  if (auto p = std::get_if<T>(v)) return *p;
  if constexpr (std::is_same_v<T, double>) {
    if (auto p = std::get_if<std::int64_t>(v)) return double(*p);
  }
  if constexpr (std::is_same_v<T, std::int64_t>) {
    if (auto p = std::get_if<double>(v); p && std::floor(*p) == *p) return std::int64_t(*p);
  }
  if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) {
    if (auto p = std::get_if<std::int64_t>(v)) return {*p};
  }
  throw ValueError(fmt::format("attribute '{}' is a {} ({}), not the type the node expects", name, attr_type_name(*v),
                               to_string(*v)));
}
template bool Attributes::get(std::string_view) const;
template std::int64_t Attributes::get(std::string_view) const;
template double Attributes::get(std::string_view) const;
template std::string Attributes::get(std::string_view) const;
template std::vector<std::int64_t> Attributes::get(std::string_view) const;
template std::vector<double> Attributes::get(std::string_view) const;

std::string to_string(const AttrValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, bool>) return v ? "true" : "false";
        else if constexpr (std::is_same_v<V, std::string>) return v;
        else if constexpr (std::is_same_v<V, std::int64_t> || std::is_same_v<V, double>) return fmt::format("{}", v);
        else return fmt::format("{}", fmt::join(v, ","));
      },
      value);
}

std::string to_string(const Attributes& attributes) {
  std::string out;
  for (const auto& [key, v] : attributes) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{}={}", key, to_string(v));
  }
  return out;
}

std::string_view attr_type_name(const AttrValue& value) {
  static constexpr std::string_view names[] = {"bool", "int", "float", "string", "int list", "float list"};
  return names[value.index()];
}

namespace {

template <class T> T parse_number(std::string_view name, std::string_view text) {
  T v{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end || text.empty())
    throw ValueError(fmt::format("attribute '{}': '{}' is not a valid {}", name, text,
                                 std::is_integral_v<T> ? "integer" : "number"));
  return v;
}

template <class T> std::vector<T> parse_list(std::string_view name, std::string_view text) {
  std::vector<T> out;
  if (text.empty()) return out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = text.find(',', start);
    out.push_back(parse_number<T>(name, text.substr(start, comma - start)));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

}  // namespace

AttrValue parse_attr(std::string_view name, std::string_view text, const AttrValue& like) {
  switch (like.index()) {
    case 0:
      if (text == "true" || text == "1") return true;
      if (text == "false" || text == "0") return false;
      throw ValueError(fmt::format("attribute '{}': '{}' is not a bool (true/false)", name, text));
    case 1: return parse_number<std::int64_t>(name, text);
    case 2: return parse_number<double>(name, text);
    case 3: return std::string(text);
    case 4: return parse_list<std::int64_t>(name, text);
    default: return parse_list<double>(name, text);
  }
}

}  // namespace nodal
