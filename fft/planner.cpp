// Planner (provisional): every length is computed by the naive DFT.
#include <fmt/format.h>

#include "nodal/core/error.hpp"
#include "nodal/fft/node.hpp"

namespace nodal::fft {

std::vector<std::size_t> scrambled_radices(std::size_t n) { return {n}; }

namespace detail {

template <class Real>
NodePtr<Real> plan_node(std::size_t n, int sign, Algorithm forced, Planning planning, Order order) {
  return make_naive<Real>(n, sign);
}
template NodePtr<float> plan_node<float>(std::size_t, int, Algorithm, Planning, Order);
template NodePtr<double> plan_node<double>(std::size_t, int, Algorithm, Planning, Order);

}  // namespace detail

void save_wisdom(const std::string&) {}
void load_wisdom(const std::string&) {}
void forget_wisdom() {}

}  // namespace nodal::fft
