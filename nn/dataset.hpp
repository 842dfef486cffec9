#pragma once
// In-memory image classification data sets, and MNIST / Fashion-MNIST loaded from idx files.
//
//   auto [train, test] = nn::load_fashion_mnist();       // /usr/share/datasets/fashion-mnist
//   train.images   float32 [60000, 1, 28, 28], (pixel/255 − mean) / std
//   train.labels   float32 [60000], class ids 0..9 as floats: what cross_entropy expects
//   train.label_bytes   the same ids as uint8 (nodal has no integer dtype)
//
// The files are looked up in `dir` as train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
// t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (each also without ".gz"). On Debian
// the package dataset-fashion-mnist installs Fashion-MNIST into default_fashion_mnist_dir.
// Beyond the idx checks (nn/idx.hpp): images must be rank 3, labels rank 1, the counts must
// agree, and every label must be below `classes`; each failure is an IoError naming the file.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "nodal/core/tensor.hpp"

namespace nodal::nn {

inline constexpr const char* default_fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";
inline constexpr const char* default_mnist_dir = "/usr/share/datasets/mnist";

struct Dataset {
  Tensor images;                          // [N, ...] float32 (or float64), sample-major
  Tensor labels;                          // [N] float32 class ids
  std::vector<std::uint8_t> label_bytes;  // [N] the same class ids
  std::int64_t classes = 0;
  std::int64_t size() const { return labels.defined() ? labels.dim(0) : 0; }
};

struct TrainTest {
  Dataset train;
  Dataset test;
};

// Pixel scaling: x = (byte / 255 − mean) / std. mean 0, std 1 keeps [0, 1].
struct ImageNormalization {
  double mean = 0.0;
  double std = 1.0;
};
inline constexpr ImageNormalization fashion_mnist_normalization{0.2860, 0.3530};
inline constexpr ImageNormalization mnist_normalization{0.1307, 0.3081};

TrainTest load_fashion_mnist(const std::filesystem::path& dir = default_fashion_mnist_dir,
                             ImageNormalization norm = fashion_mnist_normalization);
TrainTest load_mnist(const std::filesystem::path& dir = default_mnist_dir,
                     ImageNormalization norm = mnist_normalization);

// One split from an images file (rank 3: N, rows, cols) and a labels file (rank 1: N):
// images become [N, 1, rows, cols].
Dataset load_idx_classification(const std::filesystem::path& images, const std::filesystem::path& labels,
                                std::int64_t classes, ImageNormalization norm);

}  // namespace nodal::nn
