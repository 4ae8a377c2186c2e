// Validation of one mining.submit against the job it names and the submitting session's
// state: the Stratum error codes, duplicates, stale jobs, ntime window, version rolling and
// the difficulty the job was sent at. Pure code: the session supplies the clock.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "hashforge/target.hpp"
#include "net/mining/stratum_job.hpp"

namespace hf::mining {

// The usual Stratum V1 error codes.
enum class StratumError : int {
  other = 20,
  job_not_found = 21,  // unknown or stale job
  duplicate = 22,
  low_difficulty = 23,
  unauthorized = 24,
  not_subscribed = 25,
};

struct Submit {
  std::string worker, job_id, extranonce2, ntime, nonce;
  std::optional<std::string> version_bits;  // BIP 310 version rolling
};

// What one connection has been told: its extranonce, the version-rolling mask it agreed to,
// the difficulty each job was sent at (a set_difficulty counts from the next job on), and
// the shares already seen on live jobs.
struct SessionShareState {
  Bytes extranonce1;
  std::size_t extranonce2_size = 4;
  std::uint32_t version_mask = 0;
  std::unordered_map<std::string, double> job_difficulty;
  // The shares accepted, by job id (a share is a duplicate if any live job holds it), each
  // as the low 64 bits of its header hash: the same header always gives the same key, and
  // two different headers share one only by a 2^-64 chance (or 2^32 work spent by a worker
  // to have its own share refused). 8 bytes, not 32, keep a busy coordinator's memory down.
  std::unordered_map<std::string, std::unordered_set<std::uint64_t>> seen;

  void job_sent(const std::string& job_id, double difficulty) { job_difficulty[job_id] = difficulty; }
  // A job the coordinator no longer accepts shares for: its duplicates go with it.
  void forget_job(const std::string& job_id) {
    job_difficulty.erase(job_id);
    seen.erase(job_id);
  }
};

struct ShareVerdict {
  bool accepted = false;
  StratumError error = StratumError::other;  // when not accepted
  std::string message;                       // when not accepted
  Header80 header{};
  Hash32 hash{};
  double difficulty = 0;  // the share's own difficulty: diff1 / hash
  double required = 0;    // the difficulty it was judged at
  bool block = false;     // also meets the network target (nbits)
};

inline constexpr std::uint32_t kNtimeSlack = 7200;  // seconds past max(job ntime, now)

// `job` is null when the job id is unknown or no longer live.
ShareVerdict check_share(const StratumJob* job, const Submit& s, SessionShareState& st, std::uint64_t now_unix);

// Whether a hash (as hashed, little-endian) is at or below the target of `difficulty`.
bool meets_difficulty(const Hash32& hash, double difficulty);

// diff1 / value of a hash read as a little-endian 256-bit number (Stratum's convention).
double hash_difficulty(const Hash32& hash);

}  // namespace hf::mining
