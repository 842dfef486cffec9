// Tensor creation, views (shared memory), copies and conversions. Expected values are written
// out by hand.
#include <vector>

#include <doctest/doctest.h>

#include "nodal/core/error.hpp"
#include "nodal/core/tensor.hpp"

using namespace nodal;
using V = std::vector<float>;

namespace {
// 0, 1, ..., n-1 as float32 in `shape`.
Tensor iota(const Shape& shape) { return Tensor::arange(shape.numel()).reshape(shape); }
}  // namespace

TEST_CASE("creation: zeros, ones, full, arange, from_vector") {
  Tensor z = Tensor::zeros(Shape{2, 3}, DType::float64);
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.dtype() == DType::float64);
  CHECK(z.backend() == Backend::cpu);
  CHECK(z.is_contiguous());
  CHECK(z.strides() == Strides{3, 1});
  CHECK(z.to_vector<double>() == std::vector<double>(6, 0.0));
  CHECK(Tensor::ones(Shape{4}).to_vector<float>() == V{1, 1, 1, 1});
  CHECK(Tensor::full(Shape{2}, 2.5, DType::float32).to_vector<float>() == V{2.5f, 2.5f});
  CHECK(Tensor::full(Shape{1}, complex128(1, -2), DType::complex64).item<complex64>() == complex64(1, -2));
  CHECK_THROWS_AS(Tensor::full(Shape{1}, complex128(1, -2), DType::float32), DTypeError);
  CHECK(Tensor::arange(5).to_vector<float>() == V{0, 1, 2, 3, 4});
  CHECK(Tensor::arange(1.0, 2.0, 0.25, DType::float64).to_vector<double>() == std::vector<double>{1, 1.25, 1.5, 1.75});
  CHECK(Tensor::arange(3.0, 0.0, -1.0).to_vector<float>() == V{3, 2, 1});
  CHECK(Tensor::arange(0).numel() == 0);
  CHECK_THROWS_AS(Tensor::arange(0.0, 1.0, 0.0), ValueError);
  const Tensor s = Tensor::scalar(7.0);
  CHECK(s.rank() == 0);
  CHECK(s.numel() == 1);
  CHECK(s.item<float>() == 7.0f);

  const Tensor v = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, Shape{3, 2});
  CHECK(v.dtype() == DType::float64);
  CHECK(v.to_vector<double>() == std::vector<double>{1, 2, 3, 4, 5, 6});
  CHECK_THROWS_WITH_AS(Tensor::from_vector(V{1, 2, 3}, Shape{2, 2}), doctest::Contains("3 values cannot fill shape [2, 2]"),
                       ShapeError);
}

TEST_CASE("views share memory with their base") {
  Tensor base = iota(Shape{3, 4});
  Tensor t = base.transpose(0, 1);
  Tensor s = base.slice(1, 1, 3);
  Tensor r = base.reshape(Shape{2, 6});
  Tensor u = base.unsqueeze(0);
  CHECK(t.buffer() == base.buffer());
  CHECK(s.buffer() == base.buffer());
  CHECK(r.buffer() == base.buffer());
  CHECK(u.buffer() == base.buffer());
  t.data<float>()[0] = 100;               // element [0][0]
  s.data<float>()[0] = 200;               // element [0][1]
  r.data<float>()[6] = 300;               // element [1][2]
  u.data<float>()[u.strides()[1] * 2] = 400;  // element [2][0]
  CHECK(base.to_vector<float>() == V{100, 200, 2, 3, 4, 5, 300, 7, 400, 9, 10, 11});
}

TEST_CASE("permute, transpose, slice with steps and negative indices") {
  const Tensor a = iota(Shape{2, 3, 4});
  const Tensor p = a.permute({2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(!p.is_contiguous());
  CHECK(p.to_vector<float>() ==
        V{0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23});
  CHECK(a.permute({-1, 0, 1}).to_vector<float>() == p.to_vector<float>());
  CHECK_THROWS_AS(a.permute({0, 0, 1}), ValueError);
  CHECK_THROWS_AS(a.permute({0, 1}), ShapeError);

  const Tensor m = iota(Shape{2, 3});
  CHECK(m.transpose(0, 1).to_vector<float>() == V{0, 3, 1, 4, 2, 5});
  CHECK(m.transpose(-1, -2).shape() == Shape{3, 2});

  const Tensor r = Tensor::arange(10);
  CHECK(r.slice(0, 1, 8, 3).to_vector<float>() == V{1, 4, 7});
  CHECK(r.slice(0, -3, 10).to_vector<float>() == V{7, 8, 9});
  CHECK(r.slice(0, 2, -5, 2).to_vector<float>() == V{2, 4});
  CHECK(r.slice(0, -100, 2).to_vector<float>() == V{0, 1});  // clamped like Python
  CHECK(r.slice(0, 5, 3).numel() == 0);
  CHECK_THROWS_AS(r.slice(0, 0, 5, 0), ValueError);
  // a slice of a transposed view: column 1..2 of m^T rows 0..2 step 2
  CHECK(m.transpose(0, 1).slice(0, 0, 3, 2).slice(1, 1, 2).to_vector<float>() == V{3, 5});
}

TEST_CASE("reshape: a view when contiguous, a correct copy otherwise") {
  const Tensor a = iota(Shape{2, 3});
  const Tensor r = a.reshape(std::vector<std::int64_t>{3, -1});
  CHECK(r.shape() == Shape{3, 2});
  CHECK(r.buffer() == a.buffer());
  const Tensor t = a.transpose(0, 1);  // [[0,3],[1,4],[2,5]]
  const Tensor flat = t.reshape(Shape{6});
  CHECK(flat.buffer() != a.buffer());
  CHECK(flat.to_vector<float>() == V{0, 3, 1, 4, 2, 5});
  CHECK_THROWS_AS(a.reshape(Shape{4}), ShapeError);
  CHECK_THROWS_AS(a.reshape(std::vector<std::int64_t>{-1, -1}), ShapeError);
  CHECK_THROWS_AS(a.reshape(std::vector<std::int64_t>{4, -1}), ShapeError);
}

TEST_CASE("unsqueeze, squeeze, expand") {
  const Tensor a = Tensor::from_vector(V{1, 2, 3}, Shape{3});
  CHECK(a.unsqueeze(0).shape() == Shape{1, 3});
  CHECK(a.unsqueeze(-1).shape() == Shape{3, 1});
  CHECK(a.unsqueeze(1).squeeze(1).shape() == Shape{3});
  CHECK_THROWS_AS(a.squeeze(0), ShapeError);
  const Tensor e = a.unsqueeze(1).expand(Shape{2, 3, 2});  // [3,1] -> [2,3,2]
  CHECK(e.strides()[0] == 0);
  CHECK(e.strides()[2] == 0);
  CHECK(e.buffer() == a.buffer());
  CHECK(e.to_vector<float>() == V{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});
  CHECK_THROWS_AS(a.expand(Shape{2, 4}), ShapeError);
}

TEST_CASE("contiguous, clone, copy_from") {
  const Tensor a = iota(Shape{2, 3});
  CHECK(a.contiguous().buffer() == a.buffer());
  const Tensor t = a.transpose(0, 1).contiguous();
  CHECK(t.is_contiguous());
  CHECK(t.buffer() != a.buffer());
  CHECK(t.to_vector<float>() == V{0, 3, 1, 4, 2, 5});
  Tensor c = a.clone();
  CHECK(c.buffer() != a.buffer());
  c.data<float>()[0] = 9;
  CHECK(a.to_vector<float>()[0] == 0.0f);

  Tensor dst = Tensor::zeros(Shape{3, 2}, DType::float64);
  dst.copy_from(a.transpose(0, 1));
  CHECK(dst.to_vector<double>() == std::vector<double>{0, 3, 1, 4, 2, 5});
  CHECK_THROWS_AS(dst.copy_from(a), ShapeError);
  CHECK_THROWS_AS(dst.copy_from(Tensor::zeros(Shape{3, 2}, DType::complex64)), DTypeError);
}

TEST_CASE("astype and to_vector conversions, item") {
  const Tensor a = Tensor::from_vector(V{1.5f, -2.0f}, Shape{2});
  CHECK(a.astype(DType::float32).buffer() == a.buffer());
  CHECK(a.astype(DType::float64).to_vector<double>() == std::vector<double>{1.5, -2.0});
  CHECK(a.to_vector<double>() == std::vector<double>{1.5, -2.0});
  CHECK(a.astype(DType::complex128).to_vector<complex128>() == std::vector<complex128>{{1.5, 0}, {-2.0, 0}});
  CHECK(a.to_vector<complex64>() == std::vector<complex64>{{1.5f, 0}, {-2.0f, 0}});
  const Tensor c = Tensor::from_vector(std::vector<complex64>{{1, 2}}, Shape{1, 1});
  CHECK(c.item<complex64>() == complex64(1, 2));
  CHECK(c.item<complex128>() == complex128(1, 2));
  CHECK_THROWS_AS(c.to_vector<float>(), DTypeError);
  CHECK_THROWS_AS(c.astype(DType::float32), DTypeError);
  CHECK_THROWS_WITH_AS(a.item<float>(), doctest::Contains("2 elements"), ShapeError);
  CHECK_THROWS_AS(a.data<double>(), DTypeError);
  CHECK_THROWS_AS(Tensor().to_vector<float>(), ValueError);
}
