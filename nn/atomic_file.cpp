#include "nodal/nn/atomic_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "nodal/core/error.hpp"

namespace nodal::nn {

AtomicFile::AtomicFile(std::filesystem::path target, std::string op, WriteHook hook)
    : target_(std::move(target)), op_(std::move(op)), hook_(std::move(hook)) {
  // A unique hidden name in the target's folder: rename is atomic only within one file system.
  static std::atomic<std::uint64_t> counter{0};
  temp_ = target_;
  temp_.replace_filename(fmt::format(".{}.tmp-{}-{}", target_.filename().string(), ::getpid(), counter++));
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) throw IoError(fmt::format("{}: cannot create '{}': {}", op_, temp_.string(), std::strerror(errno)));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    std::error_code ignored;
    std::filesystem::remove(temp_, ignored);
  }
}

void AtomicFile::fail(const std::string& what) {
  const std::string message =
      fmt::format("{}: writing '{}' failed: {}; the previous file is unchanged", op_, target_.string(), what);
  ::close(fd_);
  fd_ = -1;
  std::error_code ignored;
  std::filesystem::remove(temp_, ignored);
  throw IoError(message);
}

void AtomicFile::write(const void* data, std::size_t bytes) {
  if (fd_ < 0) throw IoError(fmt::format("{}: '{}' is already closed", op_, temp_.string()));
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd_, p, bytes);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(std::strerror(errno));
    }
    p += n;
    bytes -= std::size_t(n);
    written_ += std::size_t(n);
  }
  if (hook_) hook_(written_);  // may throw: the destructor then removes the temporary file
}

void AtomicFile::commit() {
  if (fd_ < 0) throw IoError(fmt::format("{}: '{}' is already closed", op_, temp_.string()));
  if (::fsync(fd_) != 0) fail(fmt::format("fsync: {}", std::strerror(errno)));
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const std::string error = std::strerror(errno);
    std::error_code ignored;
    std::filesystem::remove(temp_, ignored);
    throw IoError(fmt::format("{}: closing '{}' failed: {}", op_, temp_.string(), error));
  }
  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    const std::string error = std::strerror(errno);
    std::error_code ignored;
    std::filesystem::remove(temp_, ignored);
    throw IoError(fmt::format("{}: cannot rename '{}' to '{}': {}", op_, temp_.string(), target_.string(), error));
  }
  // Make the rename itself durable: sync the folder's entry list (best effort).
  const std::filesystem::path folder = target_.has_parent_path() ? target_.parent_path() : ".";
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace nodal::nn
