#pragma once
// Batched 1-D complex FFTs on an OpenCL device (kernels/fft.cl), planned once per (device,
// length, precision) and cached:
//   local       n 2·3·5·7-smooth and small enough for two local tiles: one fft_local launch
//               (Stockham passes of radix 8/4/2/7/5/3 in local memory);
//   four-step   smooth n = n1·n2 beyond that: column FFTs of length n1 into a scratch tensor, then
//               row FFTs of length n2 with the twiddle w_n^(n2·k1) fused into their load and the
//               transposed store k1 + n1·k2 fused into their store (2 launches);
//   Bluestein   any other n: a chirp-z convolution of smooth length m ≥ 2n − 1 done as two FFTs of
//               length m (local or four-step), chirp and filter spectrum precomputed on the host
//               in double precision (2 or 4 launches).
// Direction is applied by conjugation (inverse = conj ∘ forward ∘ conj, exact), so only forward
// twiddles are stored; Bluestein uses the conjugate chirp tables instead.
// The load and store of every transform are described by a Side (kernels/fft.cl, "Addressing") and
// carry fused per-value operations (real input or output, Hermitian extension, scales).
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "nodal/backends/opencl/context.hpp"
#include "nodal/core/tensor.hpp"

namespace nodal::opencl::fft {

// kernels/fft.cl's flag bits
enum : int {
  load_real = 1,
  load_hermitian = 2,
  load_conj = 4,
  load_chirp = 8,
  load_twiddle = 16,
  store_real = 1,
  store_conj = 4,
  store_mul = 32,
  store_post = 64,
  store_interior = 128,
  batch_fastest = 256,
};

// Where transform t's element e lives: i = t % I, r = t / I, idx = e·k_mul + i·k_imul,
// address = offset + r·s_outer + i·s_inner + idx·s_elem (elements of the buffer's type).
struct Side {
  cl_mem mem = nullptr;
  std::int64_t offset = 0, I = 1, s_outer = 0, s_inner = 0, s_elem = 1, k_mul = 1, k_imul = 0;
  int flags = 0;
  bool plain() const { return I == 1 && k_mul == 1 && k_imul == 0; }
};
struct LoadOps {
  std::int64_t hermitian_n = 0;   // load_hermitian: full length n; bins ≥ n/2+1 are mirrored
  double hermitian_scale = 1;     // factor of the interior bins (rfft's adjoint halves them)
};
struct StoreOps {
  std::int64_t store_count = std::numeric_limits<std::int64_t>::max();  // keep idx < this
  double scale = 1;
  double interior_scale = 1;      // store_interior: factor of bins 0 < idx, 2·idx ≠ interior_n
  std::int64_t interior_n = 0;
  // Forward transforms of plain complex rows only: × multiply[position] on the store, in the
  // order the output is written (a filter's spectrum in the transform's order). Fused into the last
  // store where the plan allows (one launch, four-step), a separate pass otherwise.
  cl_mem multiply = nullptr;
};

class Plan;

// The cached plan for complex transforms of length n in `real` precision (float32/float64).
std::shared_ptr<const Plan> plan_for(Context& context, std::int64_t n, DType real);

// The order of a spectrum — the permutation-free path for convolution (docs/opencl.md, "Spectrum
// order"). natural: bin k at position k. scrambled: a four-step plan (n = n1·n2, input index
// n2·j1 + j2, bin k1 + n1·k2) stops after its row FFTs, leaving bin k1 + n1·k2 at position
// k1·n2 + k2, and its inverse reads that layout (rows, twiddle, then columns: the DIT counterpart of
// the forward DIF), so neither transposes. A pointwise product commutes with any fixed permutation,
// so a ⊛ b = inverse(forward(a)·forward(b)) holds with both spectra scrambled. Plans of one launch
// (Stockham passes sort themselves), Bluestein and Rader have a single order: scrambled = natural.
enum class Order { natural, scrambled };

// Runs `count` transforms of `plan`'s length from `load` to `store` (which must not overlap unless
// the plan is local and they are the same side). Plain sides are needed for non-local plans.
// Order::scrambled (plain complex rows, no load or store operation but the scale): a forward
// transform writes the scrambled spectrum, an inverse one reads it; in place is allowed.
void execute(Context& context, const Plan& plan, DType real, std::int64_t count, bool inverse, Side load,
             const LoadOps& load_ops, Side store, const StoreOps& store_ops, Order order = Order::natural);

// rows × n complex values from element `offset` of z: z[r][p] ×= spectrum[p] (kernels/fft_convolve.cl)
void multiply_rows(Context& context, cl_mem z, std::int64_t offset, std::int64_t rows, std::int64_t n, cl_mem spectrum,
                   DType real);

// The (n1, n2) of the scrambled order execute produces for length n on this context ((1, n): the
// plan has one order), and the natural bin index at each position of that spectrum.
std::pair<std::int64_t, std::int64_t> scrambled_split(Context& context, std::int64_t n, DType real);
std::vector<std::int64_t> scrambled_bins(Context& context, std::int64_t n, DType real);

bool is_local(const Plan& plan);
std::string describe(const Plan& plan);

// The largest n fft_local takes on `context`'s device in `real` precision.
std::int64_t local_limit(const Context& context, DType real);

// A contiguous copy of `view` (real or complex) on its device: one fft_gather launch.
Tensor gather_contiguous(Context& context, const Tensor& view);

}  // namespace nodal::opencl::fft
