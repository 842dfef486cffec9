// The OpenCL backend's side of core's DeviceMemory hook (core/device_memory.hpp): registered when
// the library loads, so that Tensor::empty(shape, dtype, Backend::opencl) and Tensor::to() reach
// the current device's pool and queue. Transfers are blocking: the host memory handed to an upload
// may be freed as soon as the call returns, and a download's result is read right after it.
#include <fmt/format.h>

#include "nodal/backends/opencl/activity.hpp"
#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/context.hpp"
#include "nodal/backends/opencl/copy.hpp"
#include "nodal/core/device_memory.hpp"
#include "nodal/core/error.hpp"

namespace nodal::opencl {
namespace {

void check_range(const Buffer& buffer, std::size_t offset, std::size_t bytes, std::string_view op) {
  if (offset > buffer.bytes() || bytes > buffer.bytes() - offset)
    throw ValueError(fmt::format("{}: {} bytes at offset {} do not fit a buffer of {} bytes", op, bytes, offset,
                                 buffer.bytes()));
}

class OpenClMemory final : public DeviceMemory {
 public:
  std::shared_ptr<Buffer> allocate(std::size_t bytes) override { return current_context().pool().allocate(bytes); }

  void upload(const void* host, Buffer& dst, std::size_t offset, std::size_t bytes) override {
    const DeviceBuffer& d = device_buffer(dst, "opencl upload");
    check_range(dst, offset, bytes, "opencl upload");
    if (bytes == 0) return;
    check(clEnqueueWriteBuffer(d.context().queue(), d.mem(), CL_TRUE, offset, bytes, host, 0, nullptr, nullptr),
          "clEnqueueWriteBuffer", fmt::format("{} bytes to {}", bytes, d.context().device().name));
    detail::note_upload(bytes);
  }

  void download(const Buffer& src, std::size_t offset, void* host, std::size_t bytes) override {
    const DeviceBuffer& d = device_buffer(src, "opencl download");
    check_range(src, offset, bytes, "opencl download");
    if (bytes == 0) return;
    check(clEnqueueReadBuffer(d.context().queue(), d.mem(), CL_TRUE, offset, bytes, host, 0, nullptr, nullptr),
          "clEnqueueReadBuffer", fmt::format("{} bytes from {}", bytes, d.context().device().name));
    detail::note_download(bytes);
  }

  // Tensor::clone / contiguous on the device (kernels/copy.cl); views on two devices go through the host.
  bool copy(const Tensor& src, Tensor& dst) override {
    if (&device_buffer(*src.buffer(), "opencl copy").context() != &device_buffer(*dst.buffer(), "opencl copy").context())
      return false;
    copy_into(src, dst, "Tensor::clone");
    return true;
  }

  // Tensor::astype on the device (kernels/copy.cl, strided_cast); through the host across devices
  // and where float64 is involved on a device without cl_khr_fp64.
  bool cast(const Tensor& src, Tensor& dst) override {
    const Context& context = device_buffer(*src.buffer(), "opencl cast").context();
    if (&context != &device_buffer(*dst.buffer(), "opencl cast").context()) return false;
    if (!can_cast(context, src.dtype(), dst.dtype())) return false;
    cast_into(src, dst, "Tensor::astype");
    return true;
  }

  // Tensor::zeros / ones / full on the device (kernels/copy.cl, fill: the value's bit pattern).
  bool fill(Tensor& dst, std::complex<double> value) override {
    opencl::fill(dst, value, "Tensor::full");
    return true;
  }
};

[[maybe_unused]] const bool registered = register_device_memory(Backend::opencl, new OpenClMemory);

}  // namespace
}  // namespace nodal::opencl
