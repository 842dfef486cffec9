// fmt::format("{}", tensor): exact PyTorch-style strings written out by hand.
#include <cmath>
#include <sstream>

#include <doctest/doctest.h>

#include "nodal/core/tensor.hpp"
#include "nodal/core/tensor_format.hpp"

using namespace nodal;

TEST_CASE("format: float32 matrix, nested brackets aligned under the first row") {
  const Tensor t = Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, Shape{2, 2});
  CHECK(fmt::format("{}", t) ==
        "tensor([[1.0000, 2.0000],\n"
        "        [3.0000, 4.0000]], shape=[2, 2], dtype=float32, backend=cpu)");
}

TEST_CASE("format: float64 vector right-aligned to a common width") {
  const Tensor t = Tensor::from_vector(std::vector<double>{-1.5, 2.25, 10}, Shape{3});
  CHECK(fmt::format("{}", t) == "tensor([-1.5000,  2.2500, 10.0000], shape=[3], dtype=float64, backend=cpu)");
}

TEST_CASE("format: complex64 and a complex128 scalar") {
  const Tensor c = Tensor::from_vector(std::vector<complex64>{{1, 2}, {-0.5f, -0.25f}}, Shape{2});
  CHECK(fmt::format("{}", c) ==
        "tensor([ 1.0000+2.0000j, -0.5000-0.2500j], shape=[2], dtype=complex64, backend=cpu)");
  const Tensor s = Tensor::full(Shape{}, complex128(3, -4), DType::complex128);
  CHECK(fmt::format("{}", s) == "tensor(3.0000-4.0000j, shape=[], dtype=complex128, backend=cpu)");
}

TEST_CASE("format: rank 3 separates matrices by a blank line") {
  const Tensor t = Tensor::arange(4).reshape(Shape{2, 1, 2});
  CHECK(fmt::format("{}", t) ==
        "tensor([[[0.0000, 1.0000]],\n"
        "\n"
        "        [[2.0000, 3.0000]]], shape=[2, 1, 2], dtype=float32, backend=cpu)");
}

TEST_CASE("format: scientific notation for a wide range, nan and inf, a transposed view") {
  const Tensor wide = Tensor::from_vector(std::vector<double>{1e-5, 1}, Shape{2});
  CHECK(fmt::format("{}", wide) == "tensor([1.0000e-05, 1.0000e+00], shape=[2], dtype=float64, backend=cpu)");
  const Tensor special = Tensor::from_vector(std::vector<float>{NAN, INFINITY, -1}, Shape{3});
  CHECK(fmt::format("{}", special) == "tensor([    nan,     inf, -1.0000], shape=[3], dtype=float32, backend=cpu)");
  const Tensor t = Tensor::arange(6).reshape(Shape{2, 3}).transpose(0, 1);
  CHECK(fmt::format("{}", t) ==
        "tensor([[0.0000, 3.0000],\n"
        "        [1.0000, 4.0000],\n"
        "        [2.0000, 5.0000]], shape=[3, 2], dtype=float32, backend=cpu)");
}

TEST_CASE("format: undefined, empty, options, ostream, width spec") {
  CHECK(fmt::format("{}", Tensor()) == "tensor(undefined)");
  CHECK(fmt::format("{:>20}", Tensor()) == "   tensor(undefined)");
  CHECK(fmt::format("{}", Tensor::zeros(Shape{0, 3})) == "tensor([], shape=[0, 3], dtype=float32, backend=cpu)");
  PrintOptions two;
  two.precision = 2;
  CHECK(format_tensor(Tensor::full(Shape{1}, 1.5), two) == "tensor([1.50], shape=[1], dtype=float32, backend=cpu)");
  std::ostringstream os;
  const Tensor t = Tensor::ones(Shape{1}, DType::float64);
  os << t;
  CHECK(os.str() == "tensor([1.0000], shape=[1], dtype=float64, backend=cpu)");
}

TEST_CASE("format: large tensors are summarised with ... (first and last 3 per axis)") {
  const Tensor big = Tensor::arange(1000.0, 3000.0, 1.0).reshape(Shape{40, 50});
  const std::string s = fmt::format("{}", big);
  CHECK(s.rfind("tensor([[1000.0000, 1001.0000, 1002.0000, ..., 1047.0000, 1048.0000, 1049.0000],\n", 0) == 0);
  CHECK(s.find("\n        [1050.0000, 1051.0000, 1052.0000, ..., 1097.0000, 1098.0000, 1099.0000],\n") !=
        std::string::npos);
  CHECK(s.find("\n        ...,\n") != std::string::npos);
  CHECK(s.find("1003.0000") == std::string::npos);
  CHECK(s.find("1150.0000") == std::string::npos);  // row 3 is hidden
  const std::string tail = "[2950.0000, 2951.0000, 2952.0000, ..., 2997.0000, 2998.0000, 2999.0000]], "
                           "shape=[40, 50], dtype=float32, backend=cpu)";
  CHECK(s.size() > tail.size());
  CHECK(s.compare(s.size() - tail.size(), tail.size(), tail) == 0);
  CHECK(std::count(s.begin(), s.end(), '\n') == 6);  // 3 rows, "...", 3 rows

  // The threshold is "more than 1000 elements".
  CHECK(fmt::format("{}", Tensor::ones(Shape{1000})).find("...") == std::string::npos);
  const std::string v = fmt::format("{}", Tensor::arange(1001));
  CHECK(v.rfind("tensor([   0.0000,    1.0000,    2.0000, ...,  998.0000,  999.0000, 1000.0000], ", 0) == 0);
}
