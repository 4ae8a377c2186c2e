#include "net/mining/stratum_job.hpp"

#include <cstring>

#include "hashforge/engine.hpp"
#include "hashforge/hasher.hpp"
#include "hashforge/hex.hpp"

namespace hf::mining {

namespace {

// Every share check rebuilds a coinbase, a merkle root and a header: on the engine's fastest
// self-tested single-stream SHA-256 (SHA-NI where the CPU has it), not the portable code.
Hash32 sha256d(ByteView data) {
  static const Engine& engine = Engine::instance();
  const Digest d = engine.digest(Algo::sha256d, data);
  Hash32 h;
  std::memcpy(h.data(), d.bytes.data(), 32);
  return h;
}

void put_le32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::optional<Hash32> hash_from_hex(std::string_view s) {
  if (s.size() != 64) return std::nullopt;
  auto b = from_hex(s);
  if (!b) return std::nullopt;
  Hash32 h;
  std::memcpy(h.data(), b->data(), 32);
  return h;
}

bool bounded_hex(std::string_view s, std::size_t max_bytes, Bytes* out) {
  if (s.size() > 2 * max_bytes) return false;
  auto b = from_hex(s);
  if (!b) return false;
  *out = std::move(*b);
  return true;
}

}  // namespace

std::optional<std::uint32_t> parse_hex_u32(std::string_view s) {
  if (s.size() != 8) return std::nullopt;
  std::uint32_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return std::nullopt;
    v = (v << 4) | static_cast<std::uint32_t>(d);
  }
  return v;
}

std::string hex_u32(std::uint32_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s(8, '0');
  for (int i = 7; i >= 0; --i, v >>= 4) s[i] = digits[v & 15];
  return s;
}

std::string prevhash_to_stratum(const Hash32& h) {
  Hash32 w;
  for (int i = 0; i < 32; i += 4)
    for (int j = 0; j < 4; ++j) w[i + j] = h[i + 3 - j];
  return to_hex(w);
}

std::optional<Hash32> prevhash_from_stratum(std::string_view hex) {
  auto w = hash_from_hex(hex);
  if (!w) return std::nullopt;
  Hash32 h;
  for (int i = 0; i < 32; i += 4)
    for (int j = 0; j < 4; ++j) h[i + j] = (*w)[i + 3 - j];
  return h;
}

std::optional<StratumJob> parse_notify(const NotifyFields& f, std::string* why) {
  auto fail = [&](const char* msg) -> std::optional<StratumJob> {
    if (why) *why = msg;
    return std::nullopt;
  };
  StratumJob job;
  if (f.job_id.empty() || f.job_id.size() > kMaxJobId) return fail("job id must be 1 to 64 characters");
  job.id = f.job_id;
  auto prev = prevhash_from_stratum(f.prevhash);
  if (!prev) return fail("prevhash must be 64 hex digits");
  job.prevhash = *prev;
  if (!bounded_hex(f.coinb1, kMaxCoinbasePart, &job.coinb1)) return fail("coinb1 must be hex of at most 100000 bytes");
  if (!bounded_hex(f.coinb2, kMaxCoinbasePart, &job.coinb2)) return fail("coinb2 must be hex of at most 100000 bytes");
  if (f.merkle_branch.size() > kMaxBranch) return fail("merkle branch longer than 32");
  for (const std::string& b : f.merkle_branch) {
    auto h = hash_from_hex(b);
    if (!h) return fail("merkle branch entries must be 64 hex digits");
    job.merkle_branch.push_back(*h);
  }
  auto version = parse_hex_u32(f.version), nbits = parse_hex_u32(f.nbits), ntime = parse_hex_u32(f.ntime);
  if (!version || !nbits || !ntime) return fail("version, nbits and ntime must be 8 hex digits");
  job.version = *version;
  job.nbits = *nbits;
  job.ntime = *ntime;
  job.clean = f.clean;
  return job;
}

NotifyFields to_notify(const StratumJob& job) {
  NotifyFields f;
  f.job_id = job.id;
  f.prevhash = prevhash_to_stratum(job.prevhash);
  f.coinb1 = to_hex(job.coinb1);
  f.coinb2 = to_hex(job.coinb2);
  for (const Hash32& h : job.merkle_branch) f.merkle_branch.push_back(to_hex(h));
  f.version = hex_u32(job.version);
  f.nbits = hex_u32(job.nbits);
  f.ntime = hex_u32(job.ntime);
  f.clean = job.clean;
  return f;
}

Bytes build_coinbase(const StratumJob& job, ByteView en1, ByteView en2) {
  Bytes cb;
  cb.reserve(job.coinb1.size() + en1.size() + en2.size() + job.coinb2.size());
  cb.insert(cb.end(), job.coinb1.begin(), job.coinb1.end());
  cb.insert(cb.end(), en1.begin(), en1.end());
  cb.insert(cb.end(), en2.begin(), en2.end());
  cb.insert(cb.end(), job.coinb2.begin(), job.coinb2.end());
  return cb;
}

Hash32 merkle_root(ByteView coinbase, const std::vector<Hash32>& branch) {
  Hash32 root = sha256d(coinbase);
  std::uint8_t pair[64];
  for (const Hash32& b : branch) {
    std::memcpy(pair, root.data(), 32);
    std::memcpy(pair + 32, b.data(), 32);
    root = sha256d(pair);
  }
  return root;
}

std::vector<Hash32> merkle_branch_for_coinbase(const std::vector<Hash32>& txids) {
  // Walk up the tree keeping the coinbase's path: at each level its sibling is the second
  // entry, and the level above pairs the rest (the last one doubled when the count is odd).
  std::vector<Hash32> branch, level = txids;
  std::uint8_t pair[64];
  while (level.size() > 1) {
    branch.push_back(level[1]);
    std::vector<Hash32> up;
    up.push_back({});  // the coinbase's own parent: unknown until the coinbase is
    for (std::size_t i = 2; i < level.size(); i += 2) {
      const Hash32& right = i + 1 < level.size() ? level[i + 1] : level[i];
      std::memcpy(pair, level[i].data(), 32);
      std::memcpy(pair + 32, right.data(), 32);
      up.push_back(sha256d(pair));
    }
    level = std::move(up);
  }
  return branch;
}

Header80 build_header(const StratumJob& job, const Hash32& root, std::uint32_t ntime, std::uint32_t nonce,
                      std::uint32_t version) {
  Header80 h{};
  put_le32(h.data(), version);
  std::memcpy(h.data() + 4, job.prevhash.data(), 32);
  std::memcpy(h.data() + 36, root.data(), 32);
  put_le32(h.data() + 68, ntime);
  put_le32(h.data() + 72, job.nbits);
  put_le32(h.data() + 76, nonce);
  return h;
}

Hash32 header_hash(const Header80& header) { return sha256d(header); }

}  // namespace hf::mining
