#include "nodal/nn/idx.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <string>

#include "nodal/core/error.hpp"

namespace nodal::nn {
namespace {

constexpr int max_rank = 8;
// deflate cannot expand data by more than about 1032:1; a header declaring more data than the
// compressed file could hold is a lie, detected before allocating the buffer.
constexpr std::uint64_t max_deflate_ratio = 1032;

std::string_view type_name(std::uint8_t code) {
  switch (code) {
    case 0x08: return "uint8";
    case 0x09: return "int8";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown";
  }
}

// Checks the 4 magic bytes; returns the rank.
int check_magic(const std::uint8_t* m, std::string_view name, int expected_rank) {
  if (m[0] != 0 || m[1] != 0)
    throw IoError(
        fmt::format("read_idx: '{}': bad magic number 0x{:02X}{:02X}{:02X}{:02X}: an idx file starts "
                    "with two zero bytes (0x00000801 labels, 0x00000803 images)",
                    name, m[0], m[1], m[2], m[3]));
  if (m[2] != 0x08)
    throw IoError(
        fmt::format("read_idx: '{}': type code 0x{:02X} ({}) is not supported: nodal reads unsigned-byte "
                    "idx files (type code 0x08)",
                    name, m[2], type_name(m[2])));
  const int rank = m[3];
  if (rank < 1 || rank > max_rank)
    throw IoError(
        fmt::format("read_idx: '{}': rank {} in the magic number is out of range 1..{}", name, rank, max_rank));
  if (expected_rank >= 0 && rank != expected_rank)
    throw IoError(fmt::format("read_idx: '{}': rank {} (magic 0x{:08X}), expected rank {} (magic 0x{:08X})", name, rank,
                              0x800 + rank, expected_rank, 0x800 + expected_rank));
  return rank;
}

// Decodes the big-endian extents; returns the number of data bytes they declare.
std::uint64_t decode_dims(const std::uint8_t* p, int rank, std::string_view name, std::vector<std::int64_t>& dims) {
  dims.resize(std::size_t(rank));
  std::uint64_t total = 1;
  for (int i = 0; i < rank; ++i, p += 4) {
    const std::uint32_t d =
        (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
    if (d == 0)
      throw IoError(fmt::format("read_idx: '{}': dimension {} is 0: an idx data set must not be empty", name, i));
    if (total > std::numeric_limits<std::uint64_t>::max() / 2 / d)
      throw IoError(fmt::format("read_idx: '{}': dimension {} ({}) makes the element count overflow", name, i, d));
    total *= d;
    dims[std::size_t(i)] = d;
  }
  return total;
}

std::string dims_text(const std::vector<std::int64_t>& dims) { return fmt::format("[{}]", fmt::join(dims, ", ")); }

// `actual` data bytes where `declared` were expected; `at_least`: a streaming reader stopped at
// the first byte too many, so the real excess is unknown.
[[noreturn]] void throw_length(std::string_view name, const std::vector<std::int64_t>& dims, std::uint64_t declared,
                               std::uint64_t actual, bool at_least) {
  if (actual < declared)
    throw IoError(
        fmt::format("read_idx: '{}': truncated data (count larger than the data): dimensions {} declare {} "
                    "bytes, the file holds {}",
                    name, dims_text(dims), declared, actual));
  throw IoError(fmt::format("read_idx: '{}': {} trailing byte{} after the {} data bytes that dimensions {} declare",
                            name, at_least ? std::string("at least 1") : std::to_string(actual - declared),
                            actual - declared == 1 || at_least ? "" : "s", declared, dims_text(dims)));
}

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzHandle = std::unique_ptr<std::remove_pointer_t<gzFile>, GzCloser>;

// Reads up to `bytes` into `out`; returns how many were read (fewer only at the end of data).
std::uint64_t gz_read(gzFile f, std::uint8_t* out, std::uint64_t bytes, std::string_view name) {
  std::uint64_t done = 0;
  while (done < bytes) {
    const unsigned chunk = unsigned(std::min<std::uint64_t>(bytes - done, 1u << 30));
    const int n = gzread(f, out + done, chunk);
    if (n < 0) {
      int code = 0;
      const char* message = gzerror(f, &code);
      throw IoError(fmt::format("read_idx: '{}': corrupt gzip stream: {}", name, message ? message : "unknown error"));
    }
    if (n == 0) {
      // End of data: gzread reports a stream cut short (no trailer) as an error on this call or
      // returns 0 with the error set.
      int code = 0;
      const char* message = gzerror(f, &code);
      if (code != Z_OK && code != Z_STREAM_END)
        throw IoError(
            fmt::format("read_idx: '{}': corrupt gzip stream: {}", name, message ? message : "unknown error"));
      break;
    }
    done += std::uint64_t(n);
  }
  return done;
}

}  // namespace

IdxArray parse_idx(std::span<const std::uint8_t> bytes, std::string_view name, int expected_rank) {
  if (bytes.size() < 4)
    throw IoError(fmt::format("read_idx: '{}': {} bytes is too short for the 4-byte magic number", name, bytes.size()));
  const int rank = check_magic(bytes.data(), name, expected_rank);
  const std::size_t header = 4 + 4 * std::size_t(rank);
  if (bytes.size() < header)
    throw IoError(fmt::format("read_idx: '{}': truncated header: rank {} needs {} header bytes, the file holds {}",
                              name, rank, header, bytes.size()));
  IdxArray out;
  const std::uint64_t declared = decode_dims(bytes.data() + 4, rank, name, out.dims);
  const std::uint64_t actual = bytes.size() - header;
  if (actual != declared) throw_length(name, out.dims, declared, actual, false);
  out.data.assign(bytes.begin() + std::ptrdiff_t(header), bytes.end());
  return out;
}

IdxArray read_idx(const std::filesystem::path& path, int expected_rank) {
  const std::string name = path.string();
  std::error_code ec;
  const std::uint64_t file_bytes = std::filesystem::file_size(path, ec);
  if (ec) throw IoError(fmt::format("read_idx: cannot open '{}': {}", name, ec.message()));
  // gzopen reads gzip files and, transparently, raw ones: one code path for both.
  GzHandle f(gzopen(path.c_str(), "rb"));
  if (!f) throw IoError(fmt::format("read_idx: cannot open '{}': {}", name, std::strerror(errno)));
  gzbuffer(f.get(), 1 << 17);

  std::uint8_t head[4 + 4 * max_rank];
  if (gz_read(f.get(), head, 4, name) < 4)
    throw IoError(fmt::format("read_idx: '{}': too short for the 4-byte magic number", name));
  const bool raw = gzdirect(f.get()) != 0;
  const int rank = check_magic(head, name, expected_rank);
  const std::uint64_t header = 4 + 4 * std::uint64_t(rank);
  const std::uint64_t got = gz_read(f.get(), head + 4, header - 4, name);
  if (got < header - 4)
    throw IoError(fmt::format("read_idx: '{}': truncated header: rank {} needs {} header bytes, the file holds {}",
                              name, rank, header, 4 + got));
  IdxArray out;
  const std::uint64_t declared = decode_dims(head + 4, rank, name, out.dims);
  // Before allocating: a raw file must hold exactly the declared data, a compressed one must be
  // large enough to expand to it.
  if (raw && file_bytes - header != declared) throw_length(name, out.dims, declared, file_bytes - header, false);
  if (!raw && declared / max_deflate_ratio > file_bytes)
    throw IoError(
        fmt::format("read_idx: '{}': dimensions {} declare {} bytes, more than the {} compressed bytes can "
                    "hold (count larger than the data)",
                    name, dims_text(out.dims), declared, file_bytes));
  out.data.resize(std::size_t(declared));
  const std::uint64_t read = gz_read(f.get(), out.data.data(), declared, name);
  if (read < declared) throw_length(name, out.dims, declared, read, false);
  // One byte more must be the end of the data (this read also makes zlib check the gzip trailer).
  std::uint8_t extra = 0;
  if (gz_read(f.get(), &extra, 1, name) != 0) throw_length(name, out.dims, declared, declared + 1, true);
  return out;
}

}  // namespace nodal::nn
