#pragma once
// The idx format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/):
//
//   bytes 0-1   0x00 0x00
//   byte  2     type code: 0x08 unsigned byte (the only one nodal reads; 0x09 int8, 0x0B int16,
//               0x0C int32, 0x0D float32, 0x0E float64 are named in the error)
//   byte  3     rank r (1 for labels, 3 for images)
//   4·r bytes   the extents, big-endian uint32 (labels: count; images: count, rows, columns)
//   the data    exactly the product of the extents, one byte each, row-major
//
// So the magic numbers are 0x00000801 (labels) and 0x00000803 (images). Files may be raw or
// gzip-compressed (.gz, detected from the content, not the name); both are read through zlib.
//
// Validation, all IoErrors naming the file and the field: the two zero bytes, the type code,
// the rank (1..8, and the rank the caller expects), every extent non-zero, their product not
// overflowing, and the data length exactly equal to that product: fewer bytes ("count larger
// than the data", a truncated file) and trailing bytes after the data are both rejected. For a
// raw file the size is checked before anything is allocated; for a gzip file the declared size
// is checked against what deflate can expand the compressed size to (at most 1032:1), and then
// the stream is decompressed into a buffer of exactly the declared size. A corrupt gzip stream
// (bad CRC, truncated member) is reported with zlib's message. Bytes after the end of the gzip
// stream itself are ignored, as gunzip does.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

namespace nodal::nn {

struct IdxArray {
  std::vector<std::int64_t> dims;  // row-major extents, as declared in the header
  std::vector<std::uint8_t> data;  // product(dims) bytes
};

// `expected_rank` < 0 accepts any rank 1..8.
IdxArray read_idx(const std::filesystem::path& path, int expected_rank = -1);
// The same validation on bytes already in memory (uncompressed); `source_name` names them in
// error messages.
IdxArray parse_idx(std::span<const std::uint8_t> bytes, std::string_view source_name, int expected_rank = -1);

}  // namespace nodal::nn
