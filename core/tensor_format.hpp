#pragma once
// Printing tensors the way PyTorch does:
//
//   fmt::format("{}", t)  ->  tensor([[1.0000, 2.0000],
//                                     [3.0000, 4.0000]], shape=[2, 2], dtype=float32, backend=cpu)
//
// Values use a fixed number of decimals, or scientific notation when their magnitudes span more
// than three decades, exceed 1e8 or fall below 1e-4 (PyTorch's rule), right-aligned to a common
// width. Complex values print as 1.0000+2.0000j. A tensor with more than `threshold` elements is
// summarised: along every axis longer than 2 * edge_items only the first and last `edge_items`
// entries are shown, with "..." between them. A tensor that is not on the CPU prints its metadata
// only (printing its values would need a transfer, which nodal never does implicitly).
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "nodal/core/tensor.hpp"

namespace nodal {

struct PrintOptions {
  int precision = 4;               // digits after the decimal point
  std::int64_t threshold = 1000;   // summarise when numel() exceeds this
  std::int64_t edge_items = 3;     // entries kept at each end of a summarised axis
};

// The text fmt::format("{}", t) produces; `options` changes precision and summarisation.
std::string format_tensor(const Tensor& t, const PrintOptions& options = {});

std::ostream& operator<<(std::ostream& os, const Tensor& t);

}  // namespace nodal

// fmt::format("{}", t). Width and alignment specs apply to the whole text ("{:>60}").
template <> struct fmt::formatter<nodal::Tensor> : fmt::formatter<std::string_view> {
  template <class FormatContext> auto format(const nodal::Tensor& t, FormatContext& ctx) const {
    const std::string text = nodal::format_tensor(t);
    return fmt::formatter<std::string_view>::format(std::string_view(text), ctx);
  }
};
