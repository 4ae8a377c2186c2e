#include "cpu/catalog.hpp"

#include <memory>
#include <vector>

#include "cpu/cpu_backend.hpp"

namespace hf::cpu {

namespace {
using F = CpuFeature;
// Ranks per operation, in the order of kAllOps: search-sha256, search-sha256d, hash-sha1,
// hash-sha256, hash-sha256d. The engine chooses by rates measured on the machine (see
// registry.cpp and choice.hpp); these ranks order only what has no measured rate (a pinned
// choice file naming some backends, or one that cannot be read). They follow the 2026-11-21
// Xeon's figures: AVX-512 first; without it SHA-NI for SHA-256 work and AVX2 for bulk SHA-1.
const CpuBackendSpec kCatalog[] = {
    {"avx512",
     "x86 AVX-512 (F/VL/BW), 16 lanes, vprord + vpternlogd",
     F::avx512f | F::avx512vl | F::avx512bw | F::bmi2,
     &avx512_kernels,
     {40, 40, 40, 40, 40}},
    {"shani",
     "x86 SHA extensions, 4 interleaved streams, VEX-encoded vector code",
     // AVX2 too: the header scan's assembly (shani_scan.S) uses vpblendd and vpbroadcastq. Every
     // SHA-NI core with AVX has it, but a VM may mask it; such a machine gets shani-sse.
     F::sha | F::ssse3 | F::sse41 | F::avx | F::avx2,
     &shani_kernels,
     {30, 30, 20, 30, 30}},
    // The same kernels for SHA-NI CPUs without AVX (Atom-class cores); where both run, the VEX
    // build is the faster (Zen 3: 17% fewer instructions a nonce, header scan +3%;
    // bench/results/2026-12-03-shani-vex.md).
    {"shani-sse",
     "x86 SHA extensions, 4 interleaved streams, legacy SSE encoding (for CPUs without AVX)",
     F::sha | F::ssse3 | F::sse41,
     &shani_sse_kernels,
     {29, 29, 19, 29, 29},
     "shani"},
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
