// Data movement for the structural nodes (reshape of a non-contiguous view, concat, pad, the vjp of
// slice) and for Tensor::contiguous()/clone() of device tensors. Nothing here computes: elements
// are moved as raw words, so one program per element SIZE serves every dtype of that size
// (-DT=uint for float32, -DT=ulong for float64 and complex64, -DT=ulong2 for complex128; the host
// picks it), and no float64 support is needed to move float64 values. Fill values arrive as the
// dtype's bit pattern, computed on the host.
//
// Work-group layout: 1-D, one element per work-item with a grid-stride loop, as kernels/
// elementwise.cl (the host launches n rounded up to the group size). No local memory. Traffic is
// 2 · n · sizeof(T) bytes (fill: n · sizeof(T)).
//
// Tensor::astype on the device (strided_cast, built only when the host defines S and D): the
// one place here that converts. S and D are float, double, float2 or double2, DR is D's real type,
// SRC_COMPLEX / DST_COMPLEX say which are complex (complex → real is refused on the host). Casts
// between floating types round to nearest even, as the CPU's do, so results are bit-identical.
// Traffic n · (sizeof(S) + sizeof(D)) bytes.

#if defined(NODAL_FP64)
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
#define MAX_RANK 8

// Offset of row-major element i of `shape` in a view with `strides` (the host has dropped extent-1
// axes and merged contiguous neighbours, so a contiguous view arrives as rank 1).
inline long strided_offset(long i, int rank, const long8 shape8, const long8 strides8) {
  long shape[MAX_RANK], strides[MAX_RANK];
  vstore8(shape8, 0, shape);
  vstore8(strides8, 0, strides);
  if (rank == 1) return i * strides[0];
  long offset = 0;
  for (int d = rank - 1; d >= 0; --d) {
    offset += (i % shape[d]) * strides[d];
    i /= shape[d];
  }
  return offset;
}

// dst view ← src view (src broadcast to dst's shape: stride 0 on broadcast axes).
kernel void strided_copy(const long n, const int rank, const long8 shape, global const T* src, const long src_offset,
                         const long8 src_strides, global T* dst, const long dst_offset, const long8 dst_strides) {
  for (long i = get_global_id(0); i < n; i += get_global_size(0))
    dst[dst_offset + strided_offset(i, rank, shape, dst_strides)] =
        src[src_offset + strided_offset(i, rank, shape, src_strides)];
}

#if defined(S) && defined(D)
#define JOIN(a, b) a##b
#define CONVERT(type, x) JOIN(convert_, type)(x)
#if SRC_COMPLEX
#define CAST(x) CONVERT(D, x)
#elif DST_COMPLEX
#define CAST(x) ((D)((DR)(x), (DR)0))
#else
#define CAST(x) ((D)(x))
#endif
// dst view ← src view converted to D (same shape).
kernel void strided_cast(const long n, const int rank, const long8 shape, global const S* src, const long src_offset,
                         const long8 src_strides, global D* dst, const long dst_offset, const long8 dst_strides) {
  for (long i = get_global_id(0); i < n; i += get_global_size(0))
    dst[dst_offset + strided_offset(i, rank, shape, dst_strides)] =
        CAST(src[src_offset + strided_offset(i, rank, shape, src_strides)]);
}
#endif

// dst view ← value (the zero blocks of a vjp or jvp, an uninitialised output's padding).
kernel void fill(const long n, const int rank, const long8 shape, global T* dst, const long dst_offset,
                 const long8 dst_strides, const T value) {
  for (long i = get_global_id(0); i < n; i += get_global_size(0))
    dst[dst_offset + strided_offset(i, rank, shape, dst_strides)] = value;
}

// A new contiguous `out` of shape out_shape that holds src at positions start + step · j (per axis,
// j < src extent) and `value` everywhere else, in one pass: pad (step 1; value the fill value, 0 in
// its jvp) and the vjp of slice (zeros with ȳ scattered into the sliced positions). Work-item i
// decomposes its row-major index into coordinates, so no axis merging (rank ≤ 8 as Shape).
kernel void embed(const long n, const int rank, const long8 out_shape8, const long8 start8, const long8 step8,
                  const long8 src_shape8, global const T* src, const long src_offset, const long8 src_strides8,
                  const T value, global T* out) {
  long out_shape[MAX_RANK], start[MAX_RANK], step[MAX_RANK], src_shape[MAX_RANK], src_strides[MAX_RANK];
  vstore8(out_shape8, 0, out_shape);
  vstore8(start8, 0, start);
  vstore8(step8, 0, step);
  vstore8(src_shape8, 0, src_shape);
  vstore8(src_strides8, 0, src_strides);
  for (long i = get_global_id(0); i < n; i += get_global_size(0)) {
    long rest = i, offset = src_offset;
    bool inside = true;
    for (int d = rank - 1; d >= 0; --d) {
      const long o = rest % out_shape[d] - start[d];
      rest /= out_shape[d];
      const long j = o / step[d];
      inside = inside && o >= 0 && o == j * step[d] && j < src_shape[d];
      offset += j * src_strides[d];
    }
    out[i] = inside ? src[offset] : value;
  }
}
