#include "nodal/core/execution.hpp"

#include <fmt/format.h>

#include "nodal/core/error.hpp"
#include "nodal/core/registry.hpp"

namespace nodal {

namespace {
thread_local bool grad_mode = true;

Backend backend_of(std::span<const Tensor> inputs, const VertexData& d) {
  Backend b = Backend::cpu;
  bool first = true;
  for (const Tensor& t : inputs) {
    if (!t.defined()) continue;
    if (first) b = t.backend(), first = false;
    else if (t.backend() != b)
      throw BackendError(fmt::format("{}: inputs live on different backends ({} and {}); move them with .to()", d.name,
                                     backend_name(b), backend_name(t.backend())));
  }
  return b;
}
}  // namespace

bool grad_enabled() { return grad_mode; }
NoGradGuard::NoGradGuard() : previous_(grad_mode) { grad_mode = false; }
NoGradGuard::~NoGradGuard() { grad_mode = previous_; }

Tensor accumulate(const Tensor& a, const Tensor& b) {
  if (!a.defined()) return b;
  if (!b.defined()) return a;
  static const std::unique_ptr<Node> add = Registry::instance().make("add", {});
  return apply1(*add, {a, b});
}

void gather_inputs(const Graph& graph, std::uint32_t v, const std::vector<Tensor>& slots, std::vector<Tensor>& out) {
  const VertexData& d = graph.vertex(v);
  out.clear();
  for (const PortRef& in : d.inputs) out.push_back(slots[graph.vertex(in.vertex).first_slot + in.port]);
}

void bind_sources(const Graph& graph, std::span<const std::uint32_t> schedule, std::span<const Feed> feeds,
                  std::vector<Tensor>& slots) {
  for (const Feed& f : feeds) {
    if (!f.input.valid() || &f.input.graph() != &graph)
      throw ValueError("Graph::forward: a feed names a value of another graph");
    const VertexData& d = graph.vertex(f.input);
    if (d.kind != VertexKind::input) throw ValueError(fmt::format("Graph::forward: {} is not an input; only inputs are fed", d.name));
    if (!f.value.defined()) throw ValueError(fmt::format("Graph::forward: the tensor fed to {} is undefined", d.name));
    if (!(spec_of(f.value) == d.outputs[0]))
      throw ShapeError(fmt::format("Graph::forward: input {} is declared {} but was fed {} (use Graph::resize_input "
                                   "to change its shape)", d.name, to_string(d.outputs[0]), to_string(spec_of(f.value))));
    slots[d.first_slot] = f.value;
  }
  for (std::uint32_t v : schedule) {
    const VertexData& d = graph.vertex(v);
    if (d.kind == VertexKind::parameter || d.kind == VertexKind::constant) {
      if (!(spec_of(d.value) == d.outputs[0]))
        throw ShapeError(fmt::format("{}: its tensor is now {} but the graph was built for {}", d.name,
                                     to_string(spec_of(d.value)), to_string(d.outputs[0])));
      slots[d.first_slot] = d.value;
    } else if (d.kind == VertexKind::input && !slots[d.first_slot].defined()) {
      throw ValueError(fmt::format("Graph::forward: input {} ({}) was not fed", d.name, to_string(d.outputs[0])));
    }
  }
}

Execution::Execution(Graph& graph, std::span<const Value> outputs, std::span<const Feed> feeds)
    : graph_(&graph), outputs_(outputs.begin(), outputs.end()), values_(graph.slot_count()), grad_state_(grad_mode) {
  const std::vector<std::uint32_t>& run = graph.schedule(outputs);
  bind_sources(graph, run, feeds, values_);

  // Without grad state, an intermediate is dropped once its last consumer has run.
  std::vector<std::uint32_t> uses;
  if (!grad_state_) {
    uses.assign(graph.vertex_count(), 0);
    for (std::uint32_t v : run)
      for (const PortRef& in : graph.vertex(v).inputs) ++uses[in.vertex];
    for (const Value& out : outputs_) uses[out.vertex()] += 1u << 30;  // requested: never dropped
  }

  std::vector<Tensor> inputs;
  for (std::uint32_t v : run) {
    const VertexData& d = graph.vertex(v);
    if (d.kind != VertexKind::op) continue;
    gather_inputs(graph, v, values_, inputs);
    std::span<Tensor> outs(values_.data() + d.first_slot, d.outputs.size());
    d.node->impl(backend_of(inputs, d)).forward(ForwardCall{*d.node, inputs, outs});
    for (std::size_t p = 0; p < outs.size(); ++p)
      if (!outs[p].defined() || !(spec_of(outs[p]) == d.outputs[p]))
        throw BackendError(fmt::format("{}: forward produced {} for output {}, but inference said {}", d.name,
                                       outs[p].defined() ? to_string(spec_of(outs[p])) : "nothing", p, to_string(d.outputs[p])));
    if (!grad_state_)
      for (const PortRef& in : d.inputs)
        if (--uses[in.vertex] == 0) {
          const VertexData& src = graph.vertex(in.vertex);
          for (std::size_t p = 0; p < src.outputs.size(); ++p) values_[src.first_slot + p] = Tensor();
        }
  }
}

const Tensor& Execution::operator[](Value v) const {
  const Tensor& t = values_.at(graph_->vertex(v).first_slot + v.port());
  if (!t.defined())
    throw ValueError(fmt::format("Execution: {} was not computed by this forward pass (or was released)", v.name()));
  return t;
}

const Tensor& Gradients::operator[](Value v) const {
  for (std::size_t i = 0; i < values_.size(); ++i)
    if (values_[i] == v) return tensors_[i];
  throw ValueError(fmt::format("Gradients: no gradient was requested for {}", v.valid() ? v.name() : "an invalid value"));
}

Gradients Execution::backward(Value output, std::span<const Value> wrt_given, const BackwardOptions& options) {
  Graph& g = *graph_;
  if (!grad_state_) throw ValueError("Execution::backward: the forward pass ran under NoGradGuard and kept no state");
  if (released_) throw ValueError("Execution::backward: already run once; pass BackwardOptions{.retain = true} to run again");
  std::vector<Value> wrt(wrt_given.begin(), wrt_given.end());
  if (wrt.empty())
    for (Value p : g.parameters())
      if (g.vertex(p).requires_grad) wrt.push_back(p);

  const Tensor& y = (*this)[output];
  Tensor seed = options.cotangent;
  if (!seed.defined()) {
    if (y.numel() != 1)
      throw ShapeError(fmt::format("Execution::backward: output {} has shape {}; give a cotangent for a non-scalar output",
                                   output.name(), to_string(y.shape())));
    seed = Tensor::ones(y.shape(), y.dtype(), y.backend());
  } else if (!(spec_of(seed) == spec_of(y))) {
    throw ShapeError(fmt::format("Execution::backward: cotangent {} does not match output {} ({})",
                                 to_string(spec_of(seed)), output.name(), to_string(spec_of(y))));
  }

  const std::vector<std::uint32_t>& run = g.schedule(outputs_);
  // Which vertices lie on a path from a wrt value (forward reachability).
  std::vector<std::uint8_t> reaches(g.vertex_count(), 0);
  for (const Value& w : wrt) {
    if (!w.valid() || &w.graph() != &g) throw ValueError("Execution::backward: a wrt value belongs to another graph");
    reaches[w.vertex()] = 1;
  }
  for (std::uint32_t v : run)
    for (const PortRef& in : g.vertex(v).inputs) reaches[v] |= reaches[in.vertex];

  std::vector<Tensor> cot(values_.size());
  cot[g.vertex(output).first_slot + output.port()] = seed;
  std::vector<Tensor> inputs, in_cot;
  std::vector<std::uint8_t> wanted;
  std::vector<std::uint8_t> is_wrt(g.vertex_count(), 0);
  for (const Value& w : wrt) is_wrt[w.vertex()] = 1;

  for (auto it = run.rbegin(); it != run.rend(); ++it) {
    const std::uint32_t v = *it;
    const VertexData& d = g.vertex(v);
    std::span<Tensor> out_cot(cot.data() + d.first_slot, d.outputs.size());
    const bool any_cot = std::any_of(out_cot.begin(), out_cot.end(), [](const Tensor& t) { return t.defined(); });
    if (d.kind == VertexKind::op && any_cot && reaches[v]) {
      gather_inputs(g, v, values_, inputs);
      wanted.assign(d.inputs.size(), 0);
      for (std::size_t i = 0; i < d.inputs.size(); ++i) wanted[i] = reaches[d.inputs[i].vertex];
      in_cot.assign(d.inputs.size(), Tensor());
      std::span<const Tensor> outs(values_.data() + d.first_slot, d.outputs.size());
      d.node->impl(backend_of(inputs, d)).vjp(VjpCall{*d.node, inputs, outs, out_cot, in_cot, wanted});
      for (std::size_t i = 0; i < d.inputs.size(); ++i) {
        if (!wanted[i] || !in_cot[i].defined()) continue;
        const PortRef src = d.inputs[i];
        const TensorSpec& expect = g.vertex(src.vertex).outputs[src.port];
        if (!(spec_of(in_cot[i]) == expect))
          throw BackendError(fmt::format("{}: vjp produced {} for input {}, expected {}", d.name,
                                         to_string(spec_of(in_cot[i])), i, to_string(expect)));
        Tensor& target = cot[g.vertex(src.vertex).first_slot + src.port];
        target = accumulate(target, in_cot[i]);
      }
    }
    if (!options.retain && d.kind == VertexKind::op) {
      // every consumer of v ran before v in reverse order: v's values are no longer needed
      for (std::size_t p = 0; p < d.outputs.size(); ++p)
        if (std::find(outputs_.begin(), outputs_.end(), Value(&g, v, std::uint32_t(p))) == outputs_.end())
          values_[d.first_slot + p] = Tensor();
    }
    if (!is_wrt[v])
      for (Tensor& c : out_cot) c = Tensor();
  }
  if (!options.retain) released_ = true;

  std::vector<Tensor> grads;
  for (const Value& w : wrt) {
    Tensor gw = cot[g.vertex(w).first_slot + w.port()];
    if (!gw.defined()) {
      // no cotangent reached w: zeros on w's backend (a device parameter gets a device gradient)
      const Tensor& value = values_[g.vertex(w).first_slot + w.port()];
      const Tensor& held = value.defined() ? value : g.vertex(w).value;
      gw = Tensor::zeros(w.shape(), w.dtype(), held.defined() ? held.backend() : Backend::cpu);
    }
    grads.push_back(std::move(gw));
  }
  return Gradients(std::move(wrt), std::move(grads));
}

Execution Graph::forward(std::span<const Value> outputs, std::span<const Feed> feeds) {
  return Execution(*this, outputs, feeds);
}

Execution Graph::forward(std::initializer_list<Value> outputs, std::initializer_list<Feed> feeds) {
  return Execution(*this, std::span<const Value>(outputs.begin(), outputs.size()),
                   std::span<const Feed>(feeds.begin(), feeds.size()));
}

JvpResult Graph::jvp(std::span<const Value> outputs, std::span<const Feed> feeds, std::span<const Feed> tangents) {
  const std::vector<std::uint32_t>& run = schedule(outputs);
  std::vector<Tensor> values(slot_count()), tan(slot_count());
  bind_sources(*this, run, feeds, values);
  for (const Feed& t : tangents) {
    check_value(t.input, "Graph::jvp");
    const TensorSpec& s = t.input.spec();
    if (!t.value.defined() || !(spec_of(t.value) == s))
      throw ShapeError(fmt::format("Graph::jvp: tangent for {} must be {}, got {}", t.input.name(), to_string(s),
                                   t.value.defined() ? to_string(spec_of(t.value)) : "undefined"));
    tan[vertex(t.input).first_slot + t.input.port()] = t.value;
  }
  std::vector<Tensor> inputs, in_tan;
  for (std::uint32_t v : run) {
    const VertexData& d = vertex(v);
    if (d.kind != VertexKind::op) continue;
    gather_inputs(*this, v, values, inputs);
    std::span<Tensor> outs(values.data() + d.first_slot, d.outputs.size());
    const NodeImpl& impl = d.node->impl(backend_of(inputs, d));
    impl.forward(ForwardCall{*d.node, inputs, outs});
    gather_inputs(*this, v, tan, in_tan);
    std::span<Tensor> out_tan(tan.data() + d.first_slot, d.outputs.size());
    const bool seeded = std::any_of(out_tan.begin(), out_tan.end(), [](const Tensor& t) { return t.defined(); });
    if (!seeded && std::any_of(in_tan.begin(), in_tan.end(), [](const Tensor& t) { return t.defined(); }))
      impl.jvp(JvpCall{*d.node, inputs, outs, in_tan, out_tan});
  }
  JvpResult result;
  for (const Value& o : outputs) {
    result.values.push_back(values[vertex(o).first_slot + o.port()]);
    Tensor t = tan[vertex(o).first_slot + o.port()];
    if (!t.defined()) t = Tensor::zeros(o.shape(), o.dtype(), result.values.back().backend());  // on o's backend
    result.tangents.push_back(std::move(t));
  }
  return result;
}

}  // namespace nodal
