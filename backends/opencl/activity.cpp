// Relaxed atomics: the counters order nothing, they only have to add up.
#include "nodal/backends/opencl/activity.hpp"

#include <atomic>

namespace nodal::opencl {
namespace {
std::atomic<std::uint64_t> launches{0}, uploads{0}, upload_bytes{0}, downloads{0}, download_bytes{0};
constexpr auto relaxed = std::memory_order_relaxed;
}  // namespace

Activity activity() {
  return {launches.load(relaxed), uploads.load(relaxed), upload_bytes.load(relaxed), downloads.load(relaxed),
          download_bytes.load(relaxed)};
}

Activity activity_since(const Activity& since) {
  const Activity now = activity();
  return {now.launches - since.launches, now.uploads - since.uploads, now.upload_bytes - since.upload_bytes,
          now.downloads - since.downloads, now.download_bytes - since.download_bytes};
}

namespace detail {
void note_launch() { launches.fetch_add(1, relaxed); }
void note_upload(std::uint64_t bytes) {
  uploads.fetch_add(1, relaxed);
  upload_bytes.fetch_add(bytes, relaxed);
}
void note_download(std::uint64_t bytes) {
  downloads.fetch_add(1, relaxed);
  download_bytes.fetch_add(bytes, relaxed);
}
}  // namespace detail

}  // namespace nodal::opencl
