#pragma once
// Internal to fft_plan.cpp (launching) and fft_plan_build.cpp (planning): the plan's contents and
// the local-memory arithmetic both sides share.
#include <cstdint>
#include <memory>
#include <vector>

#include "nodal/backends/opencl/fft_plan.hpp"
#include "nodal/core/backend.hpp"

namespace nodal::opencl::fft {

class Plan {
 public:
  enum class Kind { local, four_step, bluestein };
  Kind kind = Kind::local;
  std::int64_t n = 1;
  // local
  std::vector<int> radices;
  std::shared_ptr<Buffer> pass_twiddles;
  // four-step: n = n1·n2
  std::shared_ptr<const Plan> columns, rows;  // lengths n1 and n2
  std::shared_ptr<Buffer> twiddle_lo, twiddle_hi;
  std::int64_t twiddle_split = 1;
  // Bluestein: length m, chirp w_k = exp(∓iπk²/n) and filter spectrum per direction
  std::shared_ptr<const Plan> inner;
  std::shared_ptr<Buffer> chirp[2], spectrum[2];
};

// Local memory fft_local may take: the device's less 1 KiB for the driver's own use.
std::int64_t local_budget(const Context& context);
// fft_local's local buffer: two tiles, then 24 bytes per transform (base addresses, inner indices)
std::int64_t local_bytes_for(std::int64_t per_group, std::int64_t pitch, std::int64_t esize);

}  // namespace nodal::opencl::fft
