// .npy load/save. The cross-check with NumPy is a file written byte by byte from the format
// specification (the header NumPy's np.save writes for a float64 (2, 3) array, and IEEE 754
// little-endian data), which must load to the right values and equal what save_npy writes.
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <doctest/doctest.h>
#include <unistd.h>

#include "nodal/core/backend.hpp"
#include "nodal/core/error.hpp"
#include "nodal/core/npy.hpp"
#include "nodal/core/tensor.hpp"

using namespace nodal;
namespace fs = std::filesystem;
using namespace std::string_literals;

namespace {

// A unique folder under the system temporary directory, removed with everything in it.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           fmt::format("nodal_test_npy_{}_{}_{}", ::getpid(), counter++, std::random_device{}());
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path file(const std::string& name) const { return path / name; }
};

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}
std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
std::string hex(const std::string& h) {  // "3ff0" -> "\x3f\xf0"
  std::string out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) out += char(std::stoi(h.substr(i, 2), nullptr, 16));
  return out;
}
// A version 1.0 preamble + header exactly as NumPy lays it out: dict, spaces, '\n', the total
// a multiple of 64.
std::string v1_header(const std::string& dict) {
  std::string h = dict;
  while ((10 + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  return "\x93NUMPY\x01\x00"s + char(h.size() & 0xFF) + char(h.size() >> 8) + h;
}
// [[1, -2.5, 3.25], [4, 0.5, -6]] as little-endian float64, bytes written out by hand.
const std::string data_2x3_f8 = hex("000000000000f03f" "00000000000004c0" "0000000000000a40"
                                    "0000000000001040" "000000000000e03f" "00000000000018c0");
const std::vector<double> values_2x3{1, -2.5, 3.25, 4, 0.5, -6};

template <class T> bool same_bits(const Tensor& a, const Tensor& b) {
  const auto va = a.to_vector<T>(), vb = b.to_vector<T>();
  return a.shape() == b.shape() && a.dtype() == b.dtype() && va.size() == vb.size() &&
         (va.empty() || std::memcmp(va.data(), vb.data(), va.size() * sizeof(T)) == 0);
}

void check_load_fails(const TempDir& dir, const std::string& bytes, const std::string& expected_words) {
  const fs::path p = dir.file("corrupt.npy");
  write_bytes(p, bytes);
  CAPTURE(expected_words);
  CHECK_THROWS_WITH_AS(load_npy(p), doctest::Contains(doctest::String(expected_words.c_str())), IoError);
  CHECK_THROWS_WITH_AS(load_npy(p), doctest::Contains("corrupt.npy"), IoError);
  CHECK_THROWS_AS(npy_from_bytes(std::as_bytes(std::span(bytes.data(), bytes.size()))), IoError);
}

}  // namespace

TEST_CASE("npy: a hand-written NumPy file loads, and save_npy writes the same bytes") {
  TempDir dir;
  const std::string numpy_file = v1_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }") + data_2x3_f8;
  REQUIRE(numpy_file.size() == 128 + 48);  // NumPy's header for this array is 128 bytes
  write_bytes(dir.file("a.npy"), numpy_file);
  const Tensor t = load_npy(dir.file("a.npy"));
  CHECK(t.shape() == Shape{2, 3});
  CHECK(t.dtype() == DType::float64);
  CHECK(t.to_vector<double>() == values_2x3);

  save_npy(dir.file("b.npy"), Tensor::from_vector(values_2x3, Shape{2, 3}));
  CHECK(read_bytes(dir.file("b.npy")) == numpy_file);
}

TEST_CASE("npy: round trip of every dtype and ranks 0..4") {
  TempDir dir;
  const Shape shapes[] = {Shape{}, Shape{5}, Shape{2, 3}, Shape{2, 1, 4}, Shape{2, 3, 1, 2}, Shape{0, 3}};
  std::uint64_t seed = 1;
  for (DType d : {DType::float32, DType::float64, DType::complex64, DType::complex128}) {
    for (const Shape& s : shapes) {
      const std::string name(dtype_name(d));
      CAPTURE(name);
      const std::string shape = to_string(s);
      CAPTURE(shape);
      const Tensor t = Tensor::randn(s, seed++, d);
      const fs::path p = dir.file(fmt::format("r{}.npy", seed));
      save_npy(p, t);
      const Tensor back = load_npy(p);
      const Tensor mem = npy_from_bytes(npy_to_bytes(t));
      visit_dtype(d, [&](auto tag) {
        using T = typename decltype(tag)::type;
        CHECK(same_bits<T>(back, t));
        CHECK(same_bits<T>(mem, t));
      });
    }
  }
  // Nothing but the saved files: the temporary files were renamed, not left behind.
  for (const auto& entry : fs::directory_iterator(dir.path)) CHECK(entry.path().filename().string()[0] == 'r');
}

TEST_CASE("npy: a non-contiguous view is saved in row-major order, saving replaces a file") {
  TempDir dir;
  const Tensor base = Tensor::arange(12, DType::float64).reshape(Shape{3, 4});
  const Tensor view = base.transpose(0, 1).slice(0, 0, 4, 2);  // [[0,4,8],[2,6,10]]
  const fs::path p = dir.file("view.npy");
  save_npy(p, Tensor::ones(Shape{7}));
  save_npy(p, view);
  const Tensor back = load_npy(p);
  CHECK(back.shape() == Shape{2, 3});
  CHECK(back.to_vector<double>() == std::vector<double>{0, 4, 8, 2, 6, 10});
  CHECK_THROWS_AS(save_npy(dir.file("u.npy"), Tensor()), ValueError);
  CHECK_THROWS_AS(save_npy(dir.path / "missing_folder" / "x.npy", view), IoError);
}

TEST_CASE("npy: fortran order, byte orders, versions 2.0 and 3.0") {
  TempDir dir;
  SUBCASE("fortran_order True is transposed into C order") {
    // Column-major storage of [[1, -2.5, 3.25], [4, 0.5, -6]]: 1, 4, -2.5, 0.5, 3.25, -6.
    const std::string data = hex("000000000000f03f" "0000000000001040" "00000000000004c0"
                                 "000000000000e03f" "0000000000000a40" "00000000000018c0");
    write_bytes(dir.file("f.npy"), v1_header("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }") + data);
    const Tensor t = load_npy(dir.file("f.npy"));
    CHECK(t.shape() == Shape{2, 3});
    CHECK(t.is_contiguous());
    CHECK(t.to_vector<double>() == values_2x3);
  }
  SUBCASE("big-endian float32 and complex64 are byte-swapped") {
    write_bytes(dir.file("be.npy"),
                v1_header("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }") + hex("3fc00000c0000000"));
    CHECK(load_npy(dir.file("be.npy")).to_vector<float>() == std::vector<float>{1.5f, -2.0f});
    write_bytes(dir.file("bc.npy"),
                v1_header("{'descr': '>c8', 'fortran_order': False, 'shape': (1,), }") + hex("3fc00000c0000000"));
    CHECK(load_npy(dir.file("bc.npy")).item<complex64>() == complex64(1.5f, -2.0f));
  }
  SUBCASE("'|' and '=' byte-order marks, double quotes, a Python 2 long") {
    write_bytes(dir.file("n.npy"),
                v1_header("{\"descr\": \"=f8\", \"fortran_order\": False, \"shape\": (2L, 3L)}") + data_2x3_f8);
    CHECK(load_npy(dir.file("n.npy")).to_vector<double>() == values_2x3);
    write_bytes(dir.file("p.npy"), v1_header("{'shape': (6,), 'fortran_order': False, 'descr': '|f8'}") + data_2x3_f8);
    CHECK(load_npy(dir.file("p.npy")).to_vector<double>() == values_2x3);
  }
  SUBCASE("versions 2.0 and 3.0 have a 4-byte header length") {
    for (char major : {'\x02', '\x03'}) {
      std::string h = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
      while ((12 + h.size() + 1) % 64 != 0) h += ' ';
      h += '\n';
      const std::string file = "\x93NUMPY"s + major + '\x00' + char(h.size()) + "\x00\x00\x00"s + h + data_2x3_f8;
      write_bytes(dir.file("v.npy"), file);
      CHECK(load_npy(dir.file("v.npy")).to_vector<double>() == values_2x3);
    }
  }
}

TEST_CASE("npy: corrupt and unsupported files are IoErrors that say what is wrong") {
  TempDir dir;
  const std::string good_dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
  CHECK_THROWS_WITH_AS(load_npy(dir.file("absent.npy")), doctest::Contains("absent.npy"), IoError);
  check_load_fails(dir, "", "magic");
  check_load_fails(dir, "\x93NUM", "magic");
  check_load_fails(dir, "PK\x03\x04 this is a zip file, not a .npy file", "magic");
  check_load_fails(dir, "\x93NUMPY\x01", "truncated");
  check_load_fails(dir, "\x93NUMPY\x04\x00"s + v1_header(good_dict).substr(8) + data_2x3_f8, "version 4.0");
  check_load_fails(dir, "\x93NUMPY\x01\x00\xff\xff{'descr': '<f8'"s, "header length 65535 goes beyond");
  check_load_fails(dir, v1_header("{'descr': '<f8' 'fortran_order': False, 'shape': (2, 3), }") + data_2x3_f8,
                   "malformed header");
  check_load_fails(dir, v1_header("{'descr': '<f8', 'shape': (2, 3), }") + data_2x3_f8, "must have the keys");
  check_load_fails(dir, v1_header("{'descr': '<f8', 'fortran_order': Maybe, 'shape': (2, 3), }") + data_2x3_f8,
                   "True or False");
  check_load_fails(dir, v1_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), 'x': 1}") + data_2x3_f8,
                   "unexpected key 'x'");
  check_load_fails(dir, v1_header("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }") + data_2x3_f8,
                   "unsupported dtype '<i8'");
  check_load_fails(dir, v1_header("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }") + data_2x3_f8,
                   "structured dtype");
  check_load_fails(dir, v1_header("{'descr': '<f8', 'fortran_order': False, 'shape': (-2, 3), }") + data_2x3_f8,
                   "negative extent -2");
  check_load_fails(dir, v1_header("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"),
                   "overflows");
  check_load_fails(dir, v1_header("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }"),
                   "64 bits");
  check_load_fails(dir, v1_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }"),
                   "rank 9");
  check_load_fails(dir, v1_header(good_dict) + data_2x3_f8.substr(0, 40), "needs 48 data bytes, the file holds 40");
}

TEST_CASE("npy: a huge declared shape is rejected from the file size, without allocating") {
  TempDir dir;
  std::string file = v1_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }");
  file += std::string(200 - file.size(), '\0');
  REQUIRE(file.size() == 200);
  write_bytes(dir.file("huge.npy"), file);
  const std::size_t allocations = cpu_pool_stats().system_allocations;
  CHECK_THROWS_WITH_AS(load_npy(dir.file("huge.npy")), doctest::Contains("needs 8000000000000 data bytes"), IoError);
  CHECK(cpu_pool_stats().system_allocations == allocations);
}

TEST_CASE("npy: every truncation and single-byte corruption of a valid file is an IoError or loads") {
  const std::string good =
      v1_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }") + data_2x3_f8;
  auto load = [](const std::string& bytes) { return npy_from_bytes(std::as_bytes(std::span(bytes.data(), bytes.size()))); };
  for (std::size_t n = 0; n < good.size(); ++n) {
    CAPTURE(n);
    CHECK_THROWS_AS(load(good.substr(0, n)), IoError);
  }
  // Each byte of the preamble and header replaced by a few values: the parser must either
  // reject the file with an IoError or return a tensor whose size fits in the file.
  int loaded = 0, rejected = 0;
  for (std::size_t at = 0; at < 128; ++at) {
    for (char c : {'\0', '\xff', '9', '(', ')', ',', '\'', '-', '}', ' '}) {
      std::string bad = good;
      bad[at] = c;
      CAPTURE(at);
      try {
        const Tensor t = load(bad);
        CHECK(t.nbytes() <= bad.size() - 128);
        ++loaded;
      } catch (const IoError&) {
        ++rejected;
      }
    }
  }
  CHECK(loaded > 0);    // harmless changes (padding spaces) still load
  CHECK(rejected > 0);
}
