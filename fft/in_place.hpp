#pragma once
// Direct access to the in-place Cooley–Tukey passes for a chosen radix vector (tests, teaching):
// Pass::dif leaves F(a) in digit-reversed order, Pass::dit expects digit-reversed input and
// writes F(a) in natural order (see digit_reversal_permutation in plan.hpp). Allocates; not for hot loops.
#include <complex>
#include <vector>

#include "nodal/fft/plan.hpp"

namespace nodal::fft {

enum class Pass { dif, dit };
template <class Real>
void transform_in_place(const std::vector<std::size_t>& radices, Direction direction, Pass pass,
                        std::complex<Real>* data);

}  // namespace nodal::fft
