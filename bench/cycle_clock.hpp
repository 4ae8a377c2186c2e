// Cycles without performance counters: this thread's CPU time, and the core clock measured by
// chains of dependent register adds (one a cycle on every x86 core these benchmarks run on). Shared
// by the instruction-mix benchmarks (hf_shani_mix, hf_vector_mix).
#pragma once
#include <time.h>

namespace hf::bench {

// This thread's CPU time in seconds: time the host or the scheduler gives to others (a
// shared VM, a build beside the run) does not count.
inline double thread_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Cycles a nanosecond: the fastest of 9 trials of 2e8 dependent adds, so a trial the host's
// other tenants slowed down does not count. Measured once a process. The addend is a
// register, not an immediate: recent Intel cores (seen on a Xeon of family 6 model 167) fold
// chains of add-immediate at register renaming and ran them at 18 "GHz".
inline double clock_ghz() {
  static const double ghz = [] {
    double best = 0;
    for (int trial = 0; trial < 9; ++trial) {
      const double t0 = thread_seconds();
      unsigned long x = 0;
      const unsigned long one = 1;
      for (long i = 0; i < 20000000; ++i)
        asm volatile(
            "add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\t"
            "add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0"
            : "+r"(x)
            : "r"(one));
      const double s = thread_seconds() - t0;
      if (2e8 / s / 1e9 > best) best = 2e8 / s / 1e9;
    }
    return best;
  }();
  return ghz;
}

}  // namespace hf::bench
