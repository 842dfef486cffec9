// cpu::gemm for complex128 (gemm.hpp). One dtype per file: Eigen's complex kernels are the slow
// part of the build (34 s optimized for both complex dtypes in one file), so a two-core build
// compiles them side by side.
#include "nodal/backends/cpu/gemm_mapped.hpp"

namespace nodal::cpu {

template void gemm<complex128>(const MatrixRef<complex128>&, const MatrixRef<complex128>&, complex128*, std::int64_t,
                              bool);

}  // namespace nodal::cpu
