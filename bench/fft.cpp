// FFT benchmark: our float32 transforms against FFTW's (fftwf, FFTW_MEASURE, one thread, the same
// out-of-place layout and 64-byte aligned buffers), with both float32 errors measured against a
// float64 reference (our double plan, cross-checked against FFTW's double plan when installed).
//
//   fft [--quick] [--markdown] [--describe]
//   fft --opencl [--total-log2 K] [--sizes N,N,...] [--no-peer] [--quick] [--markdown]   (bench/fft_opencl.cpp: the OpenCL column)
//   fft --opencl --convolve [same options]   (the permutation-free circular convolution against two transforms)
//     --quick     a short subset with shorter timings (smoke test)
//     --markdown  print the tables as markdown (docs/fft.md's tables are this output)
//     --describe  print each of our plans' describe() line under its row
//
// Time per transform is the median of several samples, each repeating the call enough times to
// take a few milliseconds; the repetitions adapt so every size costs ~0.1-0.3 s per library.
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "nodal/fft/nd_plan.hpp"
#include "nodal/fft/plan.hpp"
#include "nodal/fft/real_plan.hpp"
#include "nodal/fft/transpose.hpp"

#if defined(NODAL_HAVE_FFTW3F)
#include <fftw3.h>
#endif
#if defined(NODAL_BENCH_OPENCL)
#include "fft_opencl.hpp"
#endif

using namespace nodal::fft;
using cf = std::complex<float>;
using cd = std::complex<double>;

namespace {

struct Options {
  bool quick = false, markdown = false, describe = false;
  double target_seconds = 0.1;  // per library per size
};

// 64-byte aligned storage, so neither library is penalised by alignment.
template <class T>
struct Aligned {
  explicit Aligned(std::size_t n) : size(n), data(static_cast<T*>(std::aligned_alloc(64, (n * sizeof(T) + 63) / 64 * 64))) {
    std::memset(static_cast<void*>(data), 0, n * sizeof(T));
  }
  ~Aligned() { std::free(data); }
  Aligned(const Aligned&) = delete;
  Aligned& operator=(const Aligned&) = delete;
  std::size_t size;
  T* data;
};

// Median seconds per call.
double time_call(const std::function<void()>& call, double target) {
  using clock = std::chrono::steady_clock;
  call();  // warm caches and lazily built state
  auto start = clock::now();
  call();
  const double once = std::max(1e-9, std::chrono::duration<double>(clock::now() - start).count());
  const int samples = once > target / 3 ? 3 : 7;
  const long reps = std::max(1L, static_cast<long>(target / samples / once));
  std::vector<double> per_call;
  for (int s = 0; s < samples; ++s) {
    start = clock::now();
    for (long r = 0; r < reps; ++r) call();
    per_call.push_back(std::chrono::duration<double>(clock::now() - start).count() / reps);
  }
  std::sort(per_call.begin(), per_call.end());
  return per_call[per_call.size() / 2];
}

// ‖y − ref‖₂ / ‖ref‖₂ in long double.
template <class T>
double rel_l2(const T* y, const cd* ref, std::size_t count) {
  long double diff = 0, norm = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const std::complex<long double> a(y[i].real(), y[i].imag()), b(ref[i].real(), ref[i].imag());
    diff += std::norm(a - b);
    norm += std::norm(b);
  }
  return norm == 0 ? 0.0 : static_cast<double>(std::sqrt(diff / norm));
}

struct Row {
  std::string transform, size;
  std::size_t batch = 1, points = 1;  // points per transform, for the ε·log2 N column
  double ours_s = 0, fftw_s = 0;      // fftw_s = 0 when FFTW is absent
  double err_ours = 0, err_fftw = 0;
  std::string describe;
};

// One measured case: our float plan, FFTW's float plan, the float64 reference.
struct Case {
  std::string transform, size;
  std::size_t batch = 1, points = 1, in_count = 0, out_count = 0;
  bool real_input = false;
  std::function<void(const float*, cf*)> ours_real;        // r2c
  std::function<void(const cf*, cf*)> ours_complex;        // c2c
  std::function<void(const std::vector<cd>&, std::vector<cd>&)> reference;  // float64, same layout
  std::string describe;
#if defined(NODAL_HAVE_FFTW3F)
  std::function<fftwf_plan(float*, fftwf_complex*)> fftw_plan;  // out of place, FFTW_MEASURE
#endif
};

Row run_case(const Case& c, const Options& options) {
  Row row{c.transform, c.size, c.batch, c.points};
  row.describe = c.describe;
  const std::size_t in_floats = c.real_input ? c.in_count : 2 * c.in_count;
  Aligned<float> in(in_floats);
  Aligned<cf> out(c.out_count);
  // FFTW_MEASURE overwrites the arrays while planning: plan first, fill afterwards.
#if defined(NODAL_HAVE_FFTW3F)
  Aligned<cf> fftw_out(c.out_count);
  fftwf_plan plan = c.fftw_plan(in.data, reinterpret_cast<fftwf_complex*>(fftw_out.data));
#endif
  std::mt19937_64 engine(12345);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (std::size_t i = 0; i < in_floats; ++i) in.data[i] = uniform(engine);
  std::vector<cd> in64(c.in_count), ref(c.out_count);
  for (std::size_t i = 0; i < c.in_count; ++i)
    in64[i] = c.real_input ? cd(in.data[i], 0) : cd(in.data[2 * i], in.data[2 * i + 1]);
  c.reference(in64, ref);

  const cf* in_c = reinterpret_cast<const cf*>(in.data);
  auto ours = [&] {
    if (c.real_input) c.ours_real(in.data, out.data);
    else c.ours_complex(in_c, out.data);
  };
  ours();
  row.err_ours = rel_l2(out.data, ref.data(), c.out_count);
  row.ours_s = time_call(ours, options.target_seconds);
#if defined(NODAL_HAVE_FFTW3F)
  fftwf_execute(plan);
  row.err_fftw = rel_l2(fftw_out.data, ref.data(), c.out_count);
  row.fftw_s = time_call([&] { fftwf_execute(plan); }, options.target_seconds);
  fftwf_destroy_plan(plan);
#endif
  return row;
}

// Largest relative difference seen between our float64 reference and FFTW's float64 transform.
double reference_disagreement = 0;

void cross_check_reference([[maybe_unused]] const std::vector<cd>& in, [[maybe_unused]] const std::vector<cd>& ref,
                           [[maybe_unused]] int n, [[maybe_unused]] int batch) {
#if defined(NODAL_HAVE_FFTW3)
  std::vector<cd> x = in, y(in.size());
  fftw_plan p = fftw_plan_many_dft(1, &n, batch, reinterpret_cast<fftw_complex*>(x.data()), nullptr, 1, n,
                                   reinterpret_cast<fftw_complex*>(y.data()), nullptr, 1, n,
                                   FFTW_FORWARD, FFTW_ESTIMATE);
  fftw_execute(p);
  fftw_destroy_plan(p);
  reference_disagreement = std::max(reference_disagreement, rel_l2(ref.data(), y.data(), y.size()));
#endif
}

Case c2c_case(std::size_t n, std::size_t batch) {
  Case c;
  c.transform = "c2c";
  c.size = fmt::format("{}", n);
  c.batch = batch;
  c.points = n;
  c.in_count = c.out_count = n * batch;
  Spec spec;
  spec.n = n;
  spec.batch = batch;
  spec.planning = Planning::measure;
  auto plan = Plan<float>::cached(spec);
  c.describe = plan->describe();
  c.ours_complex = [plan](const cf* in, cf* out) { plan->execute(in, out); };
  c.reference = [n, batch](const std::vector<cd>& in, std::vector<cd>& out) {
    Spec s;
    s.n = n;
    s.batch = batch;
    Plan<double>(s).execute(in.data(), out.data());
    cross_check_reference(in, out, static_cast<int>(n), static_cast<int>(batch));
  };
#if defined(NODAL_HAVE_FFTW3F)
  c.fftw_plan = [n, batch](float* in, fftwf_complex* out) {
    const int len = static_cast<int>(n);
    return fftwf_plan_many_dft(1, &len, static_cast<int>(batch), reinterpret_cast<fftwf_complex*>(in),
                               nullptr, 1, len, out, nullptr, 1, len, FFTW_FORWARD, FFTW_MEASURE);
  };
#endif
  return c;
}

Case r2c_case(std::size_t n) {
  Case c;
  c.transform = "r2c";
  c.size = fmt::format("{}", n);
  c.points = n;
  c.real_input = true;
  c.in_count = n;
  c.out_count = n / 2 + 1;
  RealSpec spec;
  spec.n = n;
  spec.planning = Planning::measure;
  auto plan = std::make_shared<RealPlan<float>>(spec);
  c.describe = plan->describe();
  c.ours_real = [plan](const float* in, cf* out) { plan->execute(in, out); };
  // Reference: the complex float64 transform of the real data (not the real-transform path).
  c.reference = [n](const std::vector<cd>& in, std::vector<cd>& out) {
    Spec s;
    s.n = n;
    std::vector<cd> full(n);
    Plan<double>(s).execute(in.data(), full.data());
    std::copy(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n / 2 + 1), out.begin());
  };
#if defined(NODAL_HAVE_FFTW3F)
  c.fftw_plan = [n](float* in, fftwf_complex* out) {
    return fftwf_plan_dft_r2c_1d(static_cast<int>(n), in, out, FFTW_MEASURE);
  };
#endif
  return c;
}

// 2-D rows×cols; real = r2c (output rows×(cols/2+1)).
Case nd_case(std::size_t rows, std::size_t cols, bool real) {
  Case c;
  c.transform = real ? "r2c 2-D" : "c2c 2-D";
  c.size = fmt::format("{}x{}", rows, cols);
  c.points = rows * cols;
  c.real_input = real;
  c.in_count = rows * cols;
  const std::size_t out_cols = real ? cols / 2 + 1 : cols;
  c.out_count = rows * out_cols;
  NdSpec spec;
  spec.shape = {rows, cols};
  spec.kind = real ? NdKind::r2c : NdKind::c2c;
  spec.planning = Planning::measure;
  auto plan = std::make_shared<NdPlan<float>>(spec);
  c.describe = plan->describe();
  if (real) c.ours_real = [plan](const float* in, cf* out) { plan->execute(in, out); };
  else c.ours_complex = [plan](const cf* in, cf* out) { plan->execute(in, out); };
  // Reference: float64 c2c 2-D with forced strided columns (a different path from the panels the
  // float plan may use), keeping the first out_cols columns for r2c.
  c.reference = [rows, cols, out_cols](const std::vector<cd>& in, std::vector<cd>& out) {
    NdSpec s;
    s.shape = {rows, cols};
    s.column_method = ColumnMethod::strided;
    std::vector<cd> full(rows * cols);
    NdPlan<double>(s).execute(in.data(), full.data());
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t k = 0; k < out_cols; ++k) out[r * out_cols + k] = full[r * cols + k];
  };
#if defined(NODAL_HAVE_FFTW3F)
  c.fftw_plan = [rows, cols, real](float* in, fftwf_complex* out) {
    const int r = static_cast<int>(rows), k = static_cast<int>(cols);
    return real ? fftwf_plan_dft_r2c_2d(r, k, in, out, FFTW_MEASURE)
                : fftwf_plan_dft_2d(r, k, reinterpret_cast<fftwf_complex*>(in), out, FFTW_FORWARD,
                                    FFTW_MEASURE);
  };
#endif
  return c;
}

std::vector<std::function<Case()>> cases(const Options& options) {
  std::vector<std::function<Case()>> list;
  std::vector<std::size_t> pow2, others, primes;
  if (options.quick) {
    pow2 = {16, 256, 4096, 65536};
    others = {1000, 2310};
    primes = {17, 1009, 65537};
  } else {
    for (std::size_t n = 16; n <= (1u << 20); n *= 2) pow2.push_back(n);
    others = {1000, 2187, 2310, 10000, 15625, 100000};
    primes = {17, 257, 1009, 4099, 65537, 1000003};
  }
  for (const auto* group : {&pow2, &others, &primes})
    for (std::size_t n : *group) {
      list.push_back([n] { return c2c_case(n, 1); });
      if (n <= 4096) list.push_back([n] { return c2c_case(n, 64); });
    }
  for (std::size_t n : pow2) list.push_back([n] { return r2c_case(n); });
  for (std::size_t side : options.quick ? std::vector<std::size_t>{256} : std::vector<std::size_t>{256, 1024}) {
    list.push_back([side] { return nd_case(side, side, false); });
    list.push_back([side] { return nd_case(side, side, true); });
  }
  return list;
}

std::string micros(double seconds) { return seconds > 0 ? fmt::format("{:.2f}", seconds * 1e6) : "-"; }

void print_tables(const std::vector<Row>& rows, const Options& options, bool have_fftw) {
  const char* peer = have_fftw ? "FFTW" : "FFTW (absent)";
  if (options.markdown) {
    fmt::print("| transform | size | batch | ours µs | {} µs | FFTW/ours | err ours | err FFTW |\n", peer);
    fmt::print("|---|---:|---:|---:|---:|---:|---:|---:|\n");
  } else {
    fmt::print("{:<9} {:>10} {:>5} {:>12} {:>12} {:>9} {:>10} {:>10}\n", "transform", "size", "batch",
               "ours us", "FFTW us", "FFTW/ours", "err ours", "err FFTW");
  }
  for (const Row& r : rows) {
    const std::string ratio = r.fftw_s > 0 ? fmt::format("{:.2f}", r.fftw_s / r.ours_s) : "-";
    const std::string err_fftw = r.fftw_s > 0 ? fmt::format("{:.2e}", r.err_fftw) : "-";
    if (options.markdown)
      fmt::print("| {} | {} | {} | {} | {} | {} | {:.2e} | {} |\n", r.transform, r.size, r.batch,
                 micros(r.ours_s), micros(r.fftw_s), ratio, r.err_ours, err_fftw);
    else
      fmt::print("{:<9} {:>10} {:>5} {:>12} {:>12} {:>9} {:>10.2e} {:>10}\n", r.transform, r.size,
                 r.batch, micros(r.ours_s), micros(r.fftw_s), ratio, r.err_ours, err_fftw);
    if (options.describe) fmt::print("{}    ours: {}\n", options.markdown ? "<!--" : "", r.describe + (options.markdown ? " -->" : ""));
  }
}

// Accuracy: each error against the float64 reference, and in units of ε·log2 N (ε = 2^-24... the
// float32 unit roundoff 5.96e-8), the scale on which a Cooley–Tukey FFT's RMS error grows.
void print_accuracy(const std::vector<Row>& rows, const Options& options, bool have_fftw) {
  const double u = std::ldexp(1.0, -24);
  fmt::print("\n{}Accuracy (float32 relative L2 error against the float64 reference)\n\n",
             options.markdown ? "#### " : "");
  if (options.markdown) {
    fmt::print("| transform | size | err ours | err FFTW | ours/FFTW | ours / (u·log2 N) |\n");
    fmt::print("|---|---:|---:|---:|---:|---:|\n");
  } else {
    fmt::print("{:<9} {:>10} {:>10} {:>10} {:>10} {:>16}\n", "transform", "size", "err ours",
               "err FFTW", "ours/FFTW", "ours/(u log2 N)");
  }
  for (const Row& r : rows) {
    if (r.batch != 1) continue;  // the batch-64 rows repeat the same transforms
    const double scaled = r.err_ours / (u * std::max(1.0, std::log2(static_cast<double>(r.points))));
    const std::string fftw = have_fftw ? fmt::format("{:.2e}", r.err_fftw) : "-";
    const std::string ratio = have_fftw && r.err_fftw > 0 ? fmt::format("{:.2f}", r.err_ours / r.err_fftw) : "-";
    if (options.markdown)
      fmt::print("| {} | {} | {:.2e} | {} | {} | {:.2f} |\n", r.transform, r.size, r.err_ours, fftw, ratio, scaled);
    else
      fmt::print("{:<9} {:>10} {:>10.2e} {:>10} {:>10} {:>16.2f}\n", r.transform, r.size, r.err_ours, fftw,
                 ratio, scaled);
  }
}

void print_summary(const std::vector<Row>& rows, bool have_fftw, bool markdown) {
  fmt::print("\n");
  if (!have_fftw) {
    fmt::print("FFTW was not found at build time (pkg-config fftw3f): no peer comparison.\n");
    return;
  }
  double log_sum = 0, worst_ratio = 1e300, worst_error_ratio = 0;
  std::string worst_case, worst_error_case;
  for (const Row& r : rows) {
    const double ratio = r.fftw_s / r.ours_s;
    log_sum += std::log(ratio);
    if (ratio < worst_ratio) worst_ratio = ratio, worst_case = r.transform + " " + r.size + fmt::format(" x{}", r.batch);
    const double er = r.err_fftw > 0 ? r.err_ours / r.err_fftw : 0;
    if (er > worst_error_ratio)
      worst_error_ratio = er, worst_error_case = r.transform + " " + r.size + fmt::format(" x{}", r.batch);
  }
  const char* bullet = markdown ? "- " : "";
  fmt::print("{}geometric mean of FFTW/ours over {} rows: {:.3f} (above 1: ours faster)\n", bullet,
             rows.size(), std::exp(log_sum / static_cast<double>(rows.size())));
  fmt::print("{}worst FFTW/ours: {:.3f} ({})\n", bullet, worst_ratio, worst_case);
  fmt::print("{}worst error ratio ours/FFTW: {:.2f} ({})\n", bullet, worst_error_ratio, worst_error_case);
#if defined(NODAL_HAVE_FFTW3)
  fmt::print("{}float64 reference (ours) vs FFTW double, c2c rows: max relative L2 difference {:.2e}\n",
             bullet, reference_disagreement);
#endif
}

// Transposition kernels on complex<float> matrices: the naive loop's power-of-two slowdown (column
// writes that all map to a few cache sets) and its shape asymmetry, against blocked and recursive.
void print_transposes(const Options& options) {
  const std::vector<std::pair<std::size_t, std::size_t>> shapes =
      options.quick ? std::vector<std::pair<std::size_t, std::size_t>>{{1024, 1024}, {1000, 1000}}
                    : std::vector<std::pair<std::size_t, std::size_t>>{
                          {1024, 1024}, {1000, 1000}, {2048, 2048}, {2000, 2000}, {4096, 256}, {256, 4096}};
  fmt::print("\n{}Out-of-place transposition, complex<float>, ns per element\n\n",
             options.markdown ? "#### " : "");
  if (options.markdown) {
    fmt::print("| rows x cols | naive | blocked | recursive |\n|---|---:|---:|---:|\n");
  } else {
    fmt::print("{:>12} {:>8} {:>8} {:>10}\n", "rows x cols", "naive", "blocked", "recursive");
  }
  for (auto [rows, cols] : shapes) {
    Aligned<cf> a(rows * cols), b(rows * cols);
    for (std::size_t i = 0; i < rows * cols; ++i) a.data[i] = cf(float(i), 0);
    double ns[3];
    const TransposeMethod methods[3] = {TransposeMethod::naive, TransposeMethod::blocked, TransposeMethod::recursive};
    for (int m = 0; m < 3; ++m)
      ns[m] = 1e9 / static_cast<double>(rows * cols) *
              time_call([&] { transpose(a.data, b.data, rows, cols, methods[m]); }, options.target_seconds / 2);
    const std::string shape = fmt::format("{}x{}", rows, cols);
    if (options.markdown)
      fmt::print("| {} | {:.2f} | {:.2f} | {:.2f} |\n", shape, ns[0], ns[1], ns[2]);
    else
      fmt::print("{:>12} {:>8.2f} {:>8.2f} {:>10.2f}\n", shape, ns[0], ns[1], ns[2]);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  bool opencl = false, peer = true, convolve = false;
  int total_log2 = 0;
  std::vector<std::int64_t> sizes;  // --sizes a,b,c: only these lengths (--opencl)
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--opencl") opencl = true;
    else if (arg == "--no-peer") peer = false;
    else if (arg == "--convolve") convolve = true;
    else if (arg == "--total-log2" && i + 1 < argc) total_log2 = std::atoi(argv[++i]);
    else if (arg == "--sizes" && i + 1 < argc)
      for (const char* p = argv[++i]; *p;) {
        char* end = nullptr;
        sizes.push_back(std::strtoll(p, &end, 10));
        p = *end ? end + 1 : end;
      }
    else if (arg == "--quick") options.quick = true;
    else if (arg == "--markdown") options.markdown = true;
    else if (arg == "--describe") options.describe = true;
    else {
      fmt::print(stderr, "usage: {} [--quick] [--markdown] [--describe] | --opencl [--total-log2 K] [--sizes N,N,...] [--convolve] [--no-peer] [--quick] [--markdown]\n",
                 argv[0]);
      return arg == "--help" ? 0 : 2;
    }
  }
  if (opencl) {
#if defined(NODAL_BENCH_OPENCL)
    if (convolve) return run_opencl_convolve_bench(total_log2, options.quick, options.markdown, peer, sizes);
    return run_opencl_fft_bench(total_log2, options.quick, options.markdown, peer, sizes);
#else
    fmt::print(stderr, "this build has no OpenCL backend (NODAL_OPENCL=OFF)\n");
    return 2;
#endif
  }
  if (options.quick) options.target_seconds = 0.03;
  // One thread for both libraries (FFTW's plans are single-threaded unless asked otherwise).
  setenv("OMP_NUM_THREADS", "1", 1);
  omp_set_num_threads(1);
#if defined(NODAL_HAVE_FFTW3F)
  const bool have_fftw = true;
  fmt::print("FFT benchmark: nodal float32 vs FFTW {} float32 (FFTW_MEASURE), one thread, out of place.\n",
             fftwf_version);
#else
  const bool have_fftw = false;
  fmt::print("FFT benchmark: nodal float32 only; FFTW was not found at build time.\n");
#endif
  fmt::print("Times are the median per transform (all batch items), errors the relative L2 error "
             "against a float64 reference.\n\n");
  std::vector<Row> rows;
  for (const auto& make : cases(options)) {
    const Case c = make();
    rows.push_back(run_case(c, options));
    if (!options.markdown) std::fflush(stdout);
  }
  print_tables(rows, options, have_fftw);
  print_accuracy(rows, options, have_fftw);
  print_summary(rows, have_fftw, options.markdown);
  print_transposes(options);
  return 0;
}
