#pragma once
// Storage of many spectra of one transform size for the per-frequency channel GEMMs.
//
// Frequencies are cut into blocks of `spectral_block<T>` (one SIMD vector); element (block, row)
// holds the block's real parts then its imaginary parts. Blocks are grouped by `group` (16) per
// row: layout [block / group][row][block % group, then one unused element][re | im][lane]. Within a
// group the elements of one block for all rows are `stride` = group + 1 elements apart (a constant
// stride for the GEMM), while one row's spectrum is written and read in runs of `group` consecutive
// blocks (2 KiB for float), not one scattered 128-byte element per block as a plain block-major layout
// would need.
//
// Buffers come from a process-wide pool: the spectra of a convolution are tens of MiB, and fresh
// allocations of that size cost a page fault per 4 KiB on first touch, every call.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <map>
#include <mutex>
#include <new>

#include "nodal/backends/cpu/conv_spectral.hpp"

namespace nodal::cpu::spectral {

// Keeps released buffers (up to 1 GiB in all) for reuse by the next convolution.
class BufferPool {
 public:
  // Never destroyed: spectra kept by objects that outlive this header's statics (a node
  // implementation in the registry holding a forward's saved state) release into it at exit.
  static BufferPool& instance() {
    static BufferPool* pool = new BufferPool;
    return *pool;
  }
  void* acquire(std::size_t bytes) {
    {
      std::lock_guard lock(mutex_);
      // The smallest buffer that fits, and of those the one released last: the likeliest to be in
      // the caches still (a multimap keeps equal keys in insertion order).
      auto it = free_.lower_bound(bytes);
      if (it != free_.end() && it->first <= 2 * bytes) {
        it = std::prev(free_.upper_bound(it->first));
        void* p = it->second;
        kept_ -= it->first;
        free_.erase(it);
        return p;
      }
    }
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) throw std::bad_alloc();
    return p;
  }
  // `bytes` must be what acquire() was asked for.
  void release(void* p, std::size_t bytes) {
    if (!p) return;
    std::lock_guard lock(mutex_);
    if (kept_ + bytes > (std::size_t(1) << 30)) {
      std::free(p);
      return;
    }
    free_.emplace(bytes, p);
    kept_ += bytes;
  }
 private:
  std::mutex mutex_;
  std::multimap<std::size_t, void*> free_;
  std::size_t kept_ = 0;
};

template <class T>
struct Spectra {
  // `stride`: elements from one row to the next within a group, one more than `group`: at a stride of
  // exactly 16 elements (2 KiB for float) the GEMM's loads over rows would all fall into 4 of the 64 L1
  // sets and evict each other; 17 elements spread them over 32.
  static constexpr std::int64_t blk = spectral_block<T>, e = 2 * blk, group = 16, stride = group + 1;
  std::int64_t rows = 0, blocks = 0;
  T* data = nullptr;

  Spectra() = default;
  Spectra(std::int64_t r, std::int64_t b, bool zero) : rows(r), blocks(b) {
    data = static_cast<T*>(BufferPool::instance().acquire(bytes()));
    if (zero) std::fill(data, data + count(), T(0));
  }
  Spectra(Spectra&& o) noexcept : rows(o.rows), blocks(o.blocks), data(o.data) { o.data = nullptr; }
  Spectra& operator=(Spectra&& o) noexcept {
    if (this != &o) {
      BufferPool::instance().release(data, bytes());
      rows = o.rows;
      blocks = o.blocks;
      data = o.data;
      o.data = nullptr;
    }
    return *this;
  }
  Spectra(const Spectra&) = delete;
  Spectra& operator=(const Spectra&) = delete;
  ~Spectra() { BufferPool::instance().release(data, bytes()); }

  std::int64_t groups() const { return (blocks + group - 1) / group; }
  std::int64_t count() const { return groups() * rows * stride * e; }
  std::size_t bytes() const { return std::size_t(count()) * sizeof(T); }
  // Element (block, row); the next row of the same block is `stride` elements further.
  T* at(std::int64_t block, std::int64_t row) { return data + (((block / group) * rows + row) * stride + block % group) * e; }
  const T* at(std::int64_t block, std::int64_t row) const {
    return data + (((block / group) * rows + row) * stride + block % group) * e;
  }
};

}  // namespace nodal::cpu::spectral
