#include "cpu_features.hpp"

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
  const unsigned base_family = (a >> 8) & 0xf;
  f.family = base_family == 0xf ? base_family + ((a >> 20) & 0xff) : base_family;
  f.model = (base_family == 0x6 || base_family == 0xf) ? (((a >> 16) & 0xf) << 4) | ((a >> 4) & 0xf) : (a >> 4) & 0xf;
  f.stepping = a & 0xf;
  f.raw_features[0] = c;
  f.raw_features[1] = d;
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
    f.raw_features[2] = b;
    f.raw_features[3] = c;
    f.raw_features[4] = d;
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

bool CpuFeatures::has(CpuFeature f) const {
  switch (f) {
    case CpuFeature::ssse3:
      return ssse3;
    case CpuFeature::sse41:
      return sse41;
    case CpuFeature::sha:
      return sha;
    case CpuFeature::avx:
      return avx;
    case CpuFeature::avx2:
      return avx2;
    case CpuFeature::bmi2:
      return bmi2;
    case CpuFeature::avx512f:
      return avx512f;
    case CpuFeature::avx512vl:
      return avx512vl;
    case CpuFeature::avx512bw:
      return avx512bw;
  }
  return false;
}

namespace {
const char* feature_name(CpuFeature f) {
  switch (f) {
    case CpuFeature::ssse3:
      return "SSSE3";
    case CpuFeature::sse41:
      return "SSE4.1";
    case CpuFeature::sha:
      return "SHA";
    case CpuFeature::avx:
      return "AVX";
    case CpuFeature::avx2:
      return "AVX2";
    case CpuFeature::bmi2:
      return "BMI2";
    case CpuFeature::avx512f:
      return "AVX512F";
    case CpuFeature::avx512vl:
      return "AVX512VL";
    case CpuFeature::avx512bw:
      return "AVX512BW";
  }
  return "?";
}
}  // namespace

std::string CpuFeatures::missing(CpuFeatureSet required) const {
  std::string lacks;
  bool wants_avx = false, wants_avx512 = false;
  for (unsigned i = 0; i <= static_cast<unsigned>(CpuFeature::avx512bw); ++i) {
    const auto f = static_cast<CpuFeature>(i);
    if (!required.contains(f)) continue;
    if (!has(f)) lacks += (lacks.empty() ? "" : ", ") + std::string(feature_name(f));
    wants_avx |= f == CpuFeature::avx || f == CpuFeature::avx2;
    wants_avx512 |= f == CpuFeature::avx512f || f == CpuFeature::avx512vl || f == CpuFeature::avx512bw;
  }
  if (!lacks.empty()) return "CPU lacks " + lacks;
  if (wants_avx512 && !os_avx512) return "OS does not enable AVX-512 register state (XCR0)";
  if (wants_avx && !os_avx) return "OS does not enable AVX register state (XCR0)";
  return {};
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

}  // namespace hf
