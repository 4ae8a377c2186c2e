// The "header-sha256d" block scheme: an 80-byte header in Bitcoin's layout whose hash is
// checked here against OpenSSL, built from bytes by hand; the transactions root; the fields
// the scheme requires; and a real mining job on the engine's header scan.
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <algorithm>

#include "hashforge/engine.hpp"
#include "hashforge/hex.hpp"
#include "net/node/block.hpp"
#include "net/node/retarget.hpp"
#include "net/node/spec.hpp"

namespace hf::node {
namespace {

using H = std::array<std::uint8_t, 32>;

H dsha(const std::uint8_t* p, std::size_t n) {
  H a{}, b{};
  SHA256(p, n, a.data());
  SHA256(a.data(), 32, b.data());
  return b;
}

H from_hex32(const std::string& s) {
  H h{};
  auto b = from_hex(s);
  std::copy(b->begin(), b->end(), h.begin());
  return h;
}

Json tx(const std::string& author, const std::string& content) {
  return Json::object({{"author", Json::string(author)}, {"content", Json::string(content)}});
}

Block sample() {
  Block b;
  b.index = 7;
  b.transactions = Json::array({tx("alice", "one"), tx("bob", "two"), tx("carol", "three")});
  b.timestamp = Json::integer(1'700'000'000);
  b.previous_hash = "00000000000000000001" + std::string(44, 'a');
  b.state_root = std::string(62, '5') + "ff";
  b.bits = 0x1d00ffff;
  b.nonce = 0x12345678;
  return b;
}

std::unique_ptr<BlockScheme> scheme() {
  std::string why;
  auto s = make_scheme("header-sha256d", &why);
  EXPECT_TRUE(s) << why;
  return s;
}

TEST(HeaderScheme, HashIsBitcoinStyleDoubleSha256OfTheHeader) {
  const Block b = sample();
  // The transactions root by hand: txids (SHA-256 of the sorted JSON), pairs hashed with
  // SHA-256d, the odd one out moving up unchanged.
  std::vector<H> leaves;
  for (const Json& t : b.transactions.items()) {
    const std::string text = dump_python(t, {.sort_keys = true});
    H h{};
    SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), h.data());
    leaves.push_back(h);
  }
  std::uint8_t pair[64];
  std::copy(leaves[0].begin(), leaves[0].end(), pair);
  std::copy(leaves[1].begin(), leaves[1].end(), pair + 32);
  const H n01 = dsha(pair, 64);
  std::copy(n01.begin(), n01.end(), pair);
  std::copy(leaves[2].begin(), leaves[2].end(), pair + 32);
  const H root = dsha(pair, 64);
  EXPECT_EQ(transactions_root(b.transactions), root);

  // The header: version 1, previous hash reversed, SHA-256d(tx root || state root), time,
  // bits, nonce, integers little-endian.
  std::vector<std::uint8_t> hdr = {1, 0, 0, 0};
  H prev = from_hex32(b.previous_hash);
  std::reverse(prev.begin(), prev.end());
  hdr.insert(hdr.end(), prev.begin(), prev.end());
  std::copy(root.begin(), root.end(), pair);
  const H sr = from_hex32(b.state_root);
  std::copy(sr.begin(), sr.end(), pair + 32);
  const H commit = dsha(pair, 64);
  hdr.insert(hdr.end(), commit.begin(), commit.end());
  for (std::uint32_t v : {1'700'000'000u, 0x1d00ffffu, 0x12345678u})
    for (int i = 0; i < 4; ++i) hdr.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  ASSERT_EQ(hdr.size(), 80u);
  EXPECT_EQ(block_header(b), Bytes(hdr.begin(), hdr.end()));
  H hash = dsha(hdr.data(), hdr.size());
  std::reverse(hash.begin(), hash.end());
  EXPECT_EQ(scheme()->hash_hex(b), to_hex(hash));

  // Whatever the block holds, a try hashes the same 80 bytes.
  const SearchTemplate t = scheme()->search_template(b);
  EXPECT_EQ(t.message.size(), 80u);
  EXPECT_EQ(t.field.offset, 76u);
  EXPECT_EQ(t.algo, Algo::sha256d);
  EXPECT_EQ(t.order, ByteOrder::bitcoin);
  EXPECT_EQ(transactions_root(Json::array()), H{});
}

TEST(HeaderScheme, FieldsItNeeds) {
  auto s = scheme();
  EXPECT_EQ(s->check_fields(sample()), "");
  Block b = sample();
  b.timestamp = Json::real(1.5);
  EXPECT_NE(s->check_fields(b), "");
  b = sample();
  b.nonce = 1ull << 32;
  EXPECT_NE(s->check_fields(b), "");
  b = sample();
  b.state_root.clear();
  EXPECT_NE(s->check_fields(b), "");
  b = sample();
  b.previous_hash = "0";
  EXPECT_NE(s->check_fields(b), "");
  b = sample();
  b.bits = 0;
  EXPECT_NE(s->check_fields(b), "");

  // The two header fields travel in the block's JSON; a seed-json block has neither.
  b = sample();
  b.hash = s->hash_hex(b);
  std::string why;
  auto back = block_from_json(block_to_json(b), &why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(back->state_root, b.state_root);
  EXPECT_EQ(back->bits, b.bits);
  EXPECT_EQ(s->hash_hex(*back), b.hash);
  Block seed = default_spec().genesis;
  EXPECT_EQ(block_chain_text(seed).find("state_root"), std::string::npos);
}

TEST(HeaderScheme, CompactTargets) {
  EXPECT_EQ(compact_of(target_of_zeros(8)), 0x1d00ffffu);  // Bitcoin's difficulty 1
  Key k;
  ASSERT_EQ(target_from_compact(0x1b0404cb, &k), "");
  EXPECT_EQ(compact_of(k), 0x1b0404cbu);
  ASSERT_EQ(target_from_compact(0x207fffff, &k), "");  // regtest
  EXPECT_EQ(compact_of(k), 0x207fffffu);
}

TEST(HeaderScheme, RetargetArithmetic) {
  const Key easiest = target_of_zeros(4);
  Key t;
  ASSERT_EQ(target_from_compact(0x1d00ffff, &t), "");
  // x1/4, x4, and past the cap.
  EXPECT_EQ(compact_of(scale_target(t, 1, 4, Key::max())), 0x1c3fffc0u);
  EXPECT_EQ(compact_of(scale_target(t, 4, 1, Key::max())), 0x1d03fffcu);
  EXPECT_EQ(scale_target(Key::max(), 3, 1, easiest), easiest);
  EXPECT_EQ(scale_target(t, 1, 0, easiest), easiest);
  const RetargetRule rule{1000, 10};
  // On time: unchanged. Twice as fast: half the target. A year late: at most four times easier
  // (and never past the easiest).
  EXPECT_EQ(next_bits(rule, Key::max(), 0x1d00ffff, 0, 10, 10), 0x1d00ffffu);
  EXPECT_EQ(next_bits(rule, Key::max(), 0x1d00ffff, 0, 5, 10), 0x1c7fff80u);
  EXPECT_EQ(next_bits(rule, Key::max(), 0x1d00ffff, 0, 31'536'000, 10), 0x1d03fffcu);
  EXPECT_EQ(next_bits(rule, easiest, 0x1f00ffff, 0, 31'536'000, 10), compact_of(easiest));
  EXPECT_EQ(next_bits({0, 10}, easiest, 0x1c00ffff, 0, 1, 10), compact_of(easiest));  // no retargeting
  // Time running backwards counts as the fastest allowed.
  EXPECT_EQ(next_bits(rule, Key::max(), 0x1d00ffff, 100, 50, 10), 0x1c3fffc0u);
}

// A real job on the engine: the header scan finds a nonce whose header hash meets the target.
TEST(HeaderScheme, EngineHeaderScanMinesABlock) {
  auto s = scheme();
  Block b = sample();
  const Key target = target_of_zeros(4);
  SearchJob job;
  const SearchTemplate t = s->search_template(b);
  job.algo = t.algo;
  job.message = t.message;
  job.nonce = t.field;
  job.order = t.order;
  job.goal = Goal::below_target;
  job.target = target;
  job.max_hits = 1;
  job.range = {0, 1ull << 24};
  auto r = Engine::instance().search(job);
  ASSERT_TRUE(r) << r.error();
  ASSERT_FALSE(r->hits.empty());
  b.nonce = r->hits.front().nonce;
  const std::string hash = s->hash_hex(b);
  EXPECT_TRUE(meets_target(hash, target)) << hash;
  EXPECT_EQ(hash.substr(0, 4), "0000");
}

}  // namespace
}  // namespace hf::node
