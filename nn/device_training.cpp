#include "nodal/nn/device_training.hpp"

#include <array>

#include <fmt/format.h>

#include "nodal/core/error.hpp"

namespace nodal::nn {
namespace {
std::array<DeviceTrainingKernels*, 8>& table() {
  static std::array<DeviceTrainingKernels*, 8> kernels{};
  return kernels;
}
}  // namespace

bool register_device_training_kernels(Backend backend, DeviceTrainingKernels* kernels) {
  table().at(std::size_t(backend)) = kernels;
  return true;
}

bool has_device_training_kernels(Backend backend) { return table().at(std::size_t(backend)) != nullptr; }

DeviceTrainingKernels& device_training_kernels(Backend backend, std::string_view op) {
  DeviceTrainingKernels* k = table().at(std::size_t(backend));
  if (!k)
    throw BackendError(fmt::format("{}: no optimizer kernels for backend '{}' in this build", op, backend_name(backend)));
  return *k;
}

}  // namespace nodal::nn
