/* Batch hashing kernels (OpenCL and CUDA): work-item i advances entry i of a launch (layout
 * in batch_hash.h). One kernel per algorithm so each is compiled with its
 * compression alone. */
#ifndef HF_BATCH_KERNEL_H
#define HF_BATCH_KERNEL_H

#include "batch_hash.h"

#define HF_BATCH_KERNEL(name, algo)                                                                    \
  HF_KERNEL void name(HF_GLOBAL const u32* HF_RESTRICT data, HF_GLOBAL const u32* HF_RESTRICT desc,   \
                      HF_GLOBAL u32* HF_RESTRICT state, u32 count) {                                     \
    const u32 i = HF_GID;                                                                              \
    if (i < count) hf_batch_one(data, desc, state, i, algo);                                             \
  }

HF_BATCH_KERNEL(hf_batch_sha1, HF_ALGO_SHA1)
HF_BATCH_KERNEL(hf_batch_sha256, HF_ALGO_SHA256)
HF_BATCH_KERNEL(hf_batch_sha256d, HF_ALGO_SHA256D)

#endif
