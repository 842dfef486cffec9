#include "nodal/backends/opencl/program_cache.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "nodal/backends/opencl/context.hpp"
#include "nodal/core/error.hpp"

namespace nodal::opencl {
namespace fs = std::filesystem;

std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

fs::path kernel_cache_folder() {
  if (const char* env = std::getenv("NODAL_KERNEL_CACHE"); env && *env)
    return std::string_view(env) == "off" ? fs::path() : fs::path(env);
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "nodal";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "nodal";
  return {};
}

namespace {

// File layout: magic line, "<key bytes> <binary bytes> <FNV-1a of the binary in hex>" line, key,
// binary. The length and checksum are verified before the driver sees the binary: a truncated or
// damaged file (a full disk, a crash while copying caches around) must never reach
// clCreateProgramWithBinary, which some drivers (PoCL 3.1) do not survive.
constexpr std::string_view magic = "nodal-opencl-binary 2\n";

std::string build_log(cl_program program, cl_device_id device) {
  std::size_t size = 0;
  if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size) != CL_SUCCESS) return "(no log)";
  std::string log(size, '\0');
  if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, log.data(), nullptr) != CL_SUCCESS)
    return "(no log)";
  while (!log.empty() && (log.back() == '\0' || log.back() == '\n')) log.pop_back();
  return log.empty() ? "(empty log)" : log;
}

// clBuildProgram, with the compiler log in the error on failure.
void build_or_throw(cl_program program, const DeviceInfo& device, std::string_view name, std::string_view options) {
  const std::string opts(options);
  const cl_int status = clBuildProgram(program, 1, &device.id, opts.c_str(), nullptr, nullptr);
  if (status != CL_SUCCESS)
    throw BackendError(fmt::format("opencl: clBuildProgram failed: {} ({}) for {} with options '{}' on {}; build log:\n{}",
                                   error_name(status), status, name, options, device.name, build_log(program, device.id)));
}

std::string disk_key(const DeviceInfo& d, std::string_view source, std::string_view options) {
  return fmt::format("{}\n{}\n{}\n{:016x}\n{}", d.platform_name, d.name, d.driver_version, fnv1a(source), options);
}

// The binary stored under `key`, or empty when absent, for another key, or damaged.
std::vector<unsigned char> read_binary(const fs::path& file, std::string_view key) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string content = buffer.str();
  if (!std::string_view(content).starts_with(magic)) return {};
  const std::size_t line_end = content.find('\n', magic.size());
  if (line_end == std::string::npos) return {};
  std::istringstream header(content.substr(magic.size(), line_end - magic.size()));
  std::size_t key_size = 0, binary_size = 0;
  std::uint64_t checksum = 0;
  if (!(header >> key_size >> binary_size >> std::hex >> checksum)) return {};
  const std::size_t key_begin = line_end + 1;
  if (content.size() != key_begin + key_size + binary_size) return {};
  if (std::string_view(content).substr(key_begin, key_size) != key) return {};
  const std::string_view binary = std::string_view(content).substr(key_begin + key_size);
  if (binary.empty() || fnv1a(binary) != checksum) return {};
  return std::vector<unsigned char>(binary.begin(), binary.end());
}

bool write_binary(const fs::path& file, std::string_view key, const std::vector<unsigned char>& binary) {
  static std::atomic<unsigned> counter{0};
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  const fs::path temporary = file.string() + fmt::format(".tmp.{}.{}", getpid(), counter++);
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) return false;
    const std::string_view bytes(reinterpret_cast<const char*>(binary.data()), binary.size());
    out << magic << fmt::format("{} {} {:016x}\n", key.size(), binary.size(), fnv1a(bytes)) << key;
    out.write(reinterpret_cast<const char*>(binary.data()), std::streamsize(binary.size()));
    if (!out.flush()) {
      fs::remove(temporary, ec);
      return false;
    }
  }
  fs::rename(temporary, file, ec);  // atomic: readers see the old file or the whole new one
  if (ec) fs::remove(temporary, ec);
  return !ec;
}

std::vector<unsigned char> program_binary(cl_program program) {
  std::size_t size = 0;
  check(clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof(size), &size, nullptr), "clGetProgramInfo",
        "CL_PROGRAM_BINARY_SIZES");
  std::vector<unsigned char> binary(size);
  unsigned char* pointer = binary.data();
  if (size > 0)
    check(clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof(pointer), &pointer, nullptr), "clGetProgramInfo",
          "CL_PROGRAM_BINARIES");
  return binary;
}

}  // namespace

ProgramCache::ProgramCache(Context& context) : context_(context) {}

ProgramHandle ProgramCache::build(std::string_view name, std::string_view source, std::string_view base_options) {
  const DeviceInfo& device = context_.device();
  // NODAL_OPENCL_OPTIONS: appended to every build's options (e.g. -cl-nv-verbose, whose register and
  // spill counts NODAL_OPENCL_BUILD_LOG=1 then prints); part of the disk key like the rest
  static const std::string extra = [] {
    const char* v = std::getenv("NODAL_OPENCL_OPTIONS");
    return v && *v ? fmt::format(" {}", v) : std::string();
  }();
  static const bool print_log = [] {
    const char* v = std::getenv("NODAL_OPENCL_BUILD_LOG");
    return v && std::string_view(v) == "1";
  }();
  const std::string options = std::string(base_options) + extra;
  const std::string key = disk_key(device, source, options);
  const fs::path folder = kernel_cache_folder();
  const fs::path file = folder.empty() ? fs::path() : folder / fmt::format("{:016x}.clbin", fnv1a(key));
  cl_int status = CL_SUCCESS;
  if (!file.empty()) {
    if (!fs::exists(file)) {
      // nothing cached yet
    } else if (const auto binary = read_binary(file, key); binary.empty()) {
      std::lock_guard lock(mutex_);
      ++stats_.disk_failures;  // another key under the same name, or a damaged file: rebuilt below
    } else {
      const unsigned char* pointer = binary.data();
      const std::size_t size = binary.size();
      cl_int binary_status = CL_SUCCESS;
      ProgramHandle program(
          clCreateProgramWithBinary(context_.get(), 1, &device.id, &size, &pointer, &binary_status, &status));
      if (status == CL_SUCCESS && binary_status == CL_SUCCESS) {
        try {
          build_or_throw(program.get(), device, name, options);
          std::lock_guard lock(mutex_);
          ++stats_.disk_hits;
          return program;
        } catch (const BackendError&) {
          // a binary the driver no longer takes: build from source below
        }
      }
      std::lock_guard lock(mutex_);
      ++stats_.disk_failures;
    }
  }
  const char* text = source.data();
  const std::size_t length = source.size();
  ProgramHandle program(clCreateProgramWithSource(context_.get(), 1, &text, &length, &status));
  check(status, "clCreateProgramWithSource", name);
  build_or_throw(program.get(), device, name, options);
  if (print_log)
    std::fputs(fmt::format("opencl build log: {} [{}] on {} ({}…):\n{}\n", name, options, device.name,
                           source.substr(0, std::min<std::size_t>(source.size(), 160)),
                           build_log(program.get(), device.id))
                   .c_str(),
               stderr);
  bool written = false;
  if (!file.empty()) written = write_binary(file, key, program_binary(program.get()));
  std::lock_guard lock(mutex_);
  ++stats_.source_builds;
  if (!file.empty()) ++(written ? stats_.disk_writes : stats_.disk_failures);
  return program;
}

ProgramHandle ProgramCache::get(std::string_view name, std::string_view source, std::string_view options) {
  const std::string key = fmt::format("{}\n{:016x}", options, fnv1a(source));
  {
    std::lock_guard lock(mutex_);
    if (auto it = programs_.find(key); it != programs_.end()) {
      ++stats_.memory_hits;
      return it->second;
    }
  }
  ProgramHandle program = build(name, source, options);  // outside the lock: builds take long
  std::lock_guard lock(mutex_);
  return programs_.emplace(key, std::move(program)).first->second;
}

cl_kernel ProgramCache::kernel(std::string_view program_name, std::string_view source, std::string_view options,
                               std::string_view kernel_name) {
  const std::string key = fmt::format("{}\n{:016x}\n{}", options, fnv1a(source), kernel_name);
  {
    std::lock_guard lock(mutex_);
    if (auto it = kernels_.find(key); it != kernels_.end()) return it->second.get();
  }
  const ProgramHandle program = get(program_name, source, options);
  cl_int status = CL_SUCCESS;
  const std::string kname(kernel_name);
  KernelHandle kernel(clCreateKernel(program.get(), kname.c_str(), &status));
  check(status, "clCreateKernel", fmt::format("{} in {}", kernel_name, program_name));
  std::lock_guard lock(mutex_);
  return kernels_.emplace(key, std::move(kernel)).first->second.get();
}

ProgramCacheStats ProgramCache::stats() {
  std::lock_guard lock(mutex_);
  return stats_;
}

void ProgramCache::clear_memory() {
  std::lock_guard lock(mutex_);
  kernels_.clear();
  programs_.clear();
}

}  // namespace nodal::opencl
