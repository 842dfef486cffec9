// nodal: list node types, run one node on .npy files, gradcheck a node from the command line,
// train LeNet-5 on Fashion-MNIST.
// Exit status: 0 success, 1 a gradcheck failed, 2 an error (printed as "nodal: error: ...").
#include <exception>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "nodal/core/error.hpp"
#include "nodal/tools/cli.hpp"

namespace nodal::cli {
int run_devices(const std::vector<std::string>& words);  // tools/cmd_devices.cpp
}

namespace {

constexpr const char* help_text = R"(usage: nodal <command> [arguments]

commands:
  nodes [NAME]        list the registered node types: doc, inputs, attributes (name, type,
                      default) and the backends implementing them; NAME shows one type
  op NAME --input x.npy [--input w.npy ...] [--set key=value ...] [--cotangent g.npy ...]
          [--backend cpu] --out DIR
                      run node NAME forward on the inputs and write DIR/output0.npy, ...;
                      with one --cotangent per output, also run its vjp and write
                      DIR/grad_input0.npy, ...
  gradcheck NAME [--shape 2,3 ...] [--input x.npy ...] [--set key=value ...] [--seed N]
          [--uniform LOW,HIGH] [--dtype float64|float32|complex128] [--no-grad I ...]
          [--fast] [--eps E] [--atol A] [--rtol R] [--allow-zero]
                      check node NAME's vjp and jvp against central differences on random
                      inputs (one --shape per input; normal, or uniform in [LOW, HIGH]) or on
                      the given .npy inputs; prints the report, exit status 1 on failure
  devices             list the backends and every OpenCL platform and device with its memory,
                      compute units, limits, image/float64 support and versions; choose one
                      with NODAL_DEVICE=opencl:P:D or opencl:NAME
  train [--epochs N] [--batch-size N] [--optimizer sgd|adam|adamw] [--lr X] [--seed N]
        [--conv-algorithm NAME] [--data DIR] [--out DIR] [--resume CHECKPOINT] ...
                      train LeNet-5 on Fashion-MNIST (the main job; `nodal train --help`):
                      progress per epoch, test accuracy, DIR/metrics.csv, metrics.svg and
                      checkpoint.safetensors; Ctrl-C saves a checkpoint and stops
  help, --help, -h    this text

Attribute values are typed by the node's schema: 1.5, 3, true, 1,2,3 (lists).
Errors exit with status 2 and a line "nodal: error: <message>".
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace nodal;
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.empty()) {
      fmt::print(stderr, "{}", help_text);
      return 2;
    }
    const std::string& command = args.front();
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    if (command == "--help" || command == "-h" || command == "help") {
      fmt::print("{}", help_text);
      return 0;
    }
    if (command == "nodes") return cli::run_nodes(rest);
    if (command == "op") return cli::run_op(rest);
    if (command == "gradcheck") return cli::run_gradcheck(rest);
    if (command == "devices") return cli::run_devices(rest);
    if (command == "train") return cli::run_train(rest);
    throw cli::UsageError(fmt::format("unknown command '{}' (commands: nodes, op, gradcheck, devices, train; see nodal --help)", command));
  } catch (const cli::UsageError& e) {
    fmt::print(stderr, "nodal: error: {}\n", e.what());
    return 2;
  } catch (const Error& e) {
    fmt::print(stderr, "nodal: error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "nodal: error: unexpected failure: {}\n", e.what());
    return 2;
  }
}
