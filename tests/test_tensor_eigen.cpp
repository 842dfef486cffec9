// Eigen interop: from_eigen copies in row-major order whatever the storage order; as_matrix
// maps views (strides honoured) without copying.
#include <Eigen/Core>
#include <doctest/doctest.h>

#include "nodal/core/eigen.hpp"
#include "nodal/core/error.hpp"

using namespace nodal;

TEST_CASE("from_eigen: column-major and row-major matrices give the same row-major tensor") {
  Eigen::MatrixXd col(2, 3);  // Eigen's default: column-major
  col << 1, 2, 3, 4, 5, 6;
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> row(2, 3);
  row << 1, 2, 3, 4, 5, 6;
  const std::vector<double> expected{1, 2, 3, 4, 5, 6};
  for (const Tensor& t : {from_eigen(col), from_eigen(row)}) {
    CHECK(t.shape() == Shape{2, 3});
    CHECK(t.dtype() == DType::float64);
    CHECK(t.to_vector<double>() == expected);
  }
  // Round trip back to Eigen: same matrix.
  CHECK(to_eigen<double>(from_eigen(col)) == col);
  CHECK(as_matrix<double>(from_eigen(row)) == row);
}

TEST_CASE("from_eigen: vectors are rank 1, expressions are evaluated, complex scalars") {
  Eigen::VectorXf v(3);
  v << 1, 2, 3;
  CHECK(from_eigen(v).shape() == Shape{3});
  CHECK(from_eigen(v.transpose()).shape() == Shape{3});
  CHECK(from_eigen_matrix(Eigen::MatrixXf(v)).shape() == Shape{3, 1});
  Eigen::Matrix3f m;
  m << 1, 2, 3, 4, 5, 6, 7, 8, 9;
  const Tensor block = from_eigen(m.block(1, 0, 2, 2));  // [[4,5],[7,8]]
  CHECK(block.to_vector<float>() == std::vector<float>{4, 5, 7, 8});
  CHECK(from_eigen(m.transpose()).to_vector<float>() == std::vector<float>{1, 4, 7, 2, 5, 8, 3, 6, 9});
  Eigen::MatrixXcf c(1, 2);
  c << complex64(1, 2), complex64(3, -4);
  const Tensor tc = from_eigen(c);
  CHECK(tc.dtype() == DType::complex64);
  CHECK(tc.to_vector<complex64>() == std::vector<complex64>{{1, 2}, {3, -4}});
}

TEST_CASE("as_matrix: strided views, writes go to the tensor") {
  Tensor base = Tensor::arange(6).reshape(Shape{2, 3});  // [[0,1,2],[3,4,5]]
  Tensor t = base.transpose(0, 1);                        // [[0,3],[1,4],[2,5]]
  auto m = as_matrix<float>(t);
  CHECK(m.rows() == 3);
  CHECK(m.cols() == 2);
  CHECK(m(0, 1) == 3.0f);
  CHECK(m(2, 0) == 2.0f);
  CHECK(m(2, 1) == 5.0f);
  m(1, 1) = 40;  // element [1][1] of the transpose = [1][1] of the base
  m(2, 0) = 20;  // = base[0][2]
  CHECK(base.to_vector<float>() == std::vector<float>{0, 1, 20, 3, 40, 5});
  // A stepped slice: rows 0 and 2 of [[0..3],[4..7],[8..11]], columns 1..3.
  const Tensor g = Tensor::arange(12).reshape(Shape{3, 4}).slice(0, 0, 3, 2).slice(1, 1, 4);
  const auto cm = as_matrix<float>(g);
  Eigen::MatrixXf expected(2, 3);
  expected << 1, 2, 3, 9, 10, 11;
  CHECK(cm == expected);
  // Eigen arithmetic on a view: the sum of a column.
  CHECK(cm.col(2).sum() == 14.0f);
  // A broadcast view (zero row stride): every row reads the same three values.
  const Tensor e = Tensor::from_vector(std::vector<float>{7, 8, 9}, Shape{1, 3}).expand(Shape{4, 3});
  const auto em = as_matrix<float>(e);
  CHECK(em.rows() == 4);
  CHECK(em(3, 2) == 9.0f);
  CHECK(em.colwise().sum() == Eigen::RowVector3f(28, 32, 36));
}

TEST_CASE("as_matrix: rank, dtype and undefined tensors are rejected") {
  Tensor r1 = Tensor::arange(4);
  CHECK_THROWS_WITH_AS(as_matrix<float>(r1), doctest::Contains("rank 1"), ShapeError);
  const Tensor r3 = Tensor::zeros(Shape{1, 2, 2});
  CHECK_THROWS_AS(as_matrix<float>(r3), ShapeError);
  Tensor d = Tensor::zeros(Shape{2, 2}, DType::float64);
  CHECK_THROWS_WITH_AS(as_matrix<float>(d), doctest::Contains("float64"), DTypeError);
  Tensor u;
  CHECK_THROWS_AS(as_matrix<float>(u), ValueError);
  CHECK_THROWS_AS(to_eigen<double>(r1), ShapeError);
}
