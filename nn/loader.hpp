#pragma once
// Mini-batches of a Dataset, shuffled per epoch and prepared on a background thread.
//
//   nn::Loader loader(train, {.batch_size = 64, .seed = 1});
//   for (int epoch = 0; epoch < epochs; ++epoch)
//     for (const nn::Batch& batch : loader.epoch(epoch)) { ... batch.images, batch.labels ... }
//
// or, explicitly: loader.start_epoch(epoch); while (auto batch = loader.next()) { ... }
//
// Determinism: the order of epoch e is a Fisher–Yates shuffle driven by splitmix64 seeded with
// (seed, e), with our own bounded-integer draw (not std::uniform_int_distribution, whose output
// differs between standard libraries). It depends on nothing else: not on the thread count,
// the prefetch setting, or which epochs were visited before. shuffle = false keeps file order.
//
// Prefetching: start_epoch starts one producer thread that gathers batches into a queue of at
// most 2 while the consumer trains on the previous one. An exception on the producer (including
// one thrown by `transform`) is rethrown by next() on the consumer's thread. Starting another
// epoch or destroying the loader mid-epoch stops and joins the producer first.
//
// Buffers: every batch is a fresh pair of contiguous tensors from the CPU buffer pool, so in
// steady state (after the first epoch) the pool serves them without system allocations. A batch
// stays valid for as long as the caller keeps it.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "nodal/nn/dataset.hpp"

namespace nodal::nn {

struct Batch {
  Tensor images;           // [B, ...] rows of Dataset::images
  Tensor labels;           // [B]
  std::int64_t index = 0;  // position of the batch in its epoch
};

struct LoaderOptions {
  std::int64_t batch_size = 64;
  bool shuffle = true;
  bool drop_last = false;  // drop a last batch smaller than batch_size
  std::uint64_t seed = 0;
  bool prefetch = true;  // false: next() gathers on the caller's thread
  // Runs on the producer thread after a batch is gathered (augmentation); may throw.
  std::function<void(Batch&)> transform;
};

class Loader {
 public:
  Loader(Dataset data, LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  std::int64_t batches_per_epoch() const;
  // The sample order of epoch `epoch` (what start_epoch uses).
  std::vector<std::int64_t> epoch_order(std::uint64_t epoch) const;
  // Begins an epoch (stopping the previous one if it is still running).
  void start_epoch(std::uint64_t epoch);
  // The next batch of the current epoch; nullopt at its end (or before any start_epoch).
  std::optional<Batch> next();

  // Range-for over one epoch: starts it, then yields next() until the end.
  class EpochRange;
  EpochRange epoch(std::uint64_t epoch);

 private:
  Batch gather(std::int64_t index) const;
  void produce();
  void stop();

  Dataset data_;
  LoaderOptions options_;
  std::int64_t row_bytes_ = 0;
  std::vector<std::int64_t> order_;
  std::int64_t next_index_ = 0;  // without prefetch: the next batch to gather

  std::thread producer_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Batch> queue_;
  std::exception_ptr error_;
  bool producing_done_ = true;
  bool stop_requested_ = false;
  static constexpr std::size_t queue_capacity = 2;
};

class Loader::EpochRange {
 public:
  struct End {};
  class Iterator {
   public:
    explicit Iterator(Loader* loader) : loader_(loader), current_(loader->next()) {}
    const Batch& operator*() const { return *current_; }
    const Batch* operator->() const { return &*current_; }
    Iterator& operator++() {
      current_ = loader_->next();
      return *this;
    }
    bool operator==(End) const { return !current_.has_value(); }

   private:
    Loader* loader_;
    std::optional<Batch> current_;
  };
  explicit EpochRange(Loader* loader) : loader_(loader) {}
  Iterator begin() { return Iterator(loader_); }
  End end() { return {}; }

 private:
  Loader* loader_;
};

inline Loader::EpochRange Loader::epoch(std::uint64_t e) {
  start_epoch(e);
  return EpochRange(this);
}

}  // namespace nodal::nn
