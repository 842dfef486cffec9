#pragma once
// Backends and the memory they own. A Buffer is a block of one backend's memory; tensors view it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace nodal {

// `any` is used only in the registry: an implementation written with tensor operations (a
// composite node) runs on whatever backend its inputs live on.
enum class Backend : std::uint8_t { cpu, opencl, any };

constexpr std::string_view backend_name(Backend b) {
  switch (b) {
    case Backend::cpu: return "cpu";
    case Backend::opencl: return "opencl";
    case Backend::any: return "any";
  }
  return "?";
}
Backend parse_backend(std::string_view name);  // "cpu" | "opencl"; ValueError otherwise

class Buffer {
 public:
  virtual ~Buffer() = default;
  virtual Backend backend() const = 0;
  std::size_t bytes() const { return bytes_; }
  // Host-addressable memory; nullptr for device memory.
  void* host_data() const { return host_; }

 protected:
  Buffer(std::size_t bytes, void* host) : bytes_(bytes), host_(host) {}

 private:
  std::size_t bytes_;
  void* host_;
};

// CPU memory, 64-byte aligned, recycled through a pool so that a training loop that allocates
// the same sizes every step stops calling the system allocator after the first step.
std::shared_ptr<Buffer> allocate_cpu(std::size_t bytes);

struct CpuPoolStats {
  std::size_t system_allocations = 0;  // calls that reached aligned_alloc
  std::size_t reuses = 0;              // allocations served from the pool
  std::size_t cached_bytes = 0;        // bytes held by the pool, free for reuse
};
CpuPoolStats cpu_pool_stats();
void release_cached_cpu_memory();

}  // namespace nodal
