// Elementwise kernels: unary operations, binary operations with NumPy broadcasting, their chain
// rules (vjp and jvp), and a scaled strided copy. Compiled once per element type:
//   -DT=float                      float32
//   -DT=double -DNODAL_FP64        float64 (devices with cl_khr_fp64)
//
// Operands are strided views: (pointer, offset, strides) in elements, with strides laid out for
// the OUTPUT's shape (a broadcast input has stride 0 on the broadcast axes). The host collapses
// axes that are contiguous for every operand, so a contiguous same-shape call arrives with rank 1
// and the index arithmetic below is one multiply-add per operand.
//
// Work-group layout: 1-D, 256 work-items per group. Work-item i handles elements i, i + G, ...
// (G = global size). The host normally launches n rounded up to 256 work-items, one element each
// (PoCL vectorises across work-items only when each runs its loop once), and caps the launch at
// 2^20 groups, beyond which the grid-stride loop covers the rest. Adjacent work-items touch
// adjacent elements (coalesced on GPUs). No local memory; each element is read once
// per operand and written once: (operands + 1) · n · sizeof(T) bytes of global traffic.
//
// Operation codes equal the enum values of nodes/unary.hpp (UnaryOp) and nodes/binary.hpp
// (BinaryOp); backends/opencl/elementwise.cpp static_asserts the correspondence.
#ifdef NODAL_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#define MAX_RANK 8

// Element offset of linear (row-major) index i of `shape` in a view with `strides`.
inline long strided_offset(long i, int rank, const long* shape, long8 strides8) {
  if (rank == 1) return i * strides8.s0;  // the common case: no 64-bit division at all
  long strides[MAX_RANK];
  vstore8(strides8, 0, strides);
  long offset = 0;
  for (int d = rank - 1; d >= 0; --d) {
    const long extent = shape[d];
    offset += (i % extent) * strides[d];
    i /= extent;
  }
  return offset;
}

// The operand list of a kernel: pointer, offset and strides of one view.
#define OPERAND(name) global const T *name, const long name##_offset, const long8 name##_strides
#define AT(name, i) name[name##_offset + strided_offset(i, rank, shape, name##_strides)]
#define SHAPE_ARGS const long n, const int rank, const long8 shape8
#define UNPACK_SHAPE  \
  long shape[MAX_RANK]; \
  vstore8(shape8, 0, shape)
#define FOR_EACH_ELEMENT(i) for (long i = get_global_id(0); i < n; i += get_global_size(0))

enum { NEG, ABS, EXP, LOG, SQRT, SQUARE, TANH, SIGMOID, RELU, LEAKY_RELU, ELU };
enum { ADD, SUB, MUL, DIV, POW, MAXIMUM, MINIMUM };

// ---- unary ------------------------------------------------------------------------------------

inline T unary_value(int op, T p, T x) {
  switch (op) {
    case NEG: return -x;
    case ABS: return fabs(x);
    case EXP: return exp(x);
    case LOG: return log(x);
    case SQRT: return sqrt(x);
    case SQUARE: return x * x;
    case TANH: return tanh(x);
    case SIGMOID: return (T)1 / ((T)1 + exp(-x));
    case RELU: return x > (T)0 ? x : (T)0;
    case LEAKY_RELU: return x > (T)0 ? x : p * x;
    case ELU: return x > (T)0 ? x : p * expm1(x);
  }
  return NAN;
}

// g · f′(x), from the forward input x and output y (which one a rule uses is the cheaper one).
inline T unary_chain_value(int op, T p, T x, T y, T g) {
  switch (op) {
    case NEG: return -g;
    case ABS: return x > (T)0 ? g : x < (T)0 ? -g : (T)0;
    case EXP: return g * y;
    case LOG: return g / x;
    case SQRT: return g / ((T)2 * y);
    case SQUARE: return g * ((T)2 * x);
    case TANH: return g * ((T)1 - y * y);
    case SIGMOID: return g * y * ((T)1 - y);
    case RELU: return x > (T)0 ? g : (T)0;
    case LEAKY_RELU: return x > (T)0 ? g : p * g;
    case ELU: return x > (T)0 ? g : g * p * exp(x);
  }
  return NAN;
}

// y = f(x); y contiguous.
kernel void unary_forward(const int op, const T p, SHAPE_ARGS, OPERAND(x), global T* y) {
  UNPACK_SHAPE;
  FOR_EACH_ELEMENT(i) y[i] = unary_value(op, p, AT(x, i));
}

// out = g · f′(x) (vjp and jvp alike for real dtypes); out contiguous.
kernel void unary_chain(const int op, const T p, SHAPE_ARGS, OPERAND(x), OPERAND(y), OPERAND(g), global T* out) {
  UNPACK_SHAPE;
  FOR_EACH_ELEMENT(i) out[i] = unary_chain_value(op, p, AT(x, i), AT(y, i), AT(g, i));
}

// ---- binary -----------------------------------------------------------------------------------

inline T binary_value(int op, T a, T b) {
  switch (op) {
    case ADD: return a + b;
    case SUB: return a - b;
    case MUL: return a * b;
    case DIV: return a / b;
    case POW: return pow(a, b);
    case MAXIMUM: return (a > b || isnan(a)) ? a : b;  // NaN in either input propagates
    case MINIMUM: return (a < b || isnan(a)) ? a : b;
  }
  return NAN;
}

// g · ∂y/∂(input `which`), the rules of backends/cpu/binary.cpp.
inline T binary_partial(int op, int which, T g, T a, T b, T y) {
  switch (op) {
    case ADD: return g;
    case SUB: return which == 0 ? g : -g;
    case MUL: return g * (which == 0 ? b : a);
    case DIV: return which == 0 ? g / b : -g * (y / b);
    case POW:
      if (which == 0) return b == (T)0 ? (T)0 : g * b * pow(a, b - (T)1);  // 0 where b = 0: no 0·∞
      return a == (T)0 ? (T)0 : g * y * log(a);                            // 0 where a = 0 (limit b > 0)
    case MAXIMUM:
    case MINIMUM: {
      if (a == b) return g * (T)0.5;  // ties split the gradient
      const bool a_wins = op == MAXIMUM ? a > b : a < b;
      return a_wins == (which == 0) ? g : (T)0;
    }
  }
  return NAN;
}

// y = a ∘ b, a and b broadcast to y's shape; y contiguous.
kernel void binary_forward(const int op, SHAPE_ARGS, OPERAND(a), OPERAND(b), global T* y) {
  UNPACK_SHAPE;
  FOR_EACH_ELEMENT(i) y[i] = binary_value(op, AT(a, i), AT(b, i));
}

// out = ȳ · ∂y/∂(input `which`) in y's shape (the host then sums it to the input's shape).
kernel void binary_vjp(const int op, const int which, SHAPE_ARGS, OPERAND(g), OPERAND(a), OPERAND(b), OPERAND(y),
                       global T* out) {
  UNPACK_SHAPE;
  FOR_EACH_ELEMENT(i) out[i] = binary_partial(op, which, AT(g, i), AT(a, i), AT(b, i), AT(y, i));
}

// ẏ = ∂y/∂a · ȧ + ∂y/∂b · ḃ in one pass; a missing tangent (has_ta / has_tb = 0) is zero and its
// operand is a placeholder that is never read.
kernel void binary_jvp(const int op, const int has_ta, const int has_tb, SHAPE_ARGS, OPERAND(ta), OPERAND(tb),
                       OPERAND(a), OPERAND(b), OPERAND(y), global T* out) {
  UNPACK_SHAPE;
  FOR_EACH_ELEMENT(i) {
    const T av = AT(a, i), bv = AT(b, i), yv = AT(y, i);
    T total = (T)0;
    if (has_ta) total += binary_partial(op, 0, AT(ta, i), av, bv, yv);
    if (has_tb) total += binary_partial(op, 1, AT(tb, i), av, bv, yv);
    out[i] = total;
  }
}

// ---- copies -----------------------------------------------------------------------------------

// out = scale · x, x any view (broadcast allowed); out contiguous. Makes views contiguous and
// broadcasts cotangents (the vjp of sum and mean).
kernel void scaled_copy(SHAPE_ARGS, OPERAND(x), const T scale, global T* out) {
  UNPACK_SHAPE;
  FOR_EACH_ELEMENT(i) out[i] = scale * AT(x, i);
}
