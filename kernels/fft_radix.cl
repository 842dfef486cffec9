// Radix-R DFTs in registers, shared by kernels/fft.cl and kernels/fft_stockham.cl: the host
// prepends this file to each of them (fft_plan.cpp, fft_stockham.cpp). It holds no kernel.
// Built with -DT=float or -DT=double (with NODAL_FP64); T2 is the complex type, (re, im).
#if defined(NODAL_FP64)
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double2 T2;
#else
typedef float2 T2;
#endif

inline T2 cmul(T2 a, T2 b) { return (T2)(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }
inline T2 mul_minus_i(T2 a) { return (T2)(a.y, -a.x); }  // −i·a

// Forward: exp(−2πi·t·k/R).
inline void dft2(T2* v) {
  const T2 a = v[0], b = v[1];
  v[0] = a + b;
  v[1] = a - b;
}
inline void dft4(T2* v) {
  const T2 t0 = v[0] + v[2], t1 = v[0] - v[2], t2 = v[1] + v[3], t3 = mul_minus_i(v[1] - v[3]);
  v[0] = t0 + t2;
  v[2] = t0 - t2;
  v[1] = t1 + t3;
  v[3] = t1 - t3;
}
inline void dft8(T2* v) {
  T2 e[4] = {v[0], v[2], v[4], v[6]}, o[4] = {v[1], v[3], v[5], v[7]};
  dft4(e);
  dft4(o);
  const T c = (T)0.70710678118654752440;  // √½
  o[1] = (T2)(c * (o[1].x + o[1].y), c * (o[1].y - o[1].x));
  o[2] = mul_minus_i(o[2]);
  o[3] = (T2)(c * (o[3].y - o[3].x), -c * (o[3].x + o[3].y));
  for (int k = 0; k < 4; ++k) {
    v[k] = e[k] + o[k];
    v[k + 4] = e[k] - o[k];
  }
}
__constant T w16[20] = {1.0, -0.0, 0.92387953251128675613, -0.38268343236508977173, 0.70710678118654752440,
                        -0.70710678118654752440, 0.38268343236508977173, -0.92387953251128675613, 0.0, -1.0,
                        -0.38268343236508977173, -0.92387953251128675613, -0.70710678118654752440,
                        -0.70710678118654752440, -0.92387953251128675613, -0.38268343236508977173, -1.0, -0.0,
                        -0.92387953251128675613, 0.38268343236508977173};  // w16^x = (cos, −sin)(2πx/16), x < 10
// R = P·Q in registers: P DFT_Q over x[b + P·a], twiddles W^(b·k1) (W: (cos, −sin)(2πx/R) at 2x,
// 2x + 1), Q DFT_P across b; X[k1 + Q·k2]. 16 = 4 × 4 and 9 = 3 × 3 here; 32 = 4 × 8 in
// kernels/fft_wide.cl.
#define DFT_FOUR_STEP(R, P, Q, W)                                                                    \
  inline void dft##R(T2* v) {                                                                      \
    T2 y[R];                                                                                       \
    for (int b = 0; b < P; ++b) {                                                                  \
      T2 q[Q];                                                                                     \
      for (int a = 0; a < Q; ++a) q[a] = v[b + P * a];                                             \
      dft##Q(q);                                                                                   \
      for (int k1 = 0; k1 < Q; ++k1) y[Q * b + k1] = b * k1 ? cmul(q[k1], (T2)(W[2 * b * k1], W[2 * b * k1 + 1])) : q[k1]; \
    }                                                                                              \
    for (int k1 = 0; k1 < Q; ++k1) {                                                               \
      T2 q[P];                                                                                     \
      for (int b = 0; b < P; ++b) q[b] = y[Q * b + k1];                                            \
      dft##P(q);                                                                                   \
      for (int k2 = 0; k2 < P; ++k2) v[k1 + Q * k2] = q[k2];                                       \
    }                                                                                              \
  }
DFT_FOUR_STEP(16, 4, 4, w16)

// Odd R: X_k = v0 + Σ_t cos(2πtk/R)(v_t + v_{R−t}) − i Σ_t sin(2πtk/R)(v_t − v_{R−t})
// (cos then sin of 2πx/R, x < R; OpenCL C has no variadic macros, so one table per radix)
__constant T cs3[6] = {1.0, -0.5, -0.5, 0.0, 0.86602540378443864676, -0.86602540378443864676};
__constant T cs5[10] = {1.0, 0.30901699437494742410, -0.80901699437494742410, -0.80901699437494742410,
                        0.30901699437494742410, 0.0, 0.95105651629515357212, 0.58778525229247312917,
                        -0.58778525229247312917, -0.95105651629515357212};
__constant T cs7[14] = {1.0, 0.62348980185873353053, -0.22252093395631440429, -0.90096886790241912624,
                        -0.90096886790241912624, -0.22252093395631440429, 0.62348980185873353053, 0.0,
                        0.78183148246802980871, 0.97492791218182360702, 0.43388373911755812048,
                        -0.43388373911755812048, -0.97492791218182360702, -0.78183148246802980871};
#define DFT_ODD(R)                                                              \
  inline void dft##R(T2* v) {                                                   \
    T2 s[R / 2 + 1], d[R / 2 + 1], x[R];                                        \
    for (int t = 1; t <= R / 2; ++t) {                                          \
      s[t] = v[t] + v[R - t];                                                   \
      d[t] = v[t] - v[R - t];                                                   \
    }                                                                           \
    x[0] = v[0];                                                                \
    for (int t = 1; t <= R / 2; ++t) x[0] += s[t];                              \
    for (int k = 1; k <= R / 2; ++k) {                                          \
      T2 a = v[0], b = (T2)(0, 0);                                              \
      for (int t = 1; t <= R / 2; ++t) {                                        \
        a += cs##R[(t * k) % R] * s[t];                                         \
        b += cs##R[R + (t * k) % R] * d[t];                                     \
      }                                                                         \
      x[k] = a + mul_minus_i(b);                                                \
      x[R - k] = a - mul_minus_i(b);                                            \
    }                                                                           \
    for (int k = 0; k < R; ++k) v[k] = x[k];                                    \
  }
DFT_ODD(3)
DFT_ODD(5)
DFT_ODD(7)
// The primes 11, 13 and 19 serve only a one-launch Rader whose n − 1 has one of them
// (fft_stockham_plan.cpp): one pass of them instead of Bluestein's twice as many values.
__constant T cs11[22] = {1.0, 0.84125353283118116886, 0.41541501300188642553, -0.14231483827328514044,
    -0.65486073394528506406, -0.95949297361449738989, -0.95949297361449738989, -0.65486073394528506406,
    -0.14231483827328514044, 0.41541501300188642553, 0.84125353283118116886, 0.0, 0.54064081745559758211,
    0.90963199535451837141, 0.98982144188093273238, 0.75574957435425828377, 0.28173255684142969771,
    -0.28173255684142969771, -0.75574957435425828377, -0.98982144188093273238, -0.90963199535451837141,
    -0.54064081745559758211};
__constant T cs13[26] = {1.0, 0.8854560256532098959, 0.56806474673115580251, 0.12053668025532305335,
    -0.35460488704253562597, -0.74851074817110109863, -0.97094181742605202716, -0.97094181742605202716,
    -0.74851074817110109863, -0.35460488704253562597, 0.12053668025532305335, 0.56806474673115580251,
    0.8854560256532098959, 0.0, 0.46472317204376854566, 0.82298386589365639458, 0.9927088740980539928,
    0.93501624268541482344, 0.66312265824079520238, 0.23931566428755776715, -0.23931566428755776715,
    -0.66312265824079520238, -0.93501624268541482344, -0.9927088740980539928, -0.82298386589365639458,
    -0.46472317204376854566};
__constant T cs19[38] = {1.0, 0.94581724170063467902, 0.78914050939639359922, 0.54694815812242687471,
    0.24548548714079914892, -0.0825793454723323246, -0.40169542465296945752, -0.67728157162574107476,
    -0.87947375120648907139, -0.9863613034027223736, -0.9863613034027223736, -0.87947375120648907139,
    -0.67728157162574107476, -0.40169542465296945752, -0.0825793454723323246, 0.24548548714079914892,
    0.54694815812242687471, 0.78914050939639359922, 0.94581724170063467902, 0.0, 0.32469946920468348741,
    0.61421271268966781744, 0.83716647826252857481, 0.96940026593933041674, 0.99658449300666984982,
    0.91577332665505743992, 0.73572391067313162477, 0.47594739303707354443, 0.16459459028073389414,
    -0.16459459028073389414, -0.47594739303707354443, -0.73572391067313162477, -0.91577332665505743992,
    -0.99658449300666984982, -0.96940026593933041674, -0.83716647826252857481, -0.61421271268966781744,
    -0.32469946920468348741};
DFT_ODD(11)
DFT_ODD(13)
DFT_ODD(19)

// Composite radices: one pass of radix R = P·Q in registers instead of a P pass and a Q pass, one
// round trip through local memory (two barriers) fewer (kernels/fft_stockham.cl; the host chooses
// them in fft_stockham_radices.cpp, radices_of).
// Coprime P, Q (Good–Thomas): input x[(Q·n1 + P·n2) mod R], DFT_P over n1, DFT_Q over n2, output at
// the k with k ≡ k1 (mod P), k ≡ k2 (mod Q), i.e. k = (k1·EQ + k2·EP) mod R with EQ ≡ 1 (mod P),
// EQ ≡ 0 (mod Q) and EP the other way round: no twiddles between the two, and every index is a
// compile-time constant once the loops unroll.
#define DFT_GOOD_THOMAS(R, P, Q, EQ, EP)                                          \
  inline void dft##R(T2* v) {                                                     \
    T2 y[R];                                                                      \
    for (int n2 = 0; n2 < Q; ++n2) {                                              \
      T2 q[P];                                                                    \
      for (int n1 = 0; n1 < P; ++n1) q[n1] = v[(Q * n1 + P * n2) % R];            \
      dft##P(q);                                                                  \
      for (int k1 = 0; k1 < P; ++k1) y[n2 * P + k1] = q[k1];                      \
    }                                                                             \
    for (int k1 = 0; k1 < P; ++k1) {                                              \
      T2 q[Q];                                                                    \
      for (int n2 = 0; n2 < Q; ++n2) q[n2] = y[n2 * P + k1];                      \
      dft##Q(q);                                                                  \
      for (int k2 = 0; k2 < Q; ++k2) v[(k1 * EQ + k2 * EP) % R] = q[k2];          \
    }                                                                             \
  }
DFT_GOOD_THOMAS(6, 2, 3, 3, 4)
DFT_GOOD_THOMAS(10, 2, 5, 5, 6)
DFT_GOOD_THOMAS(12, 4, 3, 9, 4)
DFT_GOOD_THOMAS(14, 2, 7, 7, 8)
DFT_GOOD_THOMAS(15, 3, 5, 10, 6)

// 9 = 3 × 3 (not coprime: Cooley–Tukey, DFT_FOUR_STEP as dft16).
__constant T w9[10] = {1.0, 0.0, 0.766044443118978035202, -0.642787609686539326323, 0.173648177666930348852,
                       -0.984807753012208059367, -0.5, -0.866025403784438646764, -0.939692620785908384054,
                       -0.342020143325668733044};  // w9^x = (cos, −sin)(2πx/9), x < 5
DFT_FOUR_STEP(9, 3, 3, w9)
