#pragma once
// A training checkpoint: the model's tensors, the optimizer's state and free metadata (epoch,
// schedule position, ...) in one safetensors file, written atomically.
//
//   nn::Metadata extra = schedule.state();  extra["epoch"] = std::to_string(epoch);
//   nn::save_checkpoint("run/last.safetensors", net->state(), &opt, extra);
//   ...
//   nn::Checkpoint c = nn::load_checkpoint("run/last.safetensors", net->state(), &opt);
//   schedule.load_state(c.metadata);  int epoch = std::stoi(c.metadata.at("epoch"));
//
// The model's tensors keep their own names ("0.weight"), so Python reads them directly
// (safetensors.torch.load_file); the optimizer's live under "optimizer." (nn/optimizer.hpp).
// Loading is all or nothing for the model (nn::load_into: every name, shape and dtype checked
// first; tensors outside "optimizer." must match the model exactly), then the optimizer state.
#include <filesystem>

#include "nodal/nn/optimizer.hpp"
#include "nodal/nn/safetensors.hpp"

namespace nodal::nn {

inline constexpr std::string_view optimizer_prefix = "optimizer.";

void save_checkpoint(const std::filesystem::path& path, const NamedTensors& model, const Optimizer* optimizer = nullptr,
                     const Metadata& extra = {}, const SaveOptions& options = {});
// Copies the model's tensors into `model`, restores `optimizer` when given (the file must then
// hold its state), and returns the whole checkpoint (for its metadata).
Checkpoint load_checkpoint(const std::filesystem::path& path, const NamedTensors& model,
                           Optimizer* optimizer = nullptr);

}  // namespace nodal::nn
