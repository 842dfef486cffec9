#pragma once
// Per-thread scratch buffers for the composite transforms (real, multi-dimensional, convolution).
// Plans are shared between threads and execute() is const, so scratch cannot live in the plan; a
// thread_local buffer that only grows makes steady-state execution allocation-free and thread-safe.
// Each user takes its own slot, so a composite that calls another composite (NdPlan → RealPlan)
// never hands out the same memory twice.
#include <cstddef>
#include <vector>

namespace nodal::fft::detail {

enum class ScratchSlot { real_plan = 0, real_plan_pairs, nd_panel, nd_sample, convolve, count };

template <class T>
T* thread_scratch(ScratchSlot slot, std::size_t count) {
  thread_local std::vector<T> buffers[static_cast<int>(ScratchSlot::count)];
  auto& buffer = buffers[static_cast<int>(slot)];
  if (buffer.size() < count) buffer.resize(count);
  return buffer.data();
}

}  // namespace nodal::fft::detail
