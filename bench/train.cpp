// bench/train: images per second of LeNet-5 training steps (forward, backward, SGD momentum step)
// at batch 64, 256 and 1024, and the peak resident memory, for nodal and — side by side in the same
// run — libtorch with the same model, optimizer, batches and thread count. When an OpenCL device
// is present, nodal also trains on it (the default device: the first GPU, else the first device;
// NODAL_DEVICE picks another), with parameters, optimizer state and activations on the device and
// one upload of the batch per step; that column is named after the device.
//
// Each (framework, batch) runs in its own child process (this program re-executed with --child),
// so peak RSS is that framework's alone. Both load Fashion-MNIST through nodal's idx reader (about
// 190 MB as float32) and train on the same shuffled batches. libtorch runs in its best measured
// configuration, found by running it in each candidate below and keeping the fastest per batch:
//   tuned      OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=active (the training issue's 19,500 images/s)
//   tuned+malloc  the same plus glibc told to keep freed memory (the convolution issue's setting:
//              MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_)
//   1 thread   OPENBLAS_NUM_THREADS=1, one intra-op thread (the 11,800 images/s)
// nodal runs once, in the "tuned" environment. Ratios are against libtorch's best candidate.
//
//   bench/train [--threads 2] [--steps 300] [--markdown]
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "nodal/core/execution.hpp"
#ifdef NODAL_HAS_OPENCL
#include "nodal/backends/opencl/activity.hpp"
#include "nodal/backends/opencl/context.hpp"
#include "nodal/backends/opencl/devices.hpp"
#endif
#include "nodal/nn/dataset.hpp"
#include "nodal/nn/device_training.hpp"
#include "nodal/nn/layers.hpp"
#include "nodal/nn/loader.hpp"
#include "nodal/nn/sgd.hpp"
#include "nodal/nodes/loss.hpp"
#include "train_peer.hpp"

using namespace nodal;

namespace {

class NodalStep final : public bench::TrainStep {
 public:
  NodalStep(std::int64_t batch, Backend backend) : backend_(backend) {
    nn::manual_seed(1);
    net_ = nn::sequential({nn::conv2d(1, 6, {5}, {.padding = ConvPadding::all(2)}), nn::relu(),
                           nn::max_pool2d({.kernel = {2}}), nn::conv2d(6, 16, {5}), nn::relu(),
                           nn::max_pool2d({.kernel = {2}}), nn::flatten(), nn::linear(400, 120), nn::relu(),
                           nn::linear(120, 84), nn::relu(), nn::linear(84, 10)});
    if (backend_ != Backend::cpu) {
      net_->to(backend_);  // parameters (and so the optimizer's state) live on the device
      seed_ = Tensor::ones(Shape{}, DType::float32, backend_);  // backward's ȳ = 1, uploaded once
    }
    x_ = g_.input("x", Shape{batch, 1, 28, 28});
    y_ = g_.input("y", Shape{batch});
    loss_ = cross_entropy((*net_)(x_), y_);
    params_ = net_->parameter_values(g_);
    opt_ = std::make_unique<nn::Sgd>(net_->named_parameters(), nn::SgdOptions{.lr = 0.01, .momentum = 0.9});
    batch_ = batch;
  }
  double step(const float* images, const float* labels) override {
    Tensor x = Tensor::empty(Shape{batch_, 1, 28, 28});
    Tensor y = Tensor::empty(Shape{batch_});
    std::memcpy(x.data<float>(), images, std::size_t(batch_) * 784 * sizeof(float));
    std::memcpy(y.data<float>(), labels, std::size_t(batch_) * sizeof(float));
    if (backend_ != Backend::cpu) {
      // one upload (images and labels packed), no download: the loss stays on the device
      Tensor packed = Tensor::empty(Shape{batch_ * 785});
      std::memcpy(packed.data<float>(), images, std::size_t(batch_) * 784 * sizeof(float));
      std::memcpy(packed.data<float>() + batch_ * 784, labels, std::size_t(batch_) * sizeof(float));
      const Tensor device = nn::device_training_kernels(backend_, "bench").upload(packed);  // does not wait
      const Tensor xd = device.slice(0, 0, batch_ * 784).reshape(Shape{batch_, 1, 28, 28});
      const Tensor yd = device.slice(0, batch_ * 784, batch_ * 785);
      Execution run = g_.forward({loss_}, {{x_, xd}, {y_, yd}});
      const Gradients grads = run.backward(loss_, params_, {.cotangent = seed_});
      opt_->step(grads.tensors());
      last_loss_ = run[loss_];
      return std::numeric_limits<double>::quiet_NaN();
    }
    Execution run = g_.forward({loss_}, {{x_, x}, {y_, y}});
    const Gradients grads = run.backward(loss_, params_);
    opt_->step(grads.tensors());
    return run[loss_].item<float>();
  }
  double sync() override {  // the download waits for every queued kernel
    return last_loss_.defined() ? double(last_loss_.to(Backend::cpu).item<float>()) : bench::TrainStep::sync();
  }

 private:
  std::shared_ptr<nn::Sequential> net_;
  Graph g_;
  Value x_, y_, loss_;
  std::vector<Value> params_;
  std::unique_ptr<nn::Sgd> opt_;
  std::int64_t batch_ = 0;
  Backend backend_;
  Tensor seed_, last_loss_;
};

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;  // kilobytes on Linux
}

// The child: one framework, one batch size; prints "RESULT images/s peak-MiB final-loss".
int run_child(const std::string& framework, std::int64_t batch, int steps, int threads) {
  const nn::TrainTest data = nn::load_fashion_mnist();
  const nn::Loader order_source(data.train, {.batch_size = batch, .seed = 1, .prefetch = false});
  const std::vector<std::int64_t> order = order_source.epoch_order(0);
  std::unique_ptr<bench::TrainStep> step =
      framework == "torch"          ? bench::make_torch_step(batch, threads)
      : framework == "nodal-opencl" ? std::make_unique<NodalStep>(batch, Backend::opencl)
                                    : std::make_unique<NodalStep>(batch, Backend::cpu);
  if (!step) {
    fmt::print("RESULT 0 0 0\n");
    return 0;
  }
  std::vector<float> images(std::size_t(batch) * 784);
  std::vector<float> labels(static_cast<std::size_t>(batch));
  const float* all_images = data.train.images.data<float>();
  const float* all_labels = data.train.labels.data<float>();
  const std::int64_t per_epoch = data.train.size() / batch;
  auto gather = [&](int k) {
    const std::int64_t first = (k % per_epoch) * batch;
    for (std::int64_t i = 0; i < batch; ++i) {
      const std::int64_t row = order[std::size_t(first + i)];
      std::memcpy(&images[std::size_t(i) * 784], all_images + row * 784, 784 * sizeof(float));
      labels[std::size_t(i)] = all_labels[row];
    }
  };
  double loss = 0;
  for (int k = 0; k < 10; ++k) {  // warm-up: pools, plans, caches, kernel builds
    gather(k);
    loss = step->step(images.data(), labels.data());
  }
  step->sync();
#ifdef NODAL_HAS_OPENCL
  const opencl::Activity before = opencl::activity();
#endif
  const auto t0 = std::chrono::steady_clock::now();
  for (int k = 10; k < 10 + steps; ++k) {
    gather(k);
    loss = step->step(images.data(), labels.data());
  }
  if (const double synced = step->sync(); !std::isnan(synced)) loss = synced;  // a device step ends here
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print("RESULT {:.1f} {:.1f} {:.4f}\n", double(steps) * double(batch) / seconds, peak_rss_mib(), loss);
#ifdef NODAL_HAS_OPENCL
  // what a device step asks of the device: kernel launches and transfers, per step
  if (framework == "nodal-opencl") {
    const opencl::Activity a = opencl::activity_since(before);
    fmt::print("ACTIVITY {:.1f} {:.2f} {:.0f} {:.2f} {:.0f}\n", double(a.launches) / steps, double(a.uploads) / steps,
               double(a.upload_bytes) / steps, double(a.downloads) / steps, double(a.download_bytes) / steps);
  }
#endif
  return 0;
}

struct Row {
  double images_per_s = 0, peak_mib = 0, loss = 0;
  // OpenCL children: per step
  double launches = 0, uploads = 0, upload_bytes = 0, downloads = 0, download_bytes = 0;
};

// The environment a child runs in, before the command.
struct Environment {
  const char* name;
  const char* variables;
  bool one_thread;
};
constexpr Environment tuned{"tuned", "OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=active", false};
constexpr Environment torch_candidates[] = {
    tuned,
    {"tuned+malloc",
     "OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=active MALLOC_MMAP_THRESHOLD_=4294967296 "
     "MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=268435456",
     false},
    {"1 thread", "OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=active", true},
};

Row run_in_child(const std::string& self, const std::string& framework, std::int64_t batch, int steps, int threads,
                 const Environment& env) {
  if (env.one_thread) threads = 1;
  const std::string command = fmt::format("{} OMP_NUM_THREADS={} '{}' --child {} --batch {} --steps {} --threads {}",
                                          env.variables, threads, self, framework, batch, steps, threads);
  std::FILE* pipe = popen(command.c_str(), "r");
  Row row;
  if (!pipe) return row;
  char line[512];
  while (std::fgets(line, sizeof line, pipe))
    if (std::strncmp(line, "RESULT ", 7) == 0) std::sscanf(line + 7, "%lf %lf %lf", &row.images_per_s, &row.peak_mib, &row.loss);
    else if (std::strncmp(line, "ACTIVITY ", 9) == 0)
      std::sscanf(line + 9, "%lf %lf %lf %lf %lf", &row.launches, &row.uploads, &row.upload_bytes, &row.downloads,
                  &row.download_bytes);
  pclose(pipe);
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  std::string child;
  std::int64_t batch = 64;
  int steps = 300, threads = 2;
  bool markdown = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--child") child = value();
    else if (a == "--batch") batch = std::stoll(value());
    else if (a == "--steps") steps = std::stoi(value());
    else if (a == "--threads") threads = std::stoi(value());
    else if (a == "--markdown") markdown = true;
    else {
      fmt::print(stderr, "usage: bench/train [--threads 2] [--steps 300] [--markdown] [--batch N --child nodal|nodal-opencl|torch]\n");
      return 2;
    }
  }
  if (!child.empty()) return run_child(child, batch, steps, threads);

  char self[4096] = {};
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return 1;
  fmt::print("LeNet-5 training steps on Fashion-MNIST, {} threads, {} timed steps after 10 warm-up steps\n", threads, steps);
  fmt::print("peer: {}; nodal runs in the \"{}\" environment ({})\n\n",
             bench::torch_available() ? "libtorch (Debian's libtorch-dev), best of the candidates below"
                                      : "none (libtorch not found at build time)",
             tuned.name, tuned.variables);
  // The OpenCL column: the device nodal would pick (NODAL_DEVICE, else the first GPU, else the
  // first device), when there is one.
  std::string device;
#ifdef NODAL_HAS_OPENCL
  if (!opencl::devices().empty()) device = opencl::current_context().device().name;
#endif
  if (!device.empty()) fmt::print("OpenCL column: nodal on {} (parameters, state and activations on the device)\n\n", device);
  const char* sep = markdown ? "|" : " ";
  fmt::print("{0} batch {0} nodal img/s {0} torch img/s (best) {0} torch best config {0} nodal/torch {0} nodal peak MiB {0} "
             "torch peak MiB {0}{1}\n", sep, device.empty() ? std::string() : fmt::format(" nodal OpenCL img/s {} ", sep));
  if (markdown) fmt::print("|---:|---:|---:|---|---:|---:|---:|{}\n", device.empty() ? "" : "---:|");
  std::vector<std::string> details, device_steps;
  for (std::int64_t b : {64, 256, 1024}) {
    const Row ours = run_in_child(self, "nodal", b, steps, threads, tuned);
    const Row on_device = device.empty() ? Row{} : run_in_child(self, "nodal-opencl", b, steps, threads, tuned);
    Row best;
    const char* best_name = "-";
    if (bench::torch_available())
      for (const Environment& env : torch_candidates) {
        const Row r = run_in_child(self, "torch", b, steps, threads, env);
        details.push_back(fmt::format("{0} {1:5} {0} {2:<13} {0} {3:11.0f} {0} {4:14.0f} {0}", sep, b, env.name,
                                      r.images_per_s, r.peak_mib));
        if (r.images_per_s > best.images_per_s) best = r, best_name = env.name;
      }
    fmt::print("{0} {1:5} {0} {2:11.0f} {0} {3:18.0f} {0} {4:<17} {0} {5:11.2f} {0} {6:14.0f} {0} {7:14.0f} {0}{8}\n", sep, b,
               ours.images_per_s, best.images_per_s, best_name,
               best.images_per_s > 0 ? ours.images_per_s / best.images_per_s : 0.0, ours.peak_mib, best.peak_mib,
               device.empty() ? std::string() : fmt::format(" {:18.0f} {}", on_device.images_per_s, sep));
    if (on_device.images_per_s > 0)
      device_steps.push_back(fmt::format("{0} {1:5} {0} {2:8.3f} {0} {3:9.1f} {0} {4:8.2f} {0} {5:10.0f} {0} {6:9.2f} {0} {7:10.0f} {0}",
                                         sep, b, 1e3 * double(b) / on_device.images_per_s, on_device.launches,
                                         on_device.uploads, on_device.upload_bytes, on_device.downloads,
                                         on_device.download_bytes));
  }
  if (!device_steps.empty()) {
    fmt::print("\nOpenCL step on {1}: time and what it asks of the device, per step\n{0} batch {0} ms/step {0} launches {0} "
               "uploads {0} up bytes {0} downloads {0} down bytes {0}\n", sep, device);
    if (markdown) fmt::print("|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const std::string& d : device_steps) fmt::print("{}\n", d);
  }
  if (!details.empty()) {
    fmt::print("\nlibtorch candidates\n{0} batch {0} configuration {0} torch img/s {0} torch peak MiB {0}\n", sep);
    if (markdown) fmt::print("|---:|---|---:|---:|\n");
    for (const std::string& d : details) fmt::print("{}\n", d);
  }
  return 0;
}
