#pragma once
// The computation graph: a Boost.Graph adjacency_list whose vertices are nodes (inputs,
// parameters, constants and operations) and whose edges carry (output port -> input port).
//
// Graphs are built, then executed ("define, then run"): expressions such as
// `relu(matmul(x, w) + b)` add vertices and infer shapes at once; Graph::forward runs the part
// of the graph the requested outputs need, as many times as you like, with new input values.
#include <cstdint>
#include <iosfwd>
#include <map>
#include <memory>
#include <source_location>
#include <span>
#include <string>
#include <vector>

#include <boost/graph/adjacency_list.hpp>

#include "nodal/core/node.hpp"

namespace nodal {

class Graph;
class Execution;

// One output of one vertex. Cheap to copy; valid while its graph lives.
class Value {
 public:
  Value() = default;
  Value(Graph* graph, std::uint32_t vertex, std::uint32_t port) : graph_(graph), vertex_(vertex), port_(port) {}

  bool valid() const { return graph_ != nullptr; }
  Graph& graph() const;
  std::uint32_t vertex() const { return vertex_; }
  std::uint32_t port() const { return port_; }
  const TensorSpec& spec() const;
  const Shape& shape() const { return spec().shape; }
  DType dtype() const { return spec().dtype; }
  const std::string& name() const;

  friend bool operator==(const Value& a, const Value& b) {
    return a.graph_ == b.graph_ && a.vertex_ == b.vertex_ && a.port_ == b.port_;
  }
  friend auto operator<=>(const Value& a, const Value& b) {
    return std::tie(a.graph_, a.vertex_, a.port_) <=> std::tie(b.graph_, b.vertex_, b.port_);
  }

 private:
  Graph* graph_ = nullptr;
  std::uint32_t vertex_ = 0;
  std::uint32_t port_ = 0;
};

// A Value with the place in user code where it is being used: operators take their left operand
// as ValueAt so that a node built by `a + b` records the line of that expression.
struct ValueAt {
  ValueAt(const Value& v, std::source_location where = std::source_location::current()) : value(v), where(where) {}
  Value value;
  std::source_location where;
};

enum class VertexKind : std::uint8_t { input, parameter, constant, op };

struct PortRef {
  std::uint32_t vertex = 0;
  std::uint32_t port = 0;
};

struct VertexData {
  VertexKind kind = VertexKind::op;
  std::string name;
  std::shared_ptr<const Node> node;  // op vertices
  std::vector<PortRef> inputs;       // op vertices: the sources, in input order
  std::vector<TensorSpec> outputs;   // inferred output specs
  Tensor value;                      // parameter and constant vertices
  bool requires_grad = false;        // parameters
  std::source_location where;
  std::uint32_t first_slot = 0;      // index of output 0 in an Execution's flat value array
};

struct EdgeData {
  std::uint32_t output_port = 0;
  std::uint32_t input_port = 0;
};

using GraphStorage =
    boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS, VertexData, EdgeData>;

struct Feed {
  Value input;
  Tensor value;
};

struct JvpResult {
  std::vector<Tensor> values;    // the outputs
  std::vector<Tensor> tangents;  // their directional derivatives along the given tangents
};

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;  // Values point at their graph
  Graph& operator=(const Graph&) = delete;

  // --- building ---
  Value input(std::string name, const Shape& shape, DType dtype = DType::float32,
              std::source_location where = std::source_location::current());
  Value parameter(std::string name, Tensor initial, bool requires_grad = true,
                  std::source_location where = std::source_location::current());
  Value constant(Tensor value, std::string name = {}, std::source_location where = std::source_location::current());
  // Adds an operation; infers its output specs now (ShapeError names node, inputs and `where`).
  std::vector<Value> add(std::shared_ptr<const Node> node, std::span<const Value> inputs, std::source_location where);
  Value add1(std::shared_ptr<const Node> node, std::span<const Value> inputs, std::source_location where);
  // Rewires input `input_port` of op vertex `consumer` to `source` (may create a cycle, which
  // forward then reports).
  void connect(Value source, Value consumer, std::uint32_t input_port);
  // Changes an input's declared shape and re-infers every vertex (e.g. a smaller last batch).
  void resize_input(Value input, const Shape& shape);
  // Several inputs at once (images and labels of a smaller batch), all or nothing.
  struct InputShape {
    Value input;
    Shape shape;
  };
  void resize_inputs(std::span<const InputShape> inputs);
  void resize_inputs(std::initializer_list<InputShape> inputs) {
    resize_inputs(std::span<const InputShape>(inputs.begin(), inputs.size()));
  }

  // --- inspection ---
  std::size_t vertex_count() const { return boost::num_vertices(g_); }
  const VertexData& vertex(std::uint32_t v) const { return g_[v]; }
  const VertexData& vertex(Value v) const { return g_[v.vertex()]; }
  const GraphStorage& storage() const { return g_; }
  std::vector<Value> parameters() const;  // every parameter vertex, in creation order
  Value find(std::string_view name) const;  // ValueError when absent
  // The tensor of a parameter or constant (an optimizer updates parameters through it).
  Tensor& tensor(Value v);
  const Tensor& tensor(Value v) const;
  void write_dot(std::ostream& out) const;  // Graphviz: names, node types, shapes and dtypes
  std::string to_dot() const;
  std::uint64_t version() const { return version_; }

  // --- running ---
  Execution forward(std::span<const Value> outputs, std::span<const Feed> feeds = {});
  Execution forward(std::initializer_list<Value> outputs, std::initializer_list<Feed> feeds = {});
  // Forward mode: values and tangents of `outputs`, given tangents of any values (inputs,
  // parameters or intermediate outputs); unlisted values have zero tangent. One forward sweep.
  JvpResult jvp(std::span<const Value> outputs, std::span<const Feed> feeds, std::span<const Feed> tangents);

  // The vertices `outputs` need, in topological order (cached per output set and graph version).
  const std::vector<std::uint32_t>& schedule(std::span<const Value> outputs);
  std::uint32_t slot_count() const { return slot_count_; }

 private:
  friend class Execution;
  std::uint32_t add_vertex(VertexData data);
  void check_value(Value v, std::string_view op) const;
  std::vector<std::uint32_t> topological_order();

  GraphStorage g_;
  std::uint32_t slot_count_ = 0;
  std::uint64_t version_ = 0;
  std::uint64_t order_version_ = ~std::uint64_t(0);
  std::vector<std::uint32_t> order_;  // whole-graph topological order, for version_
  std::map<std::vector<std::uint32_t>, std::vector<std::uint32_t>> schedules_;
};

}  // namespace nodal
