#include "nodal/core/npy.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "nodal/core/error.hpp"
#include "nodal/core/npy_header.hpp"

namespace nodal {
namespace {

// Reverses the bytes of every scalar component (a complex element is two components).
void swap_components(std::byte* data, std::size_t bytes, std::size_t component) {
  for (std::size_t at = 0; at + component <= bytes; at += component) std::reverse(data + at, data + at + component);
}

// The data has been copied into `raw` (contiguous, shape as stored); fix byte order and layout.
Tensor finish_load(Tensor raw, const npy::Header& h) {
  if (h.swap_bytes)
    swap_components(static_cast<std::byte*>(raw.buffer()->host_data()), h.data_bytes,
                    dtype_size(real_dtype(h.dtype)));
  if (!h.fortran_order) return raw;
  // Fortran order: the bytes are a C-order array of the reversed shape; reversing its axes gives
  // the intended array as a view, and contiguous() lays it out in C order.
  std::vector<int> axes(std::size_t(raw.rank()));
  for (int i = 0; i < raw.rank(); ++i) axes[std::size_t(i)] = raw.rank() - 1 - i;
  return raw.permute(std::span<const int>(axes)).contiguous();
}

// The shape the data is stored in: reversed for Fortran order.
Shape stored_shape(const npy::Header& h) {
  Shape s = h.shape;
  if (h.fortran_order) std::reverse(s.begin(), s.end());
  return s;
}

void check_saveable(const Tensor& t, std::string_view op) {
  if (!t.defined()) throw ValueError(fmt::format("{}: the tensor is undefined", op));
  if (t.buffer()->host_data() == nullptr)
    throw BackendError(fmt::format("{}: tensor {} is on backend '{}'; move it with .to(Backend::cpu) first", op,
                                   describe(t), backend_name(t.backend())));
}

std::string system_error() { return std::strerror(errno); }

// Writes all of `bytes`, retrying on partial writes and EINTR.
bool write_all(int fd, const void* data, std::size_t bytes) {
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd, p, bytes);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    bytes -= std::size_t(n);
  }
  return true;
}

}  // namespace

std::vector<std::byte> npy_to_bytes(const Tensor& t) {
  check_saveable(t, "npy_to_bytes");
  const Tensor c = t.contiguous();
  const std::string header = npy::format_header(c.shape(), c.dtype());
  std::vector<std::byte> out(header.size() + c.nbytes());
  std::memcpy(out.data(), header.data(), header.size());
  if (c.nbytes() > 0)
    std::memcpy(out.data() + header.size(), static_cast<const std::byte*>(c.buffer()->host_data()) +
                                                c.offset() * std::int64_t(dtype_size(c.dtype())),
                c.nbytes());
  return out;
}

Tensor npy_from_bytes(std::span<const std::byte> bytes, std::string_view source_name) {
  const npy::Header h = npy::parse_header(bytes, bytes.size(), source_name);
  Tensor raw = Tensor::empty(stored_shape(h), h.dtype);
  if (h.data_bytes > 0) std::memcpy(raw.buffer()->host_data(), bytes.data() + h.data_offset, h.data_bytes);
  return finish_load(std::move(raw), h);
}

Tensor load_npy(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  const std::uint64_t total = std::filesystem::file_size(path, ec);
  if (ec) throw IoError(fmt::format("load_npy: cannot open '{}': {}", name, ec.message()));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("load_npy: cannot open '{}': {}", name, system_error()));

  // Preamble first (to learn the header length, checked against the file size), then exactly
  // the header, then the data straight into the tensor's buffer.
  std::vector<std::byte> head(std::size_t(std::min<std::uint64_t>(total, npy::max_preamble_bytes)));
  in.read(reinterpret_cast<char*>(head.data()), std::streamsize(head.size()));
  if (!in) throw IoError(fmt::format("load_npy: '{}': read error in the preamble", name));
  const std::size_t end = npy::header_end(head, total, name);
  const std::size_t have = head.size();
  head.resize(end);
  if (end > have) {
    in.read(reinterpret_cast<char*>(head.data() + have), std::streamsize(end - have));
    if (!in) throw IoError(fmt::format("load_npy: '{}': read error in the header", name));
  }
  const npy::Header h = npy::parse_header(head, total, name);
  Tensor raw = Tensor::empty(stored_shape(h), h.dtype);
  in.seekg(std::streamoff(h.data_offset));
  in.read(static_cast<char*>(raw.buffer()->host_data()), std::streamsize(h.data_bytes));
  if (!in || std::size_t(in.gcount()) != h.data_bytes)
    throw IoError(fmt::format("load_npy: '{}': truncated: read {} of {} data bytes", name, in.gcount(), h.data_bytes));
  return finish_load(std::move(raw), h);
}

void save_npy(const std::filesystem::path& path, const Tensor& t) {
  check_saveable(t, "save_npy");
  const std::vector<std::byte> bytes = npy_to_bytes(t);
  const std::string name = path.string();
  // A unique temporary name in the same folder (rename is only atomic within one filesystem).
  static std::atomic<std::uint64_t> counter{0};
  std::filesystem::path temp = path;
  temp.replace_filename(fmt::format(".{}.tmp-{}-{}", path.filename().string(), ::getpid(), counter++));
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw IoError(fmt::format("save_npy: cannot create '{}': {}", temp.string(), system_error()));
  const bool written = write_all(fd, bytes.data(), bytes.size()) && ::fsync(fd) == 0;
  const std::string write_error = written ? std::string() : system_error();
  const bool closed = ::close(fd) == 0;
  std::error_code ec;
  if (!written || !closed) {
    std::filesystem::remove(temp, ec);
    throw IoError(fmt::format("save_npy: writing '{}' failed: {}", name, written ? system_error() : write_error));
  }
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    throw IoError(fmt::format("save_npy: cannot rename '{}' to '{}': {}", temp.string(), name, ec.message()));
  }
}

}  // namespace nodal
