// Stratum job logic against a real block: Bitcoin block 100000 (hash
// 000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506). Its header is in
// ../shared/reference/vectors.md (source: ethereum/btcrelay test/test_btcrelay.py); its four
// txids and raw coinbase transaction are public (Bitcoin Core `getblock <hash> 2`, or any
// block explorer), checked with Python's hashlib on 2026-11-21: SHA256d(coinbase) is the
// first txid and the merkle root of the txids is the header's.
#include <gtest/gtest.h>

#include "hashforge/hex.hpp"
#include "net/mining/stratum_job.hpp"

using namespace hf::mining;

namespace {

const char* kHeader =
    "0100000050120119172a610421a6c3011dd330d9df07b63616c2cc1f1cd00200000000006657a9252aacd5c0b2940996ecff952228c3067cc3"
    "8"
    "d4885efb5a4ac4247e9f337221b4d4c86041b0f2b5710";
const char* kCoinbase =
    "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff08044c86041b020602ffffffff0100f2"
    "052a010000004341041b0e8c2567c12536aa13357b79a073dc4444acb83c4ec7a0e2f99dd7457516c5817242da796924ca4e99947d087fedf9"
    "ce467cb9f7c6287078f801df276fdf84ac00000000";
const char* kTxids[] = {"8c14f0db3df150123e6f3dbbf30f8b955a8249b62ac1d1ff16284aefa3d06d87",
                        "fff2525b8931402dd09222c50775608f75787bd2b87e56995a7bdd30f79702c4",
                        "6359f0868171b1d194cbee1af2f16ea598ae8fad666d9b012c8ed2b79a236ec4",
                        "e9a66845e05d5abc0ad04ec80f774a7e585c6e8db975962d069a522137b80c1d"};

hf::Bytes hex(const std::string& s) { return *hf::from_hex(s); }

Hash32 txid_internal(const char* shown) {  // explorers show txids byte-reversed
  hf::Bytes b = hex(shown);
  Hash32 h;
  for (int i = 0; i < 32; ++i) h[i] = b[31 - i];
  return h;
}

// Block 100000 as a pool would have sent it: the coinbase split around an 8-byte
// extranonce (4 bytes extranonce1, 4 bytes extranonce2) inside its scriptSig.
struct Block100000 {
  StratumJob job;
  hf::Bytes en1, en2;
  Block100000() {
    const hf::Bytes header = hex(kHeader), cb = hex(kCoinbase);
    // After version, input count, outpoint, script length (08) and a push opcode (04):
    // extranonce1 is the pushed "4c86041b", extranonce2 the next four bytes. Any split
    // works; what matters is that the pieces join back into the real coinbase.
    const std::size_t at = 4 + 1 + 32 + 4 + 1 + 1;
    job.coinb1.assign(cb.begin(), cb.begin() + at);
    en1.assign(cb.begin() + at, cb.begin() + at + 4);
    en2.assign(cb.begin() + at + 4, cb.begin() + at + 8);
    job.coinb2.assign(cb.begin() + at + 8, cb.end());
    job.id = "b100000";
    std::copy(header.begin() + 4, header.begin() + 36, job.prevhash.begin());
    std::vector<Hash32> txids;
    for (const char* t : kTxids) txids.push_back(txid_internal(t));
    job.merkle_branch = merkle_branch_for_coinbase(txids);
    job.version = 1;
    job.nbits = 0x1b04864c;
    job.ntime = 1293623863;
  }
};

}  // namespace

TEST(StratumJob, CoinbaseHashIsTheFirstTxid) {
  Block100000 b;
  const hf::Bytes cb = build_coinbase(b.job, b.en1, b.en2);
  EXPECT_EQ(hf::to_hex(cb), kCoinbase);
  EXPECT_EQ(hf::to_hex(merkle_root(cb, {})), hf::to_hex(txid_internal(kTxids[0])));
}

TEST(StratumJob, RebuildsBlock100000HeaderAndHash) {
  Block100000 b;
  ASSERT_EQ(b.job.merkle_branch.size(), 2u);
  const Hash32 root = merkle_root(build_coinbase(b.job, b.en1, b.en2), b.job.merkle_branch);
  const Header80 h = build_header(b.job, root, 1293623863, 274148111, 1);
  EXPECT_EQ(hf::to_hex(h), kHeader);
  Hash32 shown = header_hash(h);
  std::reverse(shown.begin(), shown.end());
  EXPECT_EQ(hf::to_hex(shown), "000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506");
}

TEST(StratumJob, NotifyRoundTripUsesStratumByteOrders) {
  Block100000 b;
  const NotifyFields f = to_notify(b.job);
  // version, nbits, ntime: big-endian hex of the value; prevhash: words byte-swapped.
  EXPECT_EQ(f.version, "00000001");
  EXPECT_EQ(f.nbits, "1b04864c");
  EXPECT_EQ(f.ntime, "4d1b2237");
  EXPECT_EQ(f.prevhash, "1901125004612a1701c3a621d930d31d36b607df1fccc2160002d01c00000000");
  std::string why;
  auto back = parse_notify(f, &why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(back->prevhash, b.job.prevhash);
  EXPECT_EQ(back->coinb1, b.job.coinb1);
  EXPECT_EQ(back->coinb2, b.job.coinb2);
  EXPECT_EQ(back->merkle_branch, b.job.merkle_branch);
  EXPECT_EQ(back->version, 1u);
  EXPECT_EQ(back->nbits, 0x1b04864cu);
  EXPECT_EQ(back->ntime, 1293623863u);
}

TEST(StratumJob, BranchForOddCountsDoublesTheLast) {
  // Three transactions: the coinbase's path is t1, then H(t2 || t2).
  std::vector<Hash32> tx(3);
  for (int i = 0; i < 3; ++i) tx[i].fill(static_cast<std::uint8_t>(i + 1));
  const std::vector<Hash32> br = merkle_branch_for_coinbase(tx);
  ASSERT_EQ(br.size(), 2u);
  EXPECT_EQ(br[0], tx[1]);
  hf::Bytes pair(64, 3);
  Hash32 want = merkle_root(pair, {});
  EXPECT_EQ(br[1], want);
  EXPECT_TRUE(merkle_branch_for_coinbase({tx[0]}).empty());
}

TEST(StratumJob, MalformedNotifyFieldsAreRejectedWithAReason) {
  NotifyFields good = to_notify(Block100000().job);
  std::string why;
  ASSERT_TRUE(parse_notify(good, &why));
  auto bad = [&](auto edit) {
    NotifyFields f = good;
    edit(f);
    why.clear();
    const bool ok = parse_notify(f, &why).has_value();
    EXPECT_FALSE(ok);
    EXPECT_FALSE(why.empty());
  };
  bad([](NotifyFields& f) { f.job_id = ""; });
  bad([](NotifyFields& f) { f.job_id = std::string(65, 'a'); });
  bad([](NotifyFields& f) { f.prevhash.pop_back(); });
  bad([](NotifyFields& f) { f.prevhash[0] = 'g'; });
  bad([](NotifyFields& f) { f.coinb1 += "0"; });
  bad([](NotifyFields& f) { f.coinb2 = std::string(2 * kMaxCoinbasePart + 2, '0'); });
  bad([](NotifyFields& f) { f.merkle_branch.push_back("00"); });
  bad([](NotifyFields& f) { f.merkle_branch.assign(kMaxBranch + 1, std::string(64, '0')); });
  bad([](NotifyFields& f) { f.version = "1"; });
  bad([](NotifyFields& f) { f.nbits = "1b04864z"; });
  bad([](NotifyFields& f) { f.ntime = "4d1b22370"; });
}

TEST(StratumJob, HexU32IsExactlyEightDigits) {
  EXPECT_EQ(parse_hex_u32("10572b0f"), 274148111u);
  EXPECT_EQ(parse_hex_u32("10572B0F"), 274148111u);
  EXPECT_FALSE(parse_hex_u32("0x10572b"));
  EXPECT_FALSE(parse_hex_u32("10572b0"));
  EXPECT_FALSE(parse_hex_u32("+0572b0f"));
  EXPECT_EQ(hex_u32(274148111), "10572b0f");
}
