// safetensors checkpoints: the reference bytes are written out by hand from the format (what
// Python's safetensors writes), corrupt files are hand-built headers, and atomicity is checked
// by injecting a failure in the middle of a save.
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <doctest/doctest.h>
#include <unistd.h>

#include "nodal/core/error.hpp"
#include "nodal/core/tensor.hpp"
#include "nodal/nn/json.hpp"
#include "nodal/nn/safetensors.hpp"

using namespace nodal;
namespace fs = std::filesystem;
using namespace std::string_literals;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() / fmt::format("nodal_test_st_{}_{}_{}", ::getpid(), counter++, std::random_device{}());
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path / name, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
    return path / name;
  }
  std::size_t count() const { return std::size_t(std::distance(fs::directory_iterator(path), {})); }
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
std::string le64(std::uint64_t n) {
  std::string s;
  for (int i = 0; i < 8; ++i) s += char((n >> (8 * i)) & 0xFF);
  return s;
}
// A file from a header (unpadded) and data bytes, with a correct length prefix.
std::string st_file(const std::string& header, const std::string& data) { return le64(header.size()) + header + data; }
std::string as_string(const std::vector<std::byte>& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

// What Python writes for save_file({"a": torch.tensor([1.0, 2.0])}): the 54-byte JSON below
// plus 2 spaces (56, a multiple of 8), its length 56 = 0x38 little-endian, then 1.0f and 2.0f
// as IEEE 754 little-endian: 00 00 80 3f, 00 00 00 40.
const std::string python_a12 = "\x38\x00\x00\x00\x00\x00\x00\x00"s +
                               R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})" + "  " +
                               "\x00\x00\x80\x3f\x00\x00\x00\x40"s;

template <class E = IoError, class F> std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "(no error)";
}

std::string load_error(const std::string& bytes) {
  return error_of([&] { nn::safetensors_from_bytes({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()}, "f"); });
}

}  // namespace

TEST_CASE("safetensors reference bytes of the Python writer load and are reproduced") {
  TempDir dir;
  const nn::Checkpoint c = nn::load_safetensors(dir.write("a.safetensors", python_a12));
  REQUIRE(c.tensors.size() == 1);
  CHECK(c.tensors[0].first == "a");
  CHECK(c.at("a").shape() == Shape{2});
  CHECK(c.at("a").dtype() == DType::float32);
  CHECK(c.at("a").to_vector<float>() == std::vector<float>{1.0f, 2.0f});
  CHECK(c.metadata.empty());

  const nn::NamedTensors mine{{"a", Tensor::from_vector(std::vector<float>{1, 2}, Shape{2})}};
  CHECK(as_string(nn::safetensors_to_bytes(mine)) == python_a12);
  nn::save_safetensors(dir.path / "b.safetensors", mine);
  CHECK(read_file(dir.path / "b.safetensors") == python_a12);
}

TEST_CASE("safetensors metadata and a float64 scalar have the expected bytes") {
  // {"__metadata__":{"k":"v"},"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]}} is 78
  // bytes, padded with 2 spaces to 80 = 0x50; 1.5 as a little-endian double is 00..00 f8 3f.
  const std::string expected = "\x50\x00\x00\x00\x00\x00\x00\x00"s +
                               R"({"__metadata__":{"k":"v"},"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]}})" +
                               "  " + "\x00\x00\x00\x00\x00\x00\xf8\x3f"s;
  const nn::NamedTensors t{{"s", Tensor::scalar(1.5, DType::float64)}};
  CHECK(as_string(nn::safetensors_to_bytes(t, {{"k", "v"}})) == expected);
}

TEST_CASE("safetensors round trip keeps names order dtypes shapes values and metadata") {
  TempDir dir;
  const Tensor m = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, Shape{2, 3});
  const nn::NamedTensors tensors{
      {"weight", Tensor::from_vector(std::vector<float>{-0.5f, 0.25f, 3.0f}, Shape{3, 1})},
      {"matrix.T", m.transpose(0, 1)},  // a non-contiguous view: stored row-major
      {"scalar", Tensor::scalar(7.0, DType::float32)},
      {"empty", Tensor::zeros(Shape{0, 4}, DType::float64)},
      {"unicode é 😀", Tensor::ones(Shape{1}, DType::float64)},
  };
  const nn::Metadata meta{{"epoch", "12"}, {"note", "line\n\"quoted\" \\ é\x01"}};
  const fs::path p = dir.path / "rt.safetensors";
  nn::save_safetensors(p, tensors, meta);
  const nn::Checkpoint c = nn::load_safetensors(p);
  REQUIRE(c.tensors.size() == 5);
  for (std::size_t i = 0; i < 5; ++i) CHECK(c.tensors[i].first == tensors[i].first);
  CHECK(c.metadata == meta);
  CHECK(c.at("weight").shape() == Shape{3, 1});
  CHECK(c.at("weight").to_vector<float>() == std::vector<float>{-0.5f, 0.25f, 3.0f});
  CHECK(c.at("matrix.T").shape() == Shape{3, 2});
  CHECK(c.at("matrix.T").to_vector<double>() == std::vector<double>{1, 4, 2, 5, 3, 6});  // transpose of [[1,2,3],[4,5,6]]
  CHECK(c.at("scalar").rank() == 0);
  CHECK(c.at("scalar").item<float>() == 7.0f);
  CHECK(c.at("empty").shape() == Shape{0, 4});
  CHECK(c.at("empty").dtype() == DType::float64);
  CHECK(c.at("unicode é 😀").item<double>() == 1.0);
  // The same bytes in memory as on disk.
  CHECK(as_string(nn::safetensors_to_bytes(tensors, meta)) == read_file(p));
  // The header length is a multiple of 8.
  const std::string bytes = read_file(p);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[std::size_t(i)]);
  CHECK(n % 8 == 0);
}

TEST_CASE("safetensors save rejects what the format cannot hold") {
  TempDir dir;
  const Tensor x = Tensor::ones(Shape{2});
  CHECK_THROWS_AS(nn::save_safetensors(dir.path / "d", {{"x", x}, {"x", x}}), ValueError);
  CHECK_THROWS_AS(nn::save_safetensors(dir.path / "m", {{"__metadata__", x}}), ValueError);
  CHECK_THROWS_AS(nn::save_safetensors(dir.path / "c", {{"z", Tensor::zeros(Shape{2}, DType::complex64)}}), DTypeError);
  CHECK_THROWS_AS(nn::save_safetensors(dir.path / "u", {{"bad\xff", x}}), ValueError);
  CHECK(dir.count() == 0);  // nothing left behind
}

TEST_CASE("safetensors corrupt files are rejected naming the problem") {
  const std::string a = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string eight(8, '\x01');
  CHECK(load_error(st_file(a, eight)) == "(no error)");  // the base case is valid
  // Header length: larger than the file; above the 100 MB limit; no room for the length itself.
  CHECK(load_error(le64(1000) + a + eight).find("header length 1000 exceeds the") != std::string::npos);
  CHECK(load_error(le64(200'000'000) + a + eight).find("exceeds the limit") != std::string::npos);
  CHECK(load_error("\x05\x00\x00"s).find("too short") != std::string::npos);
  // Offsets past the end (a truncated file): 8 bytes declared, 5 present.
  CHECK(load_error(st_file(a, eight.substr(0, 5))).find("reach past the data section of 5 bytes") != std::string::npos);
  // Overlap: b = [4, 12) starts inside a = [0, 8).
  CHECK(load_error(st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                           std::string(12, '\0')))
            .find("tensor 'b': data_offsets [4, 12] overlap tensor 'a'") != std::string::npos);
  // A gap of 4 bytes between a and b.
  CHECK(load_error(st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})",
                           std::string(20, '\0')))
            .find("4 unused bytes") != std::string::npos);
  // Data section longer than the tensors: 8 of 12 bytes covered.
  CHECK(load_error(st_file(a, std::string(12, '\0'))).find("cover 8 bytes of the 12-byte") != std::string::npos);
  // Shape × dtype size ≠ end − begin: [3] F32 needs 12 bytes, the offsets span 8.
  CHECK(load_error(st_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight))
            .find("needs 12 bytes but data_offsets [0, 8] span 8") != std::string::npos);
  CHECK(load_error(st_file(R"({"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", eight)).find("unknown dtype \"F33\"") !=
        std::string::npos);
  CHECK(load_error(st_file(R"({"a":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}})", eight))
            .find("dtype F16, which nodal does not support") != std::string::npos);
  CHECK(load_error(st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", eight)).find("end before") !=
        std::string::npos);
  CHECK(load_error(st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}})", eight))
            .find("unknown field \"extra\"") != std::string::npos);
  CHECK(load_error(st_file(R"({"a":{"dtype":"F32","shape":[2]}})", eight)).find("data_offsets") != std::string::npos);
  CHECK(load_error(st_file(R"({"__metadata__":{"k":1},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", eight))
            .find("not a string") != std::string::npos);
  CHECK(load_error(st_file(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})", eight))
            .find("overflows") != std::string::npos);
  // Garbage JSON and JSON outside the accepted subset.
  CHECK(load_error(st_file("not json", "")).find("invalid JSON header at byte 0") != std::string::npos);
  CHECK(load_error(st_file(R"({"a":)", "")).find("invalid JSON") != std::string::npos);
  CHECK(load_error(st_file(R"([1,2])", "")).find("not an object") != std::string::npos);
  CHECK(load_error(st_file(R"({"a":{"dtype":"F32","shape":[2,],"data_offsets":[0,8]}})", eight)).find("invalid JSON") !=
        std::string::npos);
  CHECK(load_error(st_file(a.substr(0, a.size() - 1) + R"(,"a":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}})", eight))
            .find("duplicate key \"a\"") != std::string::npos);
  CHECK(load_error(st_file("{\"\xff\":{}}", "")).find("invalid UTF-8") != std::string::npos);
  CHECK(load_error(st_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight)).find("negative") !=
        std::string::npos);
  CHECK(load_error(st_file(R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", eight)).find("fractions") !=
        std::string::npos);
  CHECK(load_error(st_file(a + "x", eight)).find("unexpected content after") != std::string::npos);
  // The file name is part of every message (load from disk).
  TempDir dir;
  const fs::path p = dir.write("broken.safetensors", st_file(a, eight.substr(0, 3)));
  CHECK(error_of([&] { nn::load_safetensors(p); }).find(p.string()) != std::string::npos);
  CHECK(error_of([&] { nn::load_safetensors(dir.path / "none"); }).find("cannot open") != std::string::npos);
}

TEST_CASE("safetensors json parser decodes escapes and rejects invalid text") {
  const auto v = nn::json::parse(R"({"s":"\u00e9\ud83d\ude00\n\"\/","n":[0,18446744073709551615]})", "t");
  CHECK(v.find("s")->string == "\xc3\xa9\xf0\x9f\x98\x80\n\"/");  // é = C3 A9, 😀 = F0 9F 98 80
  CHECK(v.find("n")->array[1].integer == 18446744073709551615ull);
  const auto rejects = [](const std::string& text) {
    return error_of([&] { nn::json::parse(text, "t"); }) != "(no error)";
  };
  CHECK(rejects(R"(["\ud83d"])"));             // lone high surrogate
  CHECK(rejects(R"(["\ude00"])"));             // lone low surrogate
  CHECK(rejects("[\"\xc0\xaf\"]"));            // overlong encoding of '/'
  CHECK(rejects("[\"\xed\xa0\x80\"]"));        // a surrogate encoded in UTF-8
  CHECK(rejects("[\"a\tb\"]"));                // unescaped control character
  CHECK(rejects("[01]"));                      // leading zero
  CHECK(rejects("[18446744073709551616]"));    // 2^64
  CHECK(rejects("[true]"));
  CHECK(rejects("{\"a\" 1}"));
  CHECK(rejects(std::string(20, '[') + std::string(20, ']')));  // deeper than 16
  CHECK_FALSE(rejects(std::string(10, '[') + std::string(10, ']') + "   "));
  CHECK(nn::json::quote("a\"b\\c\n\x01") == R"("a\"b\\c\n\u0001")");
}

TEST_CASE("safetensors load_into copies all or nothing and names mismatches") {
  TempDir dir;
  const fs::path p = dir.path / "model.safetensors";
  nn::save_safetensors(p, {{"w", Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, Shape{2, 2})},
                           {"b", Tensor::from_vector(std::vector<double>{5}, Shape{1})}});
  Tensor w = Tensor::zeros(Shape{2, 2}), b = Tensor::zeros(Shape{1}, DType::float64);
  nn::load_into(p, {{"w", w}, {"b", b}});
  CHECK(w.to_vector<float>() == std::vector<float>{1, 2, 3, 4});
  CHECK(b.item<double>() == 5.0);

  Tensor w2 = Tensor::zeros(Shape{2, 2});
  CHECK(error_of([&] { nn::load_into(p, {{"w", w2}}); }).find("unexpected tensors: [b]") != std::string::npos);
  nn::load_into(p, {{"w", w2}}, /*allow_unexpected=*/true);
  CHECK(w2.to_vector<float>() == std::vector<float>{1, 2, 3, 4});
  Tensor c = Tensor::zeros(Shape{3});
  CHECK(error_of([&] { nn::load_into(p, {{"w", w2}, {"b", b}, {"c", c}}); }).find("missing tensors: [c]") !=
        std::string::npos);

  Tensor wrong_shape = Tensor::zeros(Shape{4});
  Tensor untouched = Tensor::zeros(Shape{1}, DType::float64);
  CHECK(error_of<ShapeError>([&] { nn::load_into(p, {{"b", untouched}, {"w", wrong_shape}}); })
            .find("tensor 'w' has shape [2, 2] in the file, the target has [4]") != std::string::npos);
  CHECK(untouched.item<double>() == 0.0);  // nothing copied before the failure was found
  Tensor wrong_dtype = Tensor::zeros(Shape{2, 2}, DType::float64);
  CHECK(error_of<DTypeError>([&] { nn::load_into(p, {{"b", b}, {"w", wrong_dtype}}); }).find("tensor 'w' is float32") !=
        std::string::npos);
}

TEST_CASE("safetensors atomic save keeps the old file when a write fails") {
  TempDir dir;
  const fs::path p = dir.path / "ckpt.safetensors";
  nn::save_safetensors(p, {{"a", Tensor::from_vector(std::vector<float>{1, 2}, Shape{2})}});
  const std::string old_bytes = read_file(p);
  REQUIRE(old_bytes == python_a12);

  // The new checkpoint is bigger; the hook fails once 64 bytes are written (inside the data).
  const nn::NamedTensors bigger{{"a", Tensor::ones(Shape{100})}, {"b", Tensor::ones(Shape{100})}};
  nn::SaveOptions fail;
  std::size_t calls = 0;
  fail.after_write = [&](std::size_t written) {
    ++calls;
    if (written >= 64) throw IoError("injected failure: disk full");
  };
  CHECK_THROWS_WITH_AS(nn::save_safetensors(p, bigger, {}, fail), "injected failure: disk full", IoError);
  CHECK(calls >= 2);
  CHECK(read_file(p) == old_bytes);
  CHECK(dir.count() == 1);  // the temporary file is gone

  nn::save_safetensors(p, bigger);  // without the failure the new file replaces the old
  CHECK(nn::load_safetensors(p).at("b").numel() == 100);
  CHECK(dir.count() == 1);
}

TEST_CASE("safetensors every truncation and random byte corruption is an error or a valid load") {
  // A file with metadata, two dtypes and an empty tensor; each truncation must be rejected, and
  // random byte changes must either load (a change inside tensor data) or throw nodal::Error:
  // never crash, hang or allocate wildly (the sanitizer build checks the memory side).
  const nn::NamedTensors tensors{{"w", Tensor::ones(Shape{2, 3})},
                                 {"b", Tensor::zeros(Shape{3}, DType::float64)},
                                 {"e", Tensor::zeros(Shape{0})}};
  const std::string good = as_string(nn::safetensors_to_bytes(tensors, {{"k", "v"}}));
  const auto load = [](const std::string& bytes) {
    return nn::safetensors_from_bytes({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()}, "fuzz");
  };
  for (std::size_t n = 0; n < good.size(); ++n) CHECK_THROWS_AS(load(good.substr(0, n)), IoError);
  std::mt19937_64 rng(5);
  int loaded = 0, rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bad = good;
    const int changes = 1 + int(rng() % 3);
    for (int k = 0; k < changes; ++k) bad[rng() % bad.size()] = char(rng() % 256);
    try {
      load(bad);
      ++loaded;
    } catch (const Error&) {
      ++rejected;
    }
  }
  CHECK(loaded + rejected == 3000);
  CHECK(rejected > 1000);  // most bytes are header bytes, which are checked
}
