// The instruction-mix benchmarks' guard: a case whose instructions this CPU (or its OS) lacks
// skips with the missing features named, rather than dying of SIGILL. Shared by hf_shani_mix
// and hf_vector_mix.
#pragma once
#include <benchmark/benchmark.h>

#include <string>

#include "cpu_features.hpp"

namespace hf::bench {

inline bool has_features(benchmark::State& st, CpuFeatureSet needed, const char* what) {
  const std::string missing = cpu_features().missing(needed);
  if (missing.empty()) return true;
  st.SkipWithError((std::string("needs ") + what + ": " + missing).c_str());
  return false;
}

}  // namespace hf::bench
