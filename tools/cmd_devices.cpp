// nodal devices: every backend and, for OpenCL, every platform and device with the properties
// that decide what runs where (memory, compute units, work-group and local-memory limits, image
// and float64 support, OpenCL C and driver versions), and which device NODAL_DEVICE picks.
#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "nodal/core/error.hpp"
#include "nodal/tools/cli.hpp"
#ifdef NODAL_HAS_OPENCL
#include "nodal/backends/opencl/devices.hpp"
#endif

namespace nodal::cli {
namespace {

std::string mib(std::uint64_t bytes) { return fmt::format("{} MiB", bytes >> 20); }

#ifdef NODAL_HAS_OPENCL
void print_opencl() {
  const auto& devices = opencl::devices();
  fmt::print("opencl: {} device{}\n", devices.size(), devices.size() == 1 ? "" : "s");
  if (devices.empty()) fmt::print("{}", opencl::device_list_text());
  for (const opencl::DeviceInfo& d : devices) {
    fmt::print("  {}  {}\n", d.spec(), d.name);
    fmt::print("    platform          {} ({}), {}\n", d.platform_name, d.platform_vendor, d.platform_version);
    fmt::print("    vendor, type      {}, {}\n", d.vendor, d.type);
    fmt::print("    global memory     {} (largest buffer {})\n", mib(d.global_memory), mib(d.max_allocation));
    fmt::print("    local memory      {} KiB per work-group\n", d.local_memory >> 10);
    fmt::print("    compute units     {}\n", d.compute_units);
    fmt::print("    max work-group    {}\n", d.max_work_group_size);
    fmt::print("    images, float64   {}, {}\n", d.image_support ? "yes" : "no", d.fp64 ? "yes" : "no");
    fmt::print("    OpenCL            {}; {}\n", d.device_version, d.opencl_c_version);
    fmt::print("    driver            {}\n", d.driver_version);
  }
  if (devices.empty()) return;
  const char* env = std::getenv("NODAL_DEVICE");
  try {
    const auto& chosen = opencl::default_device();
    fmt::print("  default device: {} ({}){}\n", chosen.spec(), chosen.name,
               env && *env ? fmt::format(", NODAL_DEVICE={}", env) : std::string(", the first GPU, else the first device"));
  } catch (const BackendError& e) {
    fmt::print("  default device: none: {}\n", e.what());
  }
}
#endif

}  // namespace

int run_devices(const std::vector<std::string>& words) {
  const Args args = parse_args("devices", words, {}, {});
  if (!args.positional.empty()) throw UsageError("devices: takes no arguments");
  fmt::print("cpu: the host, {} hardware threads\n", std::thread::hardware_concurrency());
#ifdef NODAL_HAS_OPENCL
  print_opencl();
#else
  fmt::print("opencl: not in this build (configure with -DNODAL_OPENCL=ON)\n");
#endif
  return 0;
}

}  // namespace nodal::cli
