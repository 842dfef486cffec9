// Discovery through clGetPlatformIDs / clGetDeviceIDs / clGet*Info, and spec parsing.
#include "nodal/backends/opencl/devices.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <vector>

#include <fmt/format.h>

#include "nodal/core/error.hpp"

namespace nodal::opencl {
namespace {

std::string platform_string(cl_platform_id p, cl_platform_info what) {
  std::size_t size = 0;
  if (clGetPlatformInfo(p, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return {};
  std::string s(size, '\0');
  check(clGetPlatformInfo(p, what, size, s.data(), nullptr), "clGetPlatformInfo");
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

std::string device_string(cl_device_id d, cl_device_info what) {
  std::size_t size = 0;
  if (clGetDeviceInfo(d, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return {};
  std::string s(size, '\0');
  check(clGetDeviceInfo(d, what, size, s.data(), nullptr), "clGetDeviceInfo");
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

template <class T> T device_value(cl_device_id d, cl_device_info what) {
  T value{};
  check(clGetDeviceInfo(d, what, sizeof(T), &value, nullptr), "clGetDeviceInfo");
  return value;
}

std::string type_text(cl_device_type t) {
  std::vector<std::string_view> kinds;
  if (t & CL_DEVICE_TYPE_CPU) kinds.push_back("cpu");
  if (t & CL_DEVICE_TYPE_GPU) kinds.push_back("gpu");
  if (t & CL_DEVICE_TYPE_ACCELERATOR) kinds.push_back("accelerator");
  if (t & CL_DEVICE_TYPE_CUSTOM) kinds.push_back("custom");
  std::string s;
  for (auto k : kinds) s += (s.empty() ? "" : "+") + std::string(k);
  return s.empty() ? "unknown" : s;
}

std::vector<DeviceInfo> enumerate() {
  std::vector<DeviceInfo> out;
  cl_uint platform_count = 0;
  // CL_PLATFORM_NOT_FOUND_KHR (no ICD file) and friends mean: no OpenCL here, not an error.
  if (clGetPlatformIDs(0, nullptr, &platform_count) != CL_SUCCESS || platform_count == 0) return out;
  std::vector<cl_platform_id> platforms(platform_count);
  check(clGetPlatformIDs(platform_count, platforms.data(), nullptr), "clGetPlatformIDs");
  for (cl_uint p = 0; p < platform_count; ++p) {
    cl_uint device_count = 0;
    if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, nullptr, &device_count) != CL_SUCCESS) continue;
    std::vector<cl_device_id> ids(device_count);
    check(clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, device_count, ids.data(), nullptr), "clGetDeviceIDs");
    for (cl_uint d = 0; d < device_count; ++d) {
      DeviceInfo info;
      info.platform_index = int(p);
      info.device_index = int(d);
      info.platform = platforms[p];
      info.id = ids[d];
      info.platform_name = platform_string(platforms[p], CL_PLATFORM_NAME);
      info.platform_vendor = platform_string(platforms[p], CL_PLATFORM_VENDOR);
      info.platform_version = platform_string(platforms[p], CL_PLATFORM_VERSION);
      info.name = device_string(ids[d], CL_DEVICE_NAME);
      info.vendor = device_string(ids[d], CL_DEVICE_VENDOR);
      info.type = type_text(device_value<cl_device_type>(ids[d], CL_DEVICE_TYPE));
      info.device_version = device_string(ids[d], CL_DEVICE_VERSION);
      info.opencl_c_version = device_string(ids[d], CL_DEVICE_OPENCL_C_VERSION);
      info.driver_version = device_string(ids[d], CL_DRIVER_VERSION);
      info.global_memory = device_value<cl_ulong>(ids[d], CL_DEVICE_GLOBAL_MEM_SIZE);
      info.max_allocation = device_value<cl_ulong>(ids[d], CL_DEVICE_MAX_MEM_ALLOC_SIZE);
      info.local_memory = device_value<cl_ulong>(ids[d], CL_DEVICE_LOCAL_MEM_SIZE);
      info.compute_units = device_value<cl_uint>(ids[d], CL_DEVICE_MAX_COMPUTE_UNITS);
      info.max_work_group_size = device_value<std::size_t>(ids[d], CL_DEVICE_MAX_WORK_GROUP_SIZE);
      info.image_support = device_value<cl_bool>(ids[d], CL_DEVICE_IMAGE_SUPPORT) == CL_TRUE;
      info.extensions = device_string(ids[d], CL_DEVICE_EXTENSIONS);
      info.fp64 = info.extensions.find("cl_khr_fp64") != std::string::npos;
      out.push_back(std::move(info));
    }
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

bool parse_index(std::string_view s, int& value) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return ec == std::errc() && end == s.data() + s.size() && value >= 0;
}

}  // namespace

std::string DeviceInfo::spec() const { return fmt::format("opencl:{}:{}", platform_index, device_index); }

const std::vector<DeviceInfo>& devices() {
  static const std::vector<DeviceInfo> all = enumerate();
  return all;
}

std::string device_list_text() {
  if (devices().empty()) return "  (no OpenCL platform: is an ICD such as pocl-opencl-icd installed?)\n";
  std::string s;
  for (const DeviceInfo& d : devices())
    s += fmt::format("  {}  {} / {} ({})\n", d.spec(), d.platform_name, d.name, d.type);
  return s;
}

const DeviceInfo& find_device(std::string_view spec) {
  std::string_view rest = spec;
  if (rest.starts_with("opencl:")) rest.remove_prefix(7);
  const auto& all = devices();
  const auto fail = [&](std::string_view why) -> const DeviceInfo& {
    throw BackendError(fmt::format("opencl: no device '{}' ({}); the devices are:\n{}", spec, why, device_list_text()));
  };
  if (rest.empty()) return fail("empty device name");
  if (const auto colon = rest.find(':'); colon != std::string_view::npos) {
    int p = 0, d = 0;
    if (parse_index(rest.substr(0, colon), p) && parse_index(rest.substr(colon + 1), d)) {
      for (const DeviceInfo& info : all)
        if (info.platform_index == p && info.device_index == d) return info;
      return fail(fmt::format("no platform {} with a device {}", p, d));
    }
  }
  const std::string needle = lower(rest);
  for (const DeviceInfo& info : all)
    if (lower(info.name).find(needle) != std::string::npos || lower(info.platform_name).find(needle) != std::string::npos ||
        lower(info.platform_vendor).find(needle) != std::string::npos)
      return info;
  return fail("no platform name, platform vendor or device name contains it");
}

const DeviceInfo& default_device() {
  if (const char* env = std::getenv("NODAL_DEVICE"); env && *env) {
    const std::string_view spec(env);
    if (spec.starts_with("opencl:")) return find_device(spec);  // bare "opencl": the default rule below
  }
  const auto& all = devices();
  if (all.empty())
    throw BackendError(fmt::format("opencl: no device available; the devices are:\n{}", device_list_text()));
  for (const DeviceInfo& info : all)
    if (info.type.find("gpu") != std::string::npos) return info;
  return all.front();
}

}  // namespace nodal::opencl
