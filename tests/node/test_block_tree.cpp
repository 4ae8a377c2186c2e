// The chain rules (net/node/block_tree): validation, forks, the most-work switch and what a
// reorg hands back to the pending pool. Blocks are mined here at one leading hex zero.
#include <gtest/gtest.h>

#include "net/node/block_tree.hpp"

namespace hf::node {
namespace {

constexpr double kNow = 1.8e9;

Json tx(const std::string& author, const std::string& content, double ts = 1.7e9) {
  return Json::object(
      {{"author", Json::string(author)}, {"content", Json::string(content)}, {"timestamp", Json::real(ts)}});
}

// A block on `parent` holding `txs`, mined against the spec's target.
Block mine(const ChainSpec& spec, const Block& parent, std::vector<Json> txs, double t) {
  Block b;
  b.index = parent.index + 1;
  b.previous_hash = parent.hash;
  b.transactions = Json::array(std::move(txs));
  b.timestamp = Json::real(t);
  for (b.nonce = 0;; ++b.nonce) {
    b.hash = spec.scheme->hash_hex(b);
    if (meets_target(b.hash, spec.target)) return b;
  }
}

class BlockTreeTest : public ::testing::Test {
 protected:
  ChainSpec spec = default_spec(1);
  BlockTree tree{spec};
  AddOptions opt{.now = kNow, .check_hash = true, .check_time = true};
};

TEST(ChainSpec, TutorialGenesisHashIsPythons) {
  // sha256(json.dumps({"index": 0, "transactions": [], "timestamp": 0, "previous_hash": "0",
  // "nonce": 0}, sort_keys=True)) as the seed computes it.
  EXPECT_EQ(default_spec(2).genesis.hash, "6dbf23122cb5046cc5c0c1b245c75f8e43c59ca8ffeac292715e5078e631d0c9");
}

TEST(ChainSpec, ParsesTargetAndRefusesBadSpecs) {
  std::string why;
  auto s = parse_spec(R"({"name": "t", "target": "000fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
      "genesis": {"index": 0, "transactions": [], "timestamp": 0, "previous_hash": "0", "nonce": 0}})",
                      &why);
  ASSERT_TRUE(s) << why;
  EXPECT_EQ(s->difficulty, 3);
  EXPECT_EQ(s->genesis.hash, default_spec(2).genesis.hash);
  EXPECT_NE(s->id, default_spec(3).id);  // another name: another network
  EXPECT_FALSE(parse_spec(R"({"difficulty": 2})", &why));
  EXPECT_NE(why.find("genesis"), std::string::npos);
  EXPECT_FALSE(parse_spec(R"({"difficulty": 0, "genesis": {}})", &why));
  EXPECT_FALSE(parse_spec(R"({"difficulty": 2, "scheme": "x", "genesis": {}})", &why));
  EXPECT_NE(why.find("scheme"), std::string::npos);
  EXPECT_FALSE(parse_spec("[", &why));
}

TEST(ChainSpec, TargetOfZeros) {
  EXPECT_EQ(target_of_zeros(2).hex(), "00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
  EXPECT_EQ(target_of_zeros(9).hex(), "000000000fffffffffffffffffffffffffffffffffffffffffffffffffffffff");
  EXPECT_TRUE(meets_target("00ff000000000000000000000000000000000000000000000000000000000000", target_of_zeros(2)));
  EXPECT_FALSE(meets_target("0100000000000000000000000000000000000000000000000000000000000000", target_of_zeros(2)));
}

TEST_F(BlockTreeTest, ExtendsTheChain) {
  Block b1 = mine(spec, spec.genesis, {tx("a", "1")}, 1.7e9);
  AddResult r = tree.add(b1, opt);
  ASSERT_EQ(r.outcome, AddOutcome::extended) << r.reason;
  EXPECT_EQ(tree.tip().block.hash, b1.hash);
  ASSERT_EQ(r.connected.size(), 1u);
  EXPECT_EQ(tree.confirmed_height(txid_of(tx("a", "1"))), 1);
  EXPECT_EQ(tree.add(b1, opt).outcome, AddOutcome::duplicate);
}

TEST_F(BlockTreeTest, RefusesBrokenBlocks) {
  Block good = mine(spec, spec.genesis, {tx("a", "1")}, 1.7e9);
  auto expect_invalid = [&](Block b, const char* word) {
    AddResult r = tree.add(std::move(b), opt);
    EXPECT_EQ(r.outcome, AddOutcome::invalid) << word;
    EXPECT_NE(r.reason.find(word), std::string::npos) << r.reason;
  };
  Block b = good;
  b.nonce += 1;  // contents no longer match the hash
  expect_invalid(b, "hash");
  b = good;
  b.hash = std::string(64, 'f');
  expect_invalid(b, "hash");
  b = good;
  b.index = 2;
  b = mine(spec, spec.genesis, {tx("a", "1")}, 1.7e9);
  b.index = 5;
  b = [&] {
    Block x = b;
    for (x.nonce = 0;; ++x.nonce) {
      x.hash = spec.scheme->hash_hex(x);
      if (meets_target(x.hash, spec.target)) return x;
    }
  }();
  expect_invalid(b, "index");
  expect_invalid(mine(spec, spec.genesis, {tx("a", "1")}, 0), "median");
  expect_invalid(mine(spec, spec.genesis, {tx("a", "1")}, kNow + 3 * 3600), "future");
  expect_invalid(mine(spec, spec.genesis, {Json::string("not an object")}, 1.7e9), "transaction 0");
  expect_invalid(mine(spec, spec.genesis, {tx("", "1")}, 1.7e9), "author");
  expect_invalid(mine(spec, spec.genesis, {tx("a", "1"), tx("a", "1")}, 1.7e9), "twice");
  EXPECT_EQ(tree.size(), 1u);  // nothing stored

  // A hash that is right but above the target: the scheme hashes it, the target refuses it.
  Block weak = good;
  for (weak.nonce = 0;; ++weak.nonce) {
    weak.hash = spec.scheme->hash_hex(weak);
    if (!meets_target(weak.hash, spec.target)) break;
  }
  expect_invalid(weak, "difficulty");
}

TEST_F(BlockTreeTest, RefusesATransactionAlreadyOnTheChain) {
  Block b1 = mine(spec, spec.genesis, {tx("a", "1")}, 1.7e9);
  ASSERT_EQ(tree.add(b1, opt).outcome, AddOutcome::extended);
  AddResult r = tree.add(mine(spec, b1, {tx("a", "1")}, 1.7e9 + 1), opt);
  EXPECT_EQ(r.outcome, AddOutcome::invalid);
  EXPECT_NE(r.reason.find("already on this chain"), std::string::npos);
  // On another branch it is no repeat.
  AddResult side = tree.add(mine(spec, spec.genesis, {tx("a", "1")}, 1.7e9 + 2), opt);
  EXPECT_EQ(side.outcome, AddOutcome::side) << side.reason;
}

TEST_F(BlockTreeTest, UnknownParentIsAnOrphanNotInvalid) {
  Block b1 = mine(spec, spec.genesis, {tx("a", "1")}, 1.7e9);
  Block b2 = mine(spec, b1, {tx("a", "2")}, 1.7e9 + 1);
  AddResult r = tree.add(b2, opt);
  EXPECT_EQ(r.outcome, AddOutcome::orphan);
  EXPECT_EQ(tree.add(b1, opt).outcome, AddOutcome::extended);
  EXPECT_EQ(tree.add(b2, opt).outcome, AddOutcome::extended);
}

TEST_F(BlockTreeTest, MostWorkWinsTiesKeepTheFirstAndTransactionsComeBack) {
  Block a1 = mine(spec, spec.genesis, {tx("a", "1"), tx("s", "shared")}, 1.7e9 + 1);
  Block a2 = mine(spec, a1, {tx("a", "2")}, 1.7e9 + 2);
  ASSERT_EQ(tree.add(a1, opt).outcome, AddOutcome::extended);
  ASSERT_EQ(tree.add(a2, opt).outcome, AddOutcome::extended);

  Block b1 = mine(spec, spec.genesis, {tx("b", "1"), tx("s", "shared")}, 1.7e9 + 3);
  Block b2 = mine(spec, b1, {tx("b", "2")}, 1.7e9 + 4);
  Block b3 = mine(spec, b2, {}, 1.7e9 + 5);
  EXPECT_EQ(tree.add(b1, opt).outcome, AddOutcome::side);
  EXPECT_EQ(tree.add(b2, opt).outcome, AddOutcome::side);  // as much work: the first seen stays
  EXPECT_EQ(tree.tip().block.hash, a2.hash);
  EXPECT_EQ(tree.side_blocks(), 2u);

  AddResult r = tree.add(b3, opt);
  ASSERT_EQ(r.outcome, AddOutcome::reorg) << r.reason;
  EXPECT_EQ(tree.tip().block.hash, b3.hash);
  ASSERT_EQ(r.disconnected.size(), 2u);
  EXPECT_EQ(r.disconnected[0]->block.hash, a2.hash);
  ASSERT_EQ(r.connected.size(), 3u);
  EXPECT_EQ(r.connected[0]->block.hash, b1.hash);
  // a1's and a2's own transactions return, in chain order (a1's before a2's: a later one may
  // depend on an earlier one); the one both branches hold does not.
  std::vector<std::string> returned;
  for (const Json& t : r.returned) returned.push_back(t.find("content")->as_string());
  EXPECT_EQ(returned, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(tree.confirmed_height(txid_of(tx("a", "1"))), -1);
  EXPECT_EQ(tree.confirmed_height(txid_of(tx("s", "shared"))), 1);
  EXPECT_EQ(tree.confirmed_height(txid_of(tx("b", "2"))), 2);
  // And back: a longer a-branch wins again.
  Block a3 = mine(spec, a2, {}, 1.7e9 + 6);
  Block a4 = mine(spec, a3, {}, 1.7e9 + 7);
  EXPECT_EQ(tree.add(a3, opt).outcome, AddOutcome::side);
  EXPECT_EQ(tree.add(a4, opt).outcome, AddOutcome::reorg);
  EXPECT_EQ(tree.confirmed_height(txid_of(tx("a", "1"))), 1);
  EXPECT_EQ(tree.main_chain().size(), 5u);
}

TEST_F(BlockTreeTest, LocatorStartsAtTheTipAndEndsAtGenesis) {
  Block prev = spec.genesis;
  for (int i = 1; i <= 40; ++i) {
    Block b = mine(spec, prev, {}, 1.7e9 + i);
    ASSERT_TRUE(tree.add(b, opt).accepted());
    prev = b;
  }
  auto loc = tree.locator();
  EXPECT_EQ(loc.front(), prev.hash);
  EXPECT_EQ(loc.back(), spec.genesis.hash);
  EXPECT_LT(loc.size(), 20u);
}

TEST(Block, ParsesThePeersShapeAndNamesWhatIsWrong) {
  std::string why;
  auto ok = parse_json(R"({"index": 1, "transactions": [], "timestamp": 1.5, "previous_hash": "0", "nonce": 7,
      "hash": "00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "extra": 1})");
  ASSERT_TRUE(ok.value);
  auto b = block_from_json(*ok.value, &why);
  ASSERT_TRUE(b) << why;
  EXPECT_EQ(b->nonce, 7u);
  // Chain order, the extra key gone.
  EXPECT_EQ(
      block_chain_text(*b),
      R"({"index": 1, "transactions": [], "timestamp": 1.5, "previous_hash": "0", "nonce": 7, "hash": "00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"})");
  for (const char* bad :
       {R"([])", R"({"index": -1})", R"({"index": 1.0, "transactions": []})",
        R"({"index": 1, "transactions": {}, "timestamp": 1, "previous_hash": "0", "nonce": 0, "hash": "x"})",
        R"({"index": 1, "transactions": [], "timestamp": "1", "previous_hash": "0", "nonce": 0})",
        R"({"index": 1, "transactions": [], "timestamp": 1, "previous_hash": 0, "nonce": 0})",
        R"({"index": 1, "transactions": [], "timestamp": 1, "previous_hash": "0", "nonce": -1})",
        R"({"index": 1, "transactions": [], "timestamp": 1, "previous_hash": "0", "nonce": 1, "hash": "ABC"})",
        R"({"index": 1, "transactions": [], "timestamp": NaN, "previous_hash": "0", "nonce": 1})"}) {
    auto j = parse_json(bad);
    ASSERT_TRUE(j.value) << bad;
    EXPECT_FALSE(block_from_json(*j.value, &why)) << bad;
    EXPECT_FALSE(why.empty());
  }
}

TEST(Block, SearchTemplateIsTheHashedTextWithoutTheNonce) {
  ChainSpec spec = default_spec(2);
  Block b;
  b.index = 3;
  b.previous_hash = spec.genesis.hash;
  b.transactions = Json::array({tx("\xc3\xa9", "x")});
  b.timestamp = Json::real(1.5);
  b.nonce = 12345;
  SearchTemplate t = spec.scheme->search_template(b);
  std::string text(t.message.begin(), t.message.end());
  text.insert(t.field.offset, "12345");
  EXPECT_EQ(
      text,
      R"({"index": 3, "nonce": 12345, "previous_hash": ")" + spec.genesis.hash +
          R"(", "timestamp": 1.5, "transactions": [{"author": "\u00e9", "content": "x", "timestamp": 1700000000.0}]})");
  EXPECT_EQ(t.field.encoding, Encoding::dec);
  EXPECT_EQ(spec.scheme->hashed_size(b), text.size());
}

}  // namespace
}  // namespace hf::node
