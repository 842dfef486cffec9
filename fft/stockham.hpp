#pragma once
// Constructors of the Cooley–Tukey nodes (radix vectors outermost first; every radix must have a
// butterfly for Stockham; in-place radices without one use a planned sub-transform).
#include <vector>

#include "nodal/fft/node.hpp"

namespace nodal::fft::detail {

template <class Real>
NodePtr<Real> make_stockham(const std::vector<std::size_t>& radices, int sign);

// In-place Cooley–Tukey. order = natural: explicit digit-reversal permutation, then DIT;
// scrambled: DIF only (output digit-reversed); from_scrambled: DIT only (input digit-reversed).
template <class Real>
NodePtr<Real> make_in_place(const std::vector<std::size_t>& radices, int sign, Order order, Planning planning);

}  // namespace nodal::fft::detail
