#include "nodal/backends/opencl/kernel_profile.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>

#include <fmt/format.h>

namespace nodal::opencl {

namespace {

struct Table {
  std::mutex mutex;
  std::map<std::string, KernelTime, std::less<>> rows;
  ~Table() {
    if (rows.empty()) return;
    std::vector<KernelTime> sorted;
    for (auto& [name, row] : rows) sorted.push_back(row);
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.total_us > b.total_us; });
    std::fputs(fmt::format("{:<28} {:>9} {:>12} {:>10}\n", "kernel (NODAL_OPENCL_PROFILE)", "launches", "total µs",
                           "mean µs").c_str(), stderr);
    for (const KernelTime& r : sorted)
      std::fputs(fmt::format("{:<28} {:>9} {:>12.1f} {:>10.2f}\n", r.name, r.launches, r.total_us,
                             r.total_us / double(r.launches)).c_str(), stderr);
  }
};
Table& table() {
  static Table t;
  return t;
}

}  // namespace

bool kernel_profiling() {
  static const bool on = [] {
    const char* v = std::getenv("NODAL_OPENCL_PROFILE");
    return v && *v && *v != '0';
  }();
  return on;
}

std::vector<KernelTime> kernel_times() {
  std::lock_guard lock(table().mutex);
  std::vector<KernelTime> out;
  for (auto& [name, row] : table().rows) out.push_back(row);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.total_us > b.total_us; });
  return out;
}

void reset_kernel_times() {
  std::lock_guard lock(table().mutex);
  table().rows.clear();
}

namespace detail {

void record_kernel(std::string_view name, cl_event raw) {
  const EventHandle event(raw);
  cl_event e = event.get();
  cl_ulong start = 0, end = 0;
  check(clWaitForEvents(1, &e), "clWaitForEvents", name);
  check(clGetEventProfilingInfo(e, CL_PROFILING_COMMAND_START, sizeof start, &start, nullptr),
        "clGetEventProfilingInfo", name);
  check(clGetEventProfilingInfo(e, CL_PROFILING_COMMAND_END, sizeof end, &end, nullptr), "clGetEventProfilingInfo",
        name);
  std::lock_guard lock(table().mutex);
  auto it = table().rows.find(name);
  if (it == table().rows.end()) it = table().rows.emplace(std::string(name), KernelTime{std::string(name)}).first;
  ++it->second.launches;
  it->second.total_us += double(end - start) * 1e-3;
}

}  // namespace detail

}  // namespace nodal::opencl
