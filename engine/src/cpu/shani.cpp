// The SHA-NI backend for CPUs that also have AVX (every AMD Zen, Intel's cores since Ice Lake):
// the kernels of shani_kernels.inl with VEX-encoded vector code (compiled with -mavx).
#define HF_SHANI_NAME "shani"
#define HF_SHANI_GETTER shani_kernels
#include "cpu/shani_kernels.inl"
