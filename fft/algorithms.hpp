#pragma once
// Constructors of the composite algorithms (one file each) and the number theory they rely on.
#include <cstdint>
#include <vector>

#include "nodal/fft/node.hpp"

namespace nodal::fft::detail {

// Good–Thomas for coprime n1, n2 (throws ValueError otherwise); children of lengths n1 and n2.
template <class Real>
NodePtr<Real> make_good_thomas(NodePtr<Real> first, NodePtr<Real> second);
// Four-step Cooley–Tukey n = n1·n2 (any n1, n2), children of lengths n1 and n2.
template <class Real>
NodePtr<Real> make_four_step(NodePtr<Real> first, NodePtr<Real> second);
// Rader for prime p: cyclic convolution of length p−1 done by a length-L FFT pair (L = p−1, or L ≥ 2p−3
// with the kernel wrapped). forward/inverse are length-L nodes of sign −1 / +1.
template <class Real>
NodePtr<Real> make_rader(std::size_t p, int sign, NodePtr<Real> forward, NodePtr<Real> inverse);
// Bluestein for any n: forward/inverse are nodes of one length M ≥ 2n−1.
template <class Real>
NodePtr<Real> make_bluestein(std::size_t n, int sign, NodePtr<Real> forward, NodePtr<Real> inverse);

// FFT of a length-L sequence in double precision (kernel spectra of Rader and Bluestein), computed by
// a double-precision plan of the same tree shape.
std::vector<std::complex<double>> spectrum_in_double(const std::vector<std::complex<double>>& x);

std::uint64_t mul_mod(std::uint64_t a, std::uint64_t b, std::uint64_t m);
std::uint64_t pow_mod(std::uint64_t a, std::uint64_t e, std::uint64_t m);
std::vector<std::uint64_t> prime_factors(std::uint64_t n);  // with multiplicity, ascending
std::uint64_t gcd(std::uint64_t a, std::uint64_t b);

}  // namespace nodal::fft::detail
