// CPU features, read once with cpuid and xgetbv. An instruction set counts only when the
// CPU has it and the OS saves its register state (XCR0), so a kernel or hypervisor that
// disables AVX state is respected.
#pragma once
#include <string>

namespace hf {

struct CpuFeatures {
  bool sse41 = false, ssse3 = false, sha = false;
  bool avx = false, avx2 = false, bmi2 = false;
  bool avx512f = false, avx512vl = false, avx512bw = false;
  bool os_avx = false, os_avx512 = false;  // XCR0 has YMM / opmask+ZMM state enabled
  std::string vendor, brand;

  // Empty when usable, otherwise a one-line reason.
  std::string shani_missing() const;
  std::string avx2_missing() const;
  std::string avx512_missing() const;
};

const CpuFeatures& cpu_features();

}  // namespace hf
