// idx files (MNIST format), the MNIST-style data sets and the batch Loader.
// Files are byte strings built here from the format description; the gzip ones are hand-made
// too (a stored, i.e. uncompressed, deflate block framed by the gzip header and a CRC-32
// computed by the bitwise definition below), so nothing here depends on zlib's writer.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <unistd.h>

#include "nodal/core/backend.hpp"
#include "nodal/core/error.hpp"
#include "nodal/nn/dataset.hpp"
#include "nodal/nn/idx.hpp"
#include "nodal/nn/loader.hpp"

using namespace nodal;
namespace fs = std::filesystem;
using namespace std::string_literals;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() / fmt::format("nodal_test_idx_{}_{}_{}", ::getpid(), counter++, std::random_device{}());
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
};

std::string be32(std::uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }
std::string le32(std::uint32_t v) { return {char(v), char(v >> 8), char(v >> 16), char(v >> 24)}; }

// An idx file: magic 00 00 08 rank, big-endian dims, then the bytes.
std::string idx(std::vector<std::uint32_t> dims, const std::string& data) {
  std::string s = "\x00\x00\x08"s + char(dims.size());
  for (auto d : dims) s += be32(d);
  return s + data;
}

// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), bit by bit as the definition reads.
std::uint32_t crc32_bitwise(const std::string& s) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// gzip (RFC 1952) around one stored deflate block (RFC 1951 §3.2.4): header 1f 8b 08 00
// mtime(4) xfl os, block byte 0x01 (final, stored), LEN, ~LEN little-endian, the bytes, then
// CRC-32 and the size, little-endian.
std::string gzip_stored(const std::string& data) {
  REQUIRE(data.size() < 65536);
  const auto len = std::uint16_t(data.size());
  std::string s = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"s;
  s += '\x01';
  s += {char(len & 0xFF), char(len >> 8), char(~len & 0xFF), char((~len >> 8) & 0xFF)};
  return s + data + le32(crc32_bitwise(data)) + le32(std::uint32_t(data.size()));
}

template <class F> std::string error_of(F&& f) {
  try {
    f();
  } catch (const IoError& e) {
    return e.what();
  }
  return "(no IoError)";
}

}  // namespace

TEST_CASE("crc32 helper matches the published check value") {
  // The CRC-32 of "123456789" is 0xCBF43926 (the check value in every CRC catalogue).
  CHECK(crc32_bitwise("123456789") == 0xCBF43926u);
}

TEST_CASE("idx raw labels and images are read with their dimensions") {
  TempDir dir;
  const auto labels = nn::read_idx(dir.write("l", idx({3}, "\x07\x00\x09"s)), 1);
  CHECK(labels.dims == std::vector<std::int64_t>{3});
  CHECK(labels.data == std::vector<std::uint8_t>{7, 0, 9});

  // 2 images of 2 rows × 3 columns: bytes 0..11 row-major.
  std::string pixels;
  for (int i = 0; i < 12; ++i) pixels += char(i * 20);
  const auto images = nn::read_idx(dir.write("i", idx({2, 2, 3}, pixels)), 3);
  CHECK(images.dims == std::vector<std::int64_t>{2, 2, 3});
  REQUIRE(images.data.size() == 12);
  CHECK(images.data[11] == 220);  // 11·20
}

TEST_CASE("idx parse_idx validates bytes in memory") {
  const std::string good = idx({2}, "\x05\x06"s);
  const auto a = nn::parse_idx({reinterpret_cast<const std::uint8_t*>(good.data()), good.size()}, "mem", 1);
  CHECK(a.data == std::vector<std::uint8_t>{5, 6});
  const std::string longer = good + "\x01"s;
  CHECK_THROWS_AS(nn::parse_idx({reinterpret_cast<const std::uint8_t*>(longer.data()), longer.size()}, "mem"), IoError);
}

TEST_CASE("idx gzip file gives the same array as the raw file") {
  TempDir dir;
  const std::string raw = idx({2, 1, 2}, "\x01\x02\x03\xff"s);
  const auto a = nn::read_idx(dir.write("x.gz", gzip_stored(raw)), 3);
  CHECK(a.dims == std::vector<std::int64_t>{2, 1, 2});
  CHECK(a.data == std::vector<std::uint8_t>{1, 2, 3, 255});
}

TEST_CASE("idx corrupt raw files are rejected naming the field") {
  TempDir dir;
  auto err = [&](const std::string& bytes, int rank = -1) {
    return error_of([&] { nn::read_idx(dir.write("bad", bytes), rank); });
  };
  CHECK(err("\x01\x00\x08\x01"s + be32(1) + "x") .find("bad magic number 0x01000801") != std::string::npos);
  CHECK(err("\x00\x00\x0D\x01"s + be32(1) + "xxxx").find("type code 0x0D (float32)") != std::string::npos);
  CHECK(err("\x00\x00\x08\x00"s).find("rank 0") != std::string::npos);
  CHECK(err(idx({1}, "x"), 3).find("expected rank 3 (magic 0x00000803)") != std::string::npos);
  CHECK(err("\x00\x00\x08\x03"s + be32(1)).find("truncated header") != std::string::npos);
  CHECK(err("\x00\x00"s).find("too short") != std::string::npos);
  // Count larger than the data: 5 labels declared, 3 present.
  CHECK(err(idx({5}, "abc")).find("declare 5 bytes, the file holds 3") != std::string::npos);
  // Trailing garbage: 2 declared, 4 present.
  CHECK(err(idx({2}, "abcd")).find("2 trailing bytes") != std::string::npos);
  CHECK(err(idx({3, 0, 28}, "")).find("dimension 1 is 0") != std::string::npos);
  // Huge dimensions: 2^32−1 cubed would be 8·10^28 bytes: rejected before any allocation.
  const std::string huge = err(idx({0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, "abc"));
  CHECK(huge.find("overflow") != std::string::npos);
  CHECK(err(idx({0xFFFFFFFFu, 28, 28}, "abc")).find("truncated data") != std::string::npos);
  CHECK(error_of([&] { nn::read_idx(dir.path / "missing"); }).find("cannot open") != std::string::npos);
  // The message names the file.
  CHECK(err(idx({5}, "abc")).find((dir.path / "bad").string()) != std::string::npos);
}

TEST_CASE("idx corrupt gzip files are rejected") {
  TempDir dir;
  const std::string raw = idx({4}, "\x01\x02\x03\x04"s);
  std::string bad_crc = gzip_stored(raw);
  bad_crc[bad_crc.size() - 8] ^= 0x55;  // first CRC byte
  CHECK(error_of([&] { nn::read_idx(dir.write("crc.gz", bad_crc)); }).find("corrupt gzip stream") != std::string::npos);

  const std::string full = gzip_stored(raw);
  // Cut inside the data, and cut inside the 8-byte trailer (all data present, CRC incomplete).
  for (std::size_t cut : {std::size_t(10), std::size_t(3)})
    CHECK(error_of([&] { nn::read_idx(dir.write("cut.gz", full.substr(0, full.size() - cut))); })
              .find("corrupt gzip stream") != std::string::npos);

  // A correct gzip stream of a lying idx file: 9 labels declared, 4 present.
  CHECK(error_of([&] { nn::read_idx(dir.write("lie.gz", gzip_stored(idx({9}, "abcd")))); })
            .find("declare 9 bytes, the file holds 4") != std::string::npos);
  // Declared size far beyond what the compressed file can expand to.
  CHECK(error_of([&] { nn::read_idx(dir.write("huge.gz", gzip_stored(idx({60000, 2800, 2800}, "abcd")))); })
            .find("more than the") != std::string::npos);
  // Trailing bytes inside the decompressed content.
  CHECK(error_of([&] { nn::read_idx(dir.write("trail.gz", gzip_stored(idx({2}, "abc")))); })
            .find("trailing byte") != std::string::npos);
}

TEST_CASE("idx classification split scales normalizes and checks labels") {
  TempDir dir;
  // 2 images of 1×2 pixels: bytes 51, 255 and 0, 102; labels 1, 0.
  const auto images = dir.write("img", idx({2, 1, 2}, "\x33\xff\x00\x66"s));
  const auto labels = dir.write("lab", idx({2}, "\x01\x00"s));
  const nn::Dataset d = nn::load_idx_classification(images, labels, 2, {0.1, 0.5});
  CHECK(d.images.shape() == Shape{2, 1, 1, 2});
  CHECK(d.size() == 2);
  const auto x = d.images.to_vector<float>();
  // (51/255 − 0.1)/0.5 = (0.2 − 0.1)/0.5 = 0.2; (1 − 0.1)/0.5 = 1.8; (0 − 0.1)/0.5 = −0.2;
  // (102/255 − 0.1)/0.5 = (0.4 − 0.1)/0.5 = 0.6
  CHECK(x[0] == doctest::Approx(0.2).epsilon(1e-6));
  CHECK(x[1] == doctest::Approx(1.8).epsilon(1e-6));
  CHECK(x[2] == doctest::Approx(-0.2).epsilon(1e-6));
  CHECK(x[3] == doctest::Approx(0.6).epsilon(1e-6));
  CHECK(d.labels.to_vector<float>() == std::vector<float>{1.0f, 0.0f});
  CHECK(d.label_bytes == std::vector<std::uint8_t>{1, 0});

  const auto bad_label = dir.write("lab2", idx({2}, "\x01\x02"s));
  CHECK(error_of([&] { nn::load_idx_classification(images, bad_label, 2, {}); }).find("label 2 at index 1") !=
        std::string::npos);
  const auto three = dir.write("lab3", idx({3}, "\x01\x00\x01"s));
  CHECK(error_of([&] { nn::load_idx_classification(images, three, 2, {}); }).find("holds 2 images") != std::string::npos);
  CHECK(error_of([&] { nn::load_fashion_mnist(dir.path); }).find("train-images-idx3-ubyte") != std::string::npos);
}

TEST_CASE("idx real Fashion-MNIST files when installed") {
  if (!fs::exists(fs::path(nn::default_fashion_mnist_dir) / "train-labels-idx1-ubyte.gz")) {
    MESSAGE("Fashion-MNIST not installed (Debian package dataset-fashion-mnist): skipped");
    return;
  }
  const nn::TrainTest data = nn::load_fashion_mnist(nn::default_fashion_mnist_dir, {0.0, 1.0});
  CHECK(data.train.images.shape() == Shape{60000, 1, 28, 28});
  CHECK(data.test.images.shape() == Shape{10000, 1, 28, 28});
  // First labels of each split, read independently with Python's gzip module.
  const std::vector<std::uint8_t> train_first{9, 0, 0, 3, 0, 2, 7, 2, 5, 5, 0, 9, 5, 5, 7, 9, 1, 0, 6, 4};
  const std::vector<std::uint8_t> test_first{9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5, 7, 3, 4, 1, 2, 4, 8, 0};
  CHECK(std::equal(train_first.begin(), train_first.end(), data.train.label_bytes.begin()));
  CHECK(std::equal(test_first.begin(), test_first.end(), data.test.label_bytes.begin()));
  std::vector<int> train_hist(10), test_hist(10);
  for (auto c : data.train.label_bytes) ++train_hist[c];
  for (auto c : data.test.label_bytes) ++test_hist[c];
  CHECK(train_hist == std::vector<int>(10, 6000));
  CHECK(test_hist == std::vector<int>(10, 1000));
  // Image 0, pixel (14, 14) is byte 217; the byte sum of image 0 is 76247; the mean of all
  // training pixels /255 is 0.28604 (Python: sum(bytes)/len/255), hence the usual 0.2860.
  const float* x = data.train.images.data<float>();
  CHECK(x[14 * 28 + 14] == doctest::Approx(217.0 / 255.0).epsilon(1e-6));
  double sum0 = 0, all = 0;
  for (int i = 0; i < 784; ++i) sum0 += x[i];
  for (std::int64_t i = 0; i < data.train.images.numel(); ++i) all += x[i];
  CHECK(sum0 * 255.0 == doctest::Approx(76247).epsilon(1e-6));
  CHECK(all / double(data.train.images.numel()) == doctest::Approx(0.2860406).epsilon(1e-6));
  CHECK(data.train.labels.to_vector<float>()[0] == 9.0f);
}

namespace {

// 10 samples: image i is [1, 1, 2] = {i, 100 + i}, label i (as float).
nn::Dataset counting_dataset(std::int64_t n = 10) {
  nn::Dataset d;
  std::vector<float> x, y;
  for (std::int64_t i = 0; i < n; ++i) {
    x.insert(x.end(), {float(i), float(100 + i)});
    y.push_back(float(i));
  }
  d.images = Tensor::from_vector(x, Shape{n, 1, 1, 2});
  d.labels = Tensor::from_vector(y, Shape{n});
  d.classes = n;
  return d;
}

// All labels of one epoch, batch after batch; checks each image row belongs to its label.
std::vector<std::int64_t> run_epoch(nn::Loader& loader, std::uint64_t epoch, std::vector<std::int64_t>* sizes = nullptr) {
  loader.start_epoch(epoch);
  std::vector<std::int64_t> labels;
  std::int64_t expected_index = 0;
  while (auto b = loader.next()) {
    CHECK(b->index == expected_index++);
    const auto x = b->images.to_vector<float>();
    const auto y = b->labels.to_vector<float>();
    for (std::size_t k = 0; k < y.size(); ++k) {
      CHECK(x[2 * k] == y[k]);
      CHECK(x[2 * k + 1] == 100 + y[k]);
      labels.push_back(std::int64_t(y[k]));
    }
    if (sizes) sizes->push_back(b->labels.dim(0));
  }
  return labels;
}

}  // namespace

TEST_CASE("loader batches cover a permutation and drop_last drops the short batch") {
  nn::Loader keep(counting_dataset(), {.batch_size = 4, .seed = 3});
  std::vector<std::int64_t> sizes;
  auto order = run_epoch(keep, 0, &sizes);
  CHECK(keep.batches_per_epoch() == 3);
  CHECK(sizes == std::vector<std::int64_t>{4, 4, 2});  // 10 = 4 + 4 + 2
  CHECK(order == keep.epoch_order(0));
  std::sort(order.begin(), order.end());
  CHECK(order == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});

  nn::Loader drop(counting_dataset(), {.batch_size = 4, .drop_last = true, .seed = 3});
  sizes.clear();
  run_epoch(drop, 0, &sizes);
  CHECK(drop.batches_per_epoch() == 2);
  CHECK(sizes == std::vector<std::int64_t>{4, 4});

  nn::Loader ordered(counting_dataset(), {.batch_size = 3, .shuffle = false});
  CHECK(run_epoch(ordered, 5) == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});

  // Range-for gives the same batches as start_epoch + next().
  std::vector<std::int64_t> ranged;
  for (const nn::Batch& b : keep.epoch(0))
    for (float y : b.labels.to_vector<float>()) ranged.push_back(std::int64_t(y));
  CHECK(ranged == keep.epoch_order(0));
}

TEST_CASE("loader order depends only on seed and epoch") {
  const auto data = counting_dataset(1000);
  nn::Loader a(data, {.batch_size = 64, .seed = 42});
  nn::Loader b(data, {.batch_size = 7, .seed = 42, .prefetch = false});
  nn::Loader c(data, {.batch_size = 64, .seed = 43});
  // Same seed and epoch: same order, whatever the batch size, prefetching or epochs run before.
  run_epoch(b, 3);
  CHECK(run_epoch(a, 1) == run_epoch(b, 1));
  CHECK(a.epoch_order(1) == b.epoch_order(1));
  CHECK(a.epoch_order(1) != a.epoch_order(2));  // a new order every epoch
  CHECK(a.epoch_order(1) != c.epoch_order(1));  // and for another seed
  // Not the identity: at most a handful of the 1000 samples keep their place by chance.
  const auto o = a.epoch_order(1);
  int fixed = 0;
  for (std::size_t i = 0; i < o.size(); ++i) fixed += o[i] == std::int64_t(i);
  CHECK(fixed < 10);
}

TEST_CASE("loader stops its prefetch thread mid-epoch") {
  const auto data = counting_dataset(10000);
  const auto start = std::chrono::steady_clock::now();
  {
    nn::Loader loader(data, {.batch_size = 2, .seed = 1});
    loader.start_epoch(0);
    CHECK(loader.next().has_value());
    loader.start_epoch(1);  // abandons epoch 0 with the producer blocked on a full queue
    CHECK(loader.next()->index == 0);
    CHECK(loader.next()->index == 1);
  }  // destructor joins the producer, still blocked mid-epoch
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  nn::Loader idle(data, {});
  CHECK_FALSE(idle.next().has_value());  // no epoch started
}

TEST_CASE("loader propagates producer exceptions to the consumer") {
  for (bool prefetch : {true, false}) {
    nn::Loader loader(counting_dataset(), {.batch_size = 2,
                                           .seed = 1,
                                           .prefetch = prefetch,
                                           .transform = [](nn::Batch& b) {
                                             if (b.index == 2) throw ValueError("augmentation failed at batch 2");
                                           }});
    loader.start_epoch(0);
    CHECK(loader.next()->index == 0);
    CHECK(loader.next()->index == 1);
    CHECK_THROWS_WITH_AS(loader.next(), "augmentation failed at batch 2", ValueError);
    if (prefetch) CHECK_FALSE(loader.next().has_value());
    CHECK_THROWS_AS(run_epoch(loader, 1), ValueError);  // a new epoch fails again at batch 2
  }
}

TEST_CASE("loader reuses pooled buffers in steady state") {
  nn::Loader loader(counting_dataset(1000), {.batch_size = 32, .seed = 9, .prefetch = false});
  run_epoch(loader, 0);
  const auto before = cpu_pool_stats().system_allocations;
  run_epoch(loader, 1);
  run_epoch(loader, 2);
  CHECK(cpu_pool_stats().system_allocations == before);
}

TEST_CASE("idx every truncation and random byte corruption is an error or a valid array") {
  TempDir dir;
  const std::string raw = idx({3, 2, 2}, std::string(12, '\x07'));
  const std::string gz = gzip_stored(raw);
  const auto parse = [](const std::string& bytes) {
    return nn::parse_idx({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, "fuzz");
  };
  for (std::size_t n = 0; n < raw.size(); ++n) {
    CHECK_THROWS_AS(parse(raw.substr(0, n)), IoError);
    if (n % 4 == 0) CHECK_THROWS_AS(nn::read_idx(dir.write("t", raw.substr(0, n))), IoError);
  }
  for (std::size_t n = 0; n < gz.size(); ++n) CHECK_THROWS_AS(nn::read_idx(dir.write("t.gz", gz.substr(0, n))), IoError);
  std::mt19937_64 rng(11);
  int rejected = 0;
  // Whatever loads must be self-consistent: as many bytes as the dimensions say.
  const auto consistent = [](const nn::IdxArray& a) {
    std::int64_t product = 1;
    for (auto d : a.dims) product *= d;
    return std::int64_t(a.data.size()) == product;
  };
  for (int trial = 0; trial < 600; ++trial) {
    const bool compressed = trial % 4 == 0;  // files are slow to write: fewer gzip trials
    std::string bad = compressed ? gz : raw;
    bad[rng() % bad.size()] = char(rng() % 256);
    try {
      const nn::IdxArray a = compressed ? nn::read_idx(dir.write("f.gz", bad)) : parse(bad);
      CHECK(consistent(a));  // outside the CHECK's expression: doctest would catch the IoError
    } catch (const IoError&) {
      ++rejected;
    }
  }
  CHECK(rejected > 100);
}
