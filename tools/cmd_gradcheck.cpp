// nodal gradcheck NAME: gradcheck one registered node on random (or given) inputs.
#include <charconv>

#include <fmt/format.h>

#include "nodal/core/error.hpp"
#include "nodal/core/gradcheck.hpp"
#include "nodal/core/npy.hpp"
#include "nodal/tools/cli.hpp"

namespace nodal::cli {
namespace {

template <class T> T parse_number(std::string_view flag, std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size())
    throw UsageError(fmt::format("gradcheck: --{} '{}' is not a valid number", flag, text));
  return value;
}

Shape parse_shape(std::string_view text) {
  Shape shape;
  if (text.empty() || text == "scalar") return shape;  // a 0-d tensor
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const auto extent = parse_number<std::int64_t>("shape", text.substr(start, comma - start));
    if (extent < 0) throw UsageError(fmt::format("gradcheck: --shape '{}' has a negative extent", text));
    if (shape.rank() == Shape::max_rank) throw UsageError(fmt::format("gradcheck: --shape '{}' has more than {} axes", text, Shape::max_rank));
    shape.push_back(extent);
    start = comma + 1;
  }
  return shape;
}

DType parse_dtype(std::string_view name) {
  for (DType d : {DType::float32, DType::float64, DType::complex64, DType::complex128})
    if (dtype_name(d) == name) return d;
  throw UsageError(fmt::format("gradcheck: unknown --dtype '{}' (float32, float64, complex64, complex128)", name));
}

// Random inputs: normal(0, 1), or uniform in [low, high] when --uniform is given (e.g. for log).
std::vector<Tensor> random_inputs(const Args& args, const NodeTypeInfo& info, std::uint64_t seed, DType dtype) {
  std::vector<std::string> shapes = args.all("shape");
  if (shapes.empty()) shapes.assign(std::size_t(std::max(info.min_inputs, 1)), "2,3");
  check_input_count(info, shapes.size(), "--shape");
  const std::string uniform = args.one("uniform");
  double low = 0, high = 1;
  if (!uniform.empty()) {
    const std::size_t comma = uniform.find(',');
    if (comma == std::string::npos) throw UsageError(fmt::format("gradcheck: --uniform '{}': expected LOW,HIGH", uniform));
    low = parse_number<double>("uniform", std::string_view(uniform).substr(0, comma));
    high = parse_number<double>("uniform", std::string_view(uniform).substr(comma + 1));
  }
  std::vector<Tensor> inputs;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const Shape shape = parse_shape(shapes[i]);
    inputs.push_back(uniform.empty() ? Tensor::randn(shape, seed + i, dtype) : Tensor::rand(shape, seed + i, dtype, low, high));
  }
  return inputs;
}

}  // namespace

int run_gradcheck(const std::vector<std::string>& words) {
  const Args args = parse_args("gradcheck", words,
                               {"shape", "input", "set", "seed", "uniform", "dtype", "no-grad", "eps", "atol", "rtol"},
                               {"fast", "allow-zero"});
  if (args.positional.size() != 1) throw UsageError("gradcheck: give exactly one node type name (see nodal nodes)");
  const NodeTypeInfo& info = Registry::instance().type(args.positional.front());
  std::shared_ptr<const Node> node = Registry::instance().make(info.name, parse_sets(info, args.all("set")));
  const auto seed = parse_number<std::uint64_t>("seed", args.one("seed", "0"));
  const DType dtype = parse_dtype(args.one("dtype", "float64"));
  if (args.has("input") && args.has("shape")) throw UsageError("gradcheck: give either --input files or --shape, not both");

  std::vector<Tensor> inputs;
  if (args.has("input")) {
    check_input_count(info, args.all("input").size(), "--input");
    for (const std::string& path : args.all("input")) inputs.push_back(load_npy(path));
  } else {
    inputs = random_inputs(args, info, seed, dtype);
  }

  GradcheckOptions options = real_dtype(dtype) == DType::float32 ? gradcheck_float32_options() : GradcheckOptions{};
  options.seed = seed;
  options.fast = args.has("fast");
  options.allow_zero_jacobian = args.has("allow-zero");
  if (args.has("eps")) options.eps = parse_number<double>("eps", args.one("eps"));
  if (args.has("atol")) options.atol = parse_number<double>("atol", args.one("atol"));
  if (args.has("rtol")) options.rtol = parse_number<double>("rtol", args.one("rtol"));
  for (const std::string& i : args.all("no-grad")) options.no_grad_inputs.push_back(parse_number<std::size_t>("no-grad", i));

  const GradcheckResult result = gradcheck(node, inputs, options);
  fmt::print("{}: {}\n", info.name, result.report());
  return result ? 0 : 1;
}

}  // namespace nodal::cli
