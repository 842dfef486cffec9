#pragma once
// Per-thread scratch memory for plan execution. It grows to the largest size a thread has needed and
// is then reused, so executing a plan again allocates nothing.
#include <cstddef>
#include <cstdlib>
#include <new>

namespace nodal::fft::detail {

class Workspace {
 public:
  ~Workspace() { std::free(data_); }
  // At least `bytes` bytes, 64-byte aligned, valid until the next call on this thread.
  void* get(std::size_t bytes) {
    if (bytes > size_) {
      std::free(data_);
      size_ = (bytes + 63) / 64 * 64;
      data_ = std::aligned_alloc(64, size_);
      if (!data_) {
        size_ = 0;
        throw std::bad_alloc();
      }
    }
    return data_;
  }
  static Workspace& for_this_thread() {
    thread_local Workspace workspace;
    return workspace;
  }

 private:
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace nodal::fft::detail
