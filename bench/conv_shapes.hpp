#pragma once
// The layers bench/conv times (shared with its libtorch peer, bench/conv_torch.cpp).
#include <cstdint>
#include <string>

#include <fmt/format.h>

namespace nodal::bench {

// One conv2d layer: x [n, cin, h, w], weight [cout, cin/groups, k, k], bias [cout], zero padding
// `pad` on every side, `stride` on both axes.
struct ConvShape {
  std::int64_t n, cin, cout, h, w, k, pad, stride = 1, groups = 1;
  std::string label() const {
    return fmt::format("{}x{}->{} {}x{} k{}{}{}", n, cin, cout, h, w, k, stride > 1 ? fmt::format(" s{}", stride) : "",
                       groups > 1 ? fmt::format(" g{}", groups) : "");
  }
  std::int64_t out_h() const { return (h + 2 * pad - k) / stride + 1; }
  std::int64_t out_w() const { return (w + 2 * pad - k) / stride + 1; }
  std::int64_t cin_per_group() const { return cin / groups; }
  // 2·N·Cout·(Cin/groups)·Ho·Wo·k², the flops of the forward pass (the "effective" count:
  // what a direct loop would do, whatever the algorithm really does).
  double forward_flops() const { return 2.0 * double(n * cout * cin_per_group() * out_h() * out_w() * k * k); }
};

}  // namespace nodal::bench
