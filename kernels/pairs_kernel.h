/* SHA-256 of 64-byte messages (pairs of 32-byte digests: one Merkle tree layer), one message
 * per work-item, written once for OpenCL, CUDA and the host (hf_device.h). The message is one
 * block; the padding block that follows it never changes (0x80, zeros, the length 512), so
 * its message schedule is a constant and each of its rounds adds one constant K[t] + W[t]
 * (the host kernels do the same: hf::sha::kPad64). Input and output are packed back to back:
 * message i at in[16i..16i+15], digest i at out[8i..8i+7] as bytes in digest order (the host
 * uses little-endian devices only, so a byte swap of each word). in and out are distinct
 * buffers: digest i would overwrite message i / 2, which another work-item may not have read. */
#ifndef HF_PAIRS_KERNEL_H
#define HF_PAIRS_KERNEL_H

#include "batch_hash.h"

/* K[t] + W[t] of the padding block of a 64-byte message. */
#define HF_SHA256_PAD64_KW_LIST                                                                    \
  0xc28a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, \
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf374, \
  0x649b69c1, 0xf0fe4786, 0x0fe1edc6, 0x240cf254, 0x4fe9346f, 0x6cc984be, 0x61b9411e, 0x16f988fa, \
  0xf2c65152, 0xa88e5a6d, 0xb019fc65, 0xb9d99ec7, 0x9a1231c3, 0xe70eeaa0, 0xfdb1232b, 0xc7353eb0, \
  0x3069bad5, 0xcb976d5f, 0x5a0f118f, 0xdc1eeefd, 0x0a35b689, 0xde0b7a04, 0x58f4ca9d, 0xe15d5b16, \
  0x007f3e86, 0x37088980, 0xa507ea32, 0x6fab9537, 0x17406110, 0x0d8cd6f1, 0xcdaa3b6d, 0xc0bbbe37, \
  0x83613bda, 0xdb48a363, 0x0b02e931, 0x6fd15ca7, 0x521afaca, 0x31338431, 0x6ed41a95, 0x6d437890, \
  0xc39c91f2, 0x9eccabbd, 0xb5c9a0e6, 0x532fb63c, 0xd2c741c6, 0x07237ea3, 0xa4954b68, 0x4c191d76

/* The padding block's compression of s: 64 rounds with no schedule to compute. */
HF_FN void hf_sha256_pad64_block(u32* s) {
  const u32 KW[64] = {HF_SHA256_PAD64_KW_LIST};
  u32 a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
  HF_UNROLL
  for (int t = 0; t < 64; ++t) HF_SHA256_ROUND(u32, KW[t], 0u, 1);
  s[0] += a; s[1] += b; s[2] += c; s[3] += d; s[4] += e; s[5] += f; s[6] += g; s[7] += h;
}

/* Message i of in to digest i of out. */
HF_FN void hf_pairs_one(HF_GLOBAL const u32* HF_RESTRICT in, HF_GLOBAL u32* HF_RESTRICT out, u32 i) {
  u32 w[16];
  hf_load_block(in + 16 * (u64)i, w);
  u32 s[8] = {HF_SHA256_IV_LIST};
  hf_sha256_block(s, w);
  hf_sha256_pad64_block(s);
  HF_UNROLL
  for (int j = 0; j < 8; ++j) out[8 * (u64)i + j] = HF_BSWAP(s[j]);
}

#ifdef HF_KERNEL /* device builds; the host tests call hf_pairs_one */
HF_KERNEL void hf_pairs_sha256(HF_GLOBAL const u32* HF_RESTRICT in, HF_GLOBAL u32* HF_RESTRICT out, u32 count) {
  const u32 i = HF_GID;
  if (i < count) hf_pairs_one(in, out, i);
}
#endif

#endif
