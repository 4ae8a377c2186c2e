// The CPU backends, each described once: name, description, the CPU features it needs, its
// kernel table and how much the engine prefers it per operation. `hashforge backends`, the
// registry and the self-tests all read this table; engine/CMakeLists.txt gives each kernel
// file its compiler flags (hf_cpu_kernel_file), the one thing C++ cannot say.
#pragma once
#include <span>
#include <string_view>

#include "cpu/kernels.hpp"
#include "cpu_features.hpp"
#include "hashforge/op.hpp"

namespace hf::cpu {

struct CpuBackendSpec {
  std::string_view name;
  std::string_view description;
  CpuFeatureSet requires_features;
  const KernelTable& (*kernels)();
  // Preference per Op (indexed by the enum's value), higher first; 0: never chosen unless named.
  int rank[std::size(kAllOps)];
  // A backend that runs the same kernels at least as fast wherever both run (shani-sse: shani,
  // its VEX build). Where that one is usable this one is not measured or chosen automatically,
  // only run when named: two near-equal rates measured on a shared host would otherwise pick
  // either one by chance.
  std::string_view superseded_by{};
};

std::span<const CpuBackendSpec> cpu_backend_catalog();

}  // namespace hf::cpu
