// cpu::gemm for float and double (gemm.hpp); the complex dtypes in gemm_complex64.cpp and
// gemm_complex128.cpp, so that a two-core build compiles Eigen's kernels side by side.
#include "nodal/backends/cpu/gemm_mapped.hpp"

namespace nodal::cpu {

template void gemm<float>(const MatrixRef<float>&, const MatrixRef<float>&, float*, std::int64_t, bool);
template void gemm<double>(const MatrixRef<double>&, const MatrixRef<double>&, double*, std::int64_t, bool);

}  // namespace nodal::cpu
