#pragma once
// Checkpoints in the safetensors format (https://github.com/huggingface/safetensors), readable
// by Python's `safetensors.torch.load_file` and written files of it readable here:
//
//   [8 bytes] N, little-endian uint64: the header length
//   [N bytes] JSON: {"__metadata__": {"k": "v", ...},
//                    "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, ...}
//             padded with spaces to a multiple of 8 (as the Python writer does)
//   [rest]    the tensors' bytes, little-endian, row-major, offsets relative to this section
//
// Saving writes the tensors contiguously in the order given, "__metadata__" first (omitted when
// empty), no spaces in the JSON, atomically (nn/atomic_file.hpp): a failed or interrupted save
// leaves the previous file untouched. float32 ("F32") and float64 ("F64") tensors; names unique,
// valid UTF-8, not "__metadata__".
//
// Loading checks everything before trusting it, each failure an IoError naming the file and the
// tensor or field: N ≤ 100 000 000 and 8 + N ≤ file size; the header strict JSON (nn/json.hpp),
// valid UTF-8, an object; "__metadata__" a {string: string} object; every tensor entry exactly
// the three fields dtype, shape, data_offsets; dtype known (other safetensors dtypes such as
// F16 or I64 are named as unsupported); shape a list of at most 8 non-negative integers whose
// product does not overflow; end ≥ begin and end − begin = product(shape) × dtype size; and,
// sorted by offset, the tensors tile the data section exactly from 0 to its end (safetensors'
// own rule: no gaps, no overlap, nothing past the end, no unused bytes). Memory is allocated
// only after this, and never more than the file holds.
#include <cstddef>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nodal/core/tensor.hpp"
#include "nodal/nn/atomic_file.hpp"

namespace nodal::nn {

// Named tensors in a chosen order (a model's parameters, an optimizer's state).
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using Metadata = std::map<std::string, std::string>;

struct Checkpoint {
  NamedTensors tensors;  // in the order of their data in the file
  Metadata metadata;
  const Tensor* find(std::string_view name) const;  // nullptr when absent
  const Tensor& at(std::string_view name) const;    // IoError naming the tensor when absent
};

struct SaveOptions {
  WriteHook after_write;  // test hook: failure injection during the write
};

void save_safetensors(const std::filesystem::path& path, const NamedTensors& tensors, const Metadata& metadata = {},
                      const SaveOptions& options = {});
// The complete file in memory (what save_safetensors writes).
std::vector<std::byte> safetensors_to_bytes(const NamedTensors& tensors, const Metadata& metadata = {});

Checkpoint load_safetensors(const std::filesystem::path& path);
Checkpoint safetensors_from_bytes(std::span<const std::byte> bytes, std::string_view source_name = "<memory>");

// Copies a checkpoint into existing tensors (a model's parameters), all or nothing: first every
// check, then the copies. A name of `targets` missing from the file, or (unless
// allow_unexpected) a tensor of the file not in `targets`, is an IoError listing them all; a
// shape mismatch is a ShapeError, a dtype mismatch a DTypeError, naming the tensor and both.
void load_into(const Checkpoint& checkpoint, const NamedTensors& targets, std::string_view source_name,
               bool allow_unexpected = false);
void load_into(const std::filesystem::path& path, const NamedTensors& targets, bool allow_unexpected = false);

}  // namespace nodal::nn
