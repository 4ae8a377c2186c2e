// CPU features, read once with cpuid and xgetbv. An instruction set counts only when the
// CPU has it and the OS saves its register state (XCR0), so a kernel or hypervisor that
// disables AVX state is respected.
#pragma once
#include <string>

namespace hf {

// The instruction-set extensions a CPU backend may require.
enum class CpuFeature : unsigned { ssse3, sse41, sha, avx, avx2, bmi2, avx512f, avx512vl, avx512bw };
// A set of features, written F::a | F::b.
struct CpuFeatureSet {
  unsigned bits = 0;
  constexpr CpuFeatureSet() = default;
  constexpr CpuFeatureSet(CpuFeature f) : bits(1u << static_cast<unsigned>(f)) {}
  constexpr bool contains(CpuFeature f) const { return bits & (1u << static_cast<unsigned>(f)); }
  friend constexpr CpuFeatureSet operator|(CpuFeatureSet a, CpuFeatureSet b) {
    CpuFeatureSet r;
    r.bits = a.bits | b.bits;
    return r;
  }
};
constexpr CpuFeatureSet operator|(CpuFeature a, CpuFeature b) { return CpuFeatureSet(a) | CpuFeatureSet(b); }

struct CpuFeatures {
  bool sse41 = false, ssse3 = false, sha = false;
  bool avx = false, avx2 = false, bmi2 = false;
  bool avx512f = false, avx512vl = false, avx512bw = false;
  bool os_avx = false, os_avx512 = false;  // XCR0 has YMM / opmask+ZMM state enabled
  std::string vendor, brand;
  // Identity (leaf 1: family and model with their extended parts, stepping) and the raw
  // feature words (leaf 1 ecx/edx, leaf 7.0 ebx/ecx/edx): what a measured backend choice is
  // cached under, so a different CPU, microcode-hidden feature or VM mask measures afresh.
  unsigned family = 0, model = 0, stepping = 0;
  unsigned raw_features[5] = {};

  bool has(CpuFeature f) const;
  // Empty when every feature is there and the OS saves the registers they use; otherwise a
  // one-line reason naming what is missing.
  std::string missing(CpuFeatureSet required) const;
};

const CpuFeatures& cpu_features();

}  // namespace hf
