// Field-by-field equality of two Stratum jobs, for the round-trip checks of the notify and
// job-file targets (StratumJob has no operator==: nothing else compares jobs).
#pragma once
#include "net/mining/stratum_job.hpp"

namespace hf::fuzz {

inline bool job_same(const mining::StratumJob& a, const mining::StratumJob& b) {
  return a.id == b.id && a.prevhash == b.prevhash && a.coinb1 == b.coinb1 && a.coinb2 == b.coinb2 &&
         a.merkle_branch == b.merkle_branch && a.version == b.version && a.nbits == b.nbits && a.ntime == b.ntime &&
         a.clean == b.clean;
}

}  // namespace hf::fuzz
