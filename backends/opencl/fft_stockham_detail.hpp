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
  enum class Kind { single, four_step, bluestein, bluestein_three, rader, rader_one, wide, bluestein_wide };
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
  // wide, bluestein_wide (kernels/fft_wide.cl): m = n1·n2 held in registers, n1 values per work-item,
  // n2 work-items, the rows passed through the tile `rows_per_round` at a time
  std::int64_t rows_per_round = 0;
  std::shared_ptr<Buffer> column_twiddles, row_twiddles;  // w_m^(k1·n2) at k1·n2 + n2; the rows' pass table
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

// kernels/fft_wide.cl's shape for length m (fft_wide.cpp): m = v·n2, v values per work-item, n2
// work-items, g rows per round; v = 0 where none applies (float32 only, m = 32·n2 with n2 a power of
// two from 64 to 512, a tile holding at least two rows)
struct WideShape {
  std::int64_t v = 0, n2 = 0, g = 0;
};
WideShape wide_shape(const Context& context, std::int64_t m, DType real);
// NODAL_FFT_WIDE: 0 never; 1 wherever wide_shape applies (measuring); unset: beyond one tile only
int wide_mode();
std::vector<int> wide_row_radices(std::int64_t n2, std::int64_t g);
// p's shape and tables for a wide plan of length m (column and row-pass twiddles, computed in
// double); false, p untouched, where wide_shape gives none
bool plan_wide(Context& context, StockhamPlan& p, std::int64_t m, DType real);

// tables (root, upload_table and the other shared host tables: fft_tables.hpp)
std::shared_ptr<Buffer> upload_ints(Context& context, const std::vector<std::int32_t>& values);

}  // namespace stockham

// The launch of a wide or bluestein_wide plan (fft_wide.cpp); `multiply` as execute's (a wide
// plan's forward fuses it into the store); returns whether it did.
bool execute_wide(Context& context, const StockhamPlan& plan, DType real, std::int64_t count, bool inverse, cl_mem in,
                  std::int64_t in_offset, std::int64_t in_stride, cl_mem out, std::int64_t out_offset,
                  std::int64_t out_stride, double scale, cl_mem multiply);

}  // namespace nodal::opencl::fft
