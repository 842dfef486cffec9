#pragma once
// Platform and device discovery, and which device the backend uses.
//
// A device is named by a spec: "opencl:P:D" (platform index P, device index D in that platform,
// both from devices()), or "opencl:NAME" where NAME is a case-insensitive substring of the
// platform name, platform vendor or device name ("opencl:pocl", "opencl:nvidia", "opencl:xeon"). The "opencl:" prefix is optional.
// The environment variable NODAL_DEVICE holds such a spec; a value naming another backend
// ("cpu") leaves the OpenCL choice to the default: the first GPU, else the first device.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nodal/backends/opencl/cl.hpp"

namespace nodal::opencl {

struct DeviceInfo {
  int platform_index = 0;
  int device_index = 0;
  std::string platform_name, platform_vendor, platform_version;
  std::string name, vendor, type;  // type: "cpu", "gpu", "accelerator", "custom" or several joined by '+'
  std::string device_version, opencl_c_version, driver_version;
  std::uint64_t global_memory = 0;       // CL_DEVICE_GLOBAL_MEM_SIZE, bytes
  std::uint64_t max_allocation = 0;      // CL_DEVICE_MAX_MEM_ALLOC_SIZE, bytes: the largest one buffer
  std::uint64_t local_memory = 0;        // CL_DEVICE_LOCAL_MEM_SIZE, bytes per work-group
  unsigned compute_units = 0;
  std::size_t max_work_group_size = 0;
  bool image_support = false;
  bool fp64 = false;                     // cl_khr_fp64: the float64 kernels can be built
  std::string extensions;
  // Not reference counted (root devices and platforms live as long as the ICD loader).
  cl_platform_id platform = nullptr;
  cl_device_id id = nullptr;

  std::string spec() const;  // "opencl:0:0"
};

// Every device of every platform, in the ICD loader's order. Empty when no platform exists (no
// ICD installed); a platform that fails to answer is skipped. Enumerated once per process.
const std::vector<DeviceInfo>& devices();

// The device a spec names; BackendError listing every device when none matches.
const DeviceInfo& find_device(std::string_view spec);

// The device the backend uses by default: NODAL_DEVICE when it names an OpenCL device, else the
// first GPU, else the first device. BackendError when there is none (message says why).
const DeviceInfo& default_device();

// One line per device: "opencl:0:0  Portable Computing Language / pthread-... (cpu)".
std::string device_list_text();

}  // namespace nodal::opencl
