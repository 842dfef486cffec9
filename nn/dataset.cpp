#include "nodal/nn/dataset.hpp"

#include <fmt/format.h>

#include "nodal/core/error.hpp"
#include "nodal/nn/idx.hpp"

namespace nodal::nn {
namespace {

// `dir/stem.gz` when present, else `dir/stem`; an IoError naming both when neither exists.
std::filesystem::path find_file(const std::filesystem::path& dir, const std::string& stem, std::string_view op) {
  const std::filesystem::path gz = dir / (stem + ".gz"), raw = dir / stem;
  if (std::filesystem::exists(gz)) return gz;
  if (std::filesystem::exists(raw)) return raw;
  throw IoError(fmt::format("{}: neither '{}' nor '{}' exists", op, gz.string(), raw.string()));
}

TrainTest load_split_files(const std::filesystem::path& dir, ImageNormalization norm, std::string_view op) {
  // Looked up one after the other, so that a missing folder is reported by its first file.
  const auto train_images = find_file(dir, "train-images-idx3-ubyte", op);
  const auto train_labels = find_file(dir, "train-labels-idx1-ubyte", op);
  const auto test_images = find_file(dir, "t10k-images-idx3-ubyte", op);
  const auto test_labels = find_file(dir, "t10k-labels-idx1-ubyte", op);
  TrainTest out;
  out.train = load_idx_classification(train_images, train_labels, 10, norm);
  out.test = load_idx_classification(test_images, test_labels, 10, norm);
  return out;
}

}  // namespace

Dataset load_idx_classification(const std::filesystem::path& images_path, const std::filesystem::path& labels_path,
                                std::int64_t classes, ImageNormalization norm) {
  if (!(norm.std > 0.0))
    throw ValueError(fmt::format("load_idx_classification: std must be positive, got {}", norm.std));
  if (classes < 1 || classes > 256)
    throw ValueError(fmt::format("load_idx_classification: classes must be in 1..256, got {}", classes));
  const IdxArray images = read_idx(images_path, 3);
  const IdxArray labels = read_idx(labels_path, 1);
  const std::int64_t n = images.dims[0];
  if (labels.dims[0] != n)
    throw IoError(fmt::format("load_idx_classification: '{}' holds {} images but '{}' holds {} labels",
                              images_path.string(), n, labels_path.string(), labels.dims[0]));

  Dataset d;
  d.classes = classes;
  d.label_bytes = labels.data;
  d.labels = Tensor::empty(Shape{n}, DType::float32);
  float* y = d.labels.data<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    const std::uint8_t c = labels.data[std::size_t(i)];
    if (c >= classes)
      throw IoError(fmt::format("load_idx_classification: '{}': label {} at index {} is not a class id below {}",
                                labels_path.string(), c, i, classes));
    y[i] = float(c);
  }

  // x = (b/255 − mean)/std = b·scale + shift, through a 256-entry table (exact per byte value).
  float table[256];
  for (int b = 0; b < 256; ++b) table[b] = float((double(b) / 255.0 - norm.mean) / norm.std);
  d.images = Tensor::empty(Shape{n, 1, images.dims[1], images.dims[2]}, DType::float32);
  float* x = d.images.data<float>();
  const std::uint8_t* pixels = images.data.data();
  const std::int64_t count = std::int64_t(images.data.size());
#pragma omp parallel for schedule(static) if (count > (1 << 20))
  for (std::int64_t i = 0; i < count; ++i) x[i] = table[pixels[i]];
  return d;
}

TrainTest load_fashion_mnist(const std::filesystem::path& dir, ImageNormalization norm) {
  return load_split_files(dir, norm, "load_fashion_mnist");
}

TrainTest load_mnist(const std::filesystem::path& dir, ImageNormalization norm) {
  return load_split_files(dir, norm, "load_mnist");
}

}  // namespace nodal::nn
