#pragma once
// Internal to fft_stockham.cpp (launches) and fft_stockham_plan.cpp (plans): the plan's contents,
// the flag bits of kernels/fft_stockham.cl, the tuning switches, the local-memory arithmetic both
// sides share, and the host tables.
#include <complex>
#include <cstdint>
#include <memory>
#include <vector>

#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/fft_tables.hpp"
#include "nodal/backends/opencl/fft_stockham.hpp"

namespace nodal::opencl::fft {

struct StockhamPlan {
  enum class Kind { single, four_step, bluestein, bluestein_three, rader, rader_one };
  Kind kind = Kind::single;
  std::int64_t n = 0;
  std::int64_t m = 0;          // bluestein: the convolution length (single: n)
  std::int64_t n1 = 0, n2 = 0;  // four-step / bluestein_three: m = n1·n2 (columns of n1, rows of n2)
  std::shared_ptr<Buffer> twiddle_lo, twiddle_hi;  // w_m^x = lo[x % split]·hi[x / split]
  std::int64_t split = 1;
  std::shared_ptr<Buffer> chirp[2], spectrum[2];  // bluestein, per direction (spectrum in row order for three)
  std::shared_ptr<Buffer> gather, scatter;        // rader: g^q and g^−q mod n (int32); spectrum[0]: B̂/m, rows
                                                  // (rader_one: gather holds g^q, then g^−q; B̂/m natural)
  std::shared_ptr<Buffer> position;               // rader: p(k) with g^−p(k) = k (int32, n values; k = 0 unused)
  bool gpu = false;                               // rader: planned for a GPU (which form of the permutations)
};

namespace stockham {

using cd = std::complex<double>;

// kernels/fft_stockham.cl's flag bits
constexpr std::uint32_t load_conj = 1, load_chirp = 2, load_twiddle = 4, side_lanes = 8, load_gather = 16;
constexpr std::uint32_t store_conj = 1, store_post = 2, store_twiddle_conj = 4, store_scatter = 32;
constexpr std::uint32_t mid_save = 16;
// the run-time `inverse` argument: conjugate on load (1), on store (2)
constexpr int conj_load = 1, conj_store = 2;

// tuning switches (fft_stockham_plan.cpp says what each measured)
bool pad_on();
bool radix16(bool mid, std::int64_t L);
// work-items per group a launch aims at: NODAL_FFT_GROUP where set, else `preferred` (0: 128)
std::int64_t group_target(std::int64_t preferred = 0);
std::int64_t bluestein_columns_override();  // NODAL_FFT_BLUESTEIN_COLUMNS: the three-launch Bluestein's n1
bool forced_split();
std::int64_t bluestein_override();
bool bluestein_three_only();
bool bluestein_length(std::int64_t m, bool three_launches);
bool rader_separate(bool gpu);          // the permutations as passes of their own (kernels/fft_rader.cl)
bool rader_one_launch();                // NODAL_FFT_RADER_ONE_LAUNCH=0 turns the one-launch Rader off
std::int64_t rader_columns_override();  // NODAL_FFT_RADER_COLUMNS: Rader's n1 (0: the default split)
std::int64_t rader_pad(const Context& context, std::int64_t tile_bytes);  // local bytes a fused permuting launch reserves

// local memory
std::int64_t esize_of(DType real);
std::int64_t pitch_of(std::int64_t L, DType real, bool split);
std::int64_t row_bytes(std::int64_t L, DType real, bool split);
std::int64_t budget_of(const Context& context);
std::int64_t single_limit(const Context& context, DType real);

std::vector<int> radices_of(std::int64_t n, bool with16 = false);  // empty when n is not 2·3·5·7-smooth
bool smooth(std::int64_t n);

// tables (root, upload_table and the other shared host tables: fft_tables.hpp)
std::shared_ptr<Buffer> upload_ints(Context& context, const std::vector<std::int32_t>& values);

}  // namespace stockham
}  // namespace nodal::opencl::fft
