#include "nodal/nn/loader.hpp"

#include <fmt/format.h>

#include <cstring>
#include <utility>

#include "nodal/core/error.hpp"

namespace nodal::nn {
namespace {

// splitmix64: a tiny, well-mixed generator whose output is fixed by its definition.
struct SplitMix64 {
  std::uint64_t state;
  std::uint64_t operator()() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound) without modulo bias: reject the top partial block.
  std::uint64_t below(std::uint64_t bound) {
    const std::uint64_t limit = ~std::uint64_t(0) - (~std::uint64_t(0) % bound);
    std::uint64_t r;
    do r = (*this)();
    while (r >= limit);
    return r % bound;
  }
};

}  // namespace

Loader::Loader(Dataset data, LoaderOptions options) : data_(std::move(data)), options_(std::move(options)) {
  if (options_.batch_size < 1)
    throw ValueError(fmt::format("Loader: batch_size must be >= 1, got {}", options_.batch_size));
  if (!data_.images.defined() || !data_.labels.defined())
    throw ValueError("Loader: the dataset has no images or no labels");
  if (data_.images.rank() < 1 || data_.images.dim(0) != data_.size())
    throw ShapeError(fmt::format("Loader: images {} and labels {} disagree on the sample count",
                                 to_string(data_.images.shape()), to_string(data_.labels.shape())));
  // Gathering copies rows of bytes: make both tensors contiguous once, here.
  data_.images = data_.images.contiguous();
  data_.labels = data_.labels.contiguous();
  row_bytes_ = data_.size() > 0 ? std::int64_t(data_.images.nbytes()) / data_.size() : 0;
}

Loader::~Loader() { stop(); }

std::int64_t Loader::batches_per_epoch() const {
  const std::int64_t n = data_.size(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

std::vector<std::int64_t> Loader::epoch_order(std::uint64_t epoch) const {
  std::vector<std::int64_t> order(std::size_t(data_.size()));
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = std::int64_t(i);
  if (!options_.shuffle) return order;
  // Seed from (seed, epoch) through one splitmix step so that nearby seeds and epochs differ.
  SplitMix64 rng{SplitMix64{options_.seed ^ (epoch * 0xD1B54A32D192ED03ull)}()};
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  return order;
}

Batch Loader::gather(std::int64_t index) const {
  const std::int64_t first = index * options_.batch_size;
  const std::int64_t count = std::min(options_.batch_size, data_.size() - first);
  Shape shape = data_.images.shape();
  shape[0] = count;
  Batch b{Tensor::empty(shape, data_.images.dtype()), Tensor::empty(Shape{count}, data_.labels.dtype()), index};
  auto* dst = static_cast<std::byte*>(b.images.buffer()->host_data());
  const auto* src = static_cast<const std::byte*>(data_.images.buffer()->host_data()) +
                    data_.images.offset() * std::int64_t(dtype_size(data_.images.dtype()));
  const std::size_t label_bytes = dtype_size(data_.labels.dtype());
  auto* ldst = static_cast<std::byte*>(b.labels.buffer()->host_data());
  const auto* lsrc = static_cast<const std::byte*>(data_.labels.buffer()->host_data()) +
                     data_.labels.offset() * std::int64_t(label_bytes);
  for (std::int64_t k = 0; k < count; ++k) {
    const std::int64_t i = order_[std::size_t(first + k)];
    std::memcpy(dst + k * row_bytes_, src + i * row_bytes_, std::size_t(row_bytes_));
    std::memcpy(ldst + std::size_t(k) * label_bytes, lsrc + std::size_t(i) * label_bytes, label_bytes);
  }
  if (options_.transform) options_.transform(b);
  return b;
}

void Loader::produce() {
  try {
    const std::int64_t batches = batches_per_epoch();
    for (std::int64_t index = 0; index < batches; ++index) {
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return stop_requested_ || queue_.size() < queue_capacity; });
        if (stop_requested_) break;
      }
      Batch b = gather(index);  // outside the lock: the consumer keeps popping meanwhile
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(b));
      changed_.notify_all();
    }
  } catch (...) {
    std::lock_guard lock(mutex_);
    error_ = std::current_exception();
  }
  std::lock_guard lock(mutex_);
  producing_done_ = true;
  changed_.notify_all();
}

void Loader::stop() {
  if (producer_.joinable()) {
    {
      std::lock_guard lock(mutex_);
      stop_requested_ = true;
      changed_.notify_all();
    }
    producer_.join();
  }
  queue_.clear();
  error_ = nullptr;
  stop_requested_ = false;
  producing_done_ = true;
}

void Loader::start_epoch(std::uint64_t epoch) {
  stop();
  order_ = epoch_order(epoch);
  next_index_ = 0;
  if (!options_.prefetch) return;
  producing_done_ = false;
  producer_ = std::thread([this] { produce(); });
}

std::optional<Batch> Loader::next() {
  if (!options_.prefetch) {
    if (order_.empty() || next_index_ >= batches_per_epoch()) return std::nullopt;
    return gather(next_index_++);
  }
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !queue_.empty() || producing_done_; });
  if (!queue_.empty()) {
    Batch b = std::move(queue_.front());
    queue_.pop_front();
    changed_.notify_all();
    return b;
  }
  // Producer finished: rethrow its error once, then report the end of the epoch.
  if (error_) {
    std::exception_ptr e = std::exchange(error_, nullptr);
    std::rethrow_exception(e);
  }
  return std::nullopt;
}

}  // namespace nodal::nn
