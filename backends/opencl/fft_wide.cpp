// Launches of kernels/fft_wide.cl: one transform per group held in registers, for lengths beyond
// what one group's local memory holds (the kernel's comment shows the algorithm), and the rule that
// gives a length its shape (values per work-item, work-items, rows per round).
#include <algorithm>
#include <complex>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "nodal/backends/opencl/fft_stockham_detail.hpp"
#include "nodal/backends/opencl/kernel_sources.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/backends/opencl/program_cache.hpp"
#include "nodal/core/error.hpp"

namespace nodal::opencl::fft {

namespace stockham {

int wide_mode() {
  static const int mode = [] {
    const char* v = std::getenv("NODAL_FFT_WIDE");
    return v ? (std::string(v) == "0" ? 0 : 1) : -1;
  }();
  return mode;
}

// The rows' radices: G where it divides, then the power of two left (every radix divides G, so each
// work-item holds G / R whole butterflies of its row in a pass).
std::vector<int> wide_row_radices(std::int64_t n2, std::int64_t g) {
  std::vector<int> radices;
  while (n2 % g == 0 && n2 > 1) {
    radices.push_back(int(g));
    n2 /= g;
  }
  if (n2 > 1) radices.push_back(int(n2));
  return radices;
}

// m = 32·n2: 32 values per work-item (64 registers), n2 a power of two from 64 to 512 work-items,
// and g the most rows of n2 (a power of two ≤ 32, at least 2) whose tile fits the local memory.
// 32 values rather than 16: H100, µs per 2^26 values, 16384 = 32 × 512 595 against 16 × 1024 872
// (16 values in 1024 work-items' 64 registers each spilled 216 bytes per work-item; 32 in 512
// work-items' 128 registers spill none); 8192 = 32 × 256 398 against 16 × 512 494; Bluestein 8191
// (m = 16384) 1262 against 2442. float32 only: double values would need twice the registers.
WideShape wide_shape(const Context& context, std::int64_t m, DType real) {
  constexpr std::int64_t v = 32;
  if (real != DType::float32 || wide_mode() == 0 || m % v != 0) return {};
  // at most 512 work-items: 32 complex values take 64 registers and the kernel about 128, and 512 ×
  // 128 is a whole SM's register file (64 K on NVIDIA's GPUs, 1024 × 128 would not launch)
  const std::int64_t max_group = std::int64_t(std::min<std::size_t>(512, context.device().max_work_group_size));
  const std::int64_t n2 = m / v;
  if (n2 < 64 || n2 > max_group || (n2 & (n2 - 1)) != 0) return {};
  std::int64_t g = v;
  while (g >= 2 && g * row_bytes(n2, real, false) > budget_of(context)) g /= 2;
  if (g < 2) return {};
  return {v, n2, g};
}

bool plan_wide(Context& context, StockhamPlan& p, std::int64_t m, DType real) {
  const WideShape shape = wide_shape(context, m, real);
  if (!shape.v) return false;
  p.n1 = shape.v;
  p.n2 = shape.n2;
  p.rows_per_round = shape.g;
  std::vector<std::complex<double>> columns(static_cast<std::size_t>(m));  // w_m^(k1·c) at k1·n2 + c
  for (std::int64_t k1 = 0; k1 < shape.v; ++k1)
    for (std::int64_t c = 0; c < shape.n2; ++c) columns[std::size_t(k1 * shape.n2 + c)] = root(k1 * c, m);
  p.column_twiddles = upload_table(context, columns, real);
  p.row_twiddles = upload_table(context, pass_twiddle_values(wide_row_radices(shape.n2, shape.g)), real);
  return true;
}

}  // namespace stockham

namespace {

using namespace stockham;

// kernels/fft_wide.cl's #defines: the shape, the sides' limits and each round's step list
std::string wide_program_text(const StockhamPlan& p, bool multiply) {
  const std::int64_t v = p.n1, n2 = p.n2, g = p.rows_per_round, rounds = v / g;
  const bool bluestein = p.kind == StockhamPlan::Kind::bluestein_wide;
  const std::vector<int> radices = wide_row_radices(n2, g);
  // one run of the rows' passes in round P (after FIRST or a SWAP into the first pass's layout)
  const auto passes = [&](std::int64_t round) {
    std::string text;
    std::int64_t ns = 1, twoff = 0;
    for (std::size_t i = 0; i < radices.size(); ++i) {
      text += fmt::format(" PASS({},{},{})", round, radices[i], ns);
      const std::int64_t next_ns = ns * radices[i], next_twoff = twoff + ns * (radices[i] - 1);
      if (i + 1 < radices.size())
        text += fmt::format(" SWAP({},{},{},{},{},{})", round, radices[i], ns, radices[i + 1], next_ns, next_twoff);
      twoff = next_twoff;
      ns = next_ns;
    }
    return text;
  };
  const int last = radices.back();
  std::string body, part_writes;
  for (std::int64_t r = 0; r < rounds; ++r) {
    if (bluestein) body += fmt::format(" SPECTRUM_LOAD({},{})", r, last);
    body += fmt::format(" ENTER({}) FIRST({},{})", r, r, radices.front()) + passes(r);
    if (bluestein)
      body += fmt::format(" SPECTRUM({},{}) SWAP({},{},{},{},1,0)", r, last, r, last, n2 / last, radices.front()) +
              passes(r) + fmt::format(" LEAVE({},{},1)", r, last);
    if (!bluestein) part_writes += fmt::format(" PART_WRITE({},{})", r, last);
  }
  std::string text = fmt::format(
      "#define L {}\n#define V {}\n#define N2 {}\n#define G {}\n#define ROUNDS {}\n#define PITCH {}\n#define FFT_PAD {}\n"
      "#define L_VALID {}\n#define S_COUNT {}\n#define BLUESTEIN {}\n#define DFT_V dft{}\n#define ROUNDS_BODY{}\n"
      "#define PART_WRITES{}\n#define MULTIPLY {}\n",
      p.m, v, n2, g, rounds, pitch_of(n2, DType::float32, false), pad_on() ? 1 : 0, bluestein ? p.n : p.m,
      bluestein ? p.n : p.m, bluestein ? 1 : 0, v, body, part_writes, multiply ? 1 : 0);
  text += kernel_source("fft_radix");
  text += kernel_source("fft_wide");
  return text;
}

// the text, worked out once per shape (the 12 KB of text stay off the launch path)
const std::string& program_text_of(const StockhamPlan& p, bool multiply) {
  static std::mutex mutex;
  static std::map<std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t, int, bool>,
                  std::string>
      texts;
  std::lock_guard lock(mutex);
  auto& text = texts[{p.n, p.m, p.n1, p.n2, p.rows_per_round, int(p.kind), multiply}];
  if (text.empty()) text = wide_program_text(p, multiply);
  return text;
}

cl_mem mem_of(const std::shared_ptr<Buffer>& b) { return b ? device_buffer(*b, "fft").mem() : nullptr; }

}  // namespace

bool execute_wide(Context& context, const StockhamPlan& p, DType real, std::int64_t count, bool inverse, cl_mem in,
                  std::int64_t in_offset, std::int64_t in_stride, cl_mem out, std::int64_t out_offset,
                  std::int64_t out_stride, double scale, cl_mem multiply) {
  if (real != DType::float32) throw BackendError("fft_wide: float32 plans only");
  // On CPU devices (PoCL: tests, or NODAL_FFT_STOCKHAM=1) unoptimised: the kernel's hundred-odd
  // barriers make PoCL's optimised build superlinear (Bluestein m = 2048 in four rounds: 42 s, 1.6 s
  // with -cl-opt-disable), and these programs exist there for parity, not speed.
  const bool cpu = context.device().type.find("cpu") != std::string::npos;
  const std::string options = cpu ? "-cl-std=CL1.2 -DT=float -cl-opt-disable" : "-cl-std=CL1.2 -DT=float";
  const bool bluestein = p.kind == StockhamPlan::Kind::bluestein_wide;
  if (bluestein || inverse) multiply = nullptr;
  cl_kernel kernel = context.programs().kernel("fft_wide.cl", program_text_of(p, multiply != nullptr), options, "fft_wide");
  const int d = inverse ? 1 : 0;
  const cl_mem tw = mem_of(p.row_twiddles);
  Launch run(context, kernel, bluestein ? "fft_wide_bluestein" : "fft_wide");
  run.mem(in).arg(cl_long(in_offset)).arg(cl_long(in_stride)).mem(out).arg(cl_long(out_offset));
  run.arg(cl_long(out_stride)).mem(tw).mem(mem_of(p.column_twiddles));
  if (bluestein) {
    // tables per direction; scale / m: the second FFT's missing 1/m
    run.mem(mem_of(p.chirp[d])).mem(mem_of(p.spectrum[d])).mem(mem_of(p.chirp[d])).real(real, scale / double(p.m));
    run.arg(cl_int(0));
  } else {
    // unused tables still need a valid buffer argument on some drivers: the pass table stands in
    run.mem(tw).mem(tw).mem(multiply ? multiply : tw).real(real, scale).arg(cl_int(inverse ? 3 : 0));
  }
  run.run(std::size_t(count), std::size_t(p.n2));
  return multiply != nullptr;
}

}  // namespace nodal::opencl::fft
