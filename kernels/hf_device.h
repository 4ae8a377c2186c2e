/* Qualifier macros and builtin shims so the hash kernels are written once and compile as
 * OpenCL C, as CUDA C++, and as host C++ (where tests compare them with the scalar backend). */
#ifndef HF_DEVICE_H
#define HF_DEVICE_H

#if defined(__OPENCL_VERSION__)
typedef uint u32;
typedef ulong u64;
typedef uchar u8;
#define HF_KERNEL __kernel
#define HF_GLOBAL __global
#define HF_LOCAL __local
#define HF_LOCAL_PTR __local
/* always_inline: PoCL inlines nothing else, and a call inside the work-item loop stops it
 * from vectorising across work-items. */
#define HF_FN static inline __attribute__((always_inline))
/* Shifts, not rotate(): some OpenCL CPU runtimes (PoCL 3) call rotate() out of line, which
 * stops vectorisation; compilers turn this pattern into a rotate instruction anyway. */
#define HF_ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define HF_ROTL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))
#define HF_RESTRICT restrict
#define HF_BSWAP(x) as_uint(as_uchar4((u32)(x)).wzyx)
#define HF_ATOMIC_INC(p) atomic_inc(p)
#define HF_ATOMIC_MIN(p, v) atomic_min(p, v)
#define HF_UNROLL _Pragma("unroll")
#define HF_GID ((u32)get_global_id(0))
#define HF_LID ((u32)get_local_id(0))
#define HF_BARRIER() barrier(CLK_LOCAL_MEM_FENCE)

#elif defined(__CUDACC__)
typedef unsigned int u32;
typedef unsigned long long u64;
typedef unsigned char u8;
#define HF_KERNEL extern "C" __global__
#define HF_GLOBAL
#define HF_LOCAL __shared__
#define HF_LOCAL_PTR /* a pointer into __shared__ memory is a plain pointer in CUDA */
#define HF_FN __device__ __forceinline__
/* A funnel shift is one instruction where shift-shift-or is three. */
#define HF_ROTR(x, n) __funnelshift_r((x), (x), (n))
#define HF_ROTL(x, n) __funnelshift_l((x), (x), (n))
#define HF_RESTRICT __restrict__
#define HF_BSWAP(x) __byte_perm((x), 0, 0x0123)
#define HF_ATOMIC_INC(p) atomicAdd((p), 1u)
#define HF_ATOMIC_MIN(p, v) atomicMin((p), (v))
#define HF_UNROLL _Pragma("unroll")
#define HF_GID (blockIdx.x * blockDim.x + threadIdx.x)
#define HF_LID (threadIdx.x)
#define HF_BARRIER() __syncthreads()

#else /* host C++: the same code as plain functions, for tests */
#include <cstdint>
typedef std::uint32_t u32;
typedef std::uint64_t u64;
typedef std::uint8_t u8;
#define HF_GLOBAL
#define HF_FN static inline
#define HF_ROTR(x, n) ((u32)(((u32)(x) >> (n)) | ((u32)(x) << (32 - (n)))))
#define HF_ROTL(x, n) ((u32)(((u32)(x) << (n)) | ((u32)(x) >> (32 - (n)))))
#define HF_BSWAP(x) __builtin_bswap32((u32)(x))
#define HF_RESTRICT __restrict
#define HF_UNROLL
#endif

/* u32x: HF_VW independent nonces per work-item. OpenCL CPU devices get a vector type (their
 * compilers do not vectorise SHA-256 across work-items by themselves, as hashcat's kernels
 * also find); GPUs and the host use one lane. */
#if defined(__OPENCL_VERSION__) && defined(HF_VW) && HF_VW > 1
#if HF_VW == 2
typedef uint2 u32x;
#define HF_IOTA ((u32x)(0, 1))
#define HF_VLOAD(p) vload2(0, p)
#define HF_VSTORE(v, i, p) vstore2(v, i, p)
#elif HF_VW == 4
typedef uint4 u32x;
#define HF_IOTA ((u32x)(0, 1, 2, 3))
#define HF_VLOAD(p) vload4(0, p)
#define HF_VSTORE(v, i, p) vstore4(v, i, p)
#elif HF_VW == 8
typedef uint8 u32x;
#define HF_IOTA ((u32x)(0, 1, 2, 3, 4, 5, 6, 7))
#define HF_VLOAD(p) vload8(0, p)
#define HF_VSTORE(v, i, p) vstore8(v, i, p)
#elif HF_VW == 16
typedef uint16 u32x;
#define HF_IOTA ((u32x)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))
#define HF_VLOAD(p) vload16(0, p)
#define HF_VSTORE(v, i, p) vstore16(v, i, p)
#else
#error "HF_VW must be 1, 2, 4, 8 or 16"
#endif
/* Lane-wise helpers: the lowest lane, whether any lane's mask is set, lane select. */
#if HF_VW == 2
#define HF_VMIN(x) min((x).x, (x).y)
#elif HF_VW == 4
#define HF_VMIN(x) hf_vmin4(x)
#elif HF_VW == 8
#define HF_VMIN(x) hf_vmin4(min((x).lo, (x).hi))
#else
#define HF_VMIN(x) hf_vmin4(min(min((x).lo, (x).hi).lo, min((x).lo, (x).hi).hi))
#endif
static inline __attribute__((always_inline)) uint hf_vmin4(uint4 v) { return min(min(v.x, v.y), min(v.z, v.w)); }
#define HF_ANY(m) any(m)
#define HF_SELECT(a, b, m) select((a), (b), (m))
#else
#undef HF_VW
#define HF_VW 1
typedef u32 u32x;
#define HF_IOTA 0u
#define HF_VLOAD(p) (*(p))
#define HF_VSTORE(v, i, p) ((p)[i] = (v))
#define HF_VMIN(x) (x)
#define HF_ANY(m) (m)
#define HF_SELECT(a, b, m) ((m) ? (b) : (a))
#endif
/* Byte swap of every lane (HF_BSWAP is for one u32). */
#define HF_BSWAPX(x) (((x) << 24) | (((x) & 0xff00u) << 8) | (((x) >> 8) & 0xff00u) | ((x) >> 24))

#if defined(__OPENCL_VERSION__) && HF_VW > 1
#define HF_OUTER_UNROLL _Pragma("nounroll")
#else
#define HF_OUTER_UNROLL HF_UNROLL
#endif

/* Choose and majority. On CUDA one LOP3 each, written out so the PTX shows it (the test
 * tests/check_ptx.sh counts them) rather than hoping ptxas merges the two-input ops; the
 * lookup tables are the functions' truth tables over inputs 0xf0, 0xcc, 0xaa. Elsewhere the
 * forms OpenCL compilers map to bitselect. */
#if defined(__CUDACC__)
HF_FN u32 hf_lop3_ca(u32 a, u32 b, u32 c) {
  u32 r;
  asm("lop3.b32 %0, %1, %2, %3, 0xca;" : "=r"(r) : "r"(a), "r"(b), "r"(c));
  return r;
}
HF_FN u32 hf_lop3_e8(u32 a, u32 b, u32 c) {
  u32 r;
  asm("lop3.b32 %0, %1, %2, %3, 0xe8;" : "=r"(r) : "r"(a), "r"(b), "r"(c));
  return r;
}
#define HF_CH(e, f, g) hf_lop3_ca((e), (f), (g))
#define HF_MAJ(a, b, c) hf_lop3_e8((a), (b), (c))
#elif defined(__OPENCL_VERSION__) && defined(__AVX512F__) && HF_VW == 16
/* OpenCL on an AVX-512 CPU (PoCL): LLVM splits majority into two vpternlogd, one
 * instruction too many in every round on the port the rotates also need, so the lane
 * vectors spell it out (overloads keep scalar callers on the plain form). */
HF_FN __attribute__((overloadable)) u32x hf_maj(u32x a, u32x b, u32x c) {
  __asm__("vpternlogd $0xe8, %2, %1, %0" : "+v"(a) : "v"(b), "v"(c));
  return a;
}
HF_FN __attribute__((overloadable)) u32 hf_maj(u32 a, u32 b, u32 c) { return (a & b) | (c & (a | b)); }
#define HF_CH(e, f, g) ((g) ^ ((e) & ((f) ^ (g))))
#define HF_MAJ(a, b, c) hf_maj((a), (b), (c))
#else
#define HF_CH(e, f, g) ((g) ^ ((e) & ((f) ^ (g))))
#define HF_MAJ(a, b, c) (((a) & (b)) | ((c) & ((a) | (b))))
#endif
/* Plain XORs everywhere: compilers merge them (ptxas into LOP3) and, unlike inline asm,
 * can still fold the schedule terms of constant words. */
#define HF_XOR3(a, b, c) ((a) ^ (b) ^ (c))

#endif
