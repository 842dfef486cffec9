// Transposition kernels: every variant on rectangular, prime, power-of-two and degenerate shapes,
// with padded leading dimensions whose padding must stay untouched.
#include <doctest/doctest.h>

#include <algorithm>
#include <complex>
#include <cstddef>
#include <type_traits>
#include <vector>

#include "nodal/core/error.hpp"
#include "nodal/fft/transpose.hpp"

using nodal::fft::TransposeMethod;

namespace {

struct Shape {
  std::size_t rows, cols;
};

// Every element gets a value that encodes its position, so a misplaced element is detected.
template <class T>
T encode(std::size_t i, std::size_t j) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(i * 4096 + j);
  } else {
    using R = typename T::value_type;
    return T(static_cast<R>(i), static_cast<R>(j) + R(0.5));
  }
}

template <class T>
void check_variant(TransposeMethod method, Shape shape, std::size_t in_pad, std::size_t out_pad) {
  const std::size_t rows = shape.rows, cols = shape.cols;
  const std::size_t in_ld = cols + in_pad, out_ld = rows + out_pad;
  const T sentinel = encode<T>(4095, 4095);
  std::vector<T> in(rows * in_ld, sentinel), out(cols * out_ld, sentinel);
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) in[i * in_ld + j] = encode<T>(i, j);
  nodal::fft::transpose(in.data(), out.data(), rows, cols, in_ld, out_ld, method);
  std::size_t wrong = 0, padding_touched = 0;
  for (std::size_t j = 0; j < cols; ++j)
    for (std::size_t i = 0; i < out_ld; ++i) {
      if (i < rows) wrong += out[j * out_ld + i] != encode<T>(i, j);
      else padding_touched += out[j * out_ld + i] != sentinel;
    }
  INFO("method ", nodal::fft::to_string(method), " shape ", rows, "x", cols, " in_ld ", in_ld,
       " out_ld ", out_ld);
  CHECK(wrong == 0);
  CHECK(padding_touched == 0);
}

const std::vector<Shape> shapes = {
    {1, 1},   {1, 17},   {17, 1},   {2, 3},    {31, 37},  {37, 31},  {64, 64},  {128, 64},
    {64, 128}, {127, 129}, {256, 256}, {97, 211}, {33, 1000}, {1000, 33}, {512, 96}, {61, 67},
    {12, 8},  {36, 44},  {5, 4},   {4, 6},  // automatic's 4×4 register blocks, with and without edges
};

const TransposeMethod methods[] = {TransposeMethod::naive, TransposeMethod::blocked,
                                   TransposeMethod::recursive, TransposeMethod::automatic};

template <class T>
void check_all() {
  for (TransposeMethod method : methods)
    for (Shape shape : shapes) {
      check_variant<T>(method, shape, 0, 0);
      check_variant<T>(method, shape, 3, 5);
    }
}

}  // namespace

TEST_CASE("transpose: complex<float> in all variants and shapes") { check_all<std::complex<float>>(); }
TEST_CASE("transpose: complex<double> in all variants and shapes") { check_all<std::complex<double>>(); }
TEST_CASE("transpose: float and double in all variants and shapes") {
  check_all<float>();
  check_all<double>();
}

TEST_CASE("transpose: blocked and recursive with tiles that do not divide the shape") {
  const std::size_t rows = 45, cols = 71;
  std::vector<double> in(rows * cols), out(rows * cols);
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) in[i * cols + j] = encode<double>(i, j);
  for (std::size_t tile : {1u, 2u, 7u, 16u, 100u}) {
    std::fill(out.begin(), out.end(), -1.0);
    nodal::fft::transpose_blocked(in.data(), out.data(), rows, cols, cols, rows, tile);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t j = 0; j < cols; ++j) wrong += out[j * rows + i] != encode<double>(i, j);
    CHECK_MESSAGE(wrong == 0, "blocked tile ", tile);
    std::fill(out.begin(), out.end(), -1.0);
    nodal::fft::transpose_recursive(in.data(), out.data(), rows, cols, cols, rows, tile);
    wrong = 0;
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t j = 0; j < cols; ++j) wrong += out[j * rows + i] != encode<double>(i, j);
    CHECK_MESSAGE(wrong == 0, "recursive base ", tile);
  }
}

TEST_CASE("transpose: bad layouts are rejected with ValueError") {
  std::vector<float> a(64), b(64);
  // Leading dimensions smaller than the row length would read across rows.
  CHECK_THROWS_AS(nodal::fft::transpose(a.data(), b.data(), 4, 8, 7, 8), nodal::ValueError);
  CHECK_THROWS_AS(nodal::fft::transpose(a.data(), b.data(), 4, 8, 8, 3), nodal::ValueError);
  // In place and partially overlapping buffers.
  CHECK_THROWS_AS(nodal::fft::transpose(a.data(), a.data(), 8, 8), nodal::ValueError);
  CHECK_THROWS_AS(nodal::fft::transpose(a.data(), a.data() + 16, 4, 8), nodal::ValueError);
  CHECK_THROWS_AS(nodal::fft::transpose_blocked(a.data(), b.data(), 8, 8, 8, 8, 0),
                  nodal::ValueError);
  CHECK_THROWS_AS(nodal::fft::transpose_recursive(a.data(), b.data(), 8, 8, 8, 8, 0),
                  nodal::ValueError);
  // Adjacent but not overlapping buffers are fine.
  CHECK_NOTHROW(nodal::fft::transpose(a.data(), a.data() + 32, 4, 8));
  // Empty matrices are a no-op, even with null pointers.
  CHECK_NOTHROW(nodal::fft::transpose<float>(nullptr, nullptr, 0, 5));
}
