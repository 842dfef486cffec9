#pragma once
// The OpenCL C sources of kernels/*.cl, embedded in the library at build time: CMake
// (cmake/embed_kernels.cmake) turns each kernels/NAME.cl into a generated C++ file in the build
// tree that registers the text under NAME when the library loads. The library therefore needs no
// files at run time, and an edited .cl is rebuilt like any source.
#include <string_view>
#include <vector>

namespace nodal::opencl {

bool register_kernel_source(std::string_view name, std::string_view text);  // NAME without ".cl"
// The text of kernels/NAME.cl; BackendError listing the embedded names when absent.
std::string_view kernel_source(std::string_view name);
std::vector<std::string_view> kernel_source_names();

}  // namespace nodal::opencl
