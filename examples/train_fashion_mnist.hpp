#pragma once
// The Fashion-MNIST trainer's entry points, shared by examples/train_fashion_mnist (its main) and
// `nodal train` (tools/cmd_train.cpp), which compile the same source.
#include <string>
#include <vector>

#include "nodal/nn/training_log.hpp"

namespace nodal::examples {

struct TrainOptions {
  int epochs = 3;
  std::int64_t batch_size = 64;
  std::string optimizer = "sgd";  // sgd | adam | adamw
  double lr = 0.01;
  double momentum = 0.9;          // sgd only
  double weight_decay = 0.0;
  std::string lr_schedule = "none";  // none | cosine (per batch, to 0 at the end of the last epoch)
  int warmup_epochs = 0;             // cosine only: linear warm-up from 0 over these epochs
  std::uint64_t seed = 1;
  std::string backend = "cpu";
  std::string conv_algorithm = "auto";
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  std::string out_dir = "fashion-mnist-run";
  std::string resume;             // a checkpoint to continue from
  std::int64_t train_subset = 0;  // > 0: only the first N training images
  std::int64_t test_subset = 0;
  std::int64_t test_batch_size = 1000;
  bool quiet = false;
  std::int64_t stop_after_batches = 0;  // > 0: act as if Ctrl-C came after that many batches (tests)
};

struct TrainResult {
  std::vector<nn::EpochMetrics> epochs;
  std::string checkpoint;
  bool interrupted = false;
};

// --epochs N --batch-size N --optimizer sgd|adam|adamw --lr X --momentum X --weight-decay X
// --lr-schedule none|cosine --warmup-epochs N --seed N
// --backend cpu|opencl --conv-algorithm NAME --data DIR --out DIR --resume CHECKPOINT
// --train-subset N --test-subset N --quiet; ValueError naming a bad flag or value.
TrainOptions parse_train_options(const std::vector<std::string>& args);
std::string train_usage();
// Asks a running train_fashion_mnist to stop after its current batch and save a checkpoint (what
// Ctrl-C does).
void request_stop();
TrainResult train_fashion_mnist(const TrainOptions& options);

}  // namespace nodal::examples
