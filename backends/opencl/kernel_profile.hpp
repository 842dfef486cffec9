#pragma once
// Per-kernel device time, for finding what bounds a GPU run: with NODAL_OPENCL_PROFILE=1 every
// queue is created with CL_QUEUE_PROFILING_ENABLE and Launch::run waits for each kernel and adds
// its device time (CL_PROFILING_COMMAND_END − START) to its name's row. Waiting serialises host
// and device, so wall-clock figures of a profiled run are not the unprofiled ones; the per-kernel
// device times are. At exit the table goes to stderr, largest total first.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nodal/backends/opencl/cl.hpp"

namespace nodal::opencl {

struct KernelTime {
  std::string name;
  std::uint64_t launches = 0;
  double total_us = 0;
};

// Whether NODAL_OPENCL_PROFILE=1 (read once).
bool kernel_profiling();
// The rows so far, largest total first.
std::vector<KernelTime> kernel_times();
// Forgets every row (benchmarks call it after their warm-up).
void reset_kernel_times();

namespace detail {
// Adopts `event` (a kernel named `name`), waits for it and records its device time.
void record_kernel(std::string_view name, cl_event event);
}  // namespace detail

}  // namespace nodal::opencl
