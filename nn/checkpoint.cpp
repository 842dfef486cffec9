#include "nodal/nn/checkpoint.hpp"

#include <fmt/format.h>

#include "nodal/core/error.hpp"

namespace nodal::nn {

void save_checkpoint(const std::filesystem::path& path, const NamedTensors& model, const Optimizer* optimizer,
                     const Metadata& extra, const SaveOptions& options) {
  NamedTensors tensors;
  Metadata metadata = extra;
  for (const auto& [name, t] : model) {
    if (name.starts_with(optimizer_prefix))
      throw ValueError(
          fmt::format("save_checkpoint: model tensor '{}' uses the prefix reserved for the optimizer", name));
    tensors.emplace_back(name, t);
  }
  if (optimizer) {
    for (const auto& [key, value] : extra)
      if (key.starts_with(optimizer_prefix))
        throw ValueError(
            fmt::format("save_checkpoint: metadata key '{}' uses the prefix reserved for the optimizer", key));
    OptimizerState state = optimizer->state_dict(optimizer_prefix);
    tensors.insert(tensors.end(), state.tensors.begin(), state.tensors.end());
    metadata.insert(state.metadata.begin(), state.metadata.end());
  }
  save_safetensors(path, tensors, metadata, options);
}

Checkpoint load_checkpoint(const std::filesystem::path& path, const NamedTensors& model, Optimizer* optimizer) {
  Checkpoint c = load_safetensors(path);
  // The model part must match exactly: compare against the file without the optimizer's tensors.
  Checkpoint model_part;
  for (const auto& [name, t] : c.tensors)
    if (!name.starts_with(optimizer_prefix)) model_part.tensors.emplace_back(name, t);
  load_into(model_part, model, path.string());
  if (optimizer) optimizer->load_state_dict(c, optimizer_prefix);
  return c;
}

}  // namespace nodal::nn
