// Training LeNet-5 on Fashion-MNIST with nodal — the project's main job, and a tutorial:
//
//   1. load the data set (Debian's dataset-fashion-mnist package, or --data DIR);
//   2. build the network once as modules (nn/) and one graph: logits = net(x), loss = CE(logits, y);
//   3. each batch: forward, backward to the parameters, one optimizer step (in place);
//   4. after each epoch: test loss and accuracy, metrics.csv, metrics.svg and a checkpoint.
//
// `nodal train` runs this same code (tools/ compiles this file with NODAL_TRAIN_NO_MAIN).
// Same seed, same options and same thread count give a bitwise-identical run on the CPU.
// Ctrl-C stops after the current batch and saves a checkpoint that --resume continues from.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cmath>
#include <filesystem>
#include <optional>
#include <tuple>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/core/execution.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nn/adam.hpp"
#include "nodal/nn/checkpoint.hpp"
#include "nodal/nn/dataset.hpp"
#include "nodal/nn/device_training.hpp"
#include "nodal/nn/layers.hpp"
#include "nodal/nn/loader.hpp"
#include "nodal/nn/lr_schedule.hpp"
#include "nodal/nn/progress.hpp"
#include "nodal/nn/safetensors.hpp"
#include "nodal/nn/sgd.hpp"
#include "nodal/nn/training_log.hpp"
#include "nodal/nodes/loss.hpp"

#include "train_fashion_mnist.hpp"

namespace nodal::examples {
namespace {

std::atomic<bool> stop_requested{false};
extern "C" void on_interrupt(int) { stop_requested = true; }

// LeNet-5 as in the training issue: two 5×5 convolutions with max pooling, then three linear layers.
std::shared_ptr<nn::Sequential> lenet5(const std::string& conv_algorithm) {
  const ConvOptions conv1{.padding = ConvPadding::all(2), .algorithm = conv_algorithm};
  const ConvOptions conv2{.algorithm = conv_algorithm};
  return nn::sequential({nn::conv2d(1, 6, {5}, conv1), nn::relu(), nn::max_pool2d({.kernel = {2}}),
                         nn::conv2d(6, 16, {5}, conv2), nn::relu(), nn::max_pool2d({.kernel = {2}}),
                         nn::flatten(), nn::linear(400, 120), nn::relu(), nn::linear(120, 84), nn::relu(),
                         nn::linear(84, 10)});
}

// How many rows of `logits` [B, 10] have their largest entry at the label's index.
std::int64_t correct_predictions(const Tensor& logits, const Tensor& labels) {
  const Tensor z = logits.contiguous();
  const std::int64_t rows = z.dim(0), classes = z.dim(1);
  const float* pz = z.data<float>();
  const std::vector<float> y = labels.to_vector<float>();
  std::int64_t correct = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = pz + r * classes;
    correct += std::max_element(row, row + classes) - row == std::int64_t(y[r]);
  }
  return correct;
}

struct Score {
  double loss = 0, accuracy = 0;
};

// --- training on a device (--backend opencl) -------------------------------------------------
// The model's parameters, the optimizer's state, activations and gradients stay on the device.
// Per batch, one upload (images and labels packed together) and no download: the loss and the
// correct predictions are summed on the device and read once per progress update.

Backend train_backend(const std::string& name) {
  if (name == "cpu") return Backend::cpu;
  if (name == "opencl") return Backend::opencl;
  throw ValueError(fmt::format("train: --backend must be cpu or opencl, got '{}'", name));
}

// BackendError naming every node of `g` that has no implementation on `backend`.
void require_implementations(const Graph& g, Backend backend) {
  std::vector<std::string> missing;
  for (std::uint32_t v = 0; v < g.vertex_count(); ++v) {
    const VertexData& d = g.vertex(v);
    if (d.kind != VertexKind::op) continue;
    const std::string type(d.node->type());
    if (!Registry::instance().find_impl(type, backend) && std::find(missing.begin(), missing.end(), type) == missing.end())
      missing.push_back(type);
  }
  if (!missing.empty())
    throw BackendError(fmt::format("train: backend '{}' cannot train LeNet-5 in this build: no {} implementation of "
                                   "{} (see `nodal nodes`); use --backend cpu",
                                   backend_name(backend), backend_name(backend), fmt::join(missing, ", ")));
}

// Images [n, 1, 28, 28] and labels [n] in one upload: packed into one host tensor of n·785
// floats, sent at once without waiting for the queued kernels (the host goes on queueing while the
// device finishes the previous step), then viewed on the device as the two inputs.
std::pair<Tensor, Tensor> upload_batch(const Tensor& images, const Tensor& labels, Backend backend) {
  const std::int64_t n = images.dim(0), pixels = images.numel() / std::max<std::int64_t>(n, 1);
  Tensor packed = Tensor::empty(Shape{n * pixels + n}, DType::float32);
  packed.slice(0, 0, n * pixels).copy_from(images.reshape(Shape{n * pixels}));
  packed.slice(0, n * pixels, n * pixels + n).copy_from(labels);
  const Tensor device = nn::device_training_kernels(backend, "train").upload(packed);
  return {device.slice(0, 0, n * pixels).reshape(images.shape()), device.slice(0, n * pixels, n * pixels + n)};
}

// Running Σ loss·n and Σ correct on the device, read (one download of two numbers) on demand.
class DeviceScore {
 public:
  explicit DeviceScore(Backend backend)
      : kernels_(nn::device_training_kernels(backend, "train")), sums_(Tensor::zeros(Shape{2}, DType::float32, backend)) {}
  void add(const Tensor& logits, const Tensor& labels, const Tensor& loss) {
    kernels_.accumulate_classification(logits, labels, loss, sums_);
  }
  std::pair<double, std::int64_t> read() const {
    const std::vector<double> v = sums_.to(Backend::cpu).to_vector<double>();
    return {v[0], std::int64_t(std::llround(v[1]))};
  }

 private:
  nn::DeviceTrainingKernels& kernels_;
  Tensor sums_;
};

// Host versions of tensors (checkpoints are written from host memory); CPU tensors themselves.
nn::NamedTensors on_host(const nn::NamedTensors& tensors) {
  nn::NamedTensors out;
  for (const auto& [name, t] : tensors) out.emplace_back(name, t.to(Backend::cpu));
  return out;
}

// Test loss and accuracy in evaluation mode, without keeping anything for backward.
Score evaluate(nn::Module& net, const nn::Dataset& data, std::int64_t batch, Backend backend) {
  NoGradGuard no_grad;
  net.eval();
  Graph g;
  const Value x = g.input("x", Shape{batch, 1, 28, 28});
  const Value y = g.input("y", Shape{batch});
  const Value logits = net(x);
  const Value loss = cross_entropy(logits, y);
  double loss_sum = 0;
  std::int64_t correct = 0;
  std::optional<DeviceScore> device_score;
  if (backend != Backend::cpu) device_score.emplace(backend);
  for (std::int64_t first = 0; first < data.size(); first += batch) {
    const std::int64_t n = std::min(batch, data.size() - first);
    if (n != x.shape()[0]) g.resize_inputs({{x, Shape{n, 1, 28, 28}}, {y, Shape{n}}});
    const Tensor xb = data.images.slice(0, first, first + n), yb = data.labels.slice(0, first, first + n);
    if (device_score) {
      const auto [xd, yd] = upload_batch(xb, yb, backend);
      Execution run = g.forward({loss, logits}, {{x, xd}, {y, yd}});
      device_score->add(run[logits], yd, run[loss]);
      continue;
    }
    Execution run = g.forward({loss, logits}, {{x, xb}, {y, yb}});
    loss_sum += double(run[loss].item<float>()) * double(n);
    correct += correct_predictions(run[logits], yb);
  }
  if (device_score) std::tie(loss_sum, correct) = device_score->read();
  net.train();
  return {loss_sum / double(data.size()), double(correct) / double(data.size())};
}

std::unique_ptr<nn::Optimizer> make_optimizer(const TrainOptions& o, nn::NamedTensors parameters) {
  if (o.optimizer == "sgd")
    return std::make_unique<nn::Sgd>(std::move(parameters), nn::SgdOptions{.lr = o.lr, .momentum = o.momentum,
                                                                            .weight_decay = o.weight_decay});
  if (o.optimizer == "adam")
    return std::make_unique<nn::Adam>(std::move(parameters), nn::AdamOptions{.lr = o.lr, .weight_decay = o.weight_decay});
  if (o.optimizer == "adamw")
    return std::make_unique<nn::AdamW>(std::move(parameters), nn::AdamOptions{.lr = o.lr, .weight_decay = o.weight_decay});
  throw ValueError(fmt::format("train: --optimizer must be sgd, adam or adamw, got '{}'", o.optimizer));
}

// --lr-schedule cosine: WarmupCosineLr stepped once per batch (null for none).
std::unique_ptr<nn::LrSchedule> make_schedule(const TrainOptions& o, nn::Optimizer& opt, std::int64_t batches_per_epoch) {
  if (o.lr_schedule == "none") return nullptr;  // the options were checked on entry
  return std::make_unique<nn::WarmupCosineLr>(
      opt, nn::WarmupCosineLrOptions{.warmup_steps = o.warmup_epochs * batches_per_epoch,
                                     .total_steps = std::int64_t(o.epochs) * batches_per_epoch});
}

// Where an interrupted or finished run stands, kept in the checkpoint's metadata so that a resumed
// run continues bit for bit: the epoch, the batches done in it and the epoch's running sums.
struct Position {
  int epoch = 1;
  std::int64_t batch = 0, images = 0, correct = 0;
  double loss_sum = 0;
};

void save_run(const std::filesystem::path& path, const nn::Module& net, const nn::Optimizer& opt, const Position& at,
              const nn::TrainingLog& log) {
  const nn::Metadata meta{{"trainer.epoch", std::to_string(at.epoch)},
                          {"trainer.batch", std::to_string(at.batch)},
                          {"trainer.images", std::to_string(at.images)},
                          {"trainer.correct", std::to_string(at.correct)},
                          {"trainer.loss_sum", nn::format_number(at.loss_sum)},
                          {"trainer.metrics_csv", log.csv()}};
  nn::save_checkpoint(path, on_host(net.state()), &opt, meta);  // device tensors: downloaded once
}

// The model's tensors are loaded by load_model (before the model moves to a device and before the
// optimizer exists); this restores the optimizer's state and the position from the same file.
nn::Checkpoint load_model(const std::filesystem::path& path, nn::Module& net) {
  return nn::load_checkpoint(path, net.state(), nullptr);
}

Position resume_run(const nn::Checkpoint& ck, const std::filesystem::path& path, nn::Optimizer& opt,
                    nn::TrainingLog& log) {
  opt.load_state_dict(ck, nn::optimizer_prefix);  // state tensors go to the parameters' backend
  const std::string source = path.string();
  auto number = [&](const char* key) { return nn::metadata_number(ck.metadata, key, source); };
  Position at{int(number("trainer.epoch")), std::int64_t(number("trainer.batch")), std::int64_t(number("trainer.images")),
              std::int64_t(number("trainer.correct")), number("trainer.loss_sum")};
  if (const auto it = ck.metadata.find("trainer.metrics_csv"); it != ck.metadata.end())
    log = nn::TrainingLog::from_csv(it->second, source);
  return at;
}

}  // namespace

void request_stop() { stop_requested = true; }

std::string train_usage() {
  return "options: --epochs N (3)  --batch-size N (64)  --optimizer sgd|adam|adamw (sgd)  --lr X (0.01)\n"
         "         --momentum X (0.9)  --weight-decay X (0)  --lr-schedule none|cosine (none)\n"
         "         --warmup-epochs N (0)  --seed N (1)  --backend cpu|opencl (cpu)\n"
         "         --conv-algorithm auto|measure|direct|gemm|fft|... (auto)  --data DIR  --out DIR\n"
         "         --resume CHECKPOINT  --train-subset N  --test-subset N  --quiet\n";
}

TrainOptions parse_train_options(const std::vector<std::string>& args) {
  TrainOptions o;
  auto number = [](const std::string& flag, const std::string& text) {
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != text.size() || text.empty())
      throw ValueError(fmt::format("train: {} needs a number, got '{}'", flag, text));
    return v;
  };
  auto integer = [&](const std::string& flag, const std::string& text) {
    const double v = number(flag, text);
    if (v != double(std::int64_t(v)) || v < 0)
      throw ValueError(fmt::format("train: {} needs a non-negative integer, got '{}'", flag, text));
    return std::int64_t(v);
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i], value;
    if (const auto eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    } else if (flag == "--quiet") {
      o.quiet = true;
      continue;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      throw ValueError(fmt::format("train: {} needs a value\n{}", flag, train_usage()));
    }
    if (flag == "--epochs") o.epochs = int(integer(flag, value));
    else if (flag == "--batch-size") o.batch_size = integer(flag, value);
    else if (flag == "--optimizer") o.optimizer = value;
    else if (flag == "--lr") o.lr = number(flag, value);
    else if (flag == "--momentum") o.momentum = number(flag, value);
    else if (flag == "--weight-decay") o.weight_decay = number(flag, value);
    else if (flag == "--lr-schedule") o.lr_schedule = value;
    else if (flag == "--warmup-epochs") o.warmup_epochs = int(integer(flag, value));
    else if (flag == "--seed") o.seed = std::uint64_t(integer(flag, value));
    else if (flag == "--backend") o.backend = value;
    else if (flag == "--conv-algorithm") o.conv_algorithm = value;
    else if (flag == "--data") o.data_dir = value;
    else if (flag == "--out") o.out_dir = value;
    else if (flag == "--resume") o.resume = value;
    else if (flag == "--train-subset") o.train_subset = integer(flag, value);
    else if (flag == "--test-subset") o.test_subset = integer(flag, value);
    else if (flag == "--test-batch-size") o.test_batch_size = integer(flag, value);
    else throw ValueError(fmt::format("train: unknown option '{}'\n{}", flag, train_usage()));
  }
  return o;
}

TrainResult train_fashion_mnist(const TrainOptions& o) {
  const Backend backend = train_backend(o.backend);
  if (o.epochs < 1 || o.batch_size < 1)
    throw ValueError(fmt::format("train: epochs ({}) and batch size ({}) must be ≥ 1", o.epochs, o.batch_size));
  if (o.lr_schedule != "none" && o.lr_schedule != "cosine")
    throw ValueError(fmt::format("train: --lr-schedule must be none or cosine, got '{}'", o.lr_schedule));
  if (o.lr_schedule == "cosine" && o.warmup_epochs >= o.epochs)
    throw ValueError(fmt::format("train: --warmup-epochs ({}) must be below --epochs ({})", o.warmup_epochs, o.epochs));
  std::filesystem::create_directories(o.out_dir);

  // 1. Data. A subset (--train-subset) keeps tests and experiments short.
  nn::TrainTest data = nn::load_fashion_mnist(o.data_dir);
  auto subset = [](nn::Dataset& d, std::int64_t n) {
    if (n <= 0 || n >= d.size()) return;
    d.images = d.images.slice(0, 0, n).contiguous();
    d.labels = d.labels.slice(0, 0, n).contiguous();
    d.label_bytes.resize(std::size_t(n));
  };
  subset(data.train, o.train_subset);
  subset(data.test, o.test_subset);

  // 2. Model, graph, optimizer. The graph is built once; only a smaller last batch re-infers shapes.
  nn::manual_seed(o.seed);
  const std::shared_ptr<nn::Sequential> net = lenet5(o.conv_algorithm);
  std::optional<nn::Checkpoint> resumed;
  if (!o.resume.empty()) resumed = load_model(o.resume, *net);
  if (backend != Backend::cpu) net->to(backend);  // parameters live on the device from here on
  Graph g;
  const Value x = g.input("x", Shape{o.batch_size, 1, 28, 28});
  const Value y = g.input("y", Shape{o.batch_size});
  const Value logits = (*net)(x);
  const Value loss = cross_entropy(logits, y);
  if (backend != Backend::cpu) require_implementations(g, backend);
  const std::vector<Value> params = net->parameter_values(g);
  const std::unique_ptr<nn::Optimizer> opt = make_optimizer(o, net->named_parameters());
  nn::Loader loader(data.train, {.batch_size = o.batch_size, .shuffle = true, .seed = o.seed});
  // Built before a resume loads the optimizer's lr, so its base is --lr; its position is the
  // global batch number, hence a pure function of where the run stands.
  const std::unique_ptr<nn::LrSchedule> schedule = make_schedule(o, *opt, loader.batches_per_epoch());

  nn::TrainingLog log;
  Position at;
  if (resumed) at = resume_run(*resumed, o.resume, *opt, log);
  if (schedule)
    for (std::int64_t t = (at.epoch - 1) * loader.batches_per_epoch() + at.batch; schedule->epoch() < t;) schedule->step();
  if (!o.quiet) fmt::print("{}", net->summary());

  stop_requested = false;
  const auto previous_handler = std::signal(SIGINT, on_interrupt);
  const std::filesystem::path checkpoint = std::filesystem::path(o.out_dir) / "checkpoint.safetensors";
  TrainResult result;
  std::int64_t batches_this_run = 0;
  // backward's ȳ = 1 on the device, uploaded once (a fresh one per step would be a blocking upload)
  const Tensor seed = backend != Backend::cpu ? Tensor::ones(Shape{}, DType::float32, backend) : Tensor();
  for (; at.epoch <= o.epochs; ++at.epoch) {
    nn::ProgressBar bar(fmt::format("epoch {}/{}", at.epoch, o.epochs), loader.batches_per_epoch(),
                        o.quiet ? nullptr : stdout);
    loader.start_epoch(std::uint64_t(at.epoch - 1));
    // On a device the epoch's sums accumulate there; `base` is what the epoch held before (a resume).
    std::optional<DeviceScore> device_score;
    if (backend != Backend::cpu) device_score.emplace(backend);
    const Position base = at;
    std::int64_t since_read = 0, images_read = 0;
    while (auto batch = loader.next()) {
      if (batch->index < at.batch) continue;  // resumed mid-epoch: these were trained before
      const std::int64_t n = batch->images.dim(0);
      if (n != x.shape()[0]) g.resize_inputs({{x, Shape{n, 1, 28, 28}}, {y, Shape{n}}});
      if (device_score) {
        // 3'. the same step on the device: one upload, no download (the sums are read every 32
        // batches, at the end of the epoch and before a checkpoint)
        const auto [xd, yd] = upload_batch(batch->images, batch->labels, backend);
        Execution run = g.forward({loss, logits}, {{x, xd}, {y, yd}});
        const Gradients grads = run.backward(loss, params, {.cotangent = seed});
        opt->step(grads.tensors());
        if (schedule) schedule->step();
        device_score->add(run[logits], yd, run[loss]);
        at.images += n;
        at.batch = batch->index + 1;
        if (o.stop_after_batches > 0 && ++batches_this_run == o.stop_after_batches) stop_requested = true;
        if (++since_read == 32 || images_read == 0 || at.batch == loader.batches_per_epoch() || stop_requested) {
          const auto [loss_sum, correct] = device_score->read();
          at.loss_sum = base.loss_sum + loss_sum;
          at.correct = base.correct + correct;
          images_read = at.images;
          since_read = 0;
        }
        // the means as of the last read (at most 31 batches old)
        bar.update(batch->index, n, at.loss_sum / double(images_read), double(at.correct) / double(images_read));
      } else {
        // 3. forward, backward, step.
        Execution run = g.forward({loss, logits}, {{x, batch->images}, {y, batch->labels}});
        const Gradients grads = run.backward(loss, params);
        opt->step(grads.tensors());
        if (schedule) schedule->step();

        at.loss_sum += double(run[loss].item<float>()) * double(n);
        at.correct += correct_predictions(run[logits], batch->labels);
        at.images += n;
        at.batch = batch->index + 1;
        bar.update(batch->index, n, at.loss_sum / double(at.images), double(at.correct) / double(at.images));
        if (o.stop_after_batches > 0 && ++batches_this_run == o.stop_after_batches) stop_requested = true;
      }
      if (stop_requested) {
        save_run(checkpoint, *net, *opt, at, log);
        std::signal(SIGINT, previous_handler);
        if (!o.quiet) fmt::print("\ninterrupted: checkpoint saved to {} (continue with --resume)\n", checkpoint.string());
        result.interrupted = true;
        result.checkpoint = checkpoint.string();
        return result;
      }
    }
    bar.finish();

    // 4. Test metrics and the run's files, every epoch.
    const Score test = evaluate(*net, data.test, o.test_batch_size, backend);
    log.add({at.epoch, at.loss_sum / double(at.images), double(at.correct) / double(at.images), test.loss,
             test.accuracy, bar.elapsed_seconds(), bar.images_per_second()});
    if (!o.quiet)
      fmt::print("epoch {}/{}: train loss {:.4f} acc {:.2f}%  test loss {:.4f} acc {:.2f}%\n", at.epoch, o.epochs,
                 log.epochs().back().train_loss, 100 * log.epochs().back().train_accuracy, test.loss, 100 * test.accuracy);
    at = Position{at.epoch, 0, 0, 0, 0.0};
    log.write_csv(std::filesystem::path(o.out_dir) / "metrics.csv");
    log.write_svg(std::filesystem::path(o.out_dir) / "metrics.svg");
    save_run(checkpoint, *net, *opt, Position{at.epoch + 1, 0, 0, 0, 0.0}, log);
  }
  std::signal(SIGINT, previous_handler);
  result.epochs = log.epochs();
  result.checkpoint = checkpoint.string();
  if (!log.epochs().empty() && !o.quiet) {
    const nn::EpochMetrics& last = log.epochs().back();
    double seconds = 0;
    for (const auto& e : log.epochs()) seconds += e.seconds;
    fmt::print("done: {} epochs, test accuracy {:.2f}%, {:.0f} images/s, {:.1f} s training; wrote {}/metrics.csv, "
               "metrics.svg, checkpoint.safetensors\n",
               last.epoch, 100 * last.test_accuracy, last.images_per_second, seconds, o.out_dir);
  }
  return result;
}

}  // namespace nodal::examples

#ifndef NODAL_TRAIN_NO_MAIN
int main(int argc, char** argv) {
  try {
    const nodal::examples::TrainOptions options =
        nodal::examples::parse_train_options(std::vector<std::string>(argv + 1, argv + argc));
    return nodal::examples::train_fashion_mnist(options).interrupted ? 130 : 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "train_fashion_mnist: error: {}\n", e.what());
    return 2;
  }
}
#endif
