#pragma once
// Element types and the one switch that turns a runtime dtype into a compile-time type.
#include <complex>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "nodal/core/error.hpp"

namespace nodal {

enum class DType : std::uint8_t { float32, float64, complex64, complex128 };

using complex64 = std::complex<float>;
using complex128 = std::complex<double>;

constexpr std::string_view dtype_name(DType d) {
  switch (d) {
    case DType::float32: return "float32";
    case DType::float64: return "float64";
    case DType::complex64: return "complex64";
    case DType::complex128: return "complex128";
  }
  return "?";
}
constexpr std::size_t dtype_size(DType d) {
  switch (d) {
    case DType::float32: return 4;
    case DType::float64: return 8;
    case DType::complex64: return 8;
    case DType::complex128: return 16;
  }
  return 0;
}
constexpr bool is_complex(DType d) { return d == DType::complex64 || d == DType::complex128; }
// float32 <-> complex64, float64 <-> complex128
constexpr DType real_dtype(DType d) {
  return d == DType::complex64 ? DType::float32 : d == DType::complex128 ? DType::float64 : d;
}
constexpr DType complex_dtype(DType d) {
  return d == DType::float32 ? DType::complex64 : d == DType::float64 ? DType::complex128 : d;
}

template <class T> struct dtype_of_t;
template <> struct dtype_of_t<float> { static constexpr DType value = DType::float32; };
template <> struct dtype_of_t<double> { static constexpr DType value = DType::float64; };
template <> struct dtype_of_t<complex64> { static constexpr DType value = DType::complex64; };
template <> struct dtype_of_t<complex128> { static constexpr DType value = DType::complex128; };
template <class T> inline constexpr DType dtype_of = dtype_of_t<T>::value;

template <class T> struct is_complex_type : std::false_type {};
template <class T> struct is_complex_type<std::complex<T>> : std::true_type {};
template <class T> inline constexpr bool is_complex_v = is_complex_type<T>::value;

template <class T> struct TypeTag { using type = T; };

// visit_dtype(d, [](auto tag) { using T = typename decltype(tag)::type; ... });
template <class F> decltype(auto) visit_dtype(DType d, F&& f) {
  switch (d) {
    case DType::float32: return f(TypeTag<float>{});
    case DType::float64: return f(TypeTag<double>{});
    case DType::complex64: return f(TypeTag<complex64>{});
    case DType::complex128: return f(TypeTag<complex128>{});
  }
  throw DTypeError("visit_dtype: invalid dtype value");
}
// Real dtypes only; a complex dtype is a DTypeError naming the operation.
template <class F> decltype(auto) visit_real_dtype(DType d, std::string_view op, F&& f) {
  switch (d) {
    case DType::float32: return f(TypeTag<float>{});
    case DType::float64: return f(TypeTag<double>{});
    default: break;
  }
  throw DTypeError(std::string(op) + ": supports float32 and float64 only, got " + std::string(dtype_name(d)));
}

}  // namespace nodal
