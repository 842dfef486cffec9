#pragma once
// Programs built once per (device, source, options) and kept: in memory for the process, and on
// disk as device binaries so that the next process skips the compiler (PoCL takes ~0.1-1 s per
// program; a GPU driver similar).
//
// Disk key: platform + device name + driver version + FNV-1a hash of the source + options, so a
// driver update or an edited kernel never loads a stale binary. Folder: $NODAL_KERNEL_CACHE, else
// $XDG_CACHE_HOME/nodal, else ~/.cache/nodal; NODAL_KERNEL_CACHE=off disables the disk cache.
// Files are written to a temporary name and renamed (atomic on POSIX), and hold their full key,
// which is compared on load. Any failure while loading (unreadable, other key, driver rejects the
// binary) falls back to building from source; failures while writing are counted, not raised.
#include <cstddef>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "nodal/backends/opencl/cl.hpp"

namespace nodal::opencl {

class Context;

struct ProgramCacheStats {
  std::size_t memory_hits = 0;   // served from this process's cache
  std::size_t disk_hits = 0;     // loaded from a cached binary
  std::size_t source_builds = 0; // compiled from source
  std::size_t disk_writes = 0;   // binaries stored
  std::size_t disk_failures = 0; // binaries that could not be read back or written
};

class ProgramCache {
 public:
  explicit ProgramCache(Context& context);
  // The built program; BackendError with the compiler's log when the source does not build.
  // `name` is for messages ("elementwise.cl").
  ProgramHandle get(std::string_view name, std::string_view source, std::string_view options);
  // A kernel of a cached program, itself cached (one cl_kernel per name; launches serialise on
  // the context's launch mutex).
  cl_kernel kernel(std::string_view program_name, std::string_view source, std::string_view options,
                   std::string_view kernel_name);
  ProgramCacheStats stats();
  void clear_memory();  // forgets built programs and kernels (tests: force the disk path)

 private:
  ProgramHandle build(std::string_view name, std::string_view source, std::string_view options);
  Context& context_;
  std::mutex mutex_;
  std::map<std::string, ProgramHandle, std::less<>> programs_;  // key: options + '\n' + source hash
  std::map<std::string, KernelHandle, std::less<>> kernels_;    // key: program key + '\n' + kernel
  ProgramCacheStats stats_;
};

// The disk cache folder in effect now (empty path when disabled).
std::filesystem::path kernel_cache_folder();

std::uint64_t fnv1a(std::string_view text);

}  // namespace nodal::opencl
