// Share validation: every rejection path with its Stratum error code, and accepted shares
// re-checked independently with OpenSSL.
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <cstring>

#include "hashforge/hex.hpp"
#include "net/mining/share_check.hpp"

using namespace hf::mining;

namespace {

// A synthetic job (not a real block) at a tiny difficulty so shares are easy to find.
StratumJob test_job(const std::string& id) {
  StratumJob j;
  j.id = id;
  for (int i = 0; i < 32; ++i) j.prevhash[i] = static_cast<std::uint8_t>(i * 7);
  j.coinb1 = *hf::from_hex("01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff0c04");
  j.coinb2 = *hf::from_hex("ffffffff0100f2052a01000000016a00000000");
  Hash32 b;
  b.fill(0xab);
  j.merkle_branch = {b};
  j.version = 0x20000000;
  j.nbits = 0x1d00ffff;
  j.ntime = 1700000000;
  return j;
}

SessionShareState test_session() {
  SessionShareState st;
  st.extranonce1 = {0xde, 0xad, 0xbe, 0xef};
  st.extranonce2_size = 4;
  return st;
}

Hash32 openssl_sha256d(const std::uint8_t* p, std::size_t n) {
  std::uint8_t a[32];
  Hash32 b;
  SHA256(p, n, a);
  SHA256(a, 32, b.data());
  return b;
}

// The first nonce from `from` whose share meets difficulty d (found by brute force here).
std::uint32_t find_share(const StratumJob& j, const SessionShareState& st, const hf::Bytes& en2, double d,
                         std::uint32_t from = 0) {
  const Hash32 root = merkle_root(build_coinbase(j, st.extranonce1, en2), j.merkle_branch);
  for (std::uint32_t n = from;; ++n)
    if (hash_difficulty(header_hash(build_header(j, root, j.ntime, n, j.version))) >= d) return n;
}

Submit submit_for(const StratumJob& j, const std::string& en2, std::uint32_t nonce) {
  return Submit{"w", j.id, en2, hex_u32(j.ntime), hex_u32(nonce), std::nullopt};
}

}  // namespace

TEST(ShareCheck, AcceptedShareMatchesAnIndependentRebuild) {
  const StratumJob j = test_job("j1");
  SessionShareState st = test_session();
  const double d = 1.0 / 65536;
  st.job_sent(j.id, d);
  const hf::Bytes en2 = {0, 0, 0, 7};
  const std::uint32_t n = find_share(j, st, en2, d);
  const ShareVerdict v = check_share(&j, submit_for(j, "00000007", n), st, 1700000000);
  ASSERT_TRUE(v.accepted) << v.message;
  // Rebuild with OpenSSL from the protocol's definition, not from our helpers.
  hf::Bytes cb = j.coinb1;
  cb.insert(cb.end(), st.extranonce1.begin(), st.extranonce1.end());
  cb.insert(cb.end(), en2.begin(), en2.end());
  cb.insert(cb.end(), j.coinb2.begin(), j.coinb2.end());
  Hash32 root = openssl_sha256d(cb.data(), cb.size());
  std::uint8_t pair[64];
  std::memcpy(pair, root.data(), 32);
  std::memcpy(pair + 32, j.merkle_branch[0].data(), 32);
  root = openssl_sha256d(pair, 64);
  std::uint8_t hdr[80];
  auto le = [](std::uint8_t* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = std::uint8_t(v >> (8 * i));
  };
  le(hdr, j.version);
  std::memcpy(hdr + 4, j.prevhash.data(), 32);
  std::memcpy(hdr + 36, root.data(), 32);
  le(hdr + 68, j.ntime);
  le(hdr + 72, j.nbits);
  le(hdr + 76, n);
  EXPECT_EQ(0, std::memcmp(hdr, v.header.data(), 80));
  EXPECT_EQ(openssl_sha256d(hdr, 80), v.hash);
  // Difficulty 1/65536: the hash, read little-endian, has its top 16 bits zero at least.
  EXPECT_EQ(v.hash[31], 0);
  EXPECT_EQ(v.hash[30], 0);
  EXPECT_GE(v.difficulty, d);
  EXPECT_FALSE(v.block);
}

TEST(ShareCheck, DuplicatesAreCaughtInAnyHexCase) {
  const StratumJob j = test_job("j1");
  SessionShareState st = test_session();
  st.job_sent(j.id, 1.0 / 65536);
  const std::uint32_t n = find_share(j, st, {0, 0, 0, 0xab}, 1.0 / 65536);
  EXPECT_TRUE(check_share(&j, submit_for(j, "000000ab", n), st, 1700000000).accepted);
  for (int i = 0; i < 1000; ++i) {
    const ShareVerdict v = check_share(&j, submit_for(j, i % 2 ? "000000AB" : "000000ab", n), st, 1700000000);
    ASSERT_FALSE(v.accepted);
    ASSERT_EQ(v.error, StratumError::duplicate);
  }
  EXPECT_EQ(st.seen[j.id].size(), 1u);
  st.forget_job(j.id);
  EXPECT_TRUE(st.seen.empty());
}

TEST(ShareCheck, LowDifficultyIsJudgedAtTheJobsDifficulty) {
  const StratumJob j1 = test_job("j1");
  StratumJob j2 = test_job("j2");
  j2.coinb2.push_back(0);  // other work (the same content again would make the share a duplicate)
  SessionShareState st = test_session();
  st.job_sent(j1.id, 1.0 / 65536);
  st.job_sent(j2.id, 1e9);  // a set_difficulty that counts from j2 on
  const std::uint32_t n = find_share(j1, st, {0, 0, 0, 1}, 1.0 / 65536);
  const ShareVerdict old_job = check_share(&j1, submit_for(j1, "00000001", n), st, 1700000000);
  EXPECT_TRUE(old_job.accepted) << old_job.message;
  const ShareVerdict new_job = check_share(&j2, submit_for(j2, "00000001", n), st, 1700000000);
  EXPECT_FALSE(new_job.accepted);
  EXPECT_EQ(new_job.error, StratumError::low_difficulty);
  EXPECT_EQ(new_job.required, 1e9);
}

TEST(ShareCheck, TheSameHeaderUnderAnotherJobIdIsADuplicate) {
  // A coordinator re-issues a job with the same content under a new id (a refresh): a share
  // found once must not be accepted again under the new id.
  const StratumJob j1 = test_job("j1"), j2 = test_job("j2");
  SessionShareState st = test_session();
  st.job_sent(j1.id, 1.0 / 65536);
  st.job_sent(j2.id, 1.0 / 65536);
  const std::uint32_t n = find_share(j1, st, {0, 0, 0, 1}, 1.0 / 65536);
  EXPECT_TRUE(check_share(&j1, submit_for(j1, "00000001", n), st, 1700000000).accepted);
  const ShareVerdict again = check_share(&j2, submit_for(j2, "00000001", n), st, 1700000000);
  EXPECT_EQ(again.error, StratumError::duplicate);
  st.forget_job(j1.id);  // once the first job is gone, so is what it remembered
  EXPECT_TRUE(check_share(&j2, submit_for(j2, "00000001", n), st, 1700000000).accepted);
}

TEST(ShareCheck, RejectsWithTheRightCodes) {
  const StratumJob j = test_job("j1");
  SessionShareState st = test_session();
  st.job_sent(j.id, 1.0 / 256);
  auto code = [&](const StratumJob* job, Submit s, std::uint64_t now = 1700000000) {
    const ShareVerdict v = check_share(job, s, st, now);
    EXPECT_FALSE(v.accepted);
    EXPECT_FALSE(v.message.empty());
    return v.error;
  };
  Submit ok = submit_for(j, "00000000", 0);
  EXPECT_EQ(code(nullptr, ok), StratumError::job_not_found);
  const StratumJob other = test_job("never-sent");
  EXPECT_EQ(code(&other, ok), StratumError::job_not_found);
  Submit s = ok;
  s.extranonce2 = "000000";
  EXPECT_EQ(code(&j, s), StratumError::other);
  s.extranonce2 = "0000000000";
  EXPECT_EQ(code(&j, s), StratumError::other);
  s.extranonce2 = "0000000g";
  EXPECT_EQ(code(&j, s), StratumError::other);
  s = ok;
  s.nonce = "1234";
  EXPECT_EQ(code(&j, s), StratumError::other);
  s = ok;
  s.ntime = hex_u32(j.ntime - 1);  // before the job's ntime
  EXPECT_EQ(code(&j, s), StratumError::other);
  s.ntime = hex_u32(j.ntime + kNtimeSlack + 1);  // too far ahead of both job and clock
  EXPECT_EQ(code(&j, s), StratumError::other);
  s = ok;
  s.version_bits = "00002000";  // no mask negotiated
  EXPECT_EQ(code(&j, s), StratumError::other);
}

TEST(ShareCheck, NtimeWindowFollowsTheClockPastTheJob) {
  const StratumJob j = test_job("j1");
  SessionShareState st = test_session();
  st.job_sent(j.id, 1e-12);  // every hash passes: only the window decides
  Submit s = submit_for(j, "00000000", 0);
  const std::uint64_t now = j.ntime + 100000;
  s.ntime = hex_u32(static_cast<std::uint32_t>(now + kNtimeSlack));
  const ShareVerdict v = check_share(&j, s, st, now);
  EXPECT_TRUE(v.accepted) << v.message;
  s.ntime = hex_u32(static_cast<std::uint32_t>(now + kNtimeSlack + 1));
  EXPECT_EQ(check_share(&j, s, st, now).error, StratumError::other);
}

TEST(ShareCheck, VersionRollingInsideTheMaskChangesTheHeader) {
  const StratumJob j = test_job("j1");
  SessionShareState st = test_session();
  st.version_mask = 0x1fffe000;  // BIP 310's usual mask
  st.job_sent(j.id, 1e-12);
  Submit s = submit_for(j, "00000000", 0);
  s.version_bits = "00006000";
  const ShareVerdict v = check_share(&j, s, st, 1700000000);
  ASSERT_TRUE(v.accepted) << v.message;
  EXPECT_EQ(v.header[0] | v.header[1] << 8 | v.header[2] << 16 | v.header[3] << 24, 0x20006000);
  s.version_bits = "e0000000";  // outside the mask
  EXPECT_EQ(check_share(&j, s, st, 1700000000).error, StratumError::other);
}

TEST(ShareCheck, HashDifficultyOfKnownValues) {
  Hash32 h{};
  // diff1 itself, little-endian: 0x00000000ffff0000...: bytes 26..27 are ff.
  h[26] = 0xff;
  h[27] = 0xff;
  EXPECT_DOUBLE_EQ(hash_difficulty(h), 1.0);
  h[26] = 0;
  h[27] = 0;
  h[25] = 0xff;
  h[26] = 0xff;  // 256 times smaller
  EXPECT_DOUBLE_EQ(hash_difficulty(h), 256.0);
}
