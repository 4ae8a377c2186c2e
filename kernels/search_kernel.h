/* Kernel entry point for nonce search (OpenCL and CUDA).
 *
 * out[0] counts candidates (key word <= threshold), out[1] receives the launch's lowest key
 * word (each work-group reduces its own first, then one atomic per group), out[2..] the
 * work-item ids of the first `capacity` candidates. The host re-checks every candidate in
 * full; when out[0] exceeds capacity it knows the list is short and searches again. */
#ifndef HF_SEARCH_KERNEL_H
#define HF_SEARCH_KERNEL_H

#include "sha256_search.h"

#ifndef HF_WG
#define HF_WG 256
#endif

/* Stores one work-item's HF_VW keys and, still in the vectorisable hashing region, their
 * minimum and whether any is a candidate, so the collecting pass below (scalar, after a
 * barrier, with atomics) only visits work-items that have one. Lanes past `count` (the
 * last launch of a range) get the largest key and are skipped when collecting. */
HF_FN void hf_emit(u32x key, u32 gid, u32 lid, u32 count, u32 threshold, HF_LOCAL_PTR u32* keys, HF_LOCAL_PTR u32* red,
                   HF_LOCAL_PTR u32* hit) {
  const u32x id = gid * HF_VW + HF_IOTA;
  key = HF_SELECT((u32x)0xffffffffu, key, id < count);
  HF_VSTORE(key, lid, keys);
  red[lid] = HF_VMIN(key);
  hit[lid] = HF_ANY(key <= threshold) ? 1u : 0u;
}

/* Appends the candidates among this work-group's keys and folds its lowest key into out[1]. */
HF_FN void hf_collect(HF_LOCAL_PTR u32* keys, HF_LOCAL_PTR u32* red, HF_LOCAL_PTR u32* hit, u32 lid, u32 gid, u32 count,
                      u32 threshold, HF_GLOBAL u32* HF_RESTRICT out, u32 capacity) {
  HF_BARRIER();
  if (hit[lid]) {
    for (u32 l = 0; l < HF_VW; ++l) {
      const u32 id = gid * HF_VW + l;
      if (id < count && keys[lid * HF_VW + l] <= threshold) {
        const u32 i = HF_ATOMIC_INC(&out[0]);
        if (i < capacity) out[2 + i] = id;
      }
    }
  }
  HF_BARRIER();
  for (u32 stride = HF_WG / 2; stride > 0; stride >>= 1) {
    if (lid < stride && red[lid + stride] < red[lid]) red[lid] = red[lid + stride];
    HF_BARRIER();
  }
  if (lid == 0) HF_ATOMIC_MIN(&out[1], red[0]);
}

#if defined(HF_DIRECT) && HF_DIRECT
/* CPU OpenCL devices: no barriers at all. PoCL runs a work-group as loops over its
 * work-items, split at every barrier, with values live across one saved per work-item; here
 * each work-item reports its own candidates and offers its lowest key with one global
 * atomic, done only when it beats the best seen so far (a plain read filters nearly all). */
HF_FN void hf_report(u32x key, u32 gid, u32 count, u32 threshold, HF_GLOBAL u32* HF_RESTRICT out, u32 capacity) {
  const u32x id = gid * HF_VW + HF_IOTA;
  key = HF_SELECT((u32x)0xffffffffu, key, id < count);
  const u32 m = HF_VMIN(key);
  if (m < out[1]) HF_ATOMIC_MIN(&out[1], m);
  if (m <= threshold) {
    u32 k[HF_VW];
    HF_VSTORE(key, 0, k);
    for (u32 l = 0; l < HF_VW; ++l) {
      /* Lanes past `count` hold the largest key, which a maximal target still accepts. */
      if (gid * HF_VW + l < count && k[l] <= threshold) {
        const u32 i = HF_ATOMIC_INC(&out[0]);
        if (i < capacity) out[2 + i] = gid * HF_VW + l;
      }
    }
  }
}
#define HF_SEARCH_LOCALS const u32 gid = HF_GID
#define HF_REPORT(key) hf_report((key), gid, count, threshold, out, capacity)
#else
#define HF_SEARCH_LOCALS            \
  HF_LOCAL u32 keys[HF_WG * HF_VW]; \
  HF_LOCAL u32 red[HF_WG];          \
  HF_LOCAL u32 hit[HF_WG];          \
  const u32 gid = HF_GID, lid = HF_LID
#define HF_REPORT(key)                                                  \
  do {                                                                  \
    hf_emit((key), gid, lid, count, threshold, keys, red, hit);         \
    hf_collect(keys, red, hit, lid, gid, count, threshold, out, capacity); \
  } while (0)
#endif

/* Any field layout and encoding. Work-item g takes nonces base + g*HF_VW .. + HF_VW - 1. */
HF_KERNEL void hf_search(HF_GLOBAL const u32* HF_RESTRICT P, u32 base_lo, u32 base_hi, u32 count, u32 threshold,
                         HF_GLOBAL u32* HF_RESTRICT out, u32 capacity) {
  HF_SEARCH_LOCALS;
  const u64 first = (((u64)base_hi << 32) | base_lo) + (u64)gid * HF_VW;
  HF_REPORT(hf_sha256_key(P, first));
}

/* A little-endian u32 nonce filling one whole word (Bitcoin headers): no encoding work. */
HF_KERNEL void hf_search_u32le(HF_GLOBAL const u32* HF_RESTRICT P, u32 base_lo, u32 base_hi, u32 count,
                               u32 threshold, HF_GLOBAL u32* HF_RESTRICT out, u32 capacity) {
  HF_SEARCH_LOCALS;
  const u32x n = base_lo + gid * HF_VW + HF_IOTA;
  u32x aw[6];
  aw[0] = HF_BSWAPX(n);
  for (u32 k = 1; k < 6; ++k) aw[k] = 0;
  HF_REPORT(hf_sha256_key_words(P, aw));
}


/* Bitcoin's 80-byte header (see hf_header80_key): the mining kernel. */
HF_KERNEL void hf_search_header80(HF_GLOBAL const u32* HF_RESTRICT P, u32 base_lo, u32 base_hi, u32 count,
                                  u32 threshold, HF_GLOBAL u32* HF_RESTRICT out, u32 capacity) {
  HF_SEARCH_LOCALS;
  HF_REPORT(hf_header80_key(P, base_lo + gid * HF_VW + HF_IOTA));
}

#endif
