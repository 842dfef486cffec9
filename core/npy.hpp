#pragma once
// NumPy .npy files, so that tensors can be cross-checked against NumPy and PyTorch:
//
//   save_npy("x.npy", t);          // numpy.load("x.npy") gives the same array
//   Tensor u = load_npy("y.npy");  // written by numpy.save("y.npy", a)
//
// Reading accepts format versions 1.0, 2.0 and 3.0, the dtypes float32, float64, complex64 and
// complex128 in either byte order ('<f4', '>f8', '=c8', ... byte-swapped as needed) and
// fortran_order True (the result is always a C-order tensor). Writing produces version 1.0
// (2.0 only if the header would exceed 65535 bytes) in the machine's byte order, C order,
// atomically: the data goes to a temporary file in the same folder, which is flushed, synced and
// renamed over `path`, so a crash never leaves a half-written file under the final name.
//
// Every problem is an IoError naming the file and what is wrong: missing file, wrong magic,
// unsupported version, a header longer than the file, a malformed header dictionary, an
// unsupported dtype (named), a negative or overflowing shape, or data shorter than the shape
// needs. The declared size is compared with the file size before any allocation, so a corrupt
// header declaring a huge shape cannot exhaust memory.
#include <cstddef>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

#include "nodal/core/tensor.hpp"

namespace nodal {

Tensor load_npy(const std::filesystem::path& path);
// `t` may be any CPU view (non-contiguous views are written in row-major order).
void save_npy(const std::filesystem::path& path, const Tensor& t);

// The same format in memory: what save_npy would write, and the inverse of it. `source_name`
// is the name used in error messages.
std::vector<std::byte> npy_to_bytes(const Tensor& t);
Tensor npy_from_bytes(std::span<const std::byte> bytes, std::string_view source_name = "<memory>");

}  // namespace nodal
