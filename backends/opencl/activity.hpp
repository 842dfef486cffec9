#pragma once
// Process-wide counts of what the OpenCL backend asked of its devices: kernel launches and
// host<->device transfers. For benchmarks and tests that must say what bounds a step (launch
// count, bytes moved) or assert that a training step transfers only its batch and a scalar.
#include <cstdint>

namespace nodal::opencl {

struct Activity {
  std::uint64_t launches = 0;        // clEnqueueNDRangeKernel calls (every kernel goes through Launch::run)
  std::uint64_t uploads = 0, upload_bytes = 0;      // host -> device (Tensor::to, zeros/full)
  std::uint64_t downloads = 0, download_bytes = 0;  // device -> host
};
Activity activity();
// activity() minus `since`, field by field.
Activity activity_since(const Activity& since);

namespace detail {
void note_launch();
void note_upload(std::uint64_t bytes);
void note_download(std::uint64_t bytes);
}  // namespace detail

}  // namespace nodal::opencl
