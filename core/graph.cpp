#include "nodal/core/graph.hpp"

#include <algorithm>
#include <ostream>
#include <sstream>

#include <boost/graph/graphviz.hpp>
#include <boost/graph/topological_sort.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/core/error.hpp"

namespace nodal {

Graph& Value::graph() const {
  if (!graph_) throw ValueError("Value: this value belongs to no graph (default-constructed)");
  return *graph_;
}
const TensorSpec& Value::spec() const { return graph().vertex(vertex_).outputs.at(port_); }
const std::string& Value::name() const { return graph().vertex(vertex_).name; }

namespace {
std::string where_text(const std::source_location& w) {
  return w.file_name() && *w.file_name() ? fmt::format("{}:{}", w.file_name(), w.line()) : std::string("?");
}
}  // namespace

std::uint32_t Graph::add_vertex(VertexData data) {
  data.first_slot = slot_count_;
  slot_count_ += std::uint32_t(data.outputs.size());
  const auto v = std::uint32_t(boost::add_vertex(std::move(data), g_));
  for (std::uint32_t port = 0; port < g_[v].inputs.size(); ++port) {
    const PortRef src = g_[v].inputs[port];
    boost::add_edge(src.vertex, v, EdgeData{src.port, port}, g_);
  }
  ++version_;
  return v;
}

void Graph::check_value(Value v, std::string_view op) const {
  if (!v.valid() || &v.graph() != this || v.vertex() >= vertex_count() || v.port() >= g_[v.vertex()].outputs.size())
    throw ValueError(fmt::format("{}: the value does not belong to this graph", op));
}

Value Graph::input(std::string name, const Shape& shape, DType dtype, std::source_location where) {
  VertexData d;
  d.kind = VertexKind::input;
  d.name = std::move(name);
  d.outputs = {TensorSpec{shape, dtype}};
  d.where = where;
  return Value(this, add_vertex(std::move(d)), 0);
}

Value Graph::parameter(std::string name, Tensor initial, bool requires_grad, std::source_location where) {
  if (!initial.defined()) throw ValueError(fmt::format("Graph::parameter '{}': the initial tensor is undefined", name));
  VertexData d;
  d.kind = VertexKind::parameter;
  d.name = std::move(name);
  d.outputs = {spec_of(initial)};
  d.value = std::move(initial);
  d.requires_grad = requires_grad;
  d.where = where;
  return Value(this, add_vertex(std::move(d)), 0);
}

Value Graph::constant(Tensor value, std::string name, std::source_location where) {
  if (!value.defined()) throw ValueError("Graph::constant: the tensor is undefined");
  VertexData d;
  d.kind = VertexKind::constant;
  d.name = name.empty() ? fmt::format("constant#{}", vertex_count()) : std::move(name);
  d.outputs = {spec_of(value)};
  d.value = std::move(value);
  d.where = where;
  return Value(this, add_vertex(std::move(d)), 0);
}

std::vector<Value> Graph::add(std::shared_ptr<const Node> node, std::span<const Value> inputs, std::source_location where) {
  if (!node) throw ValueError("Graph::add: null node");
  VertexData d;
  d.kind = VertexKind::op;
  d.name = fmt::format("{}#{}", node->type(), vertex_count());
  d.where = where;
  std::vector<TensorSpec> specs;
  specs.reserve(inputs.size());
  for (const Value& in : inputs) {
    check_value(in, fmt::format("{} (created at {})", d.name, where_text(where)));
    d.inputs.push_back({in.vertex(), in.port()});
    specs.push_back(in.spec());
  }
  try {
    d.outputs = node->infer(specs);
  } catch (const Error& e) {
    std::vector<std::string> shown;
    for (const TensorSpec& s : specs) shown.push_back(to_string(s));
    const std::string detail = fmt::format("{} (inputs: {}; created at {}): {}", d.name, fmt::join(shown, ", "),
                                           where_text(where), e.what());
    if (dynamic_cast<const ShapeError*>(&e)) throw ShapeError(detail);
    if (dynamic_cast<const DTypeError*>(&e)) throw DTypeError(detail);
    throw ValueError(detail);
  }
  d.node = std::move(node);
  const std::uint32_t v = add_vertex(std::move(d));
  std::vector<Value> out;
  for (std::uint32_t p = 0; p < g_[v].outputs.size(); ++p) out.emplace_back(this, v, p);
  return out;
}

Value Graph::add1(std::shared_ptr<const Node> node, std::span<const Value> inputs, std::source_location where) {
  auto outs = add(std::move(node), inputs, where);
  if (outs.size() != 1) throw ValueError(fmt::format("Graph::add1: node has {} outputs, not 1", outs.size()));
  return outs[0];
}

void Graph::connect(Value source, Value consumer, std::uint32_t input_port) {
  check_value(source, "Graph::connect");
  check_value(consumer, "Graph::connect");
  VertexData& d = g_[consumer.vertex()];
  if (d.kind != VertexKind::op || input_port >= d.inputs.size())
    throw ValueError(fmt::format("Graph::connect: {} has no input port {}", d.name, input_port));
  if (!(source.spec() == vertex(d.inputs[input_port].vertex).outputs[d.inputs[input_port].port]))
    throw ShapeError(fmt::format("Graph::connect: {} has spec {}, but input {} of {} expects {}", source.name(),
                                 to_string(source.spec()), input_port, d.name,
                                 to_string(vertex(d.inputs[input_port].vertex).outputs[d.inputs[input_port].port])));
  // drop the old edge for this port, add the new one
  boost::remove_out_edge_if(d.inputs[input_port].vertex, [&](const auto& e) {
    return boost::target(e, g_) == consumer.vertex() && g_[e].input_port == input_port;
  }, g_);
  d.inputs[input_port] = {source.vertex(), source.port()};
  boost::add_edge(source.vertex(), consumer.vertex(), EdgeData{source.port(), input_port}, g_);
  ++version_;
}

void Graph::resize_input(Value input, const Shape& shape) { resize_inputs({{input, shape}}); }

void Graph::resize_inputs(std::span<const InputShape> inputs) {
  for (const InputShape& r : inputs) {
    check_value(r.input, "Graph::resize_inputs");
    if (g_[r.input.vertex()].kind != VertexKind::input)
      throw ValueError(fmt::format("Graph::resize_inputs: {} is not an input", g_[r.input.vertex()].name));
  }
  // Infer everything into a copy first, so shapes that do not fit leave the graph unchanged.
  std::vector<std::vector<TensorSpec>> specs(vertex_count());
  for (std::uint32_t v = 0; v < vertex_count(); ++v) specs[v] = g_[v].outputs;
  std::string what;
  for (const InputShape& r : inputs) {
    specs[r.input.vertex()][0].shape = r.shape;
    what += fmt::format("{}{} to {}", what.empty() ? "" : ", ", g_[r.input.vertex()].name, to_string(r.shape));
  }
  for (std::uint32_t v : topological_order()) {
    const VertexData& op = g_[v];
    if (op.kind != VertexKind::op) continue;
    std::vector<TensorSpec> in;
    for (const PortRef& src : op.inputs) in.push_back(specs[src.vertex][src.port]);
    try {
      specs[v] = op.node->infer(in);
    } catch (const ShapeError& e) {
      throw ShapeError(fmt::format("Graph::resize_input: {}: {} (created at {}) no longer fits: {}", what, op.name,
                                   where_text(op.where), e.what()));
    }
  }
  for (std::uint32_t v = 0; v < vertex_count(); ++v) g_[v].outputs = std::move(specs[v]);
  ++version_;
}

std::vector<Value> Graph::parameters() const {
  std::vector<Value> out;
  for (std::uint32_t v = 0; v < vertex_count(); ++v)
    if (g_[v].kind == VertexKind::parameter) out.emplace_back(const_cast<Graph*>(this), v, 0);
  return out;
}

Value Graph::find(std::string_view name) const {
  for (std::uint32_t v = 0; v < vertex_count(); ++v)
    if (g_[v].name == name) return Value(const_cast<Graph*>(this), v, 0);
  throw ValueError(fmt::format("Graph::find: no vertex named '{}'", name));
}

Tensor& Graph::tensor(Value v) {
  check_value(v, "Graph::tensor");
  VertexData& d = g_[v.vertex()];
  if (d.kind != VertexKind::parameter && d.kind != VertexKind::constant)
    throw ValueError(fmt::format("Graph::tensor: {} is not a parameter or constant", d.name));
  return d.value;
}
const Tensor& Graph::tensor(Value v) const { return const_cast<Graph*>(this)->tensor(v); }

std::vector<std::uint32_t> Graph::topological_order() {
  if (order_version_ == version_) return order_;
  std::vector<std::uint32_t> reversed;
  try {
    boost::topological_sort(g_, std::back_inserter(reversed));
  } catch (const boost::not_a_dag&) {
    // Name the nodes on one cycle: walk DFS colours until a back edge closes a loop.
    const std::size_t n = vertex_count();
    std::vector<int> colour(n, 0), parent(n, -1);
    std::vector<std::uint32_t> cycle;
    std::function<bool(std::uint32_t)> visit = [&](std::uint32_t v) {
      colour[v] = 1;
      for (auto [e, end] = boost::out_edges(v, g_); e != end; ++e) {
        const auto t = std::uint32_t(boost::target(*e, g_));
        if (colour[t] == 1) {
          for (std::uint32_t u = v; u != t; u = std::uint32_t(parent[u])) cycle.push_back(u);
          cycle.push_back(t);
          return true;
        }
        if (colour[t] == 0) {
          parent[t] = int(v);
          if (visit(t)) return true;
        }
      }
      colour[v] = 2;
      return false;
    };
    for (std::uint32_t v = 0; v < n && cycle.empty(); ++v)
      if (colour[v] == 0) visit(v);
    std::reverse(cycle.begin(), cycle.end());
    std::vector<std::string_view> names;
    for (std::uint32_t v : cycle) names.push_back(g_[v].name);
    throw ValueError(fmt::format("graph has a cycle: {} -> {}", fmt::join(names, " -> "), names.empty() ? "?" : names.front()));
  }
  order_.assign(reversed.rbegin(), reversed.rend());
  order_version_ = version_;
  return order_;
}

const std::vector<std::uint32_t>& Graph::schedule(std::span<const Value> outputs) {
  std::vector<std::uint32_t> key;
  for (const Value& v : outputs) {
    check_value(v, "Graph::forward");
    key.push_back(v.vertex());
  }
  std::sort(key.begin(), key.end());
  key.erase(std::unique(key.begin(), key.end()), key.end());
  if (order_version_ != version_) schedules_.clear();
  if (auto it = schedules_.find(key); it != schedules_.end()) return it->second;
  const std::vector<std::uint32_t> order = topological_order();
  std::vector<std::uint8_t> needed(vertex_count(), 0);
  for (std::uint32_t v : key) needed[v] = 1;
  for (auto it = order.rbegin(); it != order.rend(); ++it)
    if (needed[*it])
      for (const PortRef& in : g_[*it].inputs) needed[in.vertex] = 1;
  std::vector<std::uint32_t> run;
  for (std::uint32_t v : order)
    if (needed[v]) run.push_back(v);
  return schedules_.emplace(std::move(key), std::move(run)).first->second;
}

void Graph::write_dot(std::ostream& out) const {
  auto vertex_writer = [this](std::ostream& os, std::size_t v) {
    const VertexData& d = g_[v];
    std::vector<std::string> outs;
    for (const TensorSpec& s : d.outputs) outs.push_back(to_string(s));
    std::string label = fmt::format("{}\\n{}", d.name, fmt::join(outs, "\\n"));
    if (d.node && !d.node->attributes().empty()) label += "\\n" + to_string(d.node->attributes());
    const char* shape = d.kind == VertexKind::op ? "box" : d.kind == VertexKind::input ? "ellipse" : "note";
    os << fmt::format("[label=\"{}\", shape={}]", label, shape);
  };
  auto edge_writer = [this](std::ostream& os, const auto& e) {
    os << fmt::format("[label=\"{}→{}\"]", g_[e].output_port, g_[e].input_port);
  };
  boost::write_graphviz(out, g_, vertex_writer, edge_writer);
}

std::string Graph::to_dot() const {
  std::ostringstream s;
  write_dot(s);
  return s.str();
}

}  // namespace nodal
