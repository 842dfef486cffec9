#pragma once
// Switches of the OpenCL pooling implementation (backends/opencl/pool.cpp), for tests and benches.
namespace nodal::opencl {

// max_pool2d's vjp: automatic (a conflict-free scatter per output when windows cannot overlap,
// else the gather per input), or the gather forced (tests compare both). Process-wide.
enum class MaxPoolVjp { automatic, gather };
void set_max_pool_vjp_kernel(MaxPoolVjp kernel);
MaxPoolVjp max_pool_vjp_kernel();

}  // namespace nodal::opencl
