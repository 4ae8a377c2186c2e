#include "net/mining/share_check.hpp"

#include <cmath>
#include <cstring>

#include "hashforge/hex.hpp"

namespace hf::mining {

namespace {

ShareVerdict reject(StratumError e, std::string msg) {
  ShareVerdict v;
  v.error = e;
  v.message = std::move(msg);
  return v;
}

Key key_of_hash(const Hash32& h) {
  Digest d{};
  d.size = 32;
  std::memcpy(d.bytes.data(), h.data(), 32);
  return key_of(d, ByteOrder::bitcoin);
}

}  // namespace

double hash_difficulty(const Hash32& hash) {
  const Key k = key_of_hash(hash);
  long double value = 0;
  for (std::uint32_t w : k.w) value = value * 4294967296.0L + w;
  if (value == 0) return INFINITY;
  return static_cast<double>(65535.0L * std::ldexp(1.0L, 208) / value);
}

bool meets_difficulty(const Hash32& hash, double difficulty) {
  Key target;
  if (!target_from_difficulty(difficulty, &target).empty()) return false;
  return !(key_of_hash(hash) > target);
}

ShareVerdict check_share(const StratumJob* job, const Submit& s, SessionShareState& st, std::uint64_t now) {
  if (!job) return reject(StratumError::job_not_found, "job not found (unknown or stale)");
  auto diff = st.job_difficulty.find(job->id);
  if (diff == st.job_difficulty.end())
    return reject(StratumError::job_not_found, "job was not sent to this connection");

  if (s.extranonce2.size() != 2 * st.extranonce2_size)
    return reject(StratumError::other, "extranonce2 must be " + std::to_string(st.extranonce2_size) + " bytes");
  auto en2 = from_hex(s.extranonce2);
  if (!en2) return reject(StratumError::other, "extranonce2 is not hex");
  auto ntime = parse_hex_u32(s.ntime);
  if (!ntime) return reject(StratumError::other, "ntime must be 8 hex digits");
  auto nonce = parse_hex_u32(s.nonce);
  if (!nonce) return reject(StratumError::other, "nonce must be 8 hex digits");
  const std::uint64_t latest = std::max<std::uint64_t>(job->ntime, now) + kNtimeSlack;
  if (*ntime < job->ntime || *ntime > latest) return reject(StratumError::other, "ntime out of range");

  std::uint32_t version = job->version;
  if (s.version_bits) {
    auto bits = parse_hex_u32(*s.version_bits);
    if (!bits) return reject(StratumError::other, "version bits must be 8 hex digits");
    if (*bits & ~st.version_mask) return reject(StratumError::other, "version bits outside the negotiated mask");
    version = (job->version & ~st.version_mask) | (*bits & st.version_mask);
  }

  ShareVerdict v;
  v.required = diff->second;
  const Bytes cb = build_coinbase(*job, st.extranonce1, *en2);
  v.header = build_header(*job, merkle_root(cb, job->merkle_branch), *ntime, *nonce, version);
  v.hash = header_hash(v.header);
  // A duplicate is the same header, whatever the job id or the hex case: a job re-issued
  // with the same content must not let one share count twice.
  std::uint64_t key;
  std::memcpy(&key, v.hash.data(), sizeof key);  // the hash's least significant bytes
  for (const auto& [id, keys] : st.seen)
    if (keys.count(key)) return reject(StratumError::duplicate, "duplicate share");
  v.difficulty = hash_difficulty(v.hash);
  Key target;
  if (std::string why = target_from_difficulty(v.required, &target); !why.empty())
    return reject(StratumError::other, why);
  const Key k = key_of_hash(v.hash);
  if (k > target) {
    ShareVerdict low = reject(StratumError::low_difficulty, "low difficulty share");
    low.hash = v.hash;
    low.difficulty = v.difficulty;
    low.required = v.required;
    return low;
  }
  Key network;
  v.block = target_from_compact(job->nbits, &network).empty() && k <= network;
  st.seen[job->id].insert(key);
  v.accepted = true;
  return v;
}

}  // namespace hf::mining
