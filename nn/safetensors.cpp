#include "nodal/nn/safetensors.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>

#include "nodal/core/error.hpp"
#include "nodal/nn/json.hpp"

namespace nodal::nn {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host would need byte swapping here");

constexpr std::uint64_t max_header_bytes = 100'000'000;  // safetensors' own limit
constexpr const char* metadata_key = "__metadata__";

std::string_view dtype_code(DType d, std::string_view op, std::string_view name) {
  switch (d) {
    case DType::float32: return "F32";
    case DType::float64: return "F64";
    default:
      throw DTypeError(fmt::format("{}: tensor '{}' is {}; safetensors checkpoints hold float32 and float64", op, name,
                                   dtype_name(d)));
  }
}

// One tensor entry of a header, validated.
struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  std::uint64_t begin = 0, end = 0;
};

struct Header {
  std::vector<Entry> entries;  // sorted by data offset
  Metadata metadata;
};

// ---- writing ----

std::string header_json(const NamedTensors& tensors, const Metadata& metadata, std::string_view op) {
  std::set<std::string_view> seen;
  std::string j = "{";
  if (!metadata.empty()) {
    j += json::quote(metadata_key);
    j += ":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      if (!json::valid_utf8(k) || !json::valid_utf8(v))
        throw ValueError(fmt::format("{}: metadata key '{}' or its value is not valid UTF-8", op, k));
      j += fmt::format("{}{}:{}", first ? "" : ",", json::quote(k), json::quote(v));
      first = false;
    }
    j += "}";
  }
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == metadata_key) throw ValueError(fmt::format("{}: '{}' is reserved for the metadata", op, name));
    if (!json::valid_utf8(name)) throw ValueError(fmt::format("{}: tensor name '{}' is not valid UTF-8", op, name));
    if (!seen.insert(name).second) throw ValueError(fmt::format("{}: tensor name '{}' appears twice", op, name));
    if (!t.defined()) throw ValueError(fmt::format("{}: tensor '{}' is undefined", op, name));
    if (t.backend() != Backend::cpu)
      throw BackendError(fmt::format("{}: tensor '{}' is on backend '{}'; move it with .to(Backend::cpu) first", op,
                                     name, backend_name(t.backend())));
    const std::string_view code = dtype_code(t.dtype(), op, name);
    const std::uint64_t bytes = t.nbytes();
    j += fmt::format("{}{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}", j.size() > 1 ? "," : "",
                     json::quote(name), code, fmt::join(t.shape().span(), ","), offset, offset + bytes);
    offset += bytes;
  }
  j += "}";
  // Pad with spaces so that the data section starts 8-byte aligned, as the Python writer does.
  j.append((8 - j.size() % 8) % 8, ' ');
  return j;
}

std::string length_prefix(std::uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[std::size_t(i)] = char((n >> (8 * i)) & 0xFF);
  return s;
}

const std::byte* tensor_bytes(const Tensor& contiguous) {
  return static_cast<const std::byte*>(contiguous.buffer()->host_data()) +
         contiguous.offset() * std::int64_t(dtype_size(contiguous.dtype()));
}

// ---- reading ----

std::uint64_t header_length(const unsigned char* p) {
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | p[i];
  return n;
}

void check_header_length(std::uint64_t n, std::uint64_t total, std::string_view name) {
  if (total < 8)
    throw IoError(
        fmt::format("load_safetensors: '{}': {} bytes is too short for the 8-byte header length", name, total));
  if (n > max_header_bytes)
    throw IoError(fmt::format("load_safetensors: '{}': header length {} exceeds the limit of {} bytes", name, n,
                              max_header_bytes));
  if (n > total - 8)
    throw IoError(fmt::format("load_safetensors: '{}': header length {} exceeds the {} bytes after the length field",
                              name, n, total - 8));
  if (n < 2) throw IoError(fmt::format("load_safetensors: '{}': header length {} cannot hold a JSON object", name, n));
}

DType parse_dtype(const std::string& code, std::string_view name, std::string_view tensor) {
  if (code == "F32") return DType::float32;
  if (code == "F64") return DType::float64;
  static const std::set<std::string> others{"BOOL", "U8",  "I8",  "I16", "U16",     "F16",     "BF16",
                                            "I32",  "U32", "I64", "U64", "F8_E4M3", "F8_E5M2", "C64"};
  if (others.count(code))
    throw IoError(
        fmt::format("load_safetensors: '{}': tensor '{}' has dtype {}, which nodal does not support (F32, F64)", name,
                    tensor, code));
  throw IoError(fmt::format("load_safetensors: '{}': tensor '{}' has unknown dtype \"{}\"", name, tensor, code));
}

Entry parse_entry(const std::string& tensor, const json::Value& v, std::string_view name) {
  const auto bad = [&](const std::string& what) {
    return IoError(fmt::format("load_safetensors: '{}': tensor '{}': {}", name, tensor, what));
  };
  if (v.kind != json::Value::Kind::object)
    throw bad(fmt::format("entry is a {}, not an object", json::kind_name(v.kind)));
  for (const auto& [key, member] : v.object)
    if (key != "dtype" && key != "shape" && key != "data_offsets") throw bad(fmt::format("unknown field \"{}\"", key));
  const json::Value* dtype = v.find("dtype");
  const json::Value* shape = v.find("shape");
  const json::Value* offsets = v.find("data_offsets");
  if (!dtype || dtype->kind != json::Value::Kind::string) throw bad("field \"dtype\" missing or not a string");
  if (!shape || shape->kind != json::Value::Kind::array) throw bad("field \"shape\" missing or not a list");
  if (!offsets || offsets->kind != json::Value::Kind::array || offsets->array.size() != 2 ||
      offsets->array[0].kind != json::Value::Kind::integer || offsets->array[1].kind != json::Value::Kind::integer)
    throw bad("field \"data_offsets\" missing or not a list of two integers");

  Entry e;
  e.name = tensor;
  e.dtype = parse_dtype(dtype->string, name, tensor);
  if (shape->array.size() > std::size_t(Shape::max_rank))
    throw bad(fmt::format("rank {} exceeds nodal's maximum of {}", shape->array.size(), Shape::max_rank));
  std::uint64_t elements = 1;
  for (const json::Value& d : shape->array) {
    if (d.kind != json::Value::Kind::integer) throw bad("shape holds a non-integer");
    if (d.integer > (std::uint64_t(1) << 62) || (d.integer > 0 && elements > (std::uint64_t(1) << 62) / d.integer))
      throw bad("the shape's element count overflows");
    elements *= d.integer;
    e.shape.push_back(std::int64_t(d.integer));
  }
  e.begin = offsets->array[0].integer;
  e.end = offsets->array[1].integer;
  if (e.end < e.begin) throw bad(fmt::format("data_offsets [{}, {}] end before they begin", e.begin, e.end));
  const std::uint64_t need = elements * dtype_size(e.dtype);
  if (e.end - e.begin != need)
    throw bad(fmt::format("shape {} of {} needs {} bytes but data_offsets [{}, {}] span {}", to_string(e.shape),
                          dtype->string, need, e.begin, e.end, e.end - e.begin));
  return e;
}

Header parse_header(std::string_view text, std::uint64_t data_bytes, std::string_view name) {
  const json::Value root = json::parse(text, fmt::format("load_safetensors: '{}'", name));
  if (root.kind != json::Value::Kind::object)
    throw IoError(fmt::format("load_safetensors: '{}': the header is a JSON {}, not an object", name,
                              json::kind_name(root.kind)));
  Header h;
  for (const auto& [key, value] : root.object) {
    if (key == metadata_key) {
      if (value.kind != json::Value::Kind::object)
        throw IoError(fmt::format("load_safetensors: '{}': __metadata__ is not an object", name));
      for (const auto& [k, v] : value.object) {
        if (v.kind != json::Value::Kind::string)
          throw IoError(fmt::format("load_safetensors: '{}': __metadata__ value of \"{}\" is a {}, not a string", name,
                                    k, json::kind_name(v.kind)));
        h.metadata.emplace(k, v.string);
      }
      continue;
    }
    h.entries.push_back(parse_entry(key, value, name));  // names are unique: the parser rejects duplicate keys
  }
  std::stable_sort(h.entries.begin(), h.entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  // Tiling: each tensor starts where the previous one ended, the last ends at the section's end.
  std::uint64_t at = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : h.entries) {
    if (e.end > data_bytes)
      throw IoError(
          fmt::format("load_safetensors: '{}': tensor '{}': data_offsets [{}, {}] reach past the data section "
                      "of {} bytes (truncated file?)",
                      name, e.name, e.begin, e.end, data_bytes));
    if (e.begin < at)
      throw IoError(
          fmt::format("load_safetensors: '{}': tensor '{}': data_offsets [{}, {}] overlap tensor '{}' (ends at {})",
                      name, e.name, e.begin, e.end, previous->name, at));
    if (e.begin > at)
      throw IoError(fmt::format("load_safetensors: '{}': tensor '{}': {} unused bytes before its data_offsets [{}, {}]",
                                name, e.name, e.begin - at, e.begin, e.end));
    at = e.end;
    previous = &e;
  }
  if (at != data_bytes)
    throw IoError(fmt::format("load_safetensors: '{}': the tensors cover {} bytes of the {}-byte data section", name,
                              at, data_bytes));
  return h;
}

}  // namespace

const Tensor* Checkpoint::find(std::string_view name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return &t;
  return nullptr;
}

const Tensor& Checkpoint::at(std::string_view name) const {
  if (const Tensor* t = find(name)) return *t;
  throw IoError(fmt::format("checkpoint: no tensor named '{}'", name));
}

std::vector<std::byte> safetensors_to_bytes(const NamedTensors& tensors, const Metadata& metadata) {
  const std::string header = header_json(tensors, metadata, "safetensors_to_bytes");
  std::vector<std::byte> out(8 + header.size());
  std::memcpy(out.data(), length_prefix(header.size()).data(), 8);
  std::memcpy(out.data() + 8, header.data(), header.size());
  for (const auto& [name, t] : tensors) {
    const Tensor c = t.contiguous();
    const std::byte* p = tensor_bytes(c);
    out.insert(out.end(), p, p + c.nbytes());
  }
  return out;
}

void save_safetensors(const std::filesystem::path& path, const NamedTensors& tensors, const Metadata& metadata,
                      const SaveOptions& options) {
  const std::string header = header_json(tensors, metadata, "save_safetensors");
  AtomicFile out(path, "save_safetensors", options.after_write);
  out.write(length_prefix(header.size()).data(), 8);
  out.write(header.data(), header.size());
  for (const auto& [name, t] : tensors) {
    const Tensor c = t.contiguous();  // a copy only for non-contiguous views
    if (c.nbytes() > 0) out.write(tensor_bytes(c), c.nbytes());
  }
  out.commit();
}

Checkpoint safetensors_from_bytes(std::span<const std::byte> bytes, std::string_view name) {
  const std::uint64_t total = bytes.size();
  check_header_length(total >= 8 ? header_length(reinterpret_cast<const unsigned char*>(bytes.data())) : 0, total,
                      name);
  const std::uint64_t n = header_length(reinterpret_cast<const unsigned char*>(bytes.data()));
  const Header h = parse_header(std::string_view(reinterpret_cast<const char*>(bytes.data()) + 8, std::size_t(n)),
                                total - 8 - n, name);
  Checkpoint c;
  c.metadata = h.metadata;
  const std::byte* data = bytes.data() + 8 + n;
  for (const Entry& e : h.entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    if (e.end > e.begin) std::memcpy(t.buffer()->host_data(), data + e.begin, std::size_t(e.end - e.begin));
    c.tensors.emplace_back(e.name, std::move(t));
  }
  return c;
}

Checkpoint load_safetensors(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  const std::uint64_t total = std::filesystem::file_size(path, ec);
  if (ec) throw IoError(fmt::format("load_safetensors: cannot open '{}': {}", name, ec.message()));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("load_safetensors: cannot open '{}'", name));
  unsigned char prefix[8] = {};
  if (total >= 8) in.read(reinterpret_cast<char*>(prefix), 8);
  const std::uint64_t n = header_length(prefix);
  check_header_length(n, total, name);
  std::string header(std::size_t(n), '\0');
  in.read(header.data(), std::streamsize(n));
  if (!in) throw IoError(fmt::format("load_safetensors: '{}': read error in the header", name));
  const Header h = parse_header(header, total - 8 - n, name);
  Checkpoint c;
  c.metadata = h.metadata;
  // Entries are sorted by offset and tile the data section: read them in one forward pass.
  for (const Entry& e : h.entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    if (e.end > e.begin) {
      in.read(static_cast<char*>(t.buffer()->host_data()), std::streamsize(e.end - e.begin));
      if (!in)
        throw IoError(
            fmt::format("load_safetensors: '{}': tensor '{}': read error (file changed while reading?)", name, e.name));
    }
    c.tensors.emplace_back(e.name, std::move(t));
  }
  return c;
}

void load_into(const Checkpoint& checkpoint, const NamedTensors& targets, std::string_view source,
               bool allow_unexpected) {
  std::vector<std::string> missing, unexpected;
  std::set<std::string_view> wanted;
  for (const auto& [name, t] : targets) {
    wanted.insert(name);
    if (!checkpoint.find(name)) missing.push_back(name);
  }
  if (!allow_unexpected)
    for (const auto& [name, t] : checkpoint.tensors)
      if (!wanted.count(name)) unexpected.push_back(name);
  if (!missing.empty() || !unexpected.empty())
    throw IoError(fmt::format("load_into: '{}': missing tensors: [{}]; unexpected tensors: [{}]", source,
                              fmt::join(missing, ", "), fmt::join(unexpected, ", ")));
  for (const auto& [name, t] : targets) {
    const Tensor& src = checkpoint.at(name);
    if (!(src.shape() == t.shape()))
      throw ShapeError(fmt::format("load_into: '{}': tensor '{}' has shape {} in the file, the target has {}", source,
                                   name, to_string(src.shape()), to_string(t.shape())));
    if (src.dtype() != t.dtype())
      throw DTypeError(fmt::format("load_into: '{}': tensor '{}' is {} in the file, the target is {}", source, name,
                                   dtype_name(src.dtype()), dtype_name(t.dtype())));
  }
  for (const auto& [name, t] : targets) {
    Tensor target = t;  // shares the buffer: the copy lands in the caller's tensor
    target.copy_from(checkpoint.at(name));
  }
}

void load_into(const std::filesystem::path& path, const NamedTensors& targets, bool allow_unexpected) {
  load_into(load_safetensors(path), targets, path.string(), allow_unexpected);
}

}  // namespace nodal::nn
