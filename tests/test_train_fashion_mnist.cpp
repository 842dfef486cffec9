// The Fashion-MNIST trainer (the project's main job) on a 1,000-image subset: the loss falls, a
// run is bitwise reproducible, and stopping (at an epoch boundary or mid-epoch, as Ctrl-C does)
// then resuming from the checkpoint ends exactly where an uninterrupted run ends.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "nodal/examples/train_fashion_mnist.hpp"
#include "nodal/nn/safetensors.hpp"
#ifdef NODAL_HAS_OPENCL
#include "nodal/backends/opencl/devices.hpp"
#endif

using namespace nodal;

namespace {

std::filesystem::path scratch(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("nodal_test_train_" + name);
  std::filesystem::remove_all(dir);
  return dir;
}

examples::TrainOptions small_run(const std::filesystem::path& out) {
  examples::TrainOptions o;
  o.epochs = 3;
  o.train_subset = 1000;  // 16 batches of 64 (the last one 40)
  o.test_subset = 500;
  o.out_dir = out.string();
  o.lr = 0.05;  // 48 steps in all: the default 0.01 barely leaves chance level in so few
  o.quiet = true;
  o.conv_algorithm = "gemm";  // a fixed algorithm: the runs below must be bitwise comparable
  return o;
}

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The model's parameters and the optimizer's state in a checkpoint, as raw bytes per name.
std::map<std::string, std::vector<float>> weights(const std::filesystem::path& checkpoint) {
  std::map<std::string, std::vector<float>> out;
  for (const auto& [name, t] : nn::load_safetensors(checkpoint).tensors) out[name] = t.to_vector<float>();
  return out;
}

}  // namespace

TEST_CASE("training on 1000 images lowers the loss and writes the run's files") {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))
    FAIL("Fashion-MNIST is missing: install Debian's dataset-fashion-mnist (scripts/install-deps.sh does)");
  const auto out = scratch("loss");
  const examples::TrainResult r = examples::train_fashion_mnist(small_run(out));
  REQUIRE(r.epochs.size() == 3);
  // Chance level is ln 10 ≈ 2.303 and 10 %. On this subset the run measured train losses 2.28,
  // 1.84, 1.46 and a test loss of 1.15 with 40 % accuracy after 3 epochs; the bounds leave room
  // for other compilers' and instruction sets' rounding, which changes the trajectory slightly.
  CHECK(r.epochs[0].train_loss > 2.0);
  CHECK(r.epochs[2].train_loss < 1.8);
  CHECK(r.epochs[2].test_loss < 1.6);
  CHECK(r.epochs[2].test_accuracy > 0.3);
  CHECK(read(out / "metrics.csv").rfind("epoch,train_loss", 0) == 0);
  CHECK(read(out / "metrics.svg").find("<polyline") != std::string::npos);
  CHECK(std::filesystem::exists(out / "checkpoint.safetensors"));
  std::filesystem::remove_all(out);
}

TEST_CASE("same seed gives a bitwise identical run and resuming matches an uninterrupted run") {
  const auto full = scratch("full"), again = scratch("again"), split = scratch("split");
  examples::train_fashion_mnist(small_run(full));
  examples::train_fashion_mnist(small_run(again));
  CHECK(weights(full / "checkpoint.safetensors") == weights(again / "checkpoint.safetensors"));
  CHECK(read(full / "metrics.csv").substr(0, 60) == read(again / "metrics.csv").substr(0, 60));

  // Stop in the middle of epoch 2 (as Ctrl-C does), then resume twice more until done.
  examples::TrainOptions first = small_run(split);
  first.stop_after_batches = 16 + 5;
  CHECK(examples::train_fashion_mnist(first).interrupted);
  examples::TrainOptions second = small_run(split);
  second.resume = (split / "checkpoint.safetensors").string();
  second.stop_after_batches = 20;  // into epoch 3
  CHECK(examples::train_fashion_mnist(second).interrupted);
  examples::TrainOptions third = small_run(split);
  third.resume = (split / "checkpoint.safetensors").string();
  const examples::TrainResult done = examples::train_fashion_mnist(third);
  CHECK_FALSE(done.interrupted);
  CHECK(weights(split / "checkpoint.safetensors") == weights(full / "checkpoint.safetensors"));
  REQUIRE(done.epochs.size() == 3);
  const examples::TrainResult reference = examples::train_fashion_mnist(small_run(again));
  for (std::size_t e = 0; e < 3; ++e) {
    CHECK(done.epochs[e].train_loss == doctest::Approx(reference.epochs[e].train_loss).epsilon(1e-6));
    CHECK(done.epochs[e].test_accuracy == reference.epochs[e].test_accuracy);
  }
  for (const auto& d : {full, again, split}) std::filesystem::remove_all(d);
}

TEST_CASE("a cosine learning-rate schedule changes the run and survives a resume mid-epoch") {
  const auto plain = scratch("plain"), full = scratch("cosine_full"), split = scratch("cosine_split");
  examples::TrainOptions o = small_run(full);
  o.epochs = 2;
  o.lr_schedule = "cosine";
  o.warmup_epochs = 1;
  examples::train_fashion_mnist(o);
  examples::TrainOptions none = o;
  none.lr_schedule = "none";
  none.warmup_epochs = 0;
  none.out_dir = plain.string();
  examples::train_fashion_mnist(none);
  // the schedule is applied: a different lr at every step gives different weights
  CHECK(weights(full / "checkpoint.safetensors") != weights(plain / "checkpoint.safetensors"));

  examples::TrainOptions first = o;
  first.out_dir = split.string();
  first.stop_after_batches = 16 + 7;  // in the second epoch, past the warm-up
  CHECK(examples::train_fashion_mnist(first).interrupted);
  examples::TrainOptions second = first;
  second.stop_after_batches = 0;
  second.resume = (split / "checkpoint.safetensors").string();
  CHECK_FALSE(examples::train_fashion_mnist(second).interrupted);
  CHECK(weights(split / "checkpoint.safetensors") == weights(full / "checkpoint.safetensors"));
  for (const auto& d : {plain, full, split}) std::filesystem::remove_all(d);
}

TEST_CASE("bad options are rejected with the flag named") {
  CHECK_THROWS_WITH_AS(examples::parse_train_options({"--epochs", "x"}), doctest::Contains("--epochs"), ValueError);
  CHECK_THROWS_WITH_AS(examples::parse_train_options({"--bogus", "1"}), doctest::Contains("--bogus"), ValueError);
  CHECK(examples::parse_train_options({"--lr=0.05", "--quiet"}).lr == 0.05);
  CHECK(examples::parse_train_options({"--lr-schedule", "cosine", "--warmup-epochs", "1"}).warmup_epochs == 1);
  examples::TrainOptions o;
  o.backend = "cuda";
  CHECK_THROWS_WITH_AS(examples::train_fashion_mnist(o), doctest::Contains("--backend"), ValueError);
  o.backend = "cpu";
  o.lr_schedule = "linear";
  CHECK_THROWS_WITH_AS(examples::train_fashion_mnist(o), doctest::Contains("--lr-schedule"), ValueError);
  o.lr_schedule = "cosine";
  o.warmup_epochs = o.epochs;
  CHECK_THROWS_WITH_AS(examples::train_fashion_mnist(o), doctest::Contains("--warmup-epochs"), ValueError);
  o.lr_schedule = "none";
  o.optimizer = "rmsprop";
  o.data_dir = "/nonexistent";
  CHECK_THROWS_AS(examples::train_fashion_mnist(o), IoError);
}

#ifdef NODAL_HAS_OPENCL
// `--backend opencl` on PoCL in CI: LeNet-5 trains on the device (parameters, optimizer state,
// activations and gradients there; one upload per batch) and follows the CPU run closely.
TEST_CASE("training on OpenCL lowers the loss and follows the CPU run") {
  if (opencl::devices().empty()) {
    MESSAGE("skipped: no OpenCL platform on this machine (install pocl-opencl-icd)");
    return;
  }
  // The run needs every node of LeNet-5 and its loss on OpenCL: the trainer checks that before the
  // first step and names the missing ones (BackendError), which this test reports as its failure.
  const auto cpu_dir = scratch("cpu1"), cl_dir = scratch("opencl1");
  examples::TrainOptions o = small_run(cl_dir);
  o.conv_algorithm = "auto";
  o.epochs = 2;
  o.train_subset = 320;  // 5 batches of 64 per epoch: a few seconds on PoCL (2 cores)
  o.optimizer = "adam";  // learns faster than SGD in 10 steps
  o.lr = 3e-3;
  o.test_subset = 200;
  o.test_batch_size = 100;
  o.backend = "opencl";
  examples::TrainResult cl;
  try {
    cl = examples::train_fashion_mnist(o);
  } catch (const BackendError& e) {
    FAIL("LeNet-5 cannot train on OpenCL in this build: " << std::string(e.what()));
  }
  o.out_dir = cpu_dir.string();
  o.backend = "cpu";
  const examples::TrainResult cpu = examples::train_fashion_mnist(o);
  REQUIRE(cl.epochs.size() == 2);
  // Chance level is ln 10 ≈ 2.303; this run (10 Adam steps) measured 2.27 then 1.96 on both
  // backends. The device must learn: below 2.1 in the second epoch.
  CHECK(cl.epochs[1].train_loss < 2.1);
  CHECK(cl.epochs[1].train_loss < cl.epochs[0].train_loss);
  // The same 10 steps from the same initial weights on the same batches: the backends differ only
  // in rounding (a few ε per node in the parity tests), which 10 steps carry along without
  // amplifying it beyond ~1e-5 (measured: the epoch losses agree to 6 digits on PoCL). 0.01 on the
  // loss and 2 test images of 200 leave room for other devices while catching any real
  // divergence (a wrong gradient moves the loss by more than 0.01 within a few steps).
  for (std::size_t e = 0; e < 2; ++e) {
    INFO("epoch ", e + 1, ": cpu ", cpu.epochs[e].train_loss, " opencl ", cl.epochs[e].train_loss);
    CHECK(std::abs(cl.epochs[e].train_loss - cpu.epochs[e].train_loss) < 0.01);
    CHECK(std::abs(cl.epochs[e].test_accuracy - cpu.epochs[e].test_accuracy) <= 0.01 + 1e-9);
  }
  MESSAGE(fmt::format("opencl train losses {:.7f}, {:.7f} (cpu {:.7f}, {:.7f}), test accuracy {} (cpu {}), {:.0f} images/s",
                      cl.epochs[0].train_loss, cl.epochs[1].train_loss, cpu.epochs[0].train_loss,
                      cpu.epochs[1].train_loss, cl.epochs[1].test_accuracy, cpu.epochs[1].test_accuracy,
                      cl.epochs[1].images_per_second));
  CHECK(std::filesystem::exists(cl_dir / "checkpoint.safetensors"));

  // Stopped mid-epoch 2 and resumed (checkpoint written from the device, optimizer state
  // uploaded again): the device kernels are deterministic, so it ends bit for bit where the
  // uninterrupted device run ended.
  const auto split_dir = scratch("opencl_split");
  examples::TrainOptions first = o;
  first.backend = "opencl";
  first.out_dir = split_dir.string();
  first.stop_after_batches = 7;
  CHECK(examples::train_fashion_mnist(first).interrupted);
  examples::TrainOptions second = first;
  second.stop_after_batches = 0;
  second.resume = (split_dir / "checkpoint.safetensors").string();
  const examples::TrainResult resumed = examples::train_fashion_mnist(second);
  CHECK_FALSE(resumed.interrupted);
  CHECK(weights(split_dir / "checkpoint.safetensors") == weights(cl_dir / "checkpoint.safetensors"));
  REQUIRE(resumed.epochs.size() == 2);
  CHECK(resumed.epochs[1].train_loss == doctest::Approx(cl.epochs[1].train_loss).epsilon(1e-6));
  for (const auto& d : {cpu_dir, cl_dir, split_dir}) std::filesystem::remove_all(d);
}
#endif
