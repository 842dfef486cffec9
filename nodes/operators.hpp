#pragma once
// Arithmetic operators on Values (adding nodes to the graph) and on Tensors (running at once).
//
// For Values the operand written first arrives as ValueAt, whose conversion from Value captures
// the caller's source line, so `a * b + c` records where each node was built (error messages
// and Graphviz output point at the user's expression, not at this header).
// A double operand becomes a *_scalar node (nodes/scalar_ops.hpp) rather than a constant tensor.
#include "nodal/nodes/binary.hpp"
#include "nodal/nodes/scalar_ops.hpp"
#include "nodal/nodes/unary.hpp"

namespace nodal {

// --- Value ⊕ Value, Value ⊕ double, double ⊕ Value ---
inline Value operator+(ValueAt a, const Value& b) { return add(a.value, b, a.where); }
inline Value operator+(ValueAt a, double b) { return add_scalar(a.value, b, a.where); }
inline Value operator+(double a, ValueAt b) { return add_scalar(b.value, a, b.where); }

inline Value operator-(ValueAt a, const Value& b) { return sub(a.value, b, a.where); }
inline Value operator-(ValueAt a, double b) { return add_scalar(a.value, -b, a.where); }
inline Value operator-(double a, ValueAt b) { return rsub_scalar(b.value, a, b.where); }

inline Value operator*(ValueAt a, const Value& b) { return mul(a.value, b, a.where); }
inline Value operator*(ValueAt a, double b) { return mul_scalar(a.value, b, a.where); }
inline Value operator*(double a, ValueAt b) { return mul_scalar(b.value, a, b.where); }

inline Value operator/(ValueAt a, const Value& b) { return div(a.value, b, a.where); }
inline Value operator/(ValueAt a, double b) { return div_scalar(a.value, b, a.where); }
inline Value operator/(double a, ValueAt b) { return rdiv_scalar(b.value, a, b.where); }

inline Value operator-(ValueAt x) { return neg(x.value, x.where); }

// --- the same on tensors, eagerly ---
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator+(const Tensor& a, double b) { return add_scalar(a, b); }
inline Tensor operator+(double a, const Tensor& b) { return add_scalar(b, a); }

inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator-(const Tensor& a, double b) { return add_scalar(a, -b); }
inline Tensor operator-(double a, const Tensor& b) { return rsub_scalar(b, a); }

inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator*(const Tensor& a, double b) { return mul_scalar(a, b); }
inline Tensor operator*(double a, const Tensor& b) { return mul_scalar(b, a); }

inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator/(const Tensor& a, double b) { return div_scalar(a, b); }
inline Tensor operator/(double a, const Tensor& b) { return rdiv_scalar(b, a); }

inline Tensor operator-(const Tensor& x) { return neg(x); }

}  // namespace nodal
