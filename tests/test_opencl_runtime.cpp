// The OpenCL runtime on whatever platforms exist (PoCL on CI): discovery, device choice by spec
// and NODAL_DEVICE, the buffer pool, bit-exact transfers (views included), the program cache in
// memory and on disk, build failures with the compiler log, allocations beyond the device.
// Prints PoCL's launch overhead and the transfer bandwidth (reported, not asserted).
#include <doctest/doctest.h>

#ifndef NODAL_HAS_OPENCL
TEST_CASE("OpenCL runtime tests are skipped: this build has no OpenCL backend") {
  MESSAGE("skipped: configured with -DNODAL_OPENCL=OFF");
}
#else

#include <unistd.h>

#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <limits>

#include <fmt/format.h>

#include "nodal/backends/opencl/activity.hpp"
#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/context.hpp"
#include "nodal/backends/opencl/kernel_sources.hpp"
#include "nodal/backends/opencl/program_cache.hpp"
#include "nodal/core/error.hpp"
#include "nodal/core/tensor.hpp"
#include "nodal/nodes/binary.hpp"
#include "nodal/nodes/unary.hpp"
#include "opencl_test_util.hpp"

using namespace nodal;
namespace fs = std::filesystem;
using nodal::test::opencl_present;
using nodal::test::ScopedEnv;

namespace {

std::string exception_text(const auto& f) {
  try {
    f();
  } catch (const BackendError& e) {
    return e.what();
  }
  return "(no BackendError)";
}

bool is_pocl(const opencl::DeviceInfo& d) { return d.platform_name.find("Portable Computing Language") != std::string::npos; }

// Same bytes, NaN payloads and signed zeros included.
template <class T> bool bit_equal(const Tensor& a, const Tensor& b) {
  const auto va = a.to_vector<T>(), vb = b.to_vector<T>();
  return va.size() == vb.size() && std::memcmp(va.data(), vb.data(), va.size() * sizeof(T)) == 0;
}

struct ScratchDir {
  fs::path dir = fs::temp_directory_path() / fmt::format("nodal_test_opencl_cache_{}", getpid());
  ScratchDir() { fs::remove_all(dir); }
  ~ScratchDir() { fs::remove_all(dir); }
};

}  // namespace

TEST_CASE("OpenCL error codes are reported by name") {
  CHECK(opencl::error_name(CL_OUT_OF_RESOURCES) == "CL_OUT_OF_RESOURCES");
  CHECK(opencl::error_name(CL_BUILD_PROGRAM_FAILURE) == "CL_BUILD_PROGRAM_FAILURE");
  CHECK(opencl::error_name(-1001) == "CL_PLATFORM_NOT_FOUND_KHR");
  CHECK(opencl::error_name(-4242) == "CL error -4242 (unknown)");
  const std::string text = exception_text([] { opencl::check(CL_INVALID_KERNEL_ARGS, "clEnqueueNDRangeKernel", "k"); });
  CHECK(text.find("clEnqueueNDRangeKernel failed: CL_INVALID_KERNEL_ARGS (-52): k") != std::string::npos);
}

TEST_CASE("discovery lists every device with its properties and finds PoCL") {
  if (!opencl_present()) return;
  bool pocl = false;
  for (const auto& d : opencl::devices()) {
    MESSAGE(fmt::format("{}: {} / {} ({}), {} MiB, {} CUs, OpenCL C '{}', driver '{}', fp64 {}", d.spec(), d.platform_name,
                        d.name, d.type, d.global_memory >> 20, d.compute_units, d.opencl_c_version, d.driver_version,
                        d.fp64));
    CHECK(!d.name.empty());
    CHECK(!d.platform_name.empty());
    CHECK(!d.driver_version.empty());
    CHECK(d.opencl_c_version.starts_with("OpenCL C"));
    CHECK(d.global_memory > 0);
    CHECK(d.max_allocation > 0);
    CHECK(d.max_allocation <= d.global_memory);
    CHECK(d.local_memory > 0);
    CHECK(d.compute_units > 0);
    CHECK(d.max_work_group_size > 0);
    if (is_pocl(d)) {
      pocl = true;
      CHECK(d.type == "cpu");
      CHECK(d.fp64);
    }
  }
  if (!pocl) MESSAGE("PoCL is not among the platforms here (CI installs it: pocl-opencl-icd)");
}

TEST_CASE("devices are chosen by index or by name and through NODAL_DEVICE") {
  if (!opencl_present()) return;
  const auto& first = opencl::devices().front();
  CHECK(&opencl::find_device("opencl:0:0") == &first);
  CHECK(&opencl::find_device("0:0") == &first);
  // a case-insensitive substring of the device name, and of the platform name
  std::string upper = first.name.substr(0, 6);
  for (char& ch : upper) ch = char(std::toupper(static_cast<unsigned char>(ch)));
  CHECK(opencl::find_device("opencl:" + upper).name.find(first.name.substr(0, 6)) != std::string::npos);
  CHECK(&opencl::find_device("opencl:" + first.platform_name) == &first);
  {
    ScopedEnv env("NODAL_DEVICE", "opencl:0:0");
    CHECK(&opencl::default_device() == &first);
  }
  {
    ScopedEnv env("NODAL_DEVICE", "cpu");  // another backend: the OpenCL default rule applies
    CHECK_NOTHROW(opencl::default_device());
  }
  for (const auto& d : opencl::devices())
    if (is_pocl(d)) {
      ScopedEnv env("NODAL_DEVICE", "opencl:pocl");
      CHECK(opencl::default_device().platform_name == d.platform_name);
    }
}

TEST_CASE("asking for a device that does not exist lists the devices that do") {
  if (!opencl_present()) return;
  for (const char* spec : {"opencl:7:3", "opencl:no-such-device-xyz", "opencl:0:99"}) {
    const std::string text = exception_text([&] { opencl::find_device(spec); });
    CHECK(text.find(fmt::format("no device '{}'", spec)) != std::string::npos);
    for (const auto& d : opencl::devices()) CHECK(text.find(d.spec() + "  " + d.platform_name) != std::string::npos);
  }
  ScopedEnv env("NODAL_DEVICE", "opencl:no-such-device-xyz");
  CHECK_THROWS_AS(opencl::default_device(), BackendError);
}

TEST_CASE("the device buffer pool reuses freed buffers of the same size") {
  if (!opencl_present()) return;
  const Shape shape{12345, 3};  // a size no other test case allocates
  { Tensor t = Tensor::empty(shape, DType::float32, Backend::opencl); }
  const auto before = opencl::device_pool_stats();
  CHECK(before.cached_bytes >= std::size_t(shape.numel()) * 4);
  for (int step = 0; step < 5; ++step) {
    Tensor t = Tensor::empty(shape, DType::float32, Backend::opencl);
    CHECK(t.backend() == Backend::opencl);
    CHECK(t.buffer()->host_data() == nullptr);
  }
  const auto after = opencl::device_pool_stats();
  CHECK(after.device_allocations == before.device_allocations);
  CHECK(after.reuses == before.reuses + 5);
  opencl::release_cached_device_memory();
  CHECK(opencl::device_pool_stats().cached_bytes == 0);
}

TEST_CASE("host to device and back is bit-exact for every dtype and for views") {
  if (!opencl_present()) return;
  // awkward values: NaN with a payload, signed zeros, infinities, subnormals, extremes
  std::vector<float> f(1001);
  for (std::size_t i = 0; i < f.size(); ++i) f[i] = std::sin(float(i)) * std::pow(10.0f, float(int(i % 60) - 30));
  f[0] = std::bit_cast<float>(0x7fc12345u);
  f[1] = -0.0f;
  f[2] = std::numeric_limits<float>::infinity();
  f[3] = std::numeric_limits<float>::denorm_min();
  f[4] = std::numeric_limits<float>::max();
  const Tensor t32 = Tensor::from_vector(f, Shape{7, 11, 13});
  CHECK(bit_equal<float>(t32.to(Backend::opencl).to(Backend::cpu), t32));
  const Tensor t64 = Tensor::randn(Shape{5, 3, 17}, 7, DType::float64);
  CHECK(bit_equal<double>(t64.to(Backend::opencl).to(Backend::cpu), t64));
  const Tensor tc = Tensor::randn(Shape{4, 9}, 8, DType::complex128);
  const auto back = tc.to(Backend::opencl).to(Backend::cpu).to_vector<complex128>();
  CHECK(std::memcmp(back.data(), tc.to_vector<complex128>().data(), back.size() * sizeof(complex128)) == 0);
  // views of device memory come back as what they view: transposed, sliced, stepped, broadcast
  const Tensor device = t32.to(Backend::opencl);
  CHECK(bit_equal<float>(device.transpose(0, 2).to(Backend::cpu), t32.transpose(0, 2).contiguous()));
  CHECK(bit_equal<float>(device.slice(1, 2, 9, 3).to(Backend::cpu), t32.slice(1, 2, 9, 3).contiguous()));
  CHECK(bit_equal<float>(device.slice(0, 3, 4).to(Backend::cpu), t32.slice(0, 3, 4).contiguous()));
  // host views go up as their values
  CHECK(bit_equal<float>(t32.permute({2, 0, 1}).to(Backend::opencl).to(Backend::cpu), t32.permute({2, 0, 1}).contiguous()));
  // creation on the device, clone and astype
  CHECK(Tensor::zeros(Shape{3, 4}, DType::float64, Backend::opencl).to(Backend::cpu).to_vector<double>() ==
        std::vector<double>(12, 0.0));
  CHECK(Tensor::full(Shape{5}, 2.5, DType::float32, Backend::opencl).to(Backend::cpu).to_vector<float>() ==
        std::vector<float>(5, 2.5f));
  const Tensor copy = device.clone();
  CHECK(copy.buffer() != device.buffer());
  CHECK(bit_equal<float>(copy.to(Backend::cpu), t32));
  CHECK(bit_equal<double>(device.astype(DType::float64).to(Backend::cpu), t32.astype(DType::float64)));
  // empty tensors
  CHECK(Tensor::empty(Shape{0, 3}, DType::float32).to(Backend::opencl).to(Backend::cpu).numel() == 0);
  // host-only access to device memory says how to get it
  CHECK_THROWS_AS(device.data<float>(), BackendError);
}

TEST_CASE("an allocation beyond what the device can hold is a BackendError") {
  if (!opencl_present()) return;
  const auto& device = opencl::current_context().device();
  const std::int64_t elements = std::int64_t(device.max_allocation / 4) + 1024;
  const std::string text = exception_text([&] { Tensor::empty(Shape{elements}, DType::float32, Backend::opencl); });
  CHECK(text.find("cannot allocate") != std::string::npos);
  CHECK(text.find("CL_DEVICE_MAX_MEM_ALLOC_SIZE") != std::string::npos);
  const std::int64_t beyond_memory = std::int64_t(device.global_memory / 8) * 2;  // float64: 2x global memory
  CHECK_THROWS_AS(Tensor::empty(Shape{beyond_memory}, DType::float64, Backend::opencl), BackendError);
}

TEST_CASE("programs are cached in memory and on disk and a stale or broken binary falls back to source") {
  if (!opencl_present()) return;
  ScratchDir scratch;
  ScopedEnv env("NODAL_KERNEL_CACHE", scratch.dir.string());
  auto& context = opencl::current_context();
  auto& cache = context.programs();
  // a source no other process has cached: the pid and the time are in it
  const std::string source = fmt::format("kernel void twice(global float* x) {{ x[get_global_id(0)] *= 2.0f; }} // {} {}",
                                         getpid(), std::chrono::steady_clock::now().time_since_epoch().count());
  const auto s0 = cache.stats();
  cache.get("twice.cl", source, "-cl-std=CL1.2");
  const auto s1 = cache.stats();
  CHECK(s1.source_builds == s0.source_builds + 1);
  CHECK(s1.disk_writes == s0.disk_writes + 1);
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(scratch.dir)) files.push_back(entry.path());
  REQUIRE(files.size() == 1);
  CHECK(files[0].extension() == ".clbin");

  cache.get("twice.cl", source, "-cl-std=CL1.2");
  const auto s2 = cache.stats();
  CHECK(s2.memory_hits == s1.memory_hits + 1);
  CHECK(s2.source_builds == s1.source_builds);

  cache.clear_memory();  // as a new process would: the binary comes from disk
  cache.get("twice.cl", source, "-cl-std=CL1.2");
  const auto s3 = cache.stats();
  CHECK(s3.disk_hits == s2.disk_hits + 1);
  CHECK(s3.source_builds == s2.source_builds);

  // other options are another key: built from source
  cache.get("twice.cl", source, "-cl-std=CL1.2 -DUNUSED=1");
  CHECK(cache.stats().source_builds == s3.source_builds + 1);

  // a binary stored under another key (another driver, say) is not used: built from source
  const auto write_file = [&](const std::string& bytes) {
    std::ofstream file(files[0], std::ios::binary | std::ios::trunc);
    file << bytes;
  };
  write_file("nodal-opencl-binary 2\n9 10 0\nother key0123456789");
  cache.clear_memory();
  const auto s4 = cache.stats();
  CHECK(cache.get("twice.cl", source, "-cl-std=CL1.2"));
  CHECK(cache.stats().source_builds == s4.source_builds + 1);
  CHECK(cache.stats().disk_hits == s4.disk_hits);

  // a truncated binary under the right key fails its length check before the driver sees it
  // (PoCL 3.1 crashes on truncated binaries): counted as a disk failure and built from source
  {
    std::ifstream in(files[0], std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    write_file(content.substr(0, content.size() / 2));
  }
  cache.clear_memory();
  const auto s5 = cache.stats();
  CHECK(cache.get("twice.cl", source, "-cl-std=CL1.2"));
  const auto s6 = cache.stats();
  CHECK(s6.disk_failures == s5.disk_failures + 1);
  CHECK(s6.source_builds == s5.source_builds + 1);
  CHECK(s6.disk_hits == s5.disk_hits);
  // flipping one byte inside the binary fails the checksum the same way
  {
    std::ifstream in(files[0], std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    content[content.size() - 100] ^= 0x20;
    write_file(content);
  }
  cache.clear_memory();
  CHECK(cache.get("twice.cl", source, "-cl-std=CL1.2"));
  CHECK(cache.stats().disk_failures == s6.disk_failures + 1);
  CHECK(cache.stats().source_builds == s6.source_builds + 1);

  // NODAL_KERNEL_CACHE=off: nothing is written
  ScopedEnv off("NODAL_KERNEL_CACHE", "off");
  CHECK(opencl::kernel_cache_folder().empty());
  const auto s7 = cache.stats();
  cache.get("twice.cl", source + " ", "-cl-std=CL1.2");
  CHECK(cache.stats().disk_writes == s7.disk_writes);
}

TEST_CASE("a kernel that does not compile raises BackendError with the compiler log") {
  if (!opencl_present()) return;
  ScopedEnv env("NODAL_KERNEL_CACHE", "off");
  const std::string broken = "kernel void broken(global float* x) { x[0] = undeclared_name_xyz; }";
  const std::string text =
      exception_text([&] { opencl::current_context().programs().get("broken.cl", broken, "-cl-std=CL1.2"); });
  CHECK(text.find("CL_BUILD_PROGRAM_FAILURE") != std::string::npos);
  CHECK(text.find("broken.cl") != std::string::npos);
  CHECK(text.find("build log") != std::string::npos);
  CHECK(text.find("undeclared_name_xyz") != std::string::npos);  // the compiler's own message
  // the embedded sources are there, and an unknown one is named
  CHECK(!opencl::kernel_source("elementwise").empty());
  CHECK(!opencl::kernel_source("reduce").empty());
  CHECK(exception_text([] { opencl::kernel_source("nope"); }).find("elementwise") != std::string::npos);
}

TEST_CASE("astype, zeros, ones and full run on the device: no transfer, and astype is bit-exact against the CPU") {
  if (!opencl_present()) return;
  // values that test the conversions' rounding and specials: many-bit doubles (round to nearest
  // even into float), overflow to ±inf, signed zeros, infinities, a NaN, tiny and huge normals
  std::vector<double> v(257);
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = std::sin(double(i) * 0.731) * std::pow(10.0, double(int(i % 70) - 35)) * (1.0 + 1e-12 * double(i));
  v[0] = -0.0;
  v[1] = std::numeric_limits<double>::infinity();
  v[2] = -1e300;  // beyond float: −inf
  v[3] = std::numeric_limits<double>::quiet_NaN();
  v[4] = 1.0 + std::ldexp(1.0, -24);  // exactly halfway between two floats: rounds to even (1.0)
  v[5] = 1.0 + 3 * std::ldexp(1.0, -24);  // halfway: rounds to even (1 + 2^−22)
  const Tensor base = Tensor::from_vector(v, Shape{257});
  std::vector<complex128> c(v.size());  // complex sources get an imaginary part of their own
  for (std::size_t i = 0; i < v.size(); ++i) c[i] = {v[i], v[v.size() - 1 - i]};
  const Tensor complex_base = Tensor::from_vector(c, Shape{257});
  const DType all[] = {DType::float32, DType::float64, DType::complex64, DType::complex128};
  for (DType from : all) {
    const Tensor host = (is_complex(from) ? complex_base : base).astype(from);  // also viewed strided below
    const Tensor device = host.to(Backend::opencl);
    for (DType to : all) {
      CAPTURE(dtype_name(from));
      CAPTURE(dtype_name(to));
      if (is_complex(from) && !is_complex(to)) {
        CHECK_THROWS_AS((void)device.astype(to), DTypeError);
        continue;
      }
      const opencl::Activity before = opencl::activity();
      const Tensor got = device.astype(to);
      const Tensor got_view = device.slice(0, 3, 250, 7).astype(to);
      const opencl::Activity d = opencl::activity_since(before);
      CHECK(d.uploads == 0);
      CHECK(d.downloads == 0);
      CHECK(d.launches <= 2);  // none when the dtype is the same (a view), else one per cast
      CHECK(got.dtype() == to);
      CHECK(got.backend() == Backend::opencl);
      const Tensor want = host.astype(to), want_view = host.slice(0, 3, 250, 7).astype(to);
      // bit-exact except that any NaN matches any NaN (devices may not keep NaN payloads)
      const auto same = [&](const Tensor& a, const Tensor& b) {
        const Tensor x = a.to(Backend::cpu).astype(DType::complex128), y = b.astype(DType::complex128);
        const auto xs = x.to_vector<complex128>(), ys = y.to_vector<complex128>();
        bool ok = xs.size() == ys.size();
        for (std::size_t i = 0; ok && i < xs.size(); ++i)
          for (const auto& [p, q] : {std::pair{xs[i].real(), ys[i].real()}, std::pair{xs[i].imag(), ys[i].imag()}})
            ok = ok && ((std::isnan(p) && std::isnan(q)) || std::bit_cast<std::uint64_t>(p) == std::bit_cast<std::uint64_t>(q));
        return ok;
      };
      CHECK(same(got, want));
      CHECK(same(got_view, want_view));
    }
  }
  // creation on the device: no upload
  const opencl::Activity before = opencl::activity();
  const Tensor zeros = Tensor::zeros(Shape{3, 5}, DType::complex128, Backend::opencl);
  const Tensor ones = Tensor::ones(Shape{7}, DType::float64, Backend::opencl);
  const Tensor full = Tensor::full(Shape{2, 2}, complex128(1.5, -2.0), DType::complex64, Backend::opencl);
  CHECK(opencl::activity_since(before).uploads == 0);
  CHECK(zeros.to(Backend::cpu).to_vector<complex128>() == std::vector<complex128>(15, complex128(0, 0)));
  CHECK(ones.to(Backend::cpu).to_vector<double>() == std::vector<double>(7, 1.0));
  CHECK(full.to(Backend::cpu).to_vector<complex64>() == std::vector<complex64>(4, complex64(1.5f, -2.0f)));
  CHECK_THROWS_AS((void)Tensor::full(Shape{2}, complex128(1, 1), DType::float32, Backend::opencl), DTypeError);
  try {
    (void)base.astype(DType::complex64).to(Backend::opencl).astype(DType::float64);
    FAIL("complex to real was accepted");
  } catch (const DTypeError& e) {
    CHECK(std::string(e.what()).find("astype") != std::string::npos);
    CHECK(std::string(e.what()).find("complex64") != std::string::npos);
  }
}

TEST_CASE("the activity counters count launches and transfers exactly") {
  if (!opencl_present()) return;
  const Tensor host = Tensor::ones(Shape{1000});
  const opencl::Activity before = opencl::activity();
  const Tensor a = host.to(Backend::opencl);          // 1 upload of 4000 bytes
  const Tensor b = nodal::exp(nodal::add(a, a));      // 2 launches (one per elementwise result)
  const std::vector<float> back = b.to(Backend::cpu).to_vector<float>();  // 1 download of 4000 bytes
  const opencl::Activity d = opencl::activity_since(before);
  CHECK(d.uploads == 1);
  CHECK(d.upload_bytes == 4000);
  CHECK(d.launches == 2);
  CHECK(d.downloads == 1);
  CHECK(d.download_bytes == 4000);
  CHECK(back[0] == doctest::Approx(std::exp(2.0)));
}

TEST_CASE("launch overhead and transfer bandwidth on the current device (reported)") {
  if (!opencl_present()) return;
  auto& context = opencl::current_context();
  const Tensor one = Tensor::scalar(1.5).to(Backend::opencl);
  Tensor y = nodal::neg(one);  // builds the program
  context.finish();
  const int launches = 200;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < launches; ++i) y = nodal::neg(y);
  context.finish();
  const double per_launch = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / launches;
  CHECK(y.to(Backend::cpu).item<float>() == -1.5f);  // an odd number of negations
  // the same, waiting for each kernel to finish: what a launch costs when nothing overlaps it
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < launches; ++i) {
    y = nodal::neg(y);
    context.finish();
  }
  const double per_finished_launch =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / launches;
  const Tensor big = Tensor::rand(Shape{std::int64_t(16) << 20}, 3);  // 64 MiB of float32
  big.to(Backend::opencl).to(Backend::cpu);  // warm: the pools hold the blocks, pages are touched
  start = std::chrono::steady_clock::now();
  const Tensor up = big.to(Backend::opencl);
  const double up_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  start = std::chrono::steady_clock::now();
  const Tensor down = up.to(Backend::cpu);
  const double down_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(down.numel() == big.numel());
  MESSAGE(fmt::format("{}: {:.1f} us per launch queued back to back, {:.1f} us per launch waited for (1 element, "
                      "averaged over {}); upload {:.2f} GB/s, download {:.2f} GB/s (64 MiB)",
                      context.device().name, per_launch, per_finished_launch, launches, 0.0671 / up_s, 0.0671 / down_s));
}

TEST_CASE("nodal devices lists the OpenCL devices") {
  if (!opencl_present()) return;
  // the tool sits in <build>/tools when it is built (test_cli builds it)
  const fs::path tool = fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "tools" / "nodal";
  if (!fs::exists(tool)) {
    MESSAGE("skipped: the nodal tool is not built at ", tool.string(), " (target nodal_cli)");
    return;
  }
  const fs::path out = fs::temp_directory_path() / fmt::format("nodal_test_devices_{}.txt", getpid());
  const int status = std::system(fmt::format("'{}' devices > '{}' 2>&1", tool.string(), out.string()).c_str());
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  fs::remove(out);
  CHECK(status == 0);
  const std::string listing = text.str();
  INFO("nodal devices printed:\n", listing);
  CHECK(listing.find("cpu: the host") != std::string::npos);
  for (const auto& d : opencl::devices()) {
    const bool listed = listing.find(d.spec() + "  " + d.name) != std::string::npos;
    if (!listed && !is_pocl(d)) {
      // seen on an H100 in exclusive-process compute mode: a second process does not see the GPU
      // while this one holds it. PoCL devices are always visible.
      MESSAGE("device ", d.spec(), " (", d.name, ") is not visible to a second process");
      continue;
    }
    CHECK(listed);
    CHECK(listing.find(d.driver_version) != std::string::npos);
  }
  CHECK(listing.find("default device: ") != std::string::npos);
}

#endif  // NODAL_HAS_OPENCL
