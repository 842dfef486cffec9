// Tensor-and-constant nodes (nodes/scalar_ops.hpp): y = x + c, c·x, x / c, c − x, c / x, x^c, and
// their derivatives, with the rules of backends/cpu/scalar_ops.cpp (same operation order, so each
// result rounds as the CPU's does, up to the device's pow). c arrives as T (rounded on the host
// from the node's double, as the CPU rounds it). Compiled per element type like elementwise.cl
// (-DT=float | -DT=double -DNODAL_FP64).
//
// Work-group layout: 1-D, one element per work-item with a grid-stride loop, as elementwise.cl;
// operands are strided views (collapsed by the host), the output is contiguous. No local memory.
#ifdef NODAL_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#define MAX_RANK 8

inline long strided_offset(long i, int rank, const long* shape, long8 strides8) {
  if (rank == 1) return i * strides8.s0;  // the common case: no 64-bit division
  long strides[MAX_RANK];
  vstore8(strides8, 0, strides);
  long offset = 0;
  for (int d = rank - 1; d >= 0; --d) {
    offset += (i % shape[d]) * strides[d];
    i /= shape[d];
  }
  return offset;
}

#define OPERAND(name) global const T *name, const long name##_offset, const long8 name##_strides
#define AT(name, i) name[name##_offset + strided_offset(i, rank, shape, name##_strides)]

enum { ADD, MUL, DIV, RSUB, RDIV, POW };  // ScalarOp's order

inline T scalar_value(int op, T c, T v) {
  switch (op) {
    case ADD: return v + c;
    case MUL: return c * v;
    case DIV: return v / c;
    case RSUB: return c - v;
    case RDIV: return c / v;
    default: return c == (T)2 ? v * v : pow(v, c);  // POW; x² exactly as the CPU's v · v
  }
}

// g · f′(x): the vjp and jvp alike (real dtypes); add needs no kernel (x̄ = ȳ), pow with c = 0 none
// either (x̄ = 0).
inline T scalar_chain_value(int op, T c, T x, T y, T g) {
  switch (op) {
    case MUL: return c * g;                 // x̄ = c · ȳ
    case DIV: return g / c;                 // x̄ = ȳ / c
    case RSUB: return -g;                   // x̄ = −ȳ
    case RDIV: return -g * (y / x);         // x̄ = −ȳ · y / x  (= ȳ · (−c / x²))
    default:                                // POW: x̄ = ȳ · c · x^(c−1)
      return c == (T)2 ? g * ((T)2 * x) : g * c * pow(x, c - (T)1);
  }
}

kernel void scalar_forward(const int op, const T c, const long n, const int rank, const long8 shape8, OPERAND(x),
                           global T* y) {
  long shape[MAX_RANK];
  vstore8(shape8, 0, shape);
  for (long i = get_global_id(0); i < n; i += get_global_size(0)) y[i] = scalar_value(op, c, AT(x, i));
}

kernel void scalar_chain(const int op, const T c, const long n, const int rank, const long8 shape8, OPERAND(x),
                         OPERAND(y), OPERAND(g), global T* out) {
  long shape[MAX_RANK];
  vstore8(shape8, 0, shape);
  for (long i = get_global_id(0); i < n; i += get_global_size(0))
    out[i] = scalar_chain_value(op, c, AT(x, i), AT(y, i), AT(g, i));
}
