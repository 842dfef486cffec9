#pragma once
// Winograd's minimal filtering algorithm F(m, r) — m outputs of an r-tap correlation from
// α = m + r − 1 inputs with α multiplications — built by Toom–Cook from interpolation points, in
// double precision at compile time (constexpr), so the kernels see every coefficient as a constant
// and skip the zeros and the ±1 multiplications:
//
//   y = Aᵀ [ (G g) ⊙ (Bᵀ d) ]                    d: α inputs, g: r taps, y: m outputs
//   2-D, one tile:  Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//
// Derivation (why the backward passes use the same matrices). Polynomial multiplication
// s = g·h (deg g = r − 1, deg h = m − 1) by evaluation at the points a₀ … a_{α−2} and at ∞
// (the leading coefficient) is s = C [(E_g g) ⊙ (E_h h)], with E the evaluation matrices and C the
// interpolation (its column j holds the coefficients of the Lagrange polynomial L_j, the last
// column those of Π_l (x − a_l)). The trilinear form Σ_j d_j s_j = Σ_{i,k} d_{i+k} g_k h_i is the
// correlation paired with h, so
//
//   y      = ∂/∂h = E_hᵀ [(Cᵀ d) ⊙ (E_g g)]  → Aᵀ = E_hᵀ, G = S⁻¹E_g, Bᵀ = S Cᵀ
//   ∂E/∂g  = Gᵀ [(Bᵀ d) ⊙ (A ȳ)]             (weight gradient: the same transforms of d)
//   ∂E/∂d  = B  [(G g) ⊙ (A ȳ)]
//
// S = diag(f_j), f_j = Π_{l≠j} (a_j − a_l), moves the fractions of C into G: row j of Bᵀ holds the
// coefficients of N_j(x) = Π_{l≠j} (x − a_l), exact binary fractions for the points 0, ±1, ±2,
// ±1/2, so the data transform rounds only in its additions; G (applied once per filter, in double)
// carries 1/f_j.
//
// Points: 0, 1, −1, 2, −2, 1/2, −1/2 — the usual choice for α ≤ 8 (small magnitudes, exact in
// binary). The float32 error grows with α (section "Winograd" of docs/convolution.md has the
// measured figures); F(4, 3) (α = 6) and F(4, 5) (α = 8) are what the conv algorithm uses.
#include <cstdint>

namespace nodal::cpu::winograd {

inline constexpr double points[] = {0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5};
inline constexpr int max_alpha = int(sizeof(points) / sizeof(points[0])) + 1;

template <int M, int R> struct Matrices {
  static constexpr int m = M, r = R, alpha = M + R - 1;
  static_assert(M >= 1 && R >= 1 && alpha <= max_alpha, "F(m, r) needs m + r − 2 interpolation points");
  double AT[M][alpha]{};      // m × α
  double G[alpha][R]{};       // α × r
  double BT[alpha][alpha]{};  // α × α
};

constexpr double power(double a, int k) {
  double p = 1;
  for (int i = 0; i < k; ++i) p *= a;
  return p;
}

template <int M, int R> constexpr Matrices<M, R> toom_cook() {
  Matrices<M, R> t;
  constexpr int alpha = M + R - 1, n = alpha - 1;  // n finite points, then ∞
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < n; ++j) t.AT[i][j] = power(points[j], i);
    t.AT[i][n] = i == M - 1 ? 1.0 : 0.0;
  }
  for (int j = 0; j < n; ++j) {
    double f = 1;
    for (int l = 0; l < n; ++l)
      if (l != j) f *= points[j] - points[l];
    for (int k = 0; k < R; ++k) t.G[j][k] = power(points[j], k) / f;
  }
  for (int k = 0; k < R; ++k) t.G[n][k] = k == R - 1 ? 1.0 : 0.0;
  // Bᵀ row j: coefficients (lowest first) of Π_{l≠j} (x − a_l); the ∞ row: of Π_l (x − a_l).
  for (int j = 0; j <= n; ++j) {
    double c[alpha]{};
    c[0] = 1;
    int degree = 0;
    for (int l = 0; l < n; ++l) {
      if (l == j) continue;
      for (int i = degree + 1; i > 0; --i) c[i] = c[i - 1] - points[l] * c[i];
      c[0] = -points[l] * c[0];
      ++degree;
    }
    for (int i = 0; i < alpha; ++i) t.BT[j][i] = c[i];
  }
  return t;
}

// The matrices as compile-time operators for the kernels: at(row, col) of Bᵀ, Aᵀ and A = (Aᵀ)ᵀ.
template <int M, int R> struct Tables {
  static constexpr Matrices<M, R> value = toom_cook<M, R>();
};
template <int M, int R> struct InputTransform {  // Bᵀ, α × α
  static constexpr int rows = M + R - 1, cols = M + R - 1;
  static constexpr double at(int a, int i) { return Tables<M, R>::value.BT[a][i]; }
};
template <int M, int R> struct OutputTransform {  // Aᵀ, m × α
  static constexpr int rows = M, cols = M + R - 1;
  static constexpr double at(int i, int a) { return Tables<M, R>::value.AT[i][a]; }
};
template <int M, int R> struct GradientTransform {  // A, α × m: takes ȳ into the transform domain
  static constexpr int rows = M + R - 1, cols = M;
  static constexpr double at(int a, int i) { return Tables<M, R>::value.AT[i][a]; }
};

// out[a·so] = Σ_i Op::at(a, i) · in[i·si] for every row a, unrolled at compile time: zero
// coefficients cost nothing, ±1 cost an add, the rest an FMA. V is a scalar or a vector type of T.
// always_inline: GCC's inliner gives up on the recursion otherwise and leaves calls per term.
template <class Op, class T, int a, int i, class V> [[gnu::always_inline]] inline void add_term(V& acc, const V* in, std::int64_t si) {
  constexpr double c = Op::at(a, i);
  if constexpr (c == 1.0) acc += in[i * si];
  else if constexpr (c == -1.0) acc -= in[i * si];
  else if constexpr (c != 0.0) acc += T(c) * in[i * si];
  if constexpr (i + 1 < Op::cols) add_term<Op, T, a, i + 1>(acc, in, si);
}
template <class Op, class T, int a, int i, class V> [[gnu::always_inline]] inline V row_of(const V* in, std::int64_t si) {
  constexpr double c = Op::at(a, i);
  if constexpr (c == 0.0 && i + 1 < Op::cols) {
    return row_of<Op, T, a, i + 1>(in, si);
  } else {
    V acc = c == 1.0 ? in[i * si] : c == -1.0 ? -in[i * si] : T(c) * in[i * si];
    if constexpr (i + 1 < Op::cols) add_term<Op, T, a, i + 1>(acc, in, si);
    return acc;
  }
}
template <class Op, class T, int a = 0, class V> [[gnu::always_inline]] inline void apply(const V* in, std::int64_t si, V* out, std::int64_t so) {
  out[a * so] = row_of<Op, T, a, 0>(in, si);
  if constexpr (a + 1 < Op::rows) apply<Op, T, a + 1>(in, si, out, so);
}

}  // namespace nodal::cpu::winograd
