// dropout's mask and output in one pass: mask_i = keep_scale if element i is kept, else 0, and
// y_i = x_i·mask_i. Compiled per element type like elementwise.cl.
//
// The mask bits are those of the CPU backend (backends/cpu/dropout.cpp), which draws
// u_i = Tensor::rand(shape, pass_seed)_i and keeps element i when T(u_i) ≥ T(p). Tensor::rand
// (core/tensor_random.cpp) is counter-based: bits_i = mix64(mix64(4i·φ + key) ^ key) with
// key = mix64(pass_seed ^ 0x6A09E667F3BCC909) (computed on the host) and u_i = (bits_i >> 11)·2⁻⁵³.
// Rounding u to T is monotonic, so "T(u) ≥ T(p)" is the integer test (bits >> 11) ≥ threshold,
// where the host finds the threshold (the smallest 53-bit k with T(k·2⁻⁵³) ≥ T(p)) by bisection
// with the CPU's own arithmetic. The device therefore needs only 64-bit integer operations, which
// every OpenCL device has, and no double precision: masks are bit-identical on any device.
//
// Work-group layout: 1-D elementwise, 256 items per group, grid-stride (as elementwise.cl); no
// local memory. x, y and mask are contiguous (x from x_offset). Traffic: 3·n·sizeof(T) bytes.

// The finaliser of splitmix64, as core/tensor_random.cpp's mix64.
inline ulong mix64(ulong z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
  return z ^ (z >> 31);
}

kernel void dropout_forward(const long n, const ulong key, const ulong threshold, const T keep_scale,
                            global const T* x, const long x_offset, global T* y, global T* mask) {
  for (long i = get_global_id(0); i < n; i += get_global_size(0)) {
    const ulong counter = (ulong)i * 4UL;  // four counters per element, as Tensor::rand
    const ulong bits = mix64(mix64(counter * 0x9E3779B97F4A7C15UL + key) ^ key);
    const T m = (bits >> 11) >= threshold ? keep_scale : (T)0;
    mask[i] = m;
    y[i] = x[x_offset + i] * m;
  }
}
