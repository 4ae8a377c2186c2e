// The SHA-NI backend for CPUs without AVX (Intel's Atom-class Goldmont and Tremont cores): the
// kernels of shani_kernels.inl in the legacy SSE encoding.
#define HF_SHANI_NAME "shani-sse"
#define HF_SHANI_GETTER shani_sse_kernels
#include "cpu/shani_kernels.inl"
