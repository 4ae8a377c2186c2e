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

/* Appends the candidates among this work-group's keys and folds its lowest key into out[1].
 * Kept apart from the hashing, after a barrier, so the hashing loop has no atomics in it and
 * OpenCL CPU compilers can vectorise it across work-items. */
HF_FN void hf_collect(HF_LOCAL u32* red, u32 lid, u32 gid, u32 count, u32 threshold,
                      HF_GLOBAL u32* HF_RESTRICT out, u32 capacity) {
  HF_BARRIER();
  if (gid < count && red[lid] <= threshold) {
    const u32 i = HF_ATOMIC_INC(&out[0]);
    if (i < capacity) out[2 + i] = gid;
  }
  HF_BARRIER();
  for (u32 stride = HF_WG / 2; stride > 0; stride >>= 1) {
    if (lid < stride && red[lid + stride] < red[lid]) red[lid] = red[lid + stride];
    HF_BARRIER();
  }
  if (lid == 0) HF_ATOMIC_MIN(&out[1], red[0]);
}

/* Any field layout and encoding. */
HF_KERNEL void hf_search(HF_GLOBAL const u32* HF_RESTRICT P, u32 base_lo, u32 base_hi, u32 count, u32 threshold,
                         HF_GLOBAL u32* HF_RESTRICT out, u32 capacity) {
  HF_LOCAL u32 red[HF_WG];
  const u32 gid = HF_GID, lid = HF_LID;
  const u64 nonce = (((u64)base_hi << 32) | base_lo) + gid;
  red[lid] = gid < count ? hf_sha256_key(P, nonce) : 0xffffffffu;
  hf_collect(red, lid, gid, count, threshold, out, capacity);
}

/* A little-endian u32 nonce filling one whole word (Bitcoin headers): no encoding work. */
HF_KERNEL void hf_search_u32le(HF_GLOBAL const u32* HF_RESTRICT P, u32 base_lo, u32 base_hi, u32 count,
                               u32 threshold, HF_GLOBAL u32* HF_RESTRICT out, u32 capacity) {
  HF_LOCAL u32 red[HF_WG];
  const u32 gid = HF_GID, lid = HF_LID;
  u32 aw[6] = {HF_BSWAP(base_lo + gid), 0, 0, 0, 0, 0};
  red[lid] = gid < count ? hf_sha256_key_words(P, aw) : 0xffffffffu;
  hf_collect(red, lid, gid, count, threshold, out, capacity);
}

#endif
