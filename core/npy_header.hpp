#pragma once
// Internal to core/npy.cpp (and its tests): the .npy preamble and header dictionary.
//
// Layout of a .npy file: the magic "\x93NUMPY", a major and a minor version byte, the header
// length (2 bytes little-endian in version 1, 4 bytes in versions 2 and 3), the header (a Python
// dict literal such as {'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), } padded with
// spaces and ending in a newline), then the raw data.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "nodal/core/dtype.hpp"
#include "nodal/core/shape.hpp"

namespace nodal::npy {

inline constexpr std::string_view magic = "\x93NUMPY";

struct Header {
  DType dtype = DType::float32;
  bool swap_bytes = false;     // stored in the other byte order than this machine's
  bool fortran_order = false;  // column-major data
  Shape shape;
  std::size_t data_offset = 0;  // where the data starts in the file
  std::size_t data_bytes = 0;   // numel * element size (checked for overflow)
};

// Bytes needed before the header length is known: magic, version, and the length field itself
// (the longer one of version 2/3).
inline constexpr std::size_t max_preamble_bytes = 12;

// Reads the preamble from `head` (at least min(file size, 12) bytes) and returns where the
// header dictionary ends (= where the data starts). Throws IoError naming `source`.
std::size_t header_end(std::span<const std::byte> head, std::uint64_t total_bytes, std::string_view source);

// Parses the whole header (`head` holds at least header_end bytes) and validates it against the
// total size of the file, before anything is allocated for the data.
Header parse_header(std::span<const std::byte> head, std::uint64_t total_bytes, std::string_view source);

// The preamble and padded header that save_npy writes for a C-order tensor of `shape`/`dtype`
// in this machine's byte order.
std::string format_header(const Shape& shape, DType dtype);

}  // namespace nodal::npy
