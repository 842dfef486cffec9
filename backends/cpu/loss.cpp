#include <cmath>

#include "nodal/backends/cpu/elementwise.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/loss.hpp"

namespace nodal {
namespace {

struct MseCpu final : NodeImpl {
  static double scale(const Node& node, std::int64_t n) {
    return static_cast<const Mse&>(node).reduction == "sum" ? 1.0 : 1.0 / double(std::max<std::int64_t>(n, 1));
  }
  // L = s·Σ (a − b)², s = 1/N (mean) or 1 (sum)
  void forward(const ForwardCall& c) const override {
    visit_real_dtype(c.inputs[0].dtype(), "mse", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const Tensor d = cpu::map_binary<T, T>(c.inputs[0], c.inputs[1], c.inputs[0].shape(), [](T a, T b) { return a - b; });
      const T* p = d.data<T>();
      double sum = 0;  // accumulated in double: a float32 sum of many squares loses digits
      for (std::int64_t i = 0; i < d.numel(); ++i) sum += double(p[i]) * double(p[i]);
      c.outputs[0] = Tensor::scalar(sum * scale(c.node, d.numel()), dtype_of<T>);
    });
  }
  // ā = ȳ·2s·(a − b),  b̄ = −ā
  void vjp(const VjpCall& c) const override {
    visit_real_dtype(c.inputs[0].dtype(), "mse", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T k = T(2 * scale(c.node, c.inputs[0].numel())) * c.output_cotangents[0].template item<T>();
      if (c.wanted[0])
        c.input_cotangents[0] = cpu::map_binary<T, T>(c.inputs[0], c.inputs[1], c.inputs[0].shape(),
                                                      [k](T a, T b) { return k * (a - b); });
      if (c.wanted[1])
        c.input_cotangents[1] = cpu::map_binary<T, T>(c.inputs[0], c.inputs[1], c.inputs[0].shape(),
                                                      [k](T a, T b) { return k * (b - a); });
    });
  }
  // L̇ = 2s·Σ (a − b)(ȧ − ḃ)
  void jvp(const JvpCall& c) const override {
    visit_real_dtype(c.inputs[0].dtype(), "mse", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const std::vector<T> a = c.inputs[0].template to_vector<T>(), b = c.inputs[1].template to_vector<T>();
      std::vector<T> da(a.size(), T(0)), db(a.size(), T(0));
      if (c.input_tangents[0].defined()) da = c.input_tangents[0].template to_vector<T>();
      if (c.input_tangents[1].defined()) db = c.input_tangents[1].template to_vector<T>();
      double sum = 0;
      for (std::size_t i = 0; i < a.size(); ++i) sum += double(a[i] - b[i]) * double(da[i] - db[i]);
      c.output_tangents[0] = Tensor::scalar(2 * scale(c.node, c.inputs[0].numel()) * sum, dtype_of<T>);
    });
  }
};

// Per row i: p = softmax(z_i), q = (1 − ε)·onehot(label_i) + ε/C,
//   loss_i = logsumexp(z_i) − Σ_c q_c z_ic,   ∂loss_i/∂z_i = p − q.
struct CrossEntropyCpu final : NodeImpl {
  // Class indices, validated: integers in [0, C). ValueError names the first bad one.
  static std::vector<std::int64_t> class_indices(const Tensor& labels, std::int64_t classes) {
    const std::vector<double> values = labels.to_vector<double>();
    std::vector<std::int64_t> out(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      const double v = values[i];
      if (!(v >= 0 && v < double(classes)) || v != std::floor(v))
        throw ValueError(fmt::format("cross_entropy: label {} at index {} is not a class index in [0, {})", v, i,
                                     classes));
      out[i] = std::int64_t(v);
    }
    return out;
  }
  // Calls f(row, p, q_label_weight) with p = softmax of the row; returns Σ_rows loss_i.
  template <class T, class F>
  static double rows(const Tensor& logits, const std::vector<std::int64_t>& labels, double eps, F&& f) {
    const Tensor z = logits.contiguous();
    const std::int64_t n = z.shape()[0], classes = z.shape()[1];
    const T* pz = n > 0 ? z.data<T>() : nullptr;
    std::vector<double> p(classes);
    double total = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const T* row = pz + i * classes;
      double m = row[0], sum = 0, mean_z = 0;
      for (std::int64_t k = 1; k < classes; ++k) m = std::max(m, double(row[k]));
      for (std::int64_t k = 0; k < classes; ++k) sum += (p[k] = std::exp(double(row[k]) - m));
      for (std::int64_t k = 0; k < classes; ++k) p[k] /= sum, mean_z += double(row[k]);
      mean_z /= double(classes);
      const double lse = m + std::log(sum);
      // −Σ q_c log p_c = lse − (1 − ε)·z_label − ε·mean(z)
      total += lse - (1 - eps) * double(row[labels[i]]) - eps * mean_z;
      f(i, p);
    }
    return total;
  }
  static double eps(const Node& node) { return static_cast<const CrossEntropy&>(node).label_smoothing; }

  // L = (1/N)·Σ_i loss_i
  void forward(const ForwardCall& c) const override {
    const Tensor& z = c.inputs[0];
    const auto labels = class_indices(c.inputs[1], z.shape()[1]);
    visit_real_dtype(z.dtype(), "cross_entropy", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const double total = rows<T>(z, labels, eps(c.node), [](std::int64_t, const std::vector<double>&) {});
      c.outputs[0] = Tensor::scalar(total / double(std::max<std::int64_t>(z.shape()[0], 1)), dtype_of<T>);
    });
  }
  // z̄_i = ȳ/N · (p_i − q_i); the labels get no cotangent
  void vjp(const VjpCall& c) const override {
    if (!c.wanted[0]) return;
    const Tensor& z = c.inputs[0];
    const std::int64_t n = z.shape()[0], classes = z.shape()[1];
    const auto labels = class_indices(c.inputs[1], classes);
    const double e = eps(c.node);
    visit_real_dtype(z.dtype(), "cross_entropy", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const double g = c.output_cotangents[0].template item<T>() / double(std::max<std::int64_t>(n, 1));
      Tensor dz = Tensor::empty(z.shape(), z.dtype());
      T* pd = dz.numel() > 0 ? dz.data<T>() : nullptr;
      rows<T>(z, labels, e, [&](std::int64_t i, const std::vector<double>& p) {
        for (std::int64_t k = 0; k < classes; ++k) {
          const double q = (k == labels[i] ? 1 - e : 0) + e / double(classes);
          pd[i * classes + k] = T(g * (p[k] - q));
        }
      });
      c.input_cotangents[0] = dz;
    });
  }
  // L̇ = (1/N)·Σ_i Σ_c (p_ic − q_ic)·ż_ic; label tangents are ignored
  void jvp(const JvpCall& c) const override {
    const Tensor& z = c.inputs[0];
    const std::int64_t n = z.shape()[0], classes = z.shape()[1];
    const auto labels = class_indices(c.inputs[1], classes);
    const double e = eps(c.node);
    visit_real_dtype(z.dtype(), "cross_entropy", [&](auto tag) {
      using T = typename decltype(tag)::type;
      double sum = 0;
      if (c.input_tangents[0].defined()) {
        const std::vector<T> dz = c.input_tangents[0].template to_vector<T>();
        rows<T>(z, labels, e, [&](std::int64_t i, const std::vector<double>& p) {
          for (std::int64_t k = 0; k < classes; ++k) {
            const double q = (k == labels[i] ? 1 - e : 0) + e / double(classes);
            sum += (p[k] - q) * double(dz[i * classes + k]);
          }
        });
      }
      c.output_tangents[0] = Tensor::scalar(sum / double(std::max<std::int64_t>(n, 1)), dtype_of<T>);
    });
  }
};

NODAL_REGISTER_IMPL("mse", Backend::cpu, MseCpu);
NODAL_REGISTER_IMPL("cross_entropy", Backend::cpu, CrossEntropyCpu);

}  // namespace
}  // namespace nodal
