// The nodal command-line tool, run as a program. tools/CMakeLists.txt makes this test depend on
// the tool and passes its path as NODAL_CLI_PATH; without it, the tool is looked for next to this
// test's folder, as <build>/tools/nodal.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "nodal/core/npy.hpp"
#include "nodal/core/tensor.hpp"

using namespace nodal;
namespace fs = std::filesystem;

namespace {

fs::path tool_path() {
#ifdef NODAL_CLI_PATH
  return NODAL_CLI_PATH;
#else
  return fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "tools" / "nodal";
#endif
}

// A scratch folder for one test case, removed at the end.
struct Scratch {
  fs::path dir;
  explicit Scratch(std::string_view name) : dir(fs::temp_directory_path() / fmt::format("nodal_test_cli_{}_{}", name, getpid())) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Scratch() { fs::remove_all(dir); }
  std::string at(std::string_view file) const { return (dir / file).string(); }
};

struct Run {
  int status = -1;
  std::string out, err;
};

// Runs `nodal <arguments>`, capturing stdout, stderr and the exit status.
Run run_tool(const Scratch& s, const std::string& arguments) {
  const fs::path tool = tool_path();
  REQUIRE_MESSAGE(fs::exists(tool), "the tool is not built at ", tool.string(), " (build target nodal_cli)");
  const std::string command = fmt::format("'{}' {} > '{}' 2> '{}'", tool.string(), arguments, s.at("stdout.txt"), s.at("stderr.txt"));
  const int raw = std::system(command.c_str());
  const auto slurp = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, slurp(s.at("stdout.txt")), slurp(s.at("stderr.txt"))};
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("nodal --help and nodes") {
  Scratch s("help");
  const Run help = run_tool(s, "--help");
  CHECK(help.status == 0);
  CHECK(contains(help.out, "gradcheck NAME"));
  const Run nodes = run_tool(s, "nodes");
  CHECK(nodes.status == 0);
  CHECK(contains(nodes.out, "\nrelu\n"));
  CHECK(contains(nodes.out, "\nadd\n"));
  CHECK(contains(nodes.out, "backends: cpu"));
  const Run one = run_tool(s, "nodes leaky_relu");
  CHECK(one.status == 0);
  CHECK(contains(one.out, "attribute negative_slope"));
  CHECK(contains(one.out, "default 0.01"));
}

TEST_CASE("nodal op: forward and vjp through .npy files") {
  Scratch s("op");
  save_npy(s.at("x.npy"), Tensor::from_vector<double>({-1.0, 2.0, -3.0, 4.0}, Shape{2, 2}));
  save_npy(s.at("g.npy"), Tensor::from_vector<double>({10.0, 20.0, 30.0, 40.0}, Shape{2, 2}));
  const Run r = run_tool(s, fmt::format("op relu --input {} --cotangent {} --out {}", s.at("x.npy"), s.at("g.npy"), s.at("out")));
  CHECK_MESSAGE(r.status == 0, r.err);
  CHECK(load_npy(s.at("out/output0.npy")).to_vector<double>() == std::vector<double>{0, 2, 0, 4});
  CHECK(load_npy(s.at("out/grad_input0.npy")).to_vector<double>() == std::vector<double>{0, 20, 0, 40});

  // attributes typed by the schema: leaky_relu with slope 0.5
  const Run leaky = run_tool(s, fmt::format("op leaky_relu --set negative_slope=0.5 --input {} --out {}", s.at("x.npy"), s.at("leaky")));
  CHECK_MESSAGE(leaky.status == 0, leaky.err);
  CHECK(load_npy(s.at("leaky/output0.npy")).to_vector<double>() == std::vector<double>{-0.5, 2, -1.5, 4});

  // two inputs with broadcasting: the gradient of b sums over the broadcast axis
  save_npy(s.at("b.npy"), Tensor::from_vector<double>({1.0, 2.0}, Shape{2}));
  const Run add = run_tool(s, fmt::format("op add --input {} --input {} --cotangent {} --out {}", s.at("x.npy"), s.at("b.npy"),
                                       s.at("g.npy"), s.at("add")));
  CHECK_MESSAGE(add.status == 0, add.err);
  CHECK(load_npy(s.at("add/output0.npy")).to_vector<double>() == std::vector<double>{0, 4, -2, 6});
  CHECK(load_npy(s.at("add/grad_input1.npy")).to_vector<double>() == std::vector<double>{40, 60});
}

TEST_CASE("nodal gradcheck: exit 0 on a correct node with the report printed") {
  Scratch s("gradcheck");
  const Run r = run_tool(s, "gradcheck add --shape 2,3 --shape 3 --seed 7");
  CHECK_MESSAGE(r.status == 0, r.out, r.err);
  CHECK(contains(r.out, "gradcheck PASSED"));
  CHECK(contains(r.out, "input1 [3] float64"));
  const Run logs = run_tool(s, "gradcheck log --shape 4 --uniform 0.5,2");
  CHECK_MESSAGE(logs.status == 0, logs.out);
}

TEST_CASE("nodal: clear errors with exit status 2") {
  Scratch s("errors");
  const auto expect_error = [&](const std::string& arguments, std::string_view part) {
    const Run r = run_tool(s, arguments);
    CHECK_MESSAGE(r.status == 2, arguments);
    CHECK_MESSAGE(contains(r.err, "nodal: error:"), arguments, " -> ", r.err);
    CHECK_MESSAGE(contains(r.err, part), arguments, " -> ", r.err);
  };
  expect_error("frobnicate", "unknown command 'frobnicate'");
  expect_error("op relu --bogus 1", "unknown option '--bogus'");
  expect_error(fmt::format("op relu --input {} --out {}", s.at("missing.npy"), s.at("o")), "missing.npy");
  expect_error("op no_such_node --out x", "no_such_node");
  save_npy(s.at("x.npy"), Tensor::from_vector<double>({1.0}, Shape{1}));
  expect_error(fmt::format("op leaky_relu --set slope=2 --input {} --out {}", s.at("x.npy"), s.at("o")), "negative_slope");
  expect_error(fmt::format("op add --input {} --out {}", s.at("x.npy"), s.at("o")), "takes 2 input(s)");
  expect_error("gradcheck relu --shape 2,x", "not a valid number");
}

TEST_CASE("nodal op --explain: a convolution's geometry and algorithm choice then the run") {
  Scratch s("explain");
  save_npy(s.at("x.npy"), Tensor::randn(Shape{1, 2, 6, 6}, 1, DType::float64));
  save_npy(s.at("w.npy"), Tensor::randn(Shape{3, 2, 3, 3}, 2, DType::float64));
  const std::string inputs = fmt::format("--input {} --input {}", s.at("x.npy"), s.at("w.npy"));

  const Run named = run_tool(s, fmt::format("op conv2d --set padding=1 --set algorithm=gemm --explain {} --out {}", inputs, s.at("g")));
  CHECK_MESSAGE(named.status == 0, named.err);
  CHECK(contains(named.out, "conv2d n1 c2->3 g1 in6x6 k3x3"));
  CHECK(contains(named.out, "algorithm = gemm"));
  CHECK(contains(named.out, "choice: gemm: requested"));
  CHECK(load_npy(s.at("g/output0.npy")).shape() == Shape{1, 3, 6, 6});

  // measure times the candidates before the run: the table shows timings and the cached choice.
  const Run measured = run_tool(s, fmt::format("op conv2d --set padding=1 --set algorithm=measure --explain {} --out {}", inputs, s.at("m")));
  CHECK_MESSAGE(measured.status == 0, measured.err);
  CHECK(contains(measured.out, "choice: measure: "));
  CHECK(contains(measured.out, "(cached)"));
  CHECK(contains(measured.out, "<- chosen"));

  const Run other = run_tool(s, fmt::format("op relu --explain --input {} --out {}", s.at("x.npy"), s.at("r")));
  CHECK_MESSAGE(other.status == 0, other.err);
  CHECK(contains(other.out, "has no algorithm choice"));
}
