#pragma once
// The specialised batched C2C FFT of kernels/fft_stockham.cl: each program is compiled for one
// length, layout and set of fused operations, so every loop bound, radix and stride is a constant.
// Plans (cached per device, length and precision; every table computed on the host in double):
//   single           smooth L that fits one group (4096 float in a whole tile, up to 11,666 in a split
//                    tile holding real and imaginary parts in turn): one launch;
//   four-step        smooth n = n1·n2 beyond: columns of length n1 (lanes side) into a scratch buffer,
//                    then rows of length n2 with the twiddle w_n^(c·k1) fused into their load and the
//                    transposed store k1 + n1·k2 as a lanes side (2 launches, each value read and
//                    written twice);
//   bluestein        other n whose m ≥ 2n − 1 fits one group (a power of two, else a smooth m): chirp,
//                    FFT_m, × filter spectrum, FFT_m, chirp in one launch;
//   rader            prime n, n − 1 smooth and beyond one launch: a cyclic convolution of length
//                    n − 1: gather x[g^q]; columns; rows: FFT, × B̂, FFT; columns; X[g^−p] = x_0 + c_p
//                    and X_0 = x_0 + Σ x (5 launches, the permutations as coalesced-order passes of
//                    their own), or with the permutations fused into the column launches (3);
//   wide             a power of two 32·n2 (n2 ≤ 512 work-items) that would need a split tile or does not
//                    fit one: held in registers, 32 values per work-item, its rows passed through the
//                    tile a few at a time (fft_wide.cpp, kernels/fft_wide.cl): one launch;
//   bluestein wide   Bluestein with m such a power of two, where no m fits a whole tile: one launch;
//   bluestein three  any other n, smooth m = n1·n2: (1) chirp + column FFTs, (2) per row: twiddle,
//                    FFT_n2, × spectrum, FFT_n2, conjugate twiddle, (3) column FFTs + chirp, storing the
//                    first n values (3 launches).
// Used for plain row layouts (fft_plan.cpp's execute): by default on GPUs; on CPU devices (PoCL,
// where each length's program costs seconds to build) only when asked (set_stockham_mode, or
// NODAL_FFT_STOCKHAM=1); NODAL_FFT_STOCKHAM=0 turns it off everywhere.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "nodal/backends/opencl/context.hpp"
#include "nodal/core/tensor.hpp"

namespace nodal::opencl::fft {

struct StockhamPlan;

enum class StockhamMode { automatic, on, off };
void set_stockham_mode(StockhamMode mode);  // tests; automatic: on for GPUs, NODAL_FFT_STOCKHAM overrides
bool stockham_enabled(const Context& context);
// Rader's permutations fused into its column launches, or as passes of their own (the default:
// kernels/fft_rader.cl says why); automatic: NODAL_FFT_RADER=fused|separate, else separate.
enum class RaderPermutations { automatic, fused, separate };
void set_rader_permutations(RaderPermutations mode);  // tests
// Tests: plan as if the device had `local_bytes` of local memory (0: the device's own; e.g. 49152 to
// get a GPU's plans on PoCL) and, with `split`, use split tiles everywhere. Forgets cached plans.
void set_stockham_test_limits(std::int64_t local_bytes, bool split);

// The plan for length n in `real` precision, or null where none applies (n < 2, or a Bluestein
// length beyond the two-level limit).
std::shared_ptr<const StockhamPlan> stockham_plan(Context& context, std::int64_t n, DType real);
std::string describe(const StockhamPlan& plan);

// `count` transforms from in[in_offset + r·in_stride + e] to out[out_offset + r·out_stride + e]
// (complex elements; in and out may be the same rows), inverse by conjugation, output × scale.
// `scrambled` (fft_plan.hpp, Order): a four-step plan's forward leaves bin k1 + n1·k2 at k1·n2 + k2
// (its rows stored in place, not transposed) and its inverse reads that layout (rows into a
// scratch with the conjugate twiddle fused into their store, then columns); other plans ignore it.
// `multiply` (forward only): × multiply[position] fused into the last store where the plan allows
// (single, four-step); returns whether it did (false: the caller multiplies).
bool execute(Context& context, const StockhamPlan& plan, DType real, std::int64_t count, bool inverse, cl_mem in,
             std::int64_t in_offset, std::int64_t in_stride, cl_mem out, std::int64_t out_offset,
             std::int64_t out_stride, double scale, bool scrambled = false, cl_mem multiply = nullptr);
// The circular convolution of each row with a filter in one launch where the plan is a single
// launch (FFT, × spectrum (natural order), conjugate, FFT, conjugate, × scale, the tile holding the
// row throughout); false, and nothing launched, for the other plans.
bool convolve_in_one_launch(Context& context, const StockhamPlan& plan, DType real, std::int64_t count, cl_mem in,
                            std::int64_t in_offset, cl_mem out, std::int64_t out_offset, cl_mem spectrum,
                            double scale);
// Whether the plan is the plain single launch (the one convolve_in_one_launch takes). A wide plan's
// length convolves as forward (the product fused into its store) and inverse: two launches that
// beat the split tile's one (H100, n = 8192, µs per 2^26 values: 807 against 1071).
bool is_single(const StockhamPlan& plan);
// (n1, n2) of a four-step plan, the order its scrambled spectrum has; (1, n) for the others.
std::pair<std::int64_t, std::int64_t> four_step_split(const StockhamPlan& plan);

}  // namespace nodal::opencl::fft
