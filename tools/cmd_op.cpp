// nodal op NAME: run one node on .npy inputs (forward, and the vjp given cotangents), writing
// .npy results, so that any node can be cross-checked against NumPy or PyTorch. With --explain, a
// convolution first prints its resolved geometry, every algorithm's cost estimate and the choice
// (for algorithm=measure, the timings too), then runs as usual.
#include <filesystem>

#include <fmt/format.h>

#include "nodal/backends/cpu/conv_select.hpp"
#include "nodal/core/error.hpp"
#include "nodal/core/npy.hpp"
#include "nodal/nodes/conv.hpp"
#include "nodal/tools/cli.hpp"

namespace nodal::cli {
namespace {

Tensor load_on(const std::string& path, Backend backend) {
  Tensor t = load_npy(path);
  return backend == Backend::cpu ? t : t.to(backend);
}

void save(const std::filesystem::path& path, const Tensor& t) {
  save_npy(path, t.backend() == Backend::cpu ? t : t.to(Backend::cpu));
  fmt::print("{}: {}\n", path.string(), to_string(spec_of(t)));
}

// --explain: what the CPU backend will run for this node and why. Only convolutions choose an
// algorithm; for other nodes it says so. `measure` times the candidates here (the run below then
// uses the cached choice), so that the table shows the timings.
void explain(const Node& node, const std::vector<Tensor>& inputs, Backend backend) {
  const auto* conv = dynamic_cast<const Conv*>(&node);
  if (!conv) {
    fmt::print("explain: {} has no algorithm choice; it runs its one {} implementation\n", node.type(), backend_name(backend));
    return;
  }
  std::vector<TensorSpec> specs;
  for (const Tensor& t : inputs) specs.push_back(spec_of(t));
  conv->infer(specs);  // the node's own shape and dtype errors, before anything is estimated
  const ConvGeometry g = conv->geometry(inputs.at(0).shape(), inputs.at(1).shape());
  fmt::print("explain: {} x {} w {} -> y {} ({:.3g} GFLOP forward)\n", node.type(), to_string(g.input_shape()),
             to_string(g.weight_shape()), to_string(g.output_shape()), g.forward_flops() * 1e-9);
  if (backend != Backend::cpu) {
    fmt::print("explain: algorithm choice is only modelled for the cpu backend\n");
    return;
  }
  const DType dtype = inputs.front().dtype();
  if (conv->options().algorithm == "measure") cpu::choose_conv_algorithm(g, dtype, "measure");
  fmt::print("{}", cpu::format_explanation(cpu::explain_conv_choice(g, dtype, conv->options().algorithm)));
}

}  // namespace

int run_op(const std::vector<std::string>& words) {
  const Args args = parse_args("op", words, {"input", "set", "cotangent", "backend", "out"}, {"explain"});
  if (args.positional.size() != 1) throw UsageError("op: give exactly one node type name (see nodal nodes)");
  const NodeTypeInfo& info = Registry::instance().type(args.positional.front());
  const std::string out_dir = args.one("out");
  if (out_dir.empty()) throw UsageError("op: --out DIR is required");
  const Backend backend = parse_backend(args.one("backend", "cpu"));
  check_input_count(info, args.all("input").size(), "--input");

  std::shared_ptr<const Node> node = Registry::instance().make(info.name, parse_sets(info, args.all("set")));
  std::vector<Tensor> inputs;
  for (const std::string& path : args.all("input")) inputs.push_back(load_on(path, backend));
  std::vector<Tensor> cotangents;
  for (const std::string& path : args.all("cotangent")) cotangents.push_back(load_on(path, backend));

  if (args.has("explain")) explain(*node, inputs, backend);
  std::vector<Tensor> outputs = nodal::apply(*node, inputs);
  if (!cotangents.empty() && cotangents.size() != outputs.size())
    throw UsageError(fmt::format("op: node '{}' has {} output(s) here; give one --cotangent per output, got {}", info.name,
                                 outputs.size(), cotangents.size()));
  for (std::size_t k = 0; k < cotangents.size(); ++k)
    if (!(spec_of(cotangents[k]) == spec_of(outputs[k])))
      throw ShapeError(fmt::format("op {}: cotangent {} ({}) must match output {} ({})", info.name, k,
                                   to_string(spec_of(cotangents[k])), k, to_string(spec_of(outputs[k]))));

  try {
    std::filesystem::create_directories(out_dir);
  } catch (const std::filesystem::filesystem_error& e) {
    throw IoError(fmt::format("op: cannot create the --out folder '{}': {}", out_dir, e.code().message()));
  }
  for (std::size_t k = 0; k < outputs.size(); ++k) save(std::filesystem::path(out_dir) / fmt::format("output{}.npy", k), outputs[k]);
  if (cotangents.empty()) return 0;

  // The node's vjp, called directly: every input's cotangent is wanted.
  std::vector<Tensor> grads(inputs.size());
  const std::vector<std::uint8_t> wanted(inputs.size(), 1);
  const VjpCall call{*node,
                     std::span<const Tensor>(inputs),
                     std::span<const Tensor>(outputs),
                     std::span<const Tensor>(cotangents),
                     std::span<Tensor>(grads),
                     std::span<const std::uint8_t>(wanted)};
  node->impl(backend).vjp(call);
  for (std::size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) grads[i] = Tensor::zeros(inputs[i].shape(), inputs[i].dtype(), inputs[i].backend());
    if (!(spec_of(grads[i]) == spec_of(inputs[i])))
      throw BackendError(fmt::format("op {}: vjp produced {} for input {} ({})", info.name, to_string(spec_of(grads[i])), i,
                                     to_string(spec_of(inputs[i]))));
    save(std::filesystem::path(out_dir) / fmt::format("grad_input{}.npy", i), grads[i]);
  }
  return 0;
}

}  // namespace nodal::cli
