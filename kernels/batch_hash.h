/* Batch SHA-1 / SHA-256 / SHA-256d: one message per work-item, written once for OpenCL,
 * CUDA and the host (hf_device.h).
 *
 * The host packs pieces of messages into one byte buffer, each starting at a 16-byte
 * aligned offset, with at least 16 spare bytes after the last one (the final partial word
 * of a message is read whole and masked). The host only uses little-endian devices, so a
 * word load followed by a byte swap gives the big-endian message word. */
#ifndef HF_BATCH_HASH_H
#define HF_BATCH_HASH_H

#include "hf_device.h"
#include "sha256_consts.h"

#define HF_ALGO_SHA1 0
#define HF_ALGO_SHA256 1
#define HF_ALGO_SHA256D 2

/* One SHA-256 compression of w into s, one message per work-item (the search code's
 * hf_sha256_rounds works on lane vectors and skips rounds; this one is plain). */
HF_FN void hf_sha256_block(u32* s, u32* w) {
  const u32 K[64] = {HF_SHA256_K_LIST};
  u32 a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
  HF_OUTER_UNROLL
  for (int t0 = 0; t0 < 64; t0 += 16) {
    HF_UNROLL
    for (int i = 0; i < 16; ++i) {
      if (t0 > 0) HF_SHA256_SCHEDULE(w, i);
      HF_SHA256_ROUND(u32, K[t0 + i], w[i], 1);
    }
  }
  s[0] += a; s[1] += b; s[2] += c; s[3] += d; s[4] += e; s[5] += f; s[6] += g; s[7] += h;
}

/* One SHA-1 compression of w into s (w is the 16-word schedule ring). */
HF_FN void hf_sha1_block(u32* s, u32* w) {
  u32 a = s[0], b = s[1], c = s[2], d = s[3], e = s[4];
  HF_OUTER_UNROLL
  for (int t0 = 0; t0 < 80; t0 += 16) {
    HF_UNROLL
    for (int i = 0; i < 16; ++i) {
      const int t = t0 + i;
      if (t0 > 0) w[i] = HF_ROTL(w[(i - 3) & 15] ^ w[(i - 8) & 15] ^ w[(i - 14) & 15] ^ w[i], 1);
      u32 f, k;
      if (t < 20) { f = HF_CH(b, c, d); k = 0x5a827999u; }
      else if (t < 40) { f = b ^ c ^ d; k = 0x6ed9eba1u; }
      else if (t < 60) { f = HF_MAJ(b, c, d); k = 0x8f1bbcdcu; }
      else { f = b ^ c ^ d; k = 0xca62c1d6u; }
      const u32 tmp = HF_ROTL(a, 5) + f + e + k + w[i];
      e = d; d = c; c = HF_ROTL(b, 30); b = a; a = tmp;
    }
  }
  s[0] += a; s[1] += b; s[2] += c; s[3] += d; s[4] += e;
}

/* The sixteen words of a whole block at p (64 bytes, 16-byte aligned). */
HF_FN void hf_load_block(HF_GLOBAL const u32* HF_RESTRICT p, u32* w) {
#if defined(__CUDACC__)
  /* Four 128-bit loads instead of sixteen 32-bit ones. */
  const uint4* q = (const uint4*)p;
  HF_UNROLL
  for (int k = 0; k < 4; ++k) {
    const uint4 v = __ldg(q + k);
    w[4 * k] = HF_BSWAP(v.x); w[4 * k + 1] = HF_BSWAP(v.y); w[4 * k + 2] = HF_BSWAP(v.z); w[4 * k + 3] = HF_BSWAP(v.w);
  }
#else
  HF_UNROLL
  for (int j = 0; j < 16; ++j) w[j] = HF_BSWAP(p[j]);
#endif
}

HF_FN void hf_compress(u32 algo, u32* s, u32* w) {
  if (algo == HF_ALGO_SHA1) hf_sha1_block(s, w);
  else hf_sha256_block(s, w);
}

/* Advances entry i of a launch: desc[8i..8i+7] = byte offset of this launch's piece in data
 * (low, high), the piece's length, flags (bit 0: the message starts here, so start from the
 * IV; bit 1: it ends here, so pad and finish), the message's total length (low, high), and
 * the index of its chaining state in `state` (8 words each; a finished message leaves its
 * digest there as big-endian words). A piece that does not end its message is a whole
 * number of blocks. Long messages go through several launches, so every launch has many
 * messages to spread over the work-items. */
HF_FN void hf_batch_one(HF_GLOBAL const u32* HF_RESTRICT data, HF_GLOBAL const u32* HF_RESTRICT desc,
                        HF_GLOBAL u32* HF_RESTRICT state, u32 i, u32 algo) {
  HF_GLOBAL const u32* HF_RESTRICT d = desc + 8 * i;
  const u64 off = (u64)d[0] | ((u64)d[1] << 32);
  const u32 nbytes = d[2], flags = d[3];
  HF_GLOBAL const u32* HF_RESTRICT p = data + off / 4;
  HF_GLOBAL u32* HF_RESTRICT st = state + 8 * (u64)d[6];
  u32 s[8], w[16];
  if (flags & 1) {
    if (algo == HF_ALGO_SHA1) {
      s[0] = 0x67452301u; s[1] = 0xefcdab89u; s[2] = 0x98badcfeu; s[3] = 0x10325476u; s[4] = 0xc3d2e1f0u;
      s[5] = s[6] = s[7] = 0;
    } else {
      const u32 iv[8] = {HF_SHA256_IV_LIST};
      HF_UNROLL
      for (int j = 0; j < 8; ++j) s[j] = iv[j];
    }
  } else {
    HF_UNROLL
    for (int j = 0; j < 8; ++j) s[j] = st[j];
  }
  const u32 full = nbytes / 64;
  for (u32 b = 0; b < full; ++b) {
    hf_load_block(p + 16 * b, w);
    hf_compress(algo, s, w);
  }
  if (flags & 2) {
    /* The tail: the last len % 64 bytes, the 0x80 marker, zeros, and the bit length. */
    const u32 rem = nbytes % 64;
    HF_GLOBAL const u32* HF_RESTRICT q = p + 16 * full;
    HF_UNROLL
    for (u32 j = 0; j < 16; ++j) {
      u32 v = 0;
      if (4 * j + 4 <= rem) {
        v = HF_BSWAP(q[j]);
      } else if (4 * j < rem) {
        const u32 keep = rem - 4 * j; /* 1..3 message bytes in this word */
        v = (HF_BSWAP(q[j]) & (0xffffffffu << (32 - 8 * keep))) | (0x80u << (24 - 8 * keep));
      } else if (4 * j == rem) {
        v = 0x80000000u;
      }
      w[j] = v;
    }
    if (rem >= 56) {
      hf_compress(algo, s, w);
      HF_UNROLL
      for (int j = 0; j < 16; ++j) w[j] = 0;
    }
    const u64 bits = ((u64)d[4] | ((u64)d[5] << 32)) * 8;
    w[14] = (u32)(bits >> 32);
    w[15] = (u32)bits;
    hf_compress(algo, s, w);
    if (algo == HF_ALGO_SHA256D) {
      /* The second hash: the 32-byte digest as one padded block. */
      HF_UNROLL
      for (int j = 0; j < 8; ++j) w[j] = s[j];
      w[8] = 0x80000000u;
      HF_UNROLL
      for (int j = 9; j < 15; ++j) w[j] = 0;
      w[15] = 256;
      const u32 iv[8] = {HF_SHA256_IV_LIST};
      HF_UNROLL
      for (int j = 0; j < 8; ++j) s[j] = iv[j];
      hf_sha256_block(s, w);
    }
  }
  HF_UNROLL
  for (int j = 0; j < 8; ++j) st[j] = s[j];
}

#endif
