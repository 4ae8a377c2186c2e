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
/* Then 64 words c[t] for the first block: K[t] + W[t] for a nonce-independent word t, and
 * for a schedule word that depends on the nonce the sum of its nonce-independent terms. */
#define HFP_CONSTS(nblocks) (HFP_BLOCKS + 16 * (nblocks))

/* Rounds t0..t0+15 of one block that fall in first..end-1; s holds a..h in and out, w the 16
 * message words (used as the schedule ring, so every index is compile-time: t & 15 == i).
 * With first and end uniform across work-items the tests cost little, and with literal
 * arguments they vanish. */
HF_FN void hf_sha256_step16(u32x* s, u32x* w, int t0, u32 first, u32 end) {
  const u32 K[64] = {HF_SHA256_K_LIST};
  u32x a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
  HF_UNROLL
  for (int i = 0; i < 16; ++i) {
    const int t = t0 + i;
    if (t >= 16) HF_SHA256_SCHEDULE(w, i);
    /* Ending at 61 only e is wanted, and e after round 61 needs a only up to round 56. */
    if ((u32)t >= first && (u32)t < end) HF_SHA256_ROUND(u32x, K[t], w[i], !(end == 61 && t >= 57));
  }
  s[0] = a; s[1] = b; s[2] = c; s[3] = d; s[4] = e; s[5] = f; s[6] = g; s[7] = h;
}

/* Rounds first..end-1 of one block. On OpenCL CPU devices the four 16-round steps stay a
 * loop: their compilers take minutes over four unrolled 16-lane copies in every kernel.
 * GPUs and the host unroll all 64. */
HF_FN void hf_sha256_rounds(u32x* s, u32x* w, u32 first, u32 end) {
  HF_OUTER_UNROLL
  for (int t0 = 0; t0 < 64; t0 += 16) hf_sha256_step16(s, w, t0, first, end);
}

/* The same in straight line everywhere, for the mining kernel's second hash: its constant
 * message words, the schedule terms built from them and its round bounds fold at compile
 * time, which the loop above keeps from happening on OpenCL CPU devices. */
HF_FN void hf_sha256_rounds_flat(u32x* s, u32x* w, u32 first, u32 end) {
  hf_sha256_step16(s, w, 0, first, end);
  hf_sha256_step16(s, w, 16, first, end);
  hf_sha256_step16(s, w, 32, first, end);
  hf_sha256_step16(s, w, 48, first, end);
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
 * as one padded block (its words 8..15 are compile-time constants). `flat` (a literal) picks
 * the straight-line rounds. */
HF_FN u32x hf_finish_key(const u32x* chain, u32 flags, u32 flat) {
  if (!(flags & 1)) return (flags & 2) ? HF_BSWAPX(chain[7]) : chain[0];
  u32x s[8], w[16];
  for (u32 i = 0; i < 8; ++i) w[i] = chain[i];
  w[8] = 0x80000000u;
  for (u32 i = 9; i < 15; ++i) w[i] = 0;
  w[15] = 256;
  const u32 iv[8] = {HF_SHA256_IV_LIST};
  for (u32 i = 0; i < 8; ++i) s[i] = iv[i];
  if (flags & 2) {
    if (flat) hf_sha256_rounds_flat(s, w, 0, 61);
    else hf_sha256_rounds(s, w, 0, 61);
    return HF_BSWAPX(s[4] + iv[7]);
  }
  if (flat) hf_sha256_rounds_flat(s, w, 0, 64);
  else hf_sha256_rounds(s, w, 0, 64);
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
  return hf_finish_key(chain, flags, 0);
}

/* Bitcoin's 80-byte header: the nonce (u32 little-endian) is word 3 of the last block, the
 * only word of that block that varies. Schedule word t depends on the nonce exactly when
 * t == 3 or t >= 18 (W16 and W17 are built from words 0..2 and the padding); everything
 * else, and the constant terms of the varying words, comes from the host's c table, so the
 * lanes only compute what differs between nonces. Round 3 runs on uniform scalars up to the
 * nonce. The second hash's words 8..15 are literal constants the compiler folds. P must
 * describe exactly that layout, hashed with sha256d and keyed in Bitcoin's order (the host
 * checks it). */
#define HF_HDR_VARIES(t) ((t) == 3 || (t) >= 18)
HF_FN u32x hf_header80_key(HF_GLOBAL const u32* HF_RESTRICT P, u32x nonce) {
  const u32 K[64] = {HF_SHA256_K_LIST};
  const u32x w3 = HF_BSWAPX(nonce);
  /* Round 3 up to adding the nonce word: a..h are the same for every nonce. */
  const u32 pa = P[HFP_PRESTATE + 0], pb = P[HFP_PRESTATE + 1], pc = P[HFP_PRESTATE + 2], pd = P[HFP_PRESTATE + 3];
  const u32 pe = P[HFP_PRESTATE + 4], pf = P[HFP_PRESTATE + 5], pg = P[HFP_PRESTATE + 6], ph = P[HFP_PRESTATE + 7];
  const u32 t1u = ph + HF_BSIG1(pe) + HF_CH(pe, pf, pg) + K[3];
  const u32 t2u = HF_BSIG0(pa) + HF_MAJ(pa, pb, pc);
  u32x a = (u32x)(t1u + t2u) + w3, b = (u32x)pa, c = (u32x)pb, d = (u32x)pc;
  u32x e = (u32x)(pd + t1u) + w3, f = (u32x)pe, g = (u32x)pf, h = (u32x)pg;
  u32x w[16];
  w[3] = w3;
  HF_UNROLL
  for (int t = 4; t < 64; ++t) {
    u32x kw;
    if (HF_HDR_VARIES(t)) {
      u32x x = (u32x)P[HFP_CONSTS(1) + t];
      if (HF_HDR_VARIES(t - 16)) x += w[t & 15];
      if (HF_HDR_VARIES(t - 15)) x += HF_SSIG0(w[(t - 15) & 15]);
      if (HF_HDR_VARIES(t - 7)) x += w[(t - 7) & 15];
      if (HF_HDR_VARIES(t - 2)) x += HF_SSIG1(w[(t - 2) & 15]);
      w[t & 15] = x;
      kw = x + K[t];
    } else {
      kw = (u32x)P[HFP_CONSTS(1) + t];
    }
    HF_SHA256_ROUND(u32x, kw, 0, 1);
  }
  u32x chain[8];
  chain[0] = P[HFP_MIDSTATE + 0] + a;
  chain[1] = P[HFP_MIDSTATE + 1] + b;
  chain[2] = P[HFP_MIDSTATE + 2] + c;
  chain[3] = P[HFP_MIDSTATE + 3] + d;
  chain[4] = P[HFP_MIDSTATE + 4] + e;
  chain[5] = P[HFP_MIDSTATE + 5] + f;
  chain[6] = P[HFP_MIDSTATE + 6] + g;
  chain[7] = P[HFP_MIDSTATE + 7] + h;
  /* Only for sha256d in Bitcoin's order (the host checks): literal flags leave no branch,
   * which PoCL would otherwise split the work-item loop at. */
  return hf_finish_key(chain, 3, 1);
}

/* The key words of nonces first .. first + HF_VW - 1, any field layout. */
HF_FN u32x hf_sha256_key(HF_GLOBAL const u32* HF_RESTRICT P, u64 first) {
  u32x aw[6];
  hf_nonce_words_x(P, first, aw);
  return hf_sha256_key_words(P, aw);
}

#endif
