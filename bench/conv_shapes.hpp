#pragma once
// The layers bench/conv times (shared with its libtorch peer, bench/conv_torch.cpp).
#include <cstdint>
#include <string>

#include <fmt/format.h>

namespace nodal::bench {

// One conv2d layer: x [n, cin, h, w], weight [cout, cin, k, k], bias [cout], stride 1, zero padding `pad`.
struct ConvShape {
  std::int64_t n, cin, cout, h, w, k, pad;
  std::string label() const { return fmt::format("{}x{}->{} {}x{} k{}", n, cin, cout, h, w, k); }
  std::int64_t out_h() const { return h + 2 * pad - k + 1; }
  std::int64_t out_w() const { return w + 2 * pad - k + 1; }
  // 2·N·Cout·Cin·Ho·Wo·k², the flops of the forward pass (the "effective" count: what a
  // direct loop would do, whatever the algorithm really does).
  double forward_flops() const { return 2.0 * double(n * cout * cin * out_h() * out_w() * k * k); }
};

}  // namespace nodal::bench
