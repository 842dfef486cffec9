#pragma once
// An independent float64 convolution, written as plainly as the definition (nodes/conv.hpp), for
// every conv test to compare against. It shares nothing with the library's algorithms but the
// ConvGeometry numbers (layout [N, C, D, H, W], weights [Cout, Cin/groups, kD, kH, kW]).
//
//   forward          y[n,o,p]   = Σ_{c ∈ group(o)} Σ_k x[n,c, p·s + k·d − pad] · w[o, c − c0, k]
//   backward input   dx[n,c,i] += dy[n,o,p] · w[o, c − c0, k]   for every (o, p, k) that read i
//   backward weight  dw[o,c,k] += dy[n,o,p] · x[n,c0 + c, i]     (Σ over n and p)
//
// Each function can also return Σ|term| per output element: the scale of the float32 rounding
// error bound the tests use (an algorithm summing m products has |error| ≤ γ_m·Σ|term|).
#include <cmath>
#include <cstdint>
#include <vector>

#include "nodal/nodes/conv.hpp"

namespace conv_reference {

using nodal::ConvGeometry;

// Calls f(y_index, x_index, w_index) for every product term y[·] += x[·]·w[·] of the forward
// sum (terms reading the zero padding are skipped); the indices are flat offsets into y, x, w.
template <class F> void for_each_term(const ConvGeometry& g, F&& f) {
  const std::int64_t cin_g = g.in_per_group(), cout_g = g.out_per_group();
  for (std::int64_t n = 0; n < g.batch; ++n)
    for (std::int64_t o = 0; o < g.out_channels; ++o)
      for (std::int64_t od = 0; od < g.out[0]; ++od)
        for (std::int64_t oh = 0; oh < g.out[1]; ++oh)
          for (std::int64_t ow = 0; ow < g.out[2]; ++ow) {
            const std::int64_t y_index = (((n * g.out_channels + o) * g.out[0] + od) * g.out[1] + oh) * g.out[2] + ow;
            for (std::int64_t ci = 0; ci < cin_g; ++ci) {
              const std::int64_t c = (o / cout_g) * cin_g + ci;
              for (std::int64_t kd = 0; kd < g.kernel[0]; ++kd)
                for (std::int64_t kh = 0; kh < g.kernel[1]; ++kh)
                  for (std::int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                    const std::int64_t id = od * g.stride[0] + kd * g.dilation[0] - g.pad_before[0];
                    const std::int64_t ih = oh * g.stride[1] + kh * g.dilation[1] - g.pad_before[1];
                    const std::int64_t iw = ow * g.stride[2] + kw * g.dilation[2] - g.pad_before[2];
                    if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1] || iw < 0 || iw >= g.in[2]) continue;
                    const std::int64_t x_index = (((n * g.in_channels + c) * g.in[0] + id) * g.in[1] + ih) * g.in[2] + iw;
                    const std::int64_t w_index = (((o * cin_g + ci) * g.kernel[0] + kd) * g.kernel[1] + kh) * g.kernel[2] + kw;
                    f(y_index, x_index, w_index);
                  }
            }
          }
}

inline std::int64_t x_size(const ConvGeometry& g) { return g.batch * g.in_channels * g.in_pixels(); }
inline std::int64_t w_size(const ConvGeometry& g) { return g.out_channels * g.in_per_group() * g.kernel_pixels(); }
inline std::int64_t y_size(const ConvGeometry& g) { return g.batch * g.out_channels * g.out_pixels(); }

// y = x ⋆ w (no bias); abs_terms (optional) gets Σ|x·w| per output.
inline std::vector<double> forward(const ConvGeometry& g, const std::vector<double>& x, const std::vector<double>& w,
                                   std::vector<double>* abs_terms = nullptr) {
  std::vector<double> y(std::size_t(y_size(g)), 0.0);
  if (abs_terms) abs_terms->assign(y.size(), 0.0);
  for_each_term(g, [&](std::int64_t yi, std::int64_t xi, std::int64_t wi) {
    y[std::size_t(yi)] += x[std::size_t(xi)] * w[std::size_t(wi)];
    if (abs_terms) (*abs_terms)[std::size_t(yi)] += std::abs(x[std::size_t(xi)] * w[std::size_t(wi)]);
  });
  return y;
}

// dx = dy ⋆ᵀ w (scatter form); abs_terms gets Σ|dy·w| per input element.
inline std::vector<double> backward_input(const ConvGeometry& g, const std::vector<double>& dy,
                                          const std::vector<double>& w, std::vector<double>* abs_terms = nullptr) {
  std::vector<double> dx(std::size_t(x_size(g)), 0.0);
  if (abs_terms) abs_terms->assign(dx.size(), 0.0);
  for_each_term(g, [&](std::int64_t yi, std::int64_t xi, std::int64_t wi) {
    dx[std::size_t(xi)] += dy[std::size_t(yi)] * w[std::size_t(wi)];
    if (abs_terms) (*abs_terms)[std::size_t(xi)] += std::abs(dy[std::size_t(yi)] * w[std::size_t(wi)]);
  });
  return dx;
}

// dw = x ⋆ dy summed over the batch; abs_terms gets Σ|x·dy| per weight.
inline std::vector<double> backward_weight(const ConvGeometry& g, const std::vector<double>& x,
                                           const std::vector<double>& dy, std::vector<double>* abs_terms = nullptr) {
  std::vector<double> dw(std::size_t(w_size(g)), 0.0);
  if (abs_terms) abs_terms->assign(dw.size(), 0.0);
  for_each_term(g, [&](std::int64_t yi, std::int64_t xi, std::int64_t wi) {
    dw[std::size_t(wi)] += x[std::size_t(xi)] * dy[std::size_t(yi)];
    if (abs_terms) (*abs_terms)[std::size_t(wi)] += std::abs(x[std::size_t(xi)] * dy[std::size_t(yi)]);
  });
  return dw;
}

// The number of products summed into the largest sum of each pass (the m of γ_m).
inline std::int64_t forward_terms(const ConvGeometry& g) { return g.in_per_group() * g.kernel_pixels(); }
inline std::int64_t backward_input_terms(const ConvGeometry& g) { return g.out_per_group() * g.kernel_pixels(); }
inline std::int64_t backward_weight_terms(const ConvGeometry& g) { return g.batch * g.out_pixels(); }

}  // namespace conv_reference
