#include "engine/cpu_features.hpp"

#include <cpuid.h>

#include <cstdint>
#include <cstring>

namespace hf {

namespace {

std::uint64_t read_xcr0() {
  std::uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (std::uint64_t(hi) << 32) | lo;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return f;
  const unsigned max_leaf = a;
  char vendor[13] = {};
  std::memcpy(vendor, &b, 4);
  std::memcpy(vendor + 4, &d, 4);
  std::memcpy(vendor + 8, &c, 4);
  f.vendor = vendor;

  __get_cpuid(1, &a, &b, &c, &d);
  f.ssse3 = c & (1u << 9);
  f.sse41 = c & (1u << 19);
  const bool osxsave = c & (1u << 27);
  f.avx = c & (1u << 28);
  if (osxsave) {
    const std::uint64_t xcr0 = read_xcr0();
    f.os_avx = (xcr0 & 0x6) == 0x6;                   // SSE and AVX (YMM) state
    f.os_avx512 = f.os_avx && (xcr0 & 0xe0) == 0xe0;  // opmask, ZMM_Hi256, Hi16_ZMM
  }
  if (max_leaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    f.avx2 = b & (1u << 5);
    f.bmi2 = b & (1u << 8);
    f.avx512f = b & (1u << 16);
    f.sha = b & (1u << 29);
    f.avx512bw = b & (1u << 30);
    f.avx512vl = b & (1u << 31);
  }
  unsigned ext = 0;
  __get_cpuid(0x80000000, &ext, &b, &c, &d);
  if (ext >= 0x80000004) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      __get_cpuid(0x80000002 + i, &a, &b, &c, &d);
      std::memcpy(brand + 16 * i, &a, 4);
      std::memcpy(brand + 16 * i + 4, &b, 4);
      std::memcpy(brand + 16 * i + 8, &c, 4);
      std::memcpy(brand + 16 * i + 12, &d, 4);
    }
    f.brand = brand;
    while (!f.brand.empty() && f.brand.back() == ' ') f.brand.pop_back();
    while (!f.brand.empty() && f.brand.front() == ' ') f.brand.erase(0, 1);
  }
  return f;
}

}  // namespace

std::string CpuFeatures::shani_missing() const {
  if (!sha) return "CPU lacks the SHA extensions";
  if (!sse41 || !ssse3) return "CPU lacks SSSE3/SSE4.1";
  return {};
}
std::string CpuFeatures::avx2_missing() const {
  if (!avx2 || !bmi2) return "CPU lacks AVX2 or BMI2";
  if (!os_avx) return "OS does not enable AVX register state (XCR0)";
  return {};
}
std::string CpuFeatures::avx512_missing() const {
  if (!avx512f || !avx512vl || !avx512bw || !bmi2) return "CPU lacks AVX-512 F/VL/BW or BMI2";
  if (!os_avx512) return "OS does not enable AVX-512 register state (XCR0)";
  return {};
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

}  // namespace hf
