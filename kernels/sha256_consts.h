/* SHA-256 constants (FIPS 180-4, sections 4.2.2 and 5.3.3) as list macros, so the device
 * kernels (OpenCL C, CUDA) and the host code initialise their tables from one place, and
 * the round functions the device kernels share (they need hf_device.h's rotates first). */
#ifndef HF_SHA256_CONSTS_H
#define HF_SHA256_CONSTS_H

#define HF_SHA256_K_LIST \
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, \
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, \
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, \
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, \
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, \
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, \
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, \
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2

#define HF_SHA256_IV_LIST \
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19

#define HF_BSIG0(x) HF_XOR3(HF_ROTR(x, 2), HF_ROTR(x, 13), HF_ROTR(x, 22))
#define HF_BSIG1(x) HF_XOR3(HF_ROTR(x, 6), HF_ROTR(x, 11), HF_ROTR(x, 25))
#define HF_SSIG0(x) HF_XOR3(HF_ROTR(x, 7), HF_ROTR(x, 18), ((x) >> 3))
#define HF_SSIG1(x) HF_XOR3(HF_ROTR(x, 17), HF_ROTR(x, 19), ((x) >> 10))

/* Schedule word i (0..15) of the 16-word ring w, for rounds 16 and later. */
#define HF_SHA256_SCHEDULE(w, i) \
  ((w)[i] += HF_SSIG1((w)[((i)-2) & 15]) + (w)[((i)-7) & 15] + HF_SSIG0((w)[((i)-15) & 15]))

/* One round on the caller's variables a..h of type T with constant k and word wi. With
 * `full` false the new `a` is left incomplete (only e is wanted from rounds 57..60 on). */
#define HF_SHA256_ROUND(T, k, wi, full)                                                      \
  do {                                                                                     \
    const T t1_ = h + HF_BSIG1(e) + HF_CH(e, f, g) + (k) + (wi);                           \
    const T t2_ = (full) ? HF_BSIG0(a) + HF_MAJ(a, b, c) : (T)0;                           \
    h = g; g = f; f = e; e = d + t1_; d = c; c = b; b = a; a = t1_ + t2_;                  \
  } while (0)

#endif
