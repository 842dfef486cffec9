#include "nodal/core/tensor.hpp"

#include <cstring>
#include <numeric>

#include "nodal/core/device_memory.hpp"
#include "nodal/core/error.hpp"
#include "nodal/core/strided.hpp"

namespace nodal {

Tensor::Tensor(std::shared_ptr<Buffer> buffer, Shape shape, Strides strides, std::int64_t offset, DType dtype)
    : buffer_(std::move(buffer)), shape_(shape), strides_(strides), offset_(offset), dtype_(dtype) {}

Backend Tensor::backend() const { return buffer_ ? buffer_->backend() : Backend::cpu; }

std::int64_t Tensor::dim(int axis) const { return shape_[normalize_axis(axis, rank(), "Tensor::dim")]; }

bool Tensor::is_contiguous() const {
  std::int64_t step = 1;
  for (int i = rank() - 1; i >= 0; --i) {
    if (shape_[i] != 1 && strides_[i] != step) return false;
    step *= shape_[i];
  }
  return true;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Backend backend) {
  const std::int64_t n = shape.numel();
  const std::size_t elem = dtype_size(dtype);
  if (n > std::int64_t(std::size_t(1) << 46) / std::int64_t(elem))
    throw ValueError(fmt::format("Tensor::empty: shape {} of {} needs {} elements, more than any machine holds",
                                 to_string(shape), dtype_name(dtype), n));
  if (backend != Backend::cpu)
    return Tensor(device_memory(backend, "Tensor::empty").allocate(std::size_t(n) * elem), shape,
                  contiguous_strides(shape), 0, dtype);
  return Tensor(allocate_cpu(std::size_t(n) * elem), shape, contiguous_strides(shape), 0, dtype);
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Backend backend) {
  if (backend != Backend::cpu) {  // filled on the device where the backend can, else on the host and sent
    Tensor t = empty(shape, dtype, backend);
    if (device_memory(backend, "Tensor::zeros").fill(t, 0.0)) return t;
    return zeros(shape, dtype).to(backend);
  }
  Tensor t = empty(shape, dtype, backend);
  std::memset(t.buffer_->host_data(), 0, t.nbytes());
  return t;
}

Tensor Tensor::ones(const Shape& shape, DType dtype, Backend backend) { return full(shape, 1.0, dtype, backend); }

Tensor Tensor::full(const Shape& shape, std::complex<double> value, DType dtype, Backend backend) {
  if (!is_complex(dtype) && value.imag() != 0.0)
    throw DTypeError(fmt::format("Tensor::full: complex value {}+{}i for real dtype {}", value.real(), value.imag(),
                                 dtype_name(dtype)));
  if (backend != Backend::cpu) {  // filled on the device where the backend can, else on the host and sent
    Tensor t = empty(shape, dtype, backend);
    if (device_memory(backend, "Tensor::full").fill(t, value)) return t;
    return full(shape, value, dtype).to(backend);
  }
  Tensor t = empty(shape, dtype, backend);
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T v;
    if constexpr (is_complex_v<T>) v = T(value); else v = T(value.real());
    std::fill_n(t.data<T>(), t.numel(), v);
  });
  return t;
}

Tensor Tensor::arange(std::int64_t n, DType dtype) { return arange(0.0, double(n), 1.0, dtype); }

Tensor Tensor::arange(double start, double stop, double step, DType dtype) {
  if (step == 0.0 || !std::isfinite(start) || !std::isfinite(stop) || !std::isfinite(step))
    throw ValueError(fmt::format("Tensor::arange: invalid range start={} stop={} step={}", start, stop, step));
  const double count = std::ceil((stop - start) / step);
  const std::int64_t n = count > 0 ? std::int64_t(count) : 0;
  Tensor t = empty(Shape{n}, dtype);
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < n; ++i) p[i] = T(start + double(i) * step);
  });
  return t;
}

template <class T> Tensor Tensor::from_data(std::span<const T> values, const Shape& shape) {
  if (std::int64_t(values.size()) != shape.numel())
    throw ShapeError(fmt::format("Tensor::from_data: {} values cannot fill shape {} ({} elements)", values.size(),
                                 to_string(shape), shape.numel()));
  Tensor t = empty(shape, dtype_of<T>);
  std::copy(values.begin(), values.end(), t.data<T>());
  return t;
}
template Tensor Tensor::from_data(std::span<const float>, const Shape&);
template Tensor Tensor::from_data(std::span<const double>, const Shape&);
template Tensor Tensor::from_data(std::span<const complex64>, const Shape&);
template Tensor Tensor::from_data(std::span<const complex128>, const Shape&);

void Tensor::check_host(std::string_view op) const {
  if (!buffer_) throw ValueError(fmt::format("{}: the tensor is undefined", op));
  if (!buffer_->host_data())
    throw BackendError(fmt::format("{}: tensor {} lives on backend '{}'; move it with .to(Backend::cpu) first", op,
                                   describe(*this), backend_name(backend())));
}

template <class T> T* Tensor::data() {
  check_host("Tensor::data");
  if (dtype_of<T> != dtype_)
    throw DTypeError(fmt::format("Tensor::data<{}>: tensor {} has dtype {}", dtype_name(dtype_of<T>), to_string(shape_),
                                 dtype_name(dtype_)));
  return static_cast<T*>(buffer_->host_data()) + offset_;
}
template <class T> const T* Tensor::data() const { return const_cast<Tensor*>(this)->data<T>(); }
template float* Tensor::data();
template double* Tensor::data();
template complex64* Tensor::data();
template complex128* Tensor::data();
template const float* Tensor::data() const;
template const double* Tensor::data() const;
template const complex64* Tensor::data() const;
template const complex128* Tensor::data() const;

template <class T> std::vector<T> Tensor::to_vector() const {
  check_host("Tensor::to_vector");
  if constexpr (!is_complex_v<T>) {
    if (is_complex(dtype_))
      throw DTypeError(fmt::format("Tensor::to_vector<{}>: tensor has complex dtype {}; read it as a complex type",
                                   dtype_name(dtype_of<T>), dtype_name(dtype_)));
  }
  const Tensor source = dtype_ == dtype_of<T> ? contiguous() : astype(dtype_of<T>);
  const T* p = source.data<T>();
  return std::vector<T>(p, p + source.numel());
}
template std::vector<float> Tensor::to_vector() const;
template std::vector<double> Tensor::to_vector() const;
template std::vector<complex64> Tensor::to_vector() const;
template std::vector<complex128> Tensor::to_vector() const;

template <class T> T Tensor::item() const {
  if (numel() != 1)
    throw ShapeError(fmt::format("Tensor::item: tensor of shape {} has {} elements, not 1", to_string(shape_), numel()));
  return to_vector<T>()[0];
}
template float Tensor::item() const;
template double Tensor::item() const;
template complex64 Tensor::item() const;
template complex128 Tensor::item() const;

void Tensor::copy_from(const Tensor& source) {
  check_host("Tensor::copy_from");
  source.check_host("Tensor::copy_from");
  if (!(source.shape_ == shape_))
    throw ShapeError(fmt::format("Tensor::copy_from: source shape {} differs from destination shape {}",
                                 to_string(source.shape_), to_string(shape_)));
  if (!is_complex(dtype_) && is_complex(source.dtype_))
    throw DTypeError(fmt::format("Tensor::copy_from: cannot copy complex {} into real {}", dtype_name(source.dtype_),
                                 dtype_name(dtype_)));
  visit_dtype(dtype_, [&](auto dst_tag) {
    using D = typename decltype(dst_tag)::type;
    visit_dtype(source.dtype_, [&](auto src_tag) {
      using S = typename decltype(src_tag)::type;
      D* dst = static_cast<D*>(buffer_->host_data()) + offset_;
      const S* src = static_cast<const S*>(source.buffer_->host_data()) + source.offset_;
      const Strides* strides[2] = {&strides_, &source.strides_};
      for_each_row<2>(shape_, strides, [&](const std::int64_t* base, std::int64_t n, const std::int64_t* step) {
        D* d = dst + base[0];
        const S* s = src + base[1];
        for (std::int64_t i = 0; i < n; ++i) {
          if constexpr (is_complex_v<S> && !is_complex_v<D>) d[i * step[0]] = D(0);  // unreachable: checked above
          else d[i * step[0]] = D(s[i * step[1]]);
        }
      });
    });
  });
}

Tensor Tensor::contiguous() const {
  if (is_contiguous() && defined()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  // Device tensors: a copy kernel where the backend has one, else through the host.
  if (defined() && !buffer_->host_data()) {
    Tensor out = empty(shape_, dtype_, backend());
    if (device_memory(backend(), "Tensor::clone").copy(*this, out)) return out;
    return to(Backend::cpu).clone().to(backend());
  }
  check_host("Tensor::clone");
  Tensor out = empty(shape_, dtype_, backend());
  out.copy_from(*this);
  return out;
}

Tensor Tensor::astype(DType dtype) const {
  if (dtype == dtype_) return *this;
  if (defined() && !buffer_->host_data()) {  // converted on the device where the backend can
    if (!is_complex(dtype) && is_complex(dtype_))
      throw DTypeError(fmt::format("Tensor::astype: cannot convert complex {} to real {} (take real() or abs() first)",
                                   dtype_name(dtype_), dtype_name(dtype)));
    Tensor out = empty(shape_, dtype, backend());
    if (device_memory(backend(), "Tensor::astype").cast(*this, out)) return out;
    return to(Backend::cpu).astype(dtype).to(backend());
  }
  check_host("Tensor::astype");
  Tensor out = empty(shape_, dtype, backend());
  out.copy_from(*this);
  return out;
}

// Moves between the host and a device through the backend's DeviceMemory (core/device_memory.hpp).
// To the device: made contiguous on the host, then one upload. To the host: a contiguous view is
// one download of its bytes; any other view downloads the span of elements it touches, then is
// made contiguous on the host. Device to another device goes through the host.
Tensor Tensor::to(Backend backend) const {
  if (backend == this->backend()) return *this;
  if (!defined()) throw ValueError("Tensor::to: the tensor is undefined");
  if (backend == Backend::any) throw ValueError("Tensor::to: 'any' is not a place where memory lives");
  const std::size_t elem = dtype_size(dtype_);
  if (this->backend() == Backend::cpu) {
    const Tensor source = contiguous();
    Tensor out = empty(shape_, dtype_, backend);
    if (numel() > 0)
      device_memory(backend, "Tensor::to").upload(
          static_cast<const char*>(source.buffer_->host_data()) + std::size_t(source.offset_) * elem, *out.buffer_, 0,
          out.nbytes());
    return out;
  }
  if (backend != Backend::cpu) return to(Backend::cpu).to(backend);
  DeviceMemory& device = device_memory(this->backend(), "Tensor::to");
  if (numel() == 0) return empty(shape_, dtype_);
  if (is_contiguous()) {
    Tensor out = empty(shape_, dtype_);
    device.download(*buffer_, std::size_t(offset_) * elem, out.buffer_->host_data(), out.nbytes());
    return out;
  }
  std::int64_t low = offset_, high = offset_;
  for (int i = 0; i < rank(); ++i) {
    const std::int64_t reach = strides_[i] * (shape_[i] - 1);
    (reach < 0 ? low : high) += reach;
  }
  Tensor span = empty(Shape{high - low + 1}, dtype_);
  device.download(*buffer_, std::size_t(low) * elem, span.buffer_->host_data(), span.nbytes());
  return Tensor(span.buffer_, shape_, strides_, offset_ - low, dtype_).contiguous();
}

std::string describe(const Tensor& t) {
  if (!t.defined()) return "Tensor(undefined)";
  return fmt::format("Tensor{} {} {}", to_string(t.shape()), dtype_name(t.dtype()), backend_name(t.backend()));
}

}  // namespace nodal
