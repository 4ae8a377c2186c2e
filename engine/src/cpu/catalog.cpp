#include "cpu/catalog.hpp"

#include <memory>
#include <vector>

#include "cpu/cpu_backend.hpp"

namespace hf::cpu {

namespace {
using F = CpuFeature;
// Ranks per operation, in the order of kAllOps: search-sha256, search-sha256d, hash-sha1,
// hash-sha256, hash-sha256d. From bench/results (2026-11-21, AVX-512 + SHA-NI Xeon):
// AVX-512's 16 lanes win everything there. Without AVX-512 (most laptops), interleaved
// SHA-NI streams beat AVX2's 8 lanes for SHA-256 (2.9 vs 1.6 GB/s, 20 vs 12.5 M sha256d
// nonces/s with two streams) but AVX2 beat SHA-NI for bulk SHA-1 (3.6 vs 2.7 GB/s), whose
// scalar round is cheap enough for plain vector code to pay. With four streams (2026-12-03,
// AMD EPYC) SHA-NI also leads for SHA-1 (4.3-4.7 vs 2.1 GB/s); the ranks are not changed on
// one machine's figures: a choice measured on the machine itself is to replace this table.
const CpuBackendSpec kCatalog[] = {
    {"avx512",
     "x86 AVX-512 (F/VL/BW), 16 lanes, vprord + vpternlogd",
     F::avx512f | F::avx512vl | F::avx512bw | F::bmi2,
     &avx512_kernels,
     {40, 40, 40, 40, 40}},
    {"shani",
     "x86 SHA extensions, 4 interleaved streams",
     F::sha | F::ssse3 | F::sse41,
     &shani_kernels,
     {30, 30, 20, 30, 30}},
    {"avx2", "x86 AVX2, 8 lanes", F::avx2 | F::bmi2, &avx2_kernels, {20, 20, 30, 20, 20}},
    {"scalar", "portable C++, 1 lane", {}, &scalar_kernels, {10, 10, 10, 10, 10}},
};
}  // namespace

std::span<const CpuBackendSpec> cpu_backend_catalog() { return kCatalog; }

std::vector<std::unique_ptr<CpuBackend>> make_cpu_backends() {
  const CpuFeatures& f = cpu_features();
  std::vector<std::unique_ptr<CpuBackend>> v;
  for (const CpuBackendSpec& spec : kCatalog)
    v.push_back(std::make_unique<CpuBackend>(spec, f.missing(spec.requires_features)));
  return v;
}

}  // namespace hf::cpu
