/* SHA-256 / SHA-256d nonce search, written once for OpenCL, CUDA and the host (hf_device.h).
 *
 * The host fills a parameter block of u32 words (layout below) from a PreparedSearch: the
 * midstate, the state before the first nonce-dependent round, and the message words of the
 * blocks from the nonce's first block on. Each work-item takes one nonce, writes its field
 * into the affected words, and reports its key word (H0 in digest order, bswap(H7) in
 * Bitcoin's order, where a miss is known after round 61). */
#ifndef HF_SHA256_SEARCH_H
#define HF_SHA256_SEARCH_H

#include "hf_device.h"
#include "sha256_consts.h"

#define HFP_MIDSTATE 0  /* 8 words */
#define HFP_PRESTATE 8  /* 8 words: a..h before round HFP_FIRST of the first block */
#define HFP_FIRST 16
#define HFP_NBLOCKS 17
#define HFP_FLAGS 18    /* bit 0: sha256d; bit 1: Bitcoin byte order */
#define HFP_NAW 19
#define HFP_AW_INDEX 20 /* 6 words: index (0..31) of each nonce-dependent word */
#define HFP_LEAD 26     /* byte offset of the field within its first word, 0..3 */
#define HFP_ENCODING 27 /* as hf::Encoding: u32le, u32be, u64le, hex, dec */
#define HFP_WIDTH 28    /* field width in bytes */
#define HFP_BLOCKS 32   /* HFP_NBLOCKS x 16 words; nonce bytes zero */

/* Rounds first..end-1 of one block; s holds a..h in and out, w the 16 message words (used as
 * the schedule ring). With first and end uniform across work-items the tests cost little. */
HF_FN void hf_sha256_rounds(u32x* s, u32x* w, u32 first, u32 end) {
  const u32 K[64] = {HF_SHA256_K_LIST};
  u32x a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
  /* Sixteen rounds unrolled per step keep every schedule index compile-time (t & 15 == i). On
   * OpenCL CPU devices the four steps stay a loop: their compilers take minutes over four
   * unrolled 16-lane copies for little gain. GPUs and the host unroll all 64. */
  HF_OUTER_UNROLL
  for (int t0 = 0; t0 < 64; t0 += 16) {
    HF_UNROLL
    for (int i = 0; i < 16; ++i) {
      const int t = t0 + i;
      if (t >= 16) HF_SHA256_SCHEDULE(w, i);
      /* Ending at 61 only e is wanted, and e after round 61 needs a only up to round 56. */
      if ((u32)t >= first && (u32)t < end) HF_SHA256_ROUND(u32x, K[t], w[i], !(end == 61 && t >= 57));
    }
  }
  s[0] = a; s[1] = b; s[2] = c; s[3] = d; s[4] = e; s[5] = f; s[6] = g; s[7] = h;
}

/* Byte i of nonce n in the field's encoding. */
HF_FN u32 hf_nonce_byte(u32 enc, u32 width, u64 n, u32 i) {
  if (enc == 0 || enc == 2) return (u32)(n >> (8 * i)) & 0xff; /* u32le, u64le */
  if (enc == 1) return (u32)(n >> (8 * (3 - i))) & 0xff;       /* u32be */
  const u32 k = width - 1 - i;                                  /* digit k from the right */
  if (enc == 3) {                                               /* hex, lowercase */
    const u32 x = k < 16 ? (u32)(n >> (4 * k)) & 15 : 0;
    return x < 10 ? 48 + x : 87 + x;
  }
  u64 q = n;                                                    /* decimal */
  for (u32 j = 0; j < k; ++j) q /= 10;
  return 48 + (u32)(q % 10);
}

/* The bytes of nonce n in the field's encoding, written at out[0..width) (host tests). */
HF_FN void hf_encode_nonce(u32 enc, u32 width, u64 n, u8* out) {
  for (u32 i = 0; i < width; ++i) out[i] = (u8)hf_nonce_byte(enc, width, n, i);
}

/* Private arrays are indexed only with compile-time indices below (the loops unroll), so
 * they stay in registers and OpenCL CPU compilers can vectorise across work-items. */

/* The nonce-dependent words (template bits excluded) of nonce n, any encoding. */
HF_FN void hf_nonce_words(HF_GLOBAL const u32* HF_RESTRICT P, u64 nonce, u32* aw) {
  HF_UNROLL
  for (u32 k = 0; k < 6; ++k) aw[k] = 0;
  const u32 enc = P[HFP_ENCODING], width = P[HFP_WIDTH], lead = P[HFP_LEAD];
  for (u32 i = 0; i < width; ++i) {
    const u32 pos = lead + i, byte = hf_nonce_byte(enc, width, nonce, i) << (8 * (3 - pos % 4));
    HF_UNROLL
    for (u32 k = 0; k < 6; ++k) aw[k] |= pos / 4 == k ? byte : 0;
  }
}

/* The same for the HF_VW consecutive nonces from `first`, one per lane. */
HF_FN void hf_nonce_words_x(HF_GLOBAL const u32* HF_RESTRICT P, u64 first, u32x* aw) {
  u32 lanes[6][HF_VW];
  HF_OUTER_UNROLL
  for (u32 l = 0; l < HF_VW; ++l) {
    u32 one[6];
    hf_nonce_words(P, first + l, one);
    HF_UNROLL
    for (u32 k = 0; k < 6; ++k) lanes[k][l] = one[k];
  }
  HF_UNROLL
  for (u32 k = 0; k < 6; ++k) aw[k] = HF_VLOAD(lanes[k]);
}

/* The key word once the first hash's chain is final: for sha256d, hashes the 32-byte digest
 * as one padded block (its words 8..15 are compile-time constants). */
HF_FN u32x hf_finish_key(const u32x* chain, u32 flags) {
  if (!(flags & 1)) return (flags & 2) ? HF_BSWAPX(chain[7]) : chain[0];
  u32x s[8], w[16];
  for (u32 i = 0; i < 8; ++i) w[i] = chain[i];
  w[8] = 0x80000000u;
  for (u32 i = 9; i < 15; ++i) w[i] = 0;
  w[15] = 256;
  const u32 iv[8] = {HF_SHA256_IV_LIST};
  for (u32 i = 0; i < 8; ++i) s[i] = iv[i];
  if (flags & 2) {
    hf_sha256_rounds(s, w, 0, 61);
    return HF_BSWAPX(s[4] + iv[7]);
  }
  hf_sha256_rounds(s, w, 0, 64);
  return s[0] + iv[0];
}


/* The key word of a digest, given the nonce-dependent words aw, one digest per lane. */
HF_FN u32x hf_sha256_key_words(HF_GLOBAL const u32* HF_RESTRICT P, const u32x* aw) {
  const u32 naw = P[HFP_NAW];
  const u32 flags = P[HFP_FLAGS];
  const u32 nblocks = P[HFP_NBLOCKS];
  u32x chain[8], s[8], w[16];
  HF_UNROLL
  for (u32 i = 0; i < 8; ++i) chain[i] = P[HFP_MIDSTATE + i];
  for (u32 b = 0; b < nblocks; ++b) {
    HF_UNROLL
    for (u32 t = 0; t < 16; ++t) {
      u32x x = P[HFP_BLOCKS + 16 * b + t];
      HF_UNROLL
      for (u32 k = 0; k < 6; ++k) x |= k < naw && P[HFP_AW_INDEX + k] == 16 * b + t ? aw[k] : 0;
      w[t] = x;
    }
    const u32 early = b + 1 == nblocks && flags == 2;
    for (u32 i = 0; i < 8; ++i) s[i] = b == 0 ? P[HFP_PRESTATE + i] : chain[i];
    hf_sha256_rounds(s, w, b == 0 ? P[HFP_FIRST] : 0, early ? 61 : 64);
    if (early) return HF_BSWAPX(s[4] + chain[7]); /* e after round 61 is H7 - chain7 */
    for (u32 i = 0; i < 8; ++i) chain[i] += s[i];
  }
  return hf_finish_key(chain, flags);
}

/* Bitcoin's 80-byte header: the nonce (u32 little-endian) is word 3 of the last block and
 * words 4..15 are the fixed padding of an 80-byte message, here literal constants so the
 * compiler folds them and the schedule terms built from them. P must describe exactly that
 * layout (the host checks it). */
HF_FN u32x hf_header80_key(HF_GLOBAL const u32* HF_RESTRICT P, u32x nonce) {
  u32x s[8], w[16], chain[8];
  w[0] = P[HFP_BLOCKS + 0];
  w[1] = P[HFP_BLOCKS + 1];
  w[2] = P[HFP_BLOCKS + 2];
  w[3] = HF_BSWAPX(nonce);
  w[4] = 0x80000000u;
  for (u32 i = 5; i < 15; ++i) w[i] = 0;
  w[15] = 640;
  for (u32 i = 0; i < 8; ++i) s[i] = P[HFP_PRESTATE + i];
  hf_sha256_rounds(s, w, 3, 64);
  for (u32 i = 0; i < 8; ++i) chain[i] = P[HFP_MIDSTATE + i] + s[i];
  return hf_finish_key(chain, P[HFP_FLAGS]);
}

/* The key words of nonces first .. first + HF_VW - 1, any field layout. */
HF_FN u32x hf_sha256_key(HF_GLOBAL const u32* HF_RESTRICT P, u64 first) {
  u32x aw[6];
  hf_nonce_words_x(P, first, aw);
  return hf_sha256_key_words(P, aw);
}

#endif
