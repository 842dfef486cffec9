#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "nodal/core/backend.hpp"
#include "nodal/core/error.hpp"

namespace nodal {

Backend parse_backend(std::string_view name) {
  if (name == "cpu") return Backend::cpu;
  if (name == "opencl") return Backend::opencl;
  throw ValueError(fmt::format("unknown backend '{}' (known: cpu, opencl)", name));
}

namespace {

constexpr std::size_t alignment = 64;
// Above this many cached bytes, freed blocks go back to the system instead of the pool.
constexpr std::size_t pool_limit_bytes = std::size_t(4) << 30;

class CpuPool {
 public:
  void* take(std::size_t bytes) {
    {
      std::lock_guard lock(mutex_);
      auto it = free_.find(bytes);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        stats_.cached_bytes -= bytes;
        ++stats_.reuses;
        return p;
      }
      ++stats_.system_allocations;
    }
    void* p = std::aligned_alloc(alignment, bytes);
    if (!p) throw BackendError(fmt::format("cpu: cannot allocate {} bytes", bytes));
    return p;
  }
  void give_back(void* p, std::size_t bytes) {
    {
      std::lock_guard lock(mutex_);
      if (stats_.cached_bytes + bytes <= pool_limit_bytes) {
        free_[bytes].push_back(p);
        stats_.cached_bytes += bytes;
        return;
      }
    }
    std::free(p);
  }
  void release() {
    std::lock_guard lock(mutex_);
    for (auto& [bytes, blocks] : free_)
      for (void* p : blocks) std::free(p);
    free_.clear();
    stats_.cached_bytes = 0;
  }
  CpuPoolStats stats() {
    std::lock_guard lock(mutex_);
    return stats_;
  }
  ~CpuPool() { release(); }

 private:
  std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<void*>> free_;
  CpuPoolStats stats_;
};

CpuPool& pool() {
  static CpuPool* instance = new CpuPool;  // never destroyed: buffers may outlive static destruction
  return *instance;
}

class CpuBuffer final : public Buffer {
 public:
  CpuBuffer(std::size_t bytes, void* p) : Buffer(bytes, p) {}
  ~CpuBuffer() override { pool().give_back(host_data(), bytes()); }
  Backend backend() const override { return Backend::cpu; }
};

}  // namespace

std::shared_ptr<Buffer> allocate_cpu(std::size_t bytes) {
  const std::size_t rounded = (std::max<std::size_t>(bytes, 1) + alignment - 1) / alignment * alignment;
  return std::make_shared<CpuBuffer>(rounded, pool().take(rounded));
}

CpuPoolStats cpu_pool_stats() { return pool().stats(); }
void release_cached_cpu_memory() { pool().release(); }

}  // namespace nodal
