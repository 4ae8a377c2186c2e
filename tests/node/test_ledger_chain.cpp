// The auction ledger from the chain's and the client's side (issue 16):
//  - LedgerChain: the ledger a BlockTree keeps as it follows blocks (extends, refusals, reorgs,
//    reorgs deeper than the undo records, forks holding an invalid block), always equal to a
//    replay of the followed chain from genesis into a fresh LedgerState;
//  - StateTree / LedgerRewound: proofs of presence and absence against the state root, and
//    the state as it was some blocks ago;
//  - HeaderChain: the client's header chain (hash, proof of work, retarget rule, links, most
//    work);
//  - CheckProven / Quorum: judging one node's proven read, and every node's answers.
// Blocks are mined here by brute force under "header-sha256d" at one leading hex zero (about
// 16 tries a block), their state roots from a model: a copy of the state after each block.
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "hashforge/hex.hpp"
#include "net/node/block_tree.hpp"
#include "net/node/header_chain.hpp"
#include "net/node/ledger_json.hpp"
#include "net/node/ledger_reads.hpp"

namespace hf::node {
namespace {

using namespace hf::node::ledger;

constexpr std::int64_t kGenesisTime = 1'700'000'000;
constexpr double kNow = 2.0e9;  // the tree's clock: after every block mined here

KeyPair key(std::uint8_t n) {
  std::array<std::uint8_t, 32> seed{};
  seed.fill(n);
  return *keypair_from_seed(seed);
}

std::string hex32(const std::array<std::uint8_t, 32>& h) { return to_hex(ByteView(h.data(), h.size())); }

// A ledger network under "header-sha256d" at one leading hex zero: a fixed target when
// `block_interval` is 0, else retargeting over `window` blocks.
ChainSpec ledger_spec(const std::vector<PublicKey>& admins, double block_interval = 0, int window = 30) {
  const std::string zeros(64, '0');
  Json list = Json::array();
  for (const auto& a : admins) list.push(Json::string(hex32(a)));
  Json genesis = Json::object({{"index", Json::integer(0)},
                               {"transactions", Json::array()},
                               {"timestamp", Json::integer(kGenesisTime)},
                               {"previous_hash", Json::string(zeros)},
                               {"nonce", Json::integer(0)},
                               {"state_root", Json::string(zeros)},
                               {"bits", Json::integer(compact_of(target_of_zeros(1)))}});
  Json spec = Json::object({{"name", Json::string("ledger-chain-test")},
                            {"scheme", Json::string("header-sha256d")},
                            {"difficulty", Json::integer(1)},
                            {"block_interval", Json::real(block_interval)},
                            {"retarget_window", Json::integer(window)},
                            {"genesis", std::move(genesis)},
                            {"ledger", Json::object({{"admins", std::move(list)}})}});
  std::string why;
  auto s = parse_spec(dump_python(spec), &why);
  EXPECT_TRUE(s) << why;
  return *s;
}

// The header's hash as Bitcoin shows it, by OpenSSL (not the engine the library uses).
std::string header_hash(const Bytes& h) {
  std::array<std::uint8_t, 32> a{}, d{};
  SHA256(h.data(), h.size(), a.data());
  SHA256(a.data(), a.size(), d.data());
  std::reverse(d.begin(), d.end());
  return hex32(d);
}

void put_nonce(Bytes& h, std::uint32_t n) {
  for (int i = 0; i < 4; ++i) h[static_cast<std::size_t>(76 + i)] = static_cast<std::uint8_t>(n >> (8 * i));
}

// Sets the block's nonce and hash: the first nonce whose hash meets the target of its bits
// and the network's.
void mine(const ChainSpec& spec, Block& b) {
  Key t;
  ASSERT_EQ(target_from_compact(b.bits, &t), "");
  Bytes h = block_header(b);
  for (std::uint32_t n = 0;; ++n) {
    put_nonce(h, n);
    std::string hex = header_hash(h);
    if (meets_target(hex, t) && meets_target(hex, spec.target)) {
      b.nonce = n;
      b.hash = std::move(hex);
      return;
    }
  }
}

Block make_block(const ChainSpec& spec, const Block& parent, const std::vector<Operation>& ops, std::int64_t time,
                 const std::string& state_root, std::uint32_t bits) {
  Block b;
  b.index = parent.index + 1;
  b.previous_hash = parent.hash;
  b.transactions = Json::array();
  for (const auto& o : ops) b.transactions.push(op_to_json(o));
  b.timestamp = Json::integer(time);
  b.state_root = state_root;
  b.bits = bits;
  mine(spec, b);
  return b;
}

Operation money(const PublicKey& to, std::uint64_t amount) {
  Operation o;
  o.kind = OpKind::create_money;
  o.to = to;
  o.amount = amount;
  return o;
}
Operation transfer(const PublicKey& to, std::uint64_t amount) {
  Operation o;
  o.kind = OpKind::transfer;
  o.to = to;
  o.amount = amount;
  return o;
}
Operation new_auction(std::string item, std::uint64_t min_bid, std::uint64_t closes_at) {
  Operation o;
  o.kind = OpKind::create_auction;
  o.item = std::move(item);
  o.amount = min_bid;
  o.closes_at = closes_at;
  return o;
}
Operation bid(const Hash& auction, std::uint64_t amount) {
  Operation o;
  o.kind = OpKind::bid;
  o.auction = auction;
  o.amount = amount;
  return o;
}
Operation on_auction(OpKind kind, const Hash& auction) {
  Operation o;
  o.kind = kind;
  o.auction = auction;
  return o;
}

// One block's operations on top of a state: each gets its account's next sequence number and
// signature, and is kept only when the state, with the operations before it, accepts it.
class OpsBuilder {
 public:
  OpsBuilder(const LedgerState& base, std::string net) : scratch_(base.rewound(0)), net_(std::move(net)) {}
  std::string add(const KeyPair& k, Operation o) {
    const Account* a = scratch_.account(k.pub);
    o.account = k.pub;
    o.seq = a ? a->next_seq : 1;
    sign_op(o, k, net_);
    std::string bad = scratch_.apply_pending(o);
    if (bad.empty()) ops.push_back(o);
    return bad;
  }
  std::uint64_t height() const { return scratch_.height() + 1; }  // the block's
  const LedgerState& state() const { return scratch_; }
  std::vector<Operation> ops;

 private:
  LedgerState scratch_;
  std::string net_;
};

// Random traffic from a few accounts: money, transfers (some too large), auctions closing
// soon, bids, closes at the closing height, cancels. What the state refuses is left out.
struct Traffic {
  KeyPair admin;
  std::vector<KeyPair> users;
  std::string net;
  std::vector<Hash> auctions;  // every auction created, on any branch

  const KeyPair* owner_of(const Auction& a) const {
    for (const auto& u : users)
      if (u.pub == a.owner) return &u;
    return nullptr;
  }

  void fill(std::mt19937& rng, OpsBuilder& b, std::size_t want) {
    for (std::size_t tries = 0; tries < want * 4 && b.ops.size() < want; ++tries) {
      const KeyPair& u = users[rng() % users.size()];
      const KeyPair& v = users[rng() % users.size()];
      const Account* ua = b.state().account(u.pub);
      const std::uint64_t free = ua ? ua->free() : 0;
      const Hash* id = auctions.empty() ? nullptr : &auctions[rng() % auctions.size()];
      const Auction* a = id ? b.state().auction(*id) : nullptr;
      switch (rng() % 8) {
        case 0: b.add(admin, money(u.pub, 1 + rng() % 200)); break;
        case 1:
        case 2:
          if (u.pub != v.pub) b.add(u, transfer(v.pub, 1 + rng() % (free + 10)));
          break;
        case 3:
          if (b.add(u, new_auction("lot " + std::to_string(rng() % 1000), 1 + rng() % 30, b.height() + 1 + rng() % 4))
                  .empty())
            auctions.push_back(op_id(b.ops.back(), net));
          break;
        case 4:
        case 5:
          if (id) b.add(u, bid(*id, (a ? std::max(a->min_bid, a->high + 1) : 1) + rng() % 25));
          break;
        case 6:
          // The owner closes it in the very block at its closing height.
          for (const auto& [aid, au] : b.state().auctions())
            if (au.status == AuctionStatus::open && au.closes_at == b.height())
              if (const KeyPair* o = owner_of(au)) {
                b.add(*o, on_auction(OpKind::close_auction, aid));
                break;
              }
          break;
        default:
          if (a)
            if (const KeyPair* o = owner_of(*a)) b.add(*o, on_auction(OpKind::cancel_auction, *id));
      }
    }
  }
};

// A ledger network's BlockTree, with the model: every block built here, the operations of each
// valid one and the state after it (a copy, built from its parent's copy).
struct LedgerNet {
  KeyPair admin = key(1);
  ChainSpec spec;
  BlockTree tree;
  AddOptions opt{.now = kNow};
  std::int64_t clock = kGenesisTime;
  std::map<std::string, Block> blocks;
  std::map<std::string, std::vector<Operation>> ops_of;  // valid blocks only
  std::map<std::string, LedgerState> states;            // valid blocks only

  explicit LedgerNet(double block_interval = 0, int window = 30)
      : spec(ledger_spec({admin.pub}, block_interval, window)), tree(spec) {
    blocks.emplace(spec.genesis.hash, spec.genesis);
    ops_of[spec.genesis.hash] = {};
    states.emplace(spec.genesis.hash, LedgerState(spec.admins, spec.id));
  }

  const std::string& tip() const { return tree.tip().block.hash; }
  OpsBuilder builder(const std::string& parent) const { return OpsBuilder(states.at(parent), spec.id); }
  std::uint32_t bits_for(const std::string& parent) const {
    const TreeEntry* p = tree.find(parent);
    EXPECT_TRUE(p) << "parent not in the tree";
    return p ? tree.expected_bits(p) : 0;
  }

  // A valid block on `parent`: its state root from the model and, on the tip, checked against
  // the tree's own ledger_root_after.
  Block valid_block(const std::string& parent, const std::vector<Operation>& ops, std::int64_t time = 0) {
    LedgerState s = states.at(parent).rewound(0);
    std::string why;
    EXPECT_TRUE(s.apply_block(ops, &why)) << why;
    const std::string root = hex32(s.state_root());
    if (parent == tip()) {
      auto r = tree.ledger_root_after(ops, &why);
      EXPECT_TRUE(r) << why;
      if (r) {
        EXPECT_EQ(hex32(*r), root);
      }
    }
    Block b = make_block(spec, blocks.at(parent), ops, time ? time : ++clock, root, bits_for(parent));
    blocks.emplace(b.hash, b);
    ops_of[b.hash] = ops;
    states.emplace(b.hash, std::move(s));
    return b;
  }
  // Any block on `parent`, outside the model (for invalid ones).
  Block raw_block(const std::string& parent, const std::vector<Operation>& ops, const std::string& state_root) {
    Block b = make_block(spec, blocks.at(parent), ops, ++clock, state_root, bits_for(parent));
    blocks.emplace(b.hash, b);
    return b;
  }
  // Every other block goes in as a node takes it: prepare() first (no lock), then add().
  AddResult add(const Block& b) { return ++adds % 2 ? tree.add(b, opt) : add_prepared(b); }
  AddResult add_prepared(const Block& b, const Block* prepared_for = nullptr) {
    PreparedBlock pre = tree.prepare(prepared_for ? *prepared_for : b, opt);
    AddOptions o = opt;
    o.prepared = &pre;
    return tree.add(b, o);
  }
  std::uint64_t adds = 0;
  // Adds a valid block with `ops` on the tip, expecting it to extend the chain.
  std::string extend(const std::vector<Operation>& ops) {
    Block b = valid_block(tip(), ops);
    AddResult r = add(b);
    EXPECT_EQ(r.outcome, AddOutcome::extended) << r.reason;
    return b.hash;
  }
  std::string extend(OpsBuilder& b) { return extend(b.ops); }

  // The followed chain replayed from genesis into a fresh state, signatures checked.
  LedgerState replay_main() const {
    LedgerState s(spec.admins, spec.id);
    const auto& chain = tree.main_chain();
    for (std::size_t h = 1; h < chain.size(); ++h) {
      auto it = ops_of.find(chain[h]->block.hash);
      if (it == ops_of.end()) {
        ADD_FAILURE() << "block " << h << " of the followed chain is not a valid block of the model";
        break;
      }
      std::string why;
      EXPECT_TRUE(s.apply_block(it->second, &why)) << "block " << h << ": " << why;
    }
    return s;
  }
  void expect_ledger_is_replay(const std::string& where) const {
    ASSERT_TRUE(tree.ledger());
    const LedgerState r = replay_main();
    EXPECT_TRUE(*tree.ledger() == r) << where;
    EXPECT_EQ(tree.ledger()->state_root(), r.state_root()) << where;
    EXPECT_EQ(static_cast<std::int64_t>(tree.ledger()->height()), tree.tip().block.index) << where;
    EXPECT_EQ(hex32(r.state_root()), tree.tip().block.state_root) << where;
  }
  std::uint64_t balance(const KeyPair& k) const {
    const Account* a = tree.ledger()->account(k.pub);
    return a ? a->balance : 0;
  }
  std::uint64_t free(const KeyPair& k) const {
    const Account* a = tree.ledger()->account(k.pub);
    return a ? a->free() : 0;
  }
};

bool has(const std::string& text, const std::string& word) { return text.find(word) != std::string::npos; }

// ---- LedgerChain: the ledger a BlockTree follows ----

TEST(LedgerChain, ExtendingAppliesTheBlocksOperations) {
  LedgerNet net;
  const KeyPair alice = key(2), bob = key(3);
  OpsBuilder b1 = net.builder(net.tip());
  ASSERT_EQ(b1.add(net.admin, money(alice.pub, 1000)), "");
  ASSERT_EQ(b1.add(net.admin, money(bob.pub, 500)), "");
  net.extend(b1);
  EXPECT_EQ(net.balance(alice), 1000u);
  EXPECT_EQ(net.balance(bob), 500u);

  OpsBuilder b2 = net.builder(net.tip());
  ASSERT_EQ(b2.add(alice, transfer(bob.pub, 300)), "");
  ASSERT_EQ(b2.add(alice, new_auction("a clock", 10, 5)), "");
  const Hash id = op_id(b2.ops.back(), net.spec.id);
  ASSERT_EQ(b2.add(bob, bid(id, 200)), "");
  const std::string h2 = net.extend(b2);
  EXPECT_EQ(net.balance(alice), 700u);
  EXPECT_EQ(net.balance(bob), 800u);
  EXPECT_EQ(net.free(bob), 600u);
  ASSERT_TRUE(net.tree.ledger()->auction(id));
  EXPECT_EQ(net.tree.ledger()->auction(id)->high, 200u);
  EXPECT_EQ(net.tree.ledger()->height(), 2u);
  EXPECT_EQ(hex32(net.tree.ledger()->state_root()), net.tree.find(h2)->block.state_root);
  EXPECT_EQ(net.tree.confirmed_height(hex32(op_id(b2.ops[0], net.spec.id))), 2);

  // Up to the closing height: the auction settles by itself at the end of block 5.
  net.extend({});
  net.extend({});
  net.extend({});
  EXPECT_EQ(net.tree.ledger()->auction(id)->status, AuctionStatus::closed);
  EXPECT_EQ(net.balance(alice), 900u);
  EXPECT_EQ(net.balance(bob), 600u);
  EXPECT_EQ(net.free(bob), 600u);
  net.expect_ledger_is_replay("after the close");
}

TEST(LedgerChain, WhatWasPreparedForAnotherBlockIsNotUsed) {
  LedgerNet net;
  const KeyPair alice = key(2), bob = key(3);
  OpsBuilder b1 = net.builder(net.tip());
  ASSERT_EQ(b1.add(net.admin, money(alice.pub, 100)), "");
  const Block good = net.valid_block(net.tip(), b1.ops);
  // Prepared for a block with a forged operation, handed in with a good one: the good
  // block's own operations count, and the forgery never reaches the tree.
  Operation forged = b1.ops[0];
  forged.amount = 1000;
  const std::string tip = net.tip();
  const Block bad = net.raw_block(tip, {forged}, good.state_root);
  AddResult r = net.add_prepared(good, &bad);
  EXPECT_EQ(r.outcome, AddOutcome::extended) << r.reason;
  EXPECT_EQ(net.balance(alice), 100u);
  // And the other way round: a good block's preparation does not carry a forged block.
  OpsBuilder b2 = net.builder(net.tip());
  ASSERT_EQ(b2.add(alice, transfer(bob.pub, 10)), "");
  const Block next = net.valid_block(net.tip(), b2.ops);
  Operation stolen = b2.ops[0];
  stolen.amount = 90;
  const Block theft = net.raw_block(net.tip(), {stolen}, next.state_root);
  r = net.add_prepared(theft, &next);
  EXPECT_EQ(r.outcome, AddOutcome::invalid);
  EXPECT_TRUE(has(r.reason, "bad signature")) << r.reason;
  EXPECT_EQ(net.balance(alice), 100u);
  net.expect_ledger_is_replay("after the mismatched preparations");
}

TEST(LedgerChain, WrongStateRootIsInvalidAndChangesNothing) {
  LedgerNet net;
  const KeyPair alice = key(2), bob = key(3);
  OpsBuilder b1 = net.builder(net.tip());
  b1.add(net.admin, money(alice.pub, 1000));
  net.extend(b1);
  const LedgerState before = net.tree.ledger()->rewound(0);
  const std::string tip = net.tip();

  OpsBuilder b2 = net.builder(tip);
  ASSERT_EQ(b2.add(alice, transfer(bob.pub, 10)), "");
  // The root of the parent's state, and the right root with one digit changed.
  for (std::string root : {hex32(before.state_root()), std::string()}) {
    if (root.empty()) {
      std::string why;
      root = hex32(*net.tree.ledger_root_after(b2.ops, &why));
      root[63] = root[63] == '0' ? '1' : '0';
    }
    const Block bad = net.raw_block(tip, b2.ops, root);
    AddResult r = net.add(bad);
    EXPECT_EQ(r.outcome, AddOutcome::invalid);
    EXPECT_TRUE(has(r.reason, "state root")) << r.reason;
    EXPECT_EQ(net.tip(), tip);
    EXPECT_TRUE(*net.tree.ledger() == before);
    EXPECT_EQ(net.tree.ledger()->state_root(), before.state_root());
    EXPECT_EQ(net.add(bad).outcome, AddOutcome::invalid);  // remembered as invalid
  }
  // The same operations under the right root still extend the chain.
  net.extend(b2);
  EXPECT_EQ(net.balance(bob), 10u);
  net.expect_ledger_is_replay("after the good block");
}

TEST(LedgerChain, BadSignatureOverdraftAndReplayedSequenceAreInvalid) {
  LedgerNet net;
  const KeyPair alice = key(2), bob = key(3), carol = key(4);
  OpsBuilder b1 = net.builder(net.tip());
  b1.add(net.admin, money(alice.pub, 100));
  net.extend(b1);
  OpsBuilder b2 = net.builder(net.tip());
  ASSERT_EQ(b2.add(alice, transfer(bob.pub, 10)), "");
  const Operation paid = b2.ops[0];
  net.extend(b2);
  const LedgerState before = net.tree.ledger()->rewound(0);
  const std::string tip = net.tip();

  auto refused = [&](const std::vector<Operation>& ops, const std::string& word) {
    std::string why;
    auto root = net.tree.ledger_root_after(ops, &why);  // signatures unchecked: a root when only they fail
    // Both ways in, each with a block of its own: add() alone, and prepare() then add().
    for (const bool prepared : {false, true}) {
      const Block b = net.raw_block(tip, ops, root ? hex32(*root) : hex32(before.state_root()));
      AddResult r = prepared ? net.add_prepared(b) : net.tree.add(b, net.opt);
      const std::string how = word + (prepared ? " (prepared)" : "");
      EXPECT_EQ(r.outcome, AddOutcome::invalid) << how;
      EXPECT_TRUE(has(r.reason, word)) << r.reason << " / " << how;
      EXPECT_EQ(net.tip(), tip) << how;
      EXPECT_TRUE(*net.tree.ledger() == before) << how;
      EXPECT_EQ(net.tree.ledger()->state_root(), before.state_root()) << how;
    }
  };

  auto signed_by = [&](const KeyPair& k, Operation o, std::uint64_t seq) {
    o.account = k.pub;
    o.seq = seq;
    sign_op(o, k, net.spec.id);
    return o;
  };
  // A signature that does not match: a flipped bit, a field changed after signing, another key.
  Operation t = signed_by(alice, transfer(carol.pub, 5), 2);
  Operation flipped = t;
  flipped.sig[7] ^= 0x10;
  refused({flipped}, "bad signature");
  Operation changed = t;
  changed.amount = 6;
  refused({changed}, "bad signature");
  Operation other = signed_by(bob, transfer(carol.pub, 5), 2);
  other.account = alice.pub;
  refused({other}, "bad signature");
  // A good operation first does not save the block.
  Operation later = signed_by(alice, transfer(carol.pub, 2), 4);
  later.sig[0] ^= 1;
  refused({t, signed_by(alice, transfer(carol.pub, 1), 3), later}, "bad signature");
  // Overdrafts: a transfer beyond the free balance, a bid beyond it, money from a non-admin.
  refused({signed_by(alice, transfer(carol.pub, 91), 2)}, "insufficient");
  refused({signed_by(alice, transfer(carol.pub, 50), 2), signed_by(alice, transfer(bob.pub, 41), 3)}, "insufficient");
  refused({signed_by(alice, money(alice.pub, 1), 2)}, "administrator");
  // Replays: an operation already on the chain, another one under a spent sequence number, one
  // from the future.
  refused({paid}, "already on this chain");
  refused({signed_by(alice, transfer(carol.pub, 3), 1)}, "replayed");
  refused({signed_by(alice, transfer(carol.pub, 3), 3)}, "out of order");
  // The same operation twice in one block.
  refused({t, t}, "twice");

  // None of it changed anything: the next good block applies on the old state.
  OpsBuilder b3 = net.builder(tip);
  ASSERT_EQ(b3.add(alice, transfer(carol.pub, 5)), "");
  net.extend(b3);
  EXPECT_EQ(net.balance(alice), 85u);
  net.expect_ledger_is_replay("after the refusals");
}

TEST(LedgerChain, ReorgToAHeavierForkEqualsAReplayOfTheWinningChain) {
  LedgerNet net;
  const KeyPair alice = key(2), bob = key(3), carol = key(4);
  OpsBuilder b1 = net.builder(net.tip());
  b1.add(net.admin, money(alice.pub, 1000));
  b1.add(net.admin, money(bob.pub, 1000));
  const std::string fork = net.extend(b1);

  // The followed chain: alice pays bob, then opens an auction bob bids on.
  OpsBuilder a2 = net.builder(fork);
  ASSERT_EQ(a2.add(alice, transfer(bob.pub, 100)), "");
  net.extend(a2);
  OpsBuilder a3 = net.builder(net.tip());
  ASSERT_EQ(a3.add(alice, new_auction("a map", 5, 20)), "");
  const Hash id = op_id(a3.ops[0], net.spec.id);
  ASSERT_EQ(a3.add(bob, bid(id, 300)), "");
  net.extend(a3);
  const std::string old_tip = net.tip();
  EXPECT_EQ(net.free(bob), 800u);

  // A fork from block 1: alice pays carol instead, over three blocks.
  std::string parent = fork;
  std::vector<AddOutcome> outcomes;
  for (int i = 0; i < 3; ++i) {
    OpsBuilder f = net.builder(parent);
    ASSERT_EQ(f.add(alice, transfer(carol.pub, 50 + static_cast<std::uint64_t>(i))), "");
    if (i == 1) {
      ASSERT_EQ(f.add(carol, transfer(bob.pub, 20)), "");
    }
    const Block b = net.valid_block(parent, f.ops);
    AddResult r = net.add(b);
    outcomes.push_back(r.outcome);
    if (i == 2) {
      EXPECT_EQ(r.disconnected.size(), 2u);
      EXPECT_EQ(r.connected.size(), 3u);
      EXPECT_EQ(r.returned.size(), 3u);  // a2's and a3's operations, for the pending pool
    }
    parent = b.hash;
  }
  EXPECT_EQ(outcomes, (std::vector<AddOutcome>{AddOutcome::side, AddOutcome::side, AddOutcome::reorg}));
  EXPECT_EQ(net.tip(), parent);
  net.expect_ledger_is_replay("after the reorg");
  EXPECT_TRUE(*net.tree.ledger() == net.states.at(parent));
  EXPECT_EQ(net.tree.ledger()->auction(id), nullptr);  // the auction was on the losing branch
  EXPECT_EQ(net.balance(alice), 1000u - 153u);
  EXPECT_EQ(net.balance(carol), 153u - 20u);
  EXPECT_EQ(net.balance(bob), 1020u);
  EXPECT_EQ(net.free(bob), 1020u);

  // And back: the old branch grows heavier again.
  parent = old_tip;
  for (int i = 0; i < 2; ++i) {
    const Block b = net.valid_block(parent, {});
    AddResult r = net.add(b);
    EXPECT_EQ(r.outcome, i == 0 ? AddOutcome::side : AddOutcome::reorg) << r.reason;
    parent = b.hash;
  }
  EXPECT_EQ(net.tip(), parent);
  net.expect_ledger_is_replay("after the reorg back");
  EXPECT_EQ(net.free(bob), 800u);
}

// A few hundred random operations over random forks: after every block the tree's ledger
// is a replay of its followed chain, and the model's state at the expected tip.
TEST(LedgerChain, RandomOperationsOverRandomForksMatchAReplayFromGenesis) {
  LedgerNet net;
  std::mt19937 rng(16);
  Traffic traffic{net.admin, {}, net.spec.id, {}};
  for (std::uint8_t i = 2; i < 8; ++i) traffic.users.push_back(key(i));
  std::vector<std::string> valid{net.tip()};
  std::string racing;  // the tip of a branch grown to overtake the chain, while there is one
  std::string expected_tip = net.tip();
  std::size_t ops = 0, reorgs = 0, sides = 0, invalid = 0, deepest_reorg = 0;
  for (int step = 0; step < 200; ++step) {
    const std::int64_t tip_height = net.tree.tip().block.index;
    const std::string old_tip = net.tip();
    // The parent: the tip; the branch of a race (started a few blocks below the tip and grown
    // until it overtakes the chain); or any block a few below the tip (a side block).
    const unsigned pick = rng() % 8;
    if (racing.empty() && pick <= 1) {
      std::vector<std::string> bases;
      for (const auto& h : valid)
        if (net.blocks.at(h).index + 3 >= tip_height && h != net.tip()) bases.push_back(h);
      if (!bases.empty()) racing = bases[rng() % bases.size()];
    }
    std::string parent = net.tip();
    if (!racing.empty() && pick < 5) {
      parent = racing;
    } else if (pick >= 6) {
      std::vector<std::string> near;
      for (const auto& h : valid)
        if (net.blocks.at(h).index + 5 >= tip_height) near.push_back(h);
      parent = near[rng() % near.size()];
    }
    OpsBuilder b = net.builder(parent);
    traffic.fill(rng, b, rng() % 5);
    const std::int64_t height = net.blocks.at(parent).index + 1;
    if (rng() % 12 == 0 && !b.ops.empty()) {
      // Good operations under a wrong root: refused when tried, never built on.
      const Block bad = net.raw_block(parent, b.ops, hex32(net.states.at(parent).state_root()));
      AddResult r = net.add(bad);
      EXPECT_EQ(r.outcome, height > tip_height ? AddOutcome::invalid : AddOutcome::side) << "step " << step;
      ++invalid;
      if (parent == racing) racing.clear();
    } else {
      const Block good = net.valid_block(parent, b.ops);
      AddResult r = net.add(good);
      ASSERT_TRUE(r.accepted()) << "step " << step << ": " << r.reason;
      if (height > net.blocks.at(expected_tip).index) expected_tip = good.hash;
      const AddOutcome want = height <= tip_height      ? AddOutcome::side
                              : parent == old_tip ? AddOutcome::extended
                                                  : AddOutcome::reorg;
      EXPECT_EQ(r.outcome, want) << "step " << step;
      if (r.outcome == AddOutcome::reorg) {
        ++reorgs;
        deepest_reorg = std::max(deepest_reorg, r.disconnected.size());
      }
      if (r.outcome == AddOutcome::side) ++sides;
      ops += b.ops.size();
      valid.push_back(good.hash);
      if (parent == racing) racing = r.outcome == AddOutcome::side ? good.hash : std::string();
    }
    ASSERT_EQ(net.tip(), expected_tip) << "step " << step;
    net.expect_ledger_is_replay("step " + std::to_string(step));
    EXPECT_TRUE(*net.tree.ledger() == net.states.at(expected_tip)) << "step " << step;
    if (HasFailure()) break;
  }
  // The walk did what it is for.
  EXPECT_GE(ops, 250u);
  EXPECT_GE(reorgs, 10u);
  EXPECT_GE(deepest_reorg, 3u);
  EXPECT_GE(sides, 10u);
  EXPECT_GE(invalid, 3u);
  std::size_t settled = 0;
  for (const auto& [id, a] : net.tree.ledger()->auctions())
    if (a.status != AuctionStatus::open) ++settled;
  EXPECT_GE(settled, 3u);
}

// The tree keeps 100 undo records: a reorg of 101 blocks replays from genesis instead.
TEST(LedgerChain, ReorgDeeperThanTheUndoRecordsEqualsAReplay) {
  LedgerNet net;
  const KeyPair alice = key(2), bob = key(3), carol = key(4);
  OpsBuilder b1 = net.builder(net.tip());
  b1.add(net.admin, money(alice.pub, 10'000));
  b1.add(net.admin, money(bob.pub, 10'000));
  const std::string fork = net.extend(b1);
  for (int i = 0; i < 101; ++i) {
    OpsBuilder b = net.builder(net.tip());
    ASSERT_EQ(b.add(alice, transfer(bob.pub, 1)), "");
    net.extend(b);
  }
  ASSERT_EQ(net.tree.tip().block.index, 102);
  EXPECT_EQ(net.tree.ledger()->kept_undo(), 100u);
  std::string parent = fork;
  for (int i = 0; i < 102; ++i) {
    OpsBuilder b = net.builder(parent);
    if (i % 3 == 0) {
      ASSERT_EQ(b.add(bob, transfer(carol.pub, 2)), "");
    }
    const Block blk = net.valid_block(parent, b.ops);
    AddResult r = net.add(blk);
    ASSERT_EQ(r.outcome, i < 101 ? AddOutcome::side : AddOutcome::reorg) << i << ": " << r.reason;
    if (i == 101) {
      EXPECT_EQ(r.disconnected.size(), 101u);
      EXPECT_EQ(r.connected.size(), 102u);
    }
    parent = blk.hash;
  }
  EXPECT_EQ(net.tip(), parent);
  net.expect_ledger_is_replay("after the deep reorg");
  EXPECT_TRUE(*net.tree.ledger() == net.states.at(parent));
  EXPECT_EQ(net.balance(alice), 10'000u);
  EXPECT_EQ(net.balance(carol), 68u);
  // Shallow reorgs still work on the rebuilt state.
  const std::string below = net.blocks.at(net.tip()).previous_hash;
  parent = below;
  for (int i = 0; i < 2; ++i) {
    OpsBuilder b = net.builder(parent);
    ASSERT_EQ(b.add(alice, transfer(carol.pub, 7)), "");
    const Block blk = net.valid_block(parent, b.ops);
    EXPECT_EQ(net.add(blk).outcome, i == 0 ? AddOutcome::side : AddOutcome::reorg);
    parent = blk.hash;
  }
  net.expect_ledger_is_replay("after a shallow reorg");
  EXPECT_EQ(net.balance(carol), 82u);
}

// A fork that holds an invalid block: trying it leaves the followed chain and its state as
// they were, and the bad block and everything above it are refused from then on.
TEST(LedgerChain, ForkHoldingAnInvalidBlockIsRefusedAndTheChainKept) {
  LedgerNet net;
  const KeyPair alice = key(2), bob = key(3), carol = key(4);
  OpsBuilder b1 = net.builder(net.tip());
  b1.add(net.admin, money(alice.pub, 100));
  const std::string fork = net.extend(b1);
  OpsBuilder a2 = net.builder(fork);
  a2.add(alice, transfer(bob.pub, 30));
  net.extend(a2);
  net.extend({});
  const std::string tip = net.tip();
  const LedgerState before = net.tree.ledger()->rewound(0);

  // f2 good, f3 overdraws, f4 on it makes the fork heavier.
  OpsBuilder f2ops = net.builder(fork);
  ASSERT_EQ(f2ops.add(alice, transfer(carol.pub, 60)), "");
  const Block f2 = net.valid_block(fork, f2ops.ops);
  EXPECT_EQ(net.add(f2).outcome, AddOutcome::side);
  Operation over = transfer(bob.pub, 41);
  over.account = alice.pub;
  over.seq = 2;
  sign_op(over, alice, net.spec.id);
  const Block f3 = net.raw_block(f2.hash, {over}, hex32(net.states.at(f2.hash).state_root()));
  EXPECT_EQ(net.add(f3).outcome, AddOutcome::side);  // not tried yet: no heavier than the chain
  const Block f4 = net.raw_block(f3.hash, {}, f3.state_root);
  AddResult r = net.add(f4);
  EXPECT_EQ(r.outcome, AddOutcome::invalid);
  EXPECT_TRUE(has(r.reason, "insufficient")) << r.reason;
  EXPECT_TRUE(has(r.reason, f3.hash.substr(0, 16))) << r.reason;  // names the failing block
  EXPECT_EQ(net.tip(), tip);
  EXPECT_TRUE(*net.tree.ledger() == before);
  EXPECT_EQ(net.tree.ledger()->state_root(), before.state_root());
  net.expect_ledger_is_replay("after the failed reorg");

  // The bad block and its child are known invalid; anything on them is refused.
  EXPECT_EQ(net.add(f3).outcome, AddOutcome::invalid);
  EXPECT_EQ(net.add(f4).outcome, AddOutcome::invalid);
  for (const std::string& p : {f3.hash, f4.hash}) {
    const Block child = net.raw_block(p, {}, f3.state_root);
    AddResult c = net.add(child);
    EXPECT_EQ(c.outcome, AddOutcome::invalid);
    EXPECT_TRUE(has(c.reason, "builds on an invalid block")) << c.reason;
  }
  EXPECT_TRUE(*net.tree.ledger() == before);

  // f2 itself was good: a valid branch on it still wins.
  std::string parent = f2.hash;
  for (int i = 0; i < 2; ++i) {
    const Block b = net.valid_block(parent, {});
    EXPECT_EQ(net.add(b).outcome, i == 0 ? AddOutcome::side : AddOutcome::reorg);
    parent = b.hash;
  }
  EXPECT_EQ(net.tip(), parent);
  net.expect_ledger_is_replay("after the good branch");
  EXPECT_EQ(net.balance(carol), 60u);
}

// The same across more than the 100 undo records, with the bad block last (beyond the records
// kept while the fork was applied) and in the middle.
TEST(LedgerChain, DeepForkHoldingAnInvalidBlockRestoresTheChain) {
  for (const int bad_at : {101, 50}) {
    SCOPED_TRACE("bad block at fork position " + std::to_string(bad_at));
    LedgerNet net;
    const KeyPair alice = key(2), bob = key(3);
    OpsBuilder b1 = net.builder(net.tip());
    b1.add(net.admin, money(alice.pub, 1000));
    const std::string fork = net.extend(b1);
    for (int i = 0; i < 101; ++i) {
      OpsBuilder b = net.builder(net.tip());
      if (i % 2 == 0) {
        ASSERT_EQ(b.add(alice, transfer(bob.pub, 1)), "");
      }
      net.extend(b);
    }
    const std::string tip = net.tip();
    const LedgerState before = net.tree.ledger()->rewound(0);
    std::string parent = fork;
    AddResult last;
    for (int i = 0; i <= 101; ++i) {  // the last makes the fork heavier than the chain
      Block b;
      if (i < bad_at) {
        b = net.valid_block(parent, {});
      } else if (i == bad_at) {
        OpsBuilder ok = net.builder(parent);
        ASSERT_EQ(ok.add(alice, transfer(bob.pub, 500)), "");
        b = net.raw_block(parent, ok.ops, std::string(64, 'e'));  // good operation, wrong root
      } else {
        b = net.raw_block(parent, {}, std::string(64, 'e'));
      }
      last = net.add(b);
      parent = b.hash;
    }
    EXPECT_EQ(last.outcome, AddOutcome::invalid) << last.reason;
    EXPECT_TRUE(has(last.reason, "state root")) << last.reason;
    EXPECT_EQ(net.tip(), tip);
    EXPECT_TRUE(*net.tree.ledger() == before);
    EXPECT_EQ(net.tree.ledger()->state_root(), before.state_root());
    net.expect_ledger_is_replay("after the failed deep reorg");
    const Block child = net.raw_block(parent, {}, std::string(64, 'e'));
    EXPECT_TRUE(has(net.add(child).reason, "builds on an invalid block"));
    // The chain goes on from its state.
    OpsBuilder more = net.builder(net.tip());
    ASSERT_EQ(more.add(alice, transfer(bob.pub, 5)), "");
    net.extend(more);
    net.expect_ledger_is_replay("after extending again");
  }
}

// ---- StateTree: proofs against the state root ----

std::string random_bytes(std::mt19937& rng, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

std::vector<StateEntry> random_entries(std::mt19937& rng, std::size_t n) {
  std::map<std::string, std::string> m;
  while (m.size() < n) m[random_bytes(rng, 1 + rng() % 12)] = random_bytes(rng, rng() % 40);
  std::vector<StateEntry> out;
  for (auto& [k, v] : m) out.push_back({k, v});
  return out;
}

void flip_bit(std::mt19937& rng, std::string& s) {
  if (s.empty()) {
    s.push_back('\x01');
    return;
  }
  s[rng() % s.size()] ^= static_cast<char>(1 << (rng() % 8));
}

TEST(StateTree, EveryPresentKeyProvesAgainstTheRoot) {
  std::mt19937 rng(7);
  for (int round = 0; round < 60; ++round) {
    const auto entries = random_entries(rng, round < 20 ? static_cast<std::size_t>(round) : 1 + rng() % 150);
    const StateTree t(entries);
    ASSERT_EQ(t.size(), entries.size());
    EXPECT_EQ(t.root() == Hash{}, entries.empty());
    for (std::size_t i = 0; i < entries.size(); ++i) {
      auto p = t.prove(entries[i].key);
      ASSERT_TRUE(p);
      EXPECT_EQ(p->entry.value, entries[i].value);
      EXPECT_EQ(p->index, i);
      EXPECT_EQ(p->count, entries.size());
      EXPECT_TRUE(verify_proof(*p, t.root())) << "round " << round << " entry " << i;
      // Through JSON, as a client reads it.
      std::string why;
      auto back = proof_from_json(*parse_json(dump_python(proof_to_json(*p))).value, &why);
      ASSERT_TRUE(back) << why;
      EXPECT_TRUE(verify_proof(*back, t.root()));
      EXPECT_FALSE(t.prove_absent(entries[i].key));
    }
  }
  // A real ledger's state: its root is its tree's, and every entry proves.
  LedgerNet net;
  std::mt19937 r2(3);
  Traffic traffic{net.admin, {key(2), key(3), key(4), key(5)}, net.spec.id, {}};
  for (int b = 0; b < 12; ++b) {
    OpsBuilder ob = net.builder(net.tip());
    traffic.fill(r2, ob, 6);
    net.extend(ob);
  }
  const LedgerState& s = *net.tree.ledger();
  const Hash root = s.state_root();
  EXPECT_EQ(root, s.tree().root());
  for (const KeyPair& u : traffic.users)
    if (s.account(u.pub)) {
      auto p = s.prove_account(u.pub);
      ASSERT_TRUE(p);
      EXPECT_TRUE(verify_proof(*p, root));
      EXPECT_EQ(p->entry.key, account_key(u.pub));
      EXPECT_EQ(decode_account(p->entry.value), *s.account(u.pub));
    }
  ASSERT_FALSE(s.auctions().empty());
  for (const auto& [id, a] : s.auctions()) {
    auto p = s.prove_auction(id);
    ASSERT_TRUE(p);
    EXPECT_TRUE(verify_proof(*p, root));
    EXPECT_EQ(decode_auction(p->entry.value), a);
    for (const auto& [bidder, held] : s.escrows_of(id)) {
      auto e = s.prove_escrow(id, bidder);
      ASSERT_TRUE(e);
      EXPECT_TRUE(verify_proof(*e, root));
      EXPECT_EQ(decode_escrow(e->entry.value), held);
    }
  }
}

TEST(StateTree, TamperedProofsFail) {
  std::mt19937 rng(11);
  std::size_t checked = 0;
  for (int round = 0; round < 40; ++round) {
    const auto entries = random_entries(rng, 1 + rng() % 100);
    const StateTree t(entries);
    const Hash root = t.root();
    for (const auto& e : entries) {
      const StateProof p = *t.prove(e.key);
      StateProof q = p;
      flip_bit(rng, q.entry.value);
      EXPECT_FALSE(verify_proof(q, root));
      q = p;
      q.entry.value += '\0';
      EXPECT_FALSE(verify_proof(q, root));
      q = p;
      flip_bit(rng, q.entry.key);
      EXPECT_FALSE(verify_proof(q, root));
      // Bytes moved between key and value (the key's length is hashed).
      if (!p.entry.key.empty()) {
        q = p;
        q.entry.value.insert(q.entry.value.begin(), q.entry.key.back());
        q.entry.key.pop_back();
        EXPECT_FALSE(verify_proof(q, root));
      }
      for (std::size_t i = 0; i < p.path.size(); ++i) {
        q = p;
        q.path[i][rng() % 32] ^= static_cast<std::uint8_t>(1 << (rng() % 8));
        EXPECT_FALSE(verify_proof(q, root));
      }
      if (!p.path.empty()) {
        q = p;
        q.path.pop_back();
        EXPECT_FALSE(verify_proof(q, root));
      }
      q = p;
      q.path.push_back(Hash{});
      EXPECT_FALSE(verify_proof(q, root));
      for (int bit = 0; bit < 64; ++bit) {
        q = p;
        q.index ^= std::uint64_t{1} << bit;
        EXPECT_FALSE(verify_proof(q, root)) << "index bit " << bit << " of " << p.index << "/" << p.count;
      }
      // Counts that put the leaf elsewhere: none, not past the index, twice as many levels up.
      for (std::uint64_t c : {std::uint64_t{0}, p.index, p.count * 4 + 3}) {
        q = p;
        q.count = c;
        EXPECT_FALSE(verify_proof(q, root)) << "count " << c << " for " << p.index << "/" << p.count;
      }
      q = p;
      Hash other = root;
      other[31] ^= 1;
      EXPECT_FALSE(verify_proof(q, other));
      ++checked;
    }
  }
  EXPECT_GT(checked, 1000u);
}

// The leaf count is not committed by the root: a count whose tree puts the leaf at the same
// place along the same path verifies too (found here: n = 6, index 0, count 7). A membership
// proof needs no more (the entry is in the state either way); an absence proof leans on
// indices and the count, so every (index, count) a real path verifies under is tried: no two
// leaves that are not neighbours pass as neighbours, no inner leaf passes as the first or the
// last.
TEST(StateTree, LeafCountIsNotCommittedButAbsenceProofsHold) {
  {
    std::vector<StateEntry> six;
    for (char c = 'a'; c < 'g'; ++c) six.push_back({std::string(1, c), "v"});
    const StateTree t(six);
    StateProof p = *t.prove("a");
    p.count = 7;
    EXPECT_TRUE(verify_proof(p, t.root()));
  }
  for (std::uint64_t n = 1; n <= 20; ++n) {
    std::vector<StateEntry> es;
    for (std::uint64_t i = 0; i < n; ++i) es.push_back({std::string(1, static_cast<char>('A' + 2 * i)), "v"});
    const StateTree t(es);
    std::vector<std::vector<std::pair<std::uint64_t, std::uint64_t>>> as(n);  // real leaf -> (index, count) it passes as
    for (std::uint64_t r = 0; r < n; ++r) {
      StateProof p = *t.prove(es[r].key);
      for (std::uint64_t c = 1; c <= 2 * n + 2; ++c)
        for (std::uint64_t i = 0; i < c; ++i) {
          p.index = i;
          p.count = c;
          if (verify_proof(p, t.root())) as[r].push_back({i, c});
        }
    }
    for (std::uint64_t r = 0; r < n; ++r)
      for (auto [i, c] : as[r]) {
        EXPECT_FALSE(i + 1 == c && r + 1 != n) << "n " << n << ": leaf " << r << " passes as the last";
        EXPECT_FALSE(i == 0 && r != 0) << "n " << n << ": leaf " << r << " passes as the first";
        for (std::uint64_t r2 = r + 2; r2 < n; ++r2)
          for (auto [i2, c2] : as[r2])
            EXPECT_FALSE(c2 == c && i2 == i + 1) << "n " << n << ": leaves " << r << " and " << r2 << " pass as neighbours";
      }
  }
}

TEST(StateTree, AbsenceProofsHoldForAbsentKeysOnly) {
  std::mt19937 rng(5);
  auto holds = [](const StateTree& t, const std::string& key) {
    auto a = t.prove_absent(key);
    if (!a) return false;
    std::string why;
    auto back = absence_from_json(*parse_json(dump_python(absence_to_json(*a))).value, &why);
    EXPECT_TRUE(back) << why;
    return verify_absence(*a, key, t.root()) && back && verify_absence(*back, key, t.root());
  };
  // The empty tree.
  const StateTree empty({});
  EXPECT_TRUE(holds(empty, "anything"));
  EXPECT_FALSE(empty.prove_absent("x")->below);
  std::size_t between = 0;
  for (int round = 0; round < 40; ++round) {
    const auto es = random_entries(rng, 1 + rng() % 60);
    const StateTree t(es);
    const Hash root = t.root();
    EXPECT_TRUE(holds(t, "")) << "before the first";
    EXPECT_TRUE(holds(t, es.back().key + '\0')) << "after the last";
    EXPECT_TRUE(holds(t, es.back().key + "\xff\xff")) << "after the last";
    for (std::size_t i = 0; i + 1 < es.size(); ++i) {
      const std::string mid = es[i].key + '\0';
      if (mid == es[i + 1].key) continue;
      EXPECT_TRUE(holds(t, mid)) << "between " << i << " and " << i + 1;
      ++between;
    }
    // Present keys: no absence proof, and none made from their neighbours.
    for (std::size_t i = 0; i < es.size(); ++i) {
      const std::string& k = es[i].key;
      EXPECT_FALSE(t.prove_absent(k));
      AbsenceProof fake;
      fake.count = es.size();
      if (i > 0) fake.below = t.prove(es[i - 1].key);
      if (i + 1 < es.size()) fake.above = t.prove(es[i + 1].key);
      EXPECT_FALSE(verify_absence(fake, k, root)) << "skipping the key";
      AbsenceProof self = fake;
      self.above = t.prove(k);
      EXPECT_FALSE(verify_absence(self, k, root)) << "the key as its own neighbour";
      self = fake;
      self.below = t.prove(k);
      self.above.reset();
      if (i + 1 < es.size()) self.above = t.prove(es[i + 1].key);
      EXPECT_FALSE(verify_absence(self, k, root)) << "the key as its own neighbour";
      AbsenceProof one = fake;
      one.above.reset();
      if (one.below) {
        EXPECT_FALSE(verify_absence(one, k, root)) << "only the one below";
      }
      one = fake;
      one.below.reset();
      if (one.above) {
        EXPECT_FALSE(verify_absence(one, k, root)) << "only the one above";
      }
    }
    // Absent keys with neighbours that are not adjacent, or with a side dropped.
    if (es.size() >= 3) {
      const std::string mid = es[0].key + '\0';
      if (mid != es[1].key) {
        AbsenceProof a = *t.prove_absent(mid);
        a.above = t.prove(es[2].key);
        EXPECT_FALSE(verify_absence(a, mid, root)) << "neighbours not adjacent";
        a = *t.prove_absent(mid);
        a.above.reset();
        EXPECT_FALSE(verify_absence(a, mid, root)) << "the one above dropped";
        a = *t.prove_absent(mid);
        a.below.reset();
        EXPECT_FALSE(verify_absence(a, mid, root)) << "the one below dropped";
        a = *t.prove_absent(mid);
        a.count += 1;
        EXPECT_FALSE(verify_absence(a, mid, root)) << "count unlike the leaves'";
        a = *t.prove_absent(mid);
        a.count = 0;
        a.below.reset();
        a.above.reset();
        EXPECT_FALSE(verify_absence(a, mid, root)) << "an empty tree claimed";
        a = *t.prove_absent(mid);
        flip_bit(rng, a.below->entry.value);
        EXPECT_FALSE(verify_absence(a, mid, root)) << "a neighbour's value changed";
        a = *t.prove_absent(mid);
        Hash other = root;
        other[0] ^= 0x80;
        EXPECT_FALSE(verify_absence(a, mid, other)) << "another root";
      }
    }
    // The absence of one key is not the absence of another.
    const auto a = t.prove_absent("");
    EXPECT_FALSE(verify_absence(*a, es.back().key + '\0', root) && es.size() > 0);
  }
  EXPECT_GT(between, 200u);
}

TEST(LedgerRewound, EqualsTheStateThatManyBlocksAgo) {
  const KeyPair admin = key(1);
  const std::string net = "rewound-test";
  LedgerState s({admin.pub}, net);
  Traffic traffic{admin, {key(2), key(3), key(4), key(5)}, net, {}};
  std::mt19937 rng(21);
  std::vector<LedgerState> copies{s.rewound(0)};  // the state after each height
  auto block = [&] {
    OpsBuilder b(s, net);
    traffic.fill(rng, b, 1 + rng() % 6);
    std::string why;
    ASSERT_TRUE(s.apply_block(b.ops, &why)) << why;
    copies.push_back(s.rewound(0));
  };
  for (int i = 0; i < 40; ++i) block();
  ASSERT_EQ(s.kept_undo(), 40u);
  std::size_t settled = 0;
  for (const auto& [id, a] : s.auctions()) settled += a.status != AuctionStatus::open;
  EXPECT_GE(settled, 2u);  // closes (by hand and by themselves) are among what is rewound
  for (std::size_t d = 0; d <= 40; ++d) {
    const LedgerState r = s.rewound(d);
    EXPECT_TRUE(r == copies[40 - d]) << d << " blocks ago";
    EXPECT_EQ(r.state_root(), copies[40 - d].state_root()) << d << " blocks ago";
    EXPECT_EQ(r.height(), 40u - d);
    EXPECT_EQ(r.kept_undo(), 0u);
  }
  EXPECT_TRUE(s == copies[40]);  // rewinding a copy leaves the state alone
  // With fewer records kept: as far back as they reach.
  s.set_undo_limit(5);
  for (int i = 0; i < 8; ++i) block();
  ASSERT_EQ(s.kept_undo(), 5u);
  for (std::size_t d = 0; d <= 5; ++d) EXPECT_TRUE(s.rewound(d) == copies[48 - d]) << d << " blocks ago";
  // Undo agrees with rewound.
  for (std::size_t d = 1; d <= 5; ++d) {
    s.undo_block();
    EXPECT_TRUE(s == copies[48 - d]);
  }
}

// ---- HeaderChain: the client's header chain ----

// An entry of /api/headers, as Node::headers_json writes it.
Json header_entry(const Block& b) {
  Bytes h = block_header(b);
  return Json::object({{"height", Json::integer(b.index)},
                       {"hash", Json::string(b.hash)},
                       {"header", Json::string(to_hex(ByteView(h.data(), h.size())))},
                       {"tx_root", Json::string(hex_of(transactions_root(b.transactions)))},
                       {"state_root", Json::string(b.state_root)}});
}

// Through text and back, as a client receives it.
Json wire(const Json& j) { return *parse_json(dump_python(j)).value; }

double work_of_bits(std::uint32_t bits) {
  Key t;
  EXPECT_EQ(target_from_compact(bits, &t), "");
  double v = 0;
  for (int i = 0; i < 8; ++i) v = v * 4294967296.0 + t.w[i];
  return std::ldexp(1.0, 256) / (v + 1);
}

TEST(HeaderChain, AcceptsEveryHeaderOfARealChain) {
  LedgerNet net;
  std::mt19937 rng(1);
  Traffic traffic{net.admin, {key(2), key(3), key(4)}, net.spec.id, {}};
  for (int i = 0; i < 12; ++i) {
    OpsBuilder b = net.builder(net.tip());
    traffic.fill(rng, b, 4);
    net.extend(b);
  }
  HeaderChain hc(net.spec);
  EXPECT_EQ(hc.size(), 1u);
  for (const TreeEntry* e : net.tree.main_chain()) EXPECT_EQ(hc.add(wire(header_entry(e->block))), "") << e->block.index;
  EXPECT_EQ(hc.size(), 13u);
  EXPECT_EQ(hc.tip().hash, net.tip());
  EXPECT_EQ(hc.tip().height, 12);
  for (const TreeEntry* e : net.tree.main_chain()) {
    const HeaderEntry* h = hc.find(e->block.hash);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->height, e->block.index);
    EXPECT_EQ(h->time, static_cast<std::int64_t>(e->block.time()));
    EXPECT_EQ(hc.depth_on_best(*h), 12 - e->block.index);
    if (e->block.index > 0) {
      EXPECT_EQ(h->previous, e->block.previous_hash);
      EXPECT_EQ(h->bits, e->block.bits);
      EXPECT_EQ(*commitment_of(hex_of(transactions_root(e->block.transactions)), e->block.state_root), h->commitment);
    }
    EXPECT_EQ(hc.add(wire(header_entry(e->block))), "");  // again: already known
  }
  EXPECT_EQ(hc.size(), 13u);
  EXPECT_EQ(hc.find(std::string(64, 'a')), nullptr);
}

TEST(HeaderChain, FollowsTheForkWithMostWork) {
  LedgerNet net;
  // Fork A: 3 blocks; fork B: 5 blocks; both from the genesis.
  std::vector<Block> a, b;
  std::string pa = net.tip(), pb = net.tip();
  for (int i = 0; i < 5; ++i) {
    if (i < 3) {
      a.push_back(net.valid_block(pa, {}));
      net.add(a.back());
      pa = a.back().hash;
    }
    b.push_back(net.valid_block(pb, {}));
    net.add(b.back());
    pb = b.back().hash;
  }
  ASSERT_EQ(net.tip(), b.back().hash);
  for (const bool a_first : {true, false}) {
    HeaderChain hc(net.spec);
    const auto& first = a_first ? a : b;
    const auto& second = a_first ? b : a;
    for (const Block& x : first) ASSERT_EQ(hc.add(wire(header_entry(x))), "");
    for (const Block& x : second) ASSERT_EQ(hc.add(wire(header_entry(x))), "");
    EXPECT_EQ(hc.tip().hash, b.back().hash) << "a first: " << a_first;
    for (std::size_t i = 0; i < b.size(); ++i) EXPECT_EQ(hc.depth_on_best(*hc.find(b[i].hash)), 4 - static_cast<std::int64_t>(i));
    for (const Block& x : a) EXPECT_EQ(hc.depth_on_best(*hc.find(x.hash)), -1);
    EXPECT_EQ(hc.depth_on_best(*hc.find(net.spec.genesis.hash)), 5);
  }
  // Equal work: the first seen stays.
  HeaderChain hc(net.spec);
  for (const Block& x : a) hc.add(wire(header_entry(x)));
  for (int i = 0; i < 3; ++i) hc.add(wire(header_entry(b[static_cast<std::size_t>(i)])));
  EXPECT_EQ(hc.tip().hash, a.back().hash);
  hc.add(wire(header_entry(b[3])));
  EXPECT_EQ(hc.tip().hash, b[3].hash);
}

// Under retargeting the most work is not the most blocks: 5 fast blocks with harder targets
// outweigh 20 slow ones at the easiest; the client and the tree agree.
TEST(HeaderChain, MostWorkIsNotMostBlocksUnderRetargeting) {
  LedgerNet net(/*block_interval=*/4, /*window=*/2);
  std::vector<Block> slow, fast;
  std::string p = net.tip();
  std::int64_t t = kGenesisTime;
  for (int i = 0; i < 20; ++i) {
    slow.push_back(net.valid_block(p, {}, t += 20));
    ASSERT_TRUE(net.add(slow.back()).accepted());
    p = slow.back().hash;
  }
  p = net.spec.genesis.hash;
  t = kGenesisTime;
  for (int i = 0; i < 5; ++i) {
    fast.push_back(net.valid_block(p, {}, t += 1));
    ASSERT_TRUE(net.add(fast.back()).accepted());
    p = fast.back().hash;
  }
  double w_slow = 0, w_fast = 0;
  for (const Block& x : slow) w_slow += work_of_bits(x.bits);
  for (const Block& x : fast) w_fast += work_of_bits(x.bits);
  ASSERT_GT(w_fast, w_slow);
  EXPECT_NE(fast.back().bits, slow.back().bits);
  EXPECT_EQ(net.tip(), fast.back().hash);
  HeaderChain hc(net.spec);
  for (const Block& x : slow) ASSERT_EQ(hc.add(wire(header_entry(x))), "");
  EXPECT_EQ(hc.tip().hash, slow.back().hash);
  for (const Block& x : fast) ASSERT_EQ(hc.add(wire(header_entry(x))), "");
  EXPECT_EQ(hc.tip().hash, fast.back().hash);
  EXPECT_EQ(hc.depth_on_best(*hc.find(slow.back().hash)), -1);
  EXPECT_EQ(hc.depth_on_best(*hc.find(fast[0].hash)), 4);
  EXPECT_NEAR(hc.tip().work, w_fast, w_fast * 1e-12);
}

TEST(HeaderChain, FollowsTheRetargetRule) {
  LedgerNet net(/*block_interval=*/2, /*window=*/4);
  // Fast, then slow, then on time: the target moves both ways.
  const int gaps[] = {1, 1, 1, 1, 1, 1, 1, 1, 8, 8, 8, 8, 8, 2, 2, 2, 1, 1, 3, 2};
  std::int64_t t = kGenesisTime;
  std::vector<Block> chain;
  std::set<std::uint32_t> bits;
  for (int g : gaps) {
    chain.push_back(net.valid_block(net.tip(), {}, t += g));
    ASSERT_EQ(net.add(chain.back()).outcome, AddOutcome::extended);
    bits.insert(chain.back().bits);
  }
  EXPECT_GE(bits.size(), 3u);
  HeaderChain hc(net.spec);
  for (const Block& b : chain) ASSERT_EQ(hc.add(wire(header_entry(b))), "") << b.index;
  EXPECT_EQ(hc.tip().hash, net.tip());

  // A header whose bits are not the rule's (easier or harder), with proof of work for them.
  const std::uint32_t want = net.tree.expected_bits(&net.tree.tip());
  HeaderChain hc2(net.spec);
  for (const Block& b : chain) hc2.add(wire(header_entry(b)));
  for (const std::uint32_t other : {compact_of(target_of_zeros(1)), compact_of(target_of_zeros(3)), want - 1}) {
    if (other == want) continue;
    Block b = make_block(net.spec, chain.back(), {}, t + 2, std::string(64, '0'), other);
    EXPECT_EQ(hc2.add(wire(header_entry(b))), "its bits break the retarget rule") << std::hex << other;
    EXPECT_FALSE(hc2.find(b.hash));
  }
  Block right = make_block(net.spec, chain.back(), {}, t + 2, std::string(64, '0'), want);
  EXPECT_EQ(hc2.add(wire(header_entry(right))), "");
}

TEST(HeaderChain, RefusesBrokenHeaders) {
  LedgerNet net;
  std::vector<Block> chain;
  for (int i = 0; i < 4; ++i) {
    chain.push_back(net.valid_block(net.tip(), {}));
    net.add(chain.back());
  }
  HeaderChain hc(net.spec);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(hc.add(wire(header_entry(chain[static_cast<std::size_t>(i)]))), "");
  const Block& b = chain[3];
  const std::size_t before = hc.size();
  auto refused = [&](Json entry, const std::string& word) {
    const std::string why = hc.add(wire(entry));
    EXPECT_TRUE(has(why, word)) << "wanted \"" << word << "\", got \"" << why << "\"";
    EXPECT_EQ(hc.size(), before);
    EXPECT_EQ(hc.tip().hash, chain[2].hash);
  };
  // The hash is not the header's: another block's, one digit changed, not hex.
  Json e = header_entry(b);
  e.set("hash", Json::string(chain[1].hash));
  refused(e, "");  // chain[1] is known: nothing to add
  e.set("hash", Json::string(chain[0].hash.substr(0, 63) + (chain[0].hash[63] == '0' ? "1" : "0")));
  refused(e, "not the hash of its header");
  e.set("hash", Json::string("zz"));
  refused(e, "bad \"hash\"");
  e = header_entry(b);
  e.set("hash", Json::integer(5));
  refused(e, "bad \"hash\"");
  // Proof of work that does not meet the target (a nonce whose hash misses it).
  {
    Block weak = b;
    Bytes h = block_header(weak);
    Key t;
    target_from_compact(weak.bits, &t);
    for (std::uint32_t n = 0;; ++n) {
      put_nonce(h, n);
      if (!meets_target(header_hash(h), t)) {
        weak.nonce = n;
        weak.hash = header_hash(h);
        break;
      }
    }
    refused(header_entry(weak), "proof of work");
  }
  // The parent is not known.
  Block orphan = make_block(net.spec, b, {}, net.clock + 1, std::string(64, '0'), b.bits);
  refused(header_entry(orphan), "unknown previous block");
  // The height does not follow the parent's, or is missing or not a number.
  e = header_entry(b);
  e.set("height", Json::integer(5));
  refused(e, "height");
  e.set("height", Json::integer(3 - 1));
  refused(e, "height");
  e.set("height", Json::string("4"));
  refused(e, "height");
  e = header_entry(b);
  e.members().erase(e.members().begin());  // no "height"
  refused(e, "height");
  // Not 80 bytes of hex.
  e = header_entry(b);
  e.set("header", Json::string(e.find("header")->as_string().substr(2)));
  refused(e, "80 bytes");
  e.set("header", Json::string(std::string(160, 'g')));
  refused(e, "80 bytes");
  refused(Json::array(), "object");
  // And the real one is accepted after all that.
  EXPECT_EQ(hc.add(wire(header_entry(b))), "");
  EXPECT_EQ(hc.tip().hash, b.hash);
}

// ---- CheckProven: one node's proven read ----

class CheckProven : public ::testing::Test {
 protected:
  LedgerNet net;
  KeyPair alice = key(2), bob = key(3), carol = key(4), dave = key(5);
  Hash auction{};
  std::string side;  // a block on a shorter fork
  HeaderChain headers{net.spec};
  ProofRules rules;

  void SetUp() override {
    OpsBuilder b1 = net.builder(net.tip());
    b1.add(net.admin, money(alice.pub, 1000));
    b1.add(net.admin, money(bob.pub, 500));
    b1.add(net.admin, money(carol.pub, 50));
    net.extend(b1);
    OpsBuilder b2 = net.builder(net.tip());
    ASSERT_EQ(b2.add(alice, new_auction("a kite", 100, 500)), "");
    auction = op_id(b2.ops[0], net.spec.id);
    net.extend(b2);
    OpsBuilder b3 = net.builder(net.tip());
    ASSERT_EQ(b3.add(bob, bid(auction, 120)), "");
    ASSERT_EQ(b3.add(alice, transfer(carol.pub, 25)), "");
    net.extend(b3);
    for (int i = 4; i <= 12; ++i) {
      OpsBuilder b = net.builder(net.tip());
      if (i == 9) {
        ASSERT_EQ(b.add(bob, bid(auction, 130)), "");
      }
      net.extend(b);
    }
    // A block off the followed chain: one on block 3 with its own change.
    OpsBuilder s = net.builder(net.tree.main_chain()[3]->block.hash);
    ASSERT_EQ(s.add(carol, transfer(alice.pub, 5)), "");
    const Block sb = net.valid_block(net.tree.main_chain()[3]->block.hash, s.ops);
    ASSERT_EQ(net.add(sb).outcome, AddOutcome::side);
    side = sb.hash;
    for (const TreeEntry* e : net.tree.main_chain()) ASSERT_EQ(headers.add(wire(header_entry(e->block))), "");
    ASSERT_EQ(headers.add(wire(header_entry(sb))), "");
    ASSERT_EQ(headers.tip().hash, net.tip());
    rules.k = 6;
    rules.max_tip_age_seconds = 60;
    rules.now = static_cast<double>(headers.tip().time) + 5;
  }

  const Block& at(std::int64_t height) const { return net.tree.main_chain()[static_cast<std::size_t>(height)]->block; }
  const LedgerState& state_at(std::int64_t height) const { return net.states.at(at(height).hash); }

  // A node's reply, built as ledger_api.cpp's proven() builds it, for block `b` and its state.
  Json reply_for(const Block& b, const LedgerState& st, const std::string& key, const Json& value) const {
    const StateTree t = st.tree();
    auto p = t.prove(key);
    std::vector<Json::Member> m;
    Bytes h = block_header(b);
    m.emplace_back("block", Json::object({{"height", Json::integer(b.index)},
                                          {"hash", Json::string(b.hash)},
                                          {"header", Json::string(to_hex(ByteView(h.data(), h.size())))},
                                          {"tx_root", Json::string(hex_of(transactions_root(b.transactions)))},
                                          {"state_root", Json::string(b.state_root)}}));
    m.emplace_back("tip_height", Json::integer(net.tree.tip().block.index));
    m.emplace_back("found", Json::boolean(p.has_value()));
    if (p) {
      m.emplace_back("value", value);
      m.emplace_back("proof", proof_to_json(*p));
    } else {
      m.emplace_back("absence", absence_to_json(*t.prove_absent(key)));
    }
    return wire(Json::object(std::move(m)));
  }
  Json account_reply(std::int64_t height, const KeyPair& k) const {
    const Account* a = state_at(height).account(k.pub);
    return reply_for(at(height), state_at(height), account_key(k.pub), a ? account_json(*a) : Json());
  }
  CheckedValue check(const Json& reply, const std::string& key, EntryKind kind = EntryKind::account) const {
    return check_proven(reply, key, kind, headers, rules);
  }
  void expect_lie(const Json& reply, const std::string& key, const std::string& word,
                  EntryKind kind = EntryKind::account) const {
    const CheckedValue v = check(reply, key, kind);
    EXPECT_FALSE(v.ok) << "a lie passed: " << dump_python(reply);
    EXPECT_TRUE(has(v.why, word)) << "wanted \"" << word << "\", got \"" << v.why << "\"";
  }
  static Json& field(Json& j, const char* a, const char* b = nullptr) {
    Json* f = j.find(a);
    return b ? *f->find(b) : *f;
  }
};

TEST_F(CheckProven, GenuineReadsPass) {
  // An account, 9 blocks deep.
  CheckedValue v = check(account_reply(3, alice), account_key(alice.pub));
  ASSERT_TRUE(v.ok) << v.why;
  EXPECT_TRUE(v.found);
  EXPECT_EQ(v.height, 3);
  EXPECT_EQ(v.block, at(3).hash);
  EXPECT_EQ(dump_python(v.value), dump_python(account_json(*state_at(3).account(alice.pub))));
  EXPECT_EQ(v.value.find("balance")->as_int64(), 975);
  // The same account at another block has another value.
  v = check(account_reply(6, bob), account_key(bob.pub));
  ASSERT_TRUE(v.ok) << v.why;
  EXPECT_EQ(v.value.find("held")->as_int64(), 120);
  // An auction and an escrow.
  const LedgerState& s5 = state_at(5);
  v = check(reply_for(at(5), s5, auction_key(auction), auction_json(auction, *s5.auction(auction))), auction_key(auction),
            EntryKind::auction);
  ASSERT_TRUE(v.ok) << v.why;
  EXPECT_EQ(dump_python(v.value), dump_python(auction_json(auction, *s5.auction(auction))));
  const std::string ek = escrow_key(auction, bob.pub);
  v = check(reply_for(at(5), s5, ek, Json::object({{"held", Json::integer(120)}})), ek, EntryKind::escrow);
  ASSERT_TRUE(v.ok) << v.why;
  EXPECT_EQ(dump_python(v.value), R"({"held": 120})");
  // Absences: an account never paid, an escrow never placed, an account before it was paid.
  v = check(account_reply(4, dave), account_key(dave.pub));
  ASSERT_TRUE(v.ok) << v.why;
  EXPECT_FALSE(v.found);
  const std::string ek2 = escrow_key(auction, carol.pub);
  v = check(reply_for(at(4), state_at(4), ek2, Json()), ek2, EntryKind::escrow);
  ASSERT_TRUE(v.ok) << v.why;
  EXPECT_FALSE(v.found);
  // The genesis, 12 deep, cannot be read: the client's header chain holds no commitment for it
  // (HeaderChain's genesis entry keeps zeros), so its empty state is never proven.
  v = check(account_reply(0, alice), account_key(alice.pub));
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(has(v.why, "commits to")) << v.why;
}

TEST_F(CheckProven, TheNodesRenderingIsIgnored) {
  Json r = account_reply(3, alice);
  field(r, "value", "balance") = Json::integer(1'000'000);
  const CheckedValue v = check(r, account_key(alice.pub));
  ASSERT_TRUE(v.ok) << v.why;
  EXPECT_EQ(v.value.find("balance")->as_int64(), 975);
}

TEST_F(CheckProven, ChangedValueBytesFail) {
  for (const std::size_t digit : {0u, 15u, 31u, 47u}) {
    Json r = account_reply(3, alice);
    std::string hex = field(r, "proof", "value").as_string();
    hex[digit] = hex[digit] == 'f' ? 'e' : 'f';
    field(r, "proof", "value") = Json::string(hex);
    expect_lie(r, account_key(alice.pub), "does not lead to the block's state root");
  }
  // A value that still decodes but is longer.
  Json r = account_reply(3, alice);
  field(r, "proof", "value") = Json::string(field(r, "proof", "value").as_string() + "00");
  expect_lie(r, account_key(alice.pub), "does not lead");
  // A path hash changed.
  r = account_reply(3, alice);
  Json& path = field(r, "proof", "path");
  ASSERT_FALSE(path.items().empty());
  std::string h = path.items()[0].as_string();
  h[10] = h[10] == '0' ? '1' : '0';
  path.items()[0] = Json::string(h);
  expect_lie(r, account_key(alice.pub), "does not lead");
}

TEST_F(CheckProven, FoundFalseWithAFakeAbsenceFails) {
  const std::string k = account_key(alice.pub);
  const LedgerState& s = state_at(3);
  const StateTree t = s.tree();
  // The entries around alice's: the one after is the first one after k.
  const auto after = t.prove_absent(k + '\0');
  ASSERT_TRUE(after);
  ASSERT_TRUE(after->below && after->below->entry.key == k);
  std::vector<AbsenceProof> fakes;
  AbsenceProof f = *after;  // alice's own entry as the one below
  fakes.push_back(f);
  f = *after;  // alice's entry dropped: the one above alone
  f.below.reset();
  fakes.push_back(f);
  ASSERT_TRUE(after->above);
  if (k.back() != '\0') {  // the entries on either side of alice's, skipping it
    const std::string just_below = k.substr(0, k.size() - 1) + static_cast<char>(k.back() - 1) + '\xff';
    const auto before = t.prove_absent(just_below);
    ASSERT_TRUE(before && before->above && before->above->entry.key == k);
    f = *after;
    f.below = before->below;
    fakes.push_back(f);
  }
  f = AbsenceProof{};  // an empty state
  fakes.push_back(f);
  fakes.push_back(*t.prove_absent(account_key(dave.pub)));  // someone else's absence
  for (std::size_t i = 0; i < fakes.size(); ++i) {
    Json r = account_reply(3, alice);
    field(r, "found") = Json::boolean(false);
    r.set("absence", absence_to_json(fakes[i]));
    expect_lie(wire(r), k, "absence proof does not hold");
  }
  // "found": false with no absence proof at all.
  Json r = account_reply(3, alice);
  field(r, "found") = Json::boolean(false);
  expect_lie(r, k, "no valid absence proof");
  // And the other way: "found": true for an absent key, with a neighbour's proof.
  Json d = account_reply(4, dave);
  field(d, "found") = Json::boolean(true);
  const auto nb = state_at(4).tree().prove_absent(account_key(dave.pub));
  d.set("proof", proof_to_json(nb->below ? *nb->below : *nb->above));
  expect_lie(wire(d), account_key(dave.pub), "another entry");
}

TEST_F(CheckProven, ProofOfAnotherEntryFails) {
  expect_lie(account_reply(3, bob), account_key(alice.pub), "another entry");
  const LedgerState& s5 = state_at(5);
  // An escrow's proof for an auction, an auction's for an account.
  const std::string ek = escrow_key(auction, bob.pub);
  expect_lie(reply_for(at(5), s5, ek, Json()), auction_key(auction), "another entry", EntryKind::auction);
  expect_lie(reply_for(at(5), s5, auction_key(auction), Json()), account_key(alice.pub), "another entry");
}

TEST_F(CheckProven, StateRootNotCommittedByTheHeaderFails) {
  // The proof and root of another state (the tip's: bob bid again since), at block 3.
  const LedgerState& tip_state = state_at(12);
  Json r = reply_for(at(3), tip_state, account_key(bob.pub), Json());
  field(r, "block", "state_root") = Json::string(hex32(tip_state.state_root()));
  const CheckedValue honest_tip = check(reply_for(at(12), tip_state, account_key(bob.pub), Json()), account_key(bob.pub));
  EXPECT_FALSE(honest_tip.ok);  // at the tip: not k deep
  expect_lie(r, account_key(bob.pub), "not the one its block commits to");
  // The right state root under another transactions root.
  r = account_reply(3, alice);
  field(r, "block", "tx_root") = Json::string(std::string(64, '0'));
  expect_lie(r, account_key(alice.pub), "commits to");
  // Roots that are not hex.
  r = account_reply(3, alice);
  field(r, "block", "state_root") = Json::string("xyz");
  expect_lie(r, account_key(alice.pub), "commits to");
}

TEST_F(CheckProven, BlockOffTheBestChainFails) {
  const Block& sb = net.blocks.at(side);
  const LedgerState& ss = net.states.at(side);
  Json r = reply_for(sb, ss, account_key(alice.pub), Json());
  expect_lie(r, account_key(alice.pub), "not on the most-work chain");
  // A block the client never saw.
  Json u = account_reply(3, alice);
  field(u, "block", "hash") = Json::string(std::string(64, 'b'));
  expect_lie(u, account_key(alice.pub), "on no header chain");
}

TEST_F(CheckProven, BlockNotKDeepFails) {
  // Block 6 has 6 on top: enough; block 7 has 5.
  EXPECT_TRUE(check(account_reply(6, alice), account_key(alice.pub)).ok);
  expect_lie(account_reply(7, alice), account_key(alice.pub), "fewer than k = 6");
  expect_lie(account_reply(12, alice), account_key(alice.pub), "0 blocks on top");
  rules.k = 0;
  EXPECT_TRUE(check(account_reply(12, alice), account_key(alice.pub)).ok);
}

TEST_F(CheckProven, StaleTipFails) {
  const double tip_time = static_cast<double>(headers.tip().time);
  rules.now = tip_time + 60;
  EXPECT_TRUE(check(account_reply(3, alice), account_key(alice.pub)).ok);
  rules.now = tip_time + 61;
  expect_lie(account_reply(3, alice), account_key(alice.pub), "s old");
  rules.now = tip_time + 86400 * 30;
  expect_lie(account_reply(3, alice), account_key(alice.pub), "no node is showing recent blocks");
}

TEST_F(CheckProven, MalformedRepliesFail) {
  const std::string k = account_key(alice.pub);
  const Json good = account_reply(3, alice);
  EXPECT_TRUE(check(good, k).ok);
  std::vector<Json> bad;
  bad.push_back(Json());
  bad.push_back(Json::array());
  Json r = good;
  r.members().erase(r.members().begin());  // no "block"
  bad.push_back(r);
  r = good;
  field(r, "found") = Json::integer(1);
  bad.push_back(r);
  r = good;
  field(r, "block") = Json::string("x");
  bad.push_back(r);
  r = good;
  field(r, "block", "tx_root") = Json::integer(0);
  bad.push_back(r);
  r = good;
  field(r, "proof") = Json::string("x");
  bad.push_back(r);
  r = good;
  field(r, "proof", "index") = Json::integer(-1);
  bad.push_back(r);
  r = good;
  field(r, "proof", "path").push(Json::string("00"));
  bad.push_back(r);
  r = good;
  field(r, "proof", "value") = Json::string("0");
  bad.push_back(r);
  r = good;
  field(r, "proof", "count") = Json::real(13.0);
  bad.push_back(r);
  for (const Json& j : bad) {
    const CheckedValue v = check(j, k);
    EXPECT_FALSE(v.ok) << dump_python(j);
    EXPECT_FALSE(v.why.empty()) << dump_python(j);
  }
  // A proven value that does not decode as the kind asked for.
  const CheckedValue v = check(good, k, EntryKind::escrow);
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(has(v.why, "does not decode")) << v.why;
}

// The staleness rule reads the tip's time against the client's clock: one header with proof of
// work and a far-future time (which every node refuses) would make a stale chain look recent
// for ever, so the client's header chain refuses it too.
TEST_F(CheckProven, AFutureDatedTipDoesNotHideAStaleChain) {
  rules.now = static_cast<double>(headers.tip().time) + 3600;
  expect_lie(account_reply(3, alice), account_key(alice.pub), "s old");
  const Block future = make_block(net.spec, net.tree.tip().block, {}, static_cast<std::int64_t>(rules.now) + 100'000,
                                  net.tree.tip().block.state_root, net.bits_for(net.tip()));
  EXPECT_EQ(net.tree.add(future, {.now = rules.now}).outcome, AddOutcome::invalid);  // nodes refuse it
  headers.set_clock([this] { return rules.now; });
  EXPECT_EQ(headers.add(wire(header_entry(future))), "its time is too far in the future");  // and so does the client
  expect_lie(account_reply(3, alice), account_key(alice.pub), "");  // still stale: should be refused
}

// ---- Quorum: every node's answer ----

NodeAnswer answer(std::string node, const std::string& block, std::int64_t height, std::int64_t tip,
                  std::optional<Json> value) {
  NodeAnswer a;
  a.node = std::move(node);
  a.reachable = true;
  std::vector<Json::Member> m;
  m.emplace_back("block", Json::object({{"height", Json::integer(height)}, {"hash", Json::string(block)}}));
  m.emplace_back("tip_height", Json::integer(tip));
  m.emplace_back("found", Json::boolean(value.has_value()));
  if (value) m.emplace_back("value", *value);
  a.reply = wire(Json::object(std::move(m)));
  return a;
}

Json balance(std::int64_t b) {
  return Json::object({{"balance", Json::integer(b)}, {"held", Json::integer(0)}, {"free", Json::integer(b)},
                       {"next_seq", Json::integer(2)}});
}

const std::string kX = std::string(63, 'a') + "1", kY = std::string(63, 'a') + "2";

TEST(Quorum, OneLiarOfFourIsOutvotedAndNamed) {
  const std::vector<NodeAnswer> answers = {
      answer("n1", kX, 5, 12, balance(700)),
      answer("n2", kX, 5, 12, balance(700)),
      answer("n3", kX, 5, 12, balance(700)),
      answer("n4", kX, 5, 12, balance(1'000'000)),
  };
  for (int order = 0; order < 4; ++order) {
    std::vector<NodeAnswer> a = answers;
    std::rotate(a.begin(), a.begin() + order, a.end());
    const QuorumResult q = quorum(a, EntryKind::account, 6);
    ASSERT_TRUE(q.ok) << q.why;
    EXPECT_EQ(dump_python(q.value.value), dump_python(balance(700)));
    EXPECT_TRUE(q.value.found);
    EXPECT_EQ(q.value.height, 5);
    EXPECT_EQ(q.value.block, kX);
    EXPECT_EQ(q.agreed.size(), 3u);
    EXPECT_EQ(q.disagreed, std::vector<std::string>{"n4"});
    EXPECT_TRUE(has(q.disagreement, "1000000")) << q.disagreement;
    EXPECT_TRUE(q.stale.empty());
  }
  // A lone liar at a higher block it made up gets no quorum of its own.
  std::vector<NodeAnswer> a = answers;
  a[3] = answer("n4", kY, 11, 17, balance(1'000'000));
  const QuorumResult q = quorum(a, EntryKind::account, 6);
  ASSERT_TRUE(q.ok) << q.why;
  EXPECT_EQ(q.value.block, kX);
  EXPECT_EQ(dump_python(q.value.value), dump_python(balance(700)));
  EXPECT_TRUE(q.disagreed.empty());  // it answered at another block
}

// Two liars agreeing against two honest nodes at the same block (more than the f = 1 of four
// nodes): both values reach f + 1 = 2. The code takes the first claim, in the order of
// (block hash, value text), among those at the highest height: here the liars', because
// {"balance": 1000000, ...} sorts before {"balance": 700, ...}. FINDING (see the report): an
// answer at equal height with two values each backed by f + 1 nodes proves more than f faulty
// nodes, and is not refused.
// Two values at one block, each from f+1 nodes: more than f nodes are wrong, so no answer,
// whichever value would sort first.
TEST(Quorum, TwoAgainstTwoAtOneBlockIsNoAnswer) {
  for (std::int64_t lie : {1'000'000, 800}) {
    const std::vector<NodeAnswer> answers = {
        answer("honest1", kX, 5, 12, balance(700)),
        answer("honest2", kX, 5, 12, balance(700)),
        answer("liar1", kX, 5, 12, balance(lie)),
        answer("liar2", kX, 5, 12, balance(lie)),
    };
    QuorumResult q = quorum(answers, EntryKind::account, 6);
    EXPECT_FALSE(q.ok) << lie;
    EXPECT_NE(q.why.find("conflicting answers"), std::string::npos) << q.why;
  }
}

TEST(Quorum, TheHighestBlockWithAQuorumWins) {
  const std::vector<NodeAnswer> a = {
      answer("n1", kX, 5, 12, balance(700)),
      answer("n2", kX, 5, 12, balance(700)),
      answer("n3", kY, 6, 13, balance(650)),
      answer("n4", kY, 6, 13, balance(650)),
  };
  QuorumResult q = quorum(a, EntryKind::account, 6);
  ASSERT_TRUE(q.ok) << q.why;
  EXPECT_EQ(q.value.block, kY);
  EXPECT_EQ(q.value.height, 6);
  EXPECT_EQ(dump_python(q.value.value), dump_python(balance(650)));
  EXPECT_TRUE(q.disagreed.empty());  // the others spoke of another block: not a disagreement
  // Absence agreed on.
  const std::vector<NodeAnswer> gone = {
      answer("n1", kX, 5, 12, std::nullopt),
      answer("n2", kX, 5, 12, std::nullopt),
      answer("n3", kX, 5, 12, balance(1)),
      answer("n4", kX, 5, 12, std::nullopt),
  };
  q = quorum(gone, EntryKind::account, 6);
  ASSERT_TRUE(q.ok) << q.why;
  EXPECT_FALSE(q.value.found);
  EXPECT_TRUE(q.value.value.is_null());
  EXPECT_EQ(q.disagreed, std::vector<std::string>{"n3"});
}

TEST(Quorum, NodesNotKDeepAreStaleAndDoNotVote) {
  std::vector<NodeAnswer> a = {
      answer("n1", kX, 5, 11, balance(700)),  // exactly k = 6 on top
      answer("n2", kX, 5, 11, balance(700)),
      answer("n3", kY, 10, 12, balance(1)),   // 2 on top
      answer("n4", kY, 10, 10, balance(1)),   // the tip itself
  };
  QuorumResult q = quorum(a, EntryKind::account, 6);
  ASSERT_TRUE(q.ok) << q.why;
  EXPECT_EQ(q.value.block, kX);
  EXPECT_EQ(q.stale, (std::vector<std::string>{"n3", "n4"}));
  EXPECT_EQ(q.agreed, (std::vector<std::string>{"n1", "n2"}));
  a[1] = answer("n2", kX, 5, 10, balance(700));  // 5 on top: stale too
  q = quorum(a, EntryKind::account, 6);
  EXPECT_FALSE(q.ok);
  EXPECT_EQ(q.stale.size(), 3u);
  EXPECT_TRUE(has(q.why, "2 of 4")) << q.why;
}

TEST(Quorum, NoQuorumWhenAllDifferOrTooFewAnswer) {
  QuorumResult q = quorum({answer("n1", kX, 5, 12, balance(1)), answer("n2", kX, 5, 12, balance(2)),
                           answer("n3", kX, 5, 12, balance(3)), answer("n4", kX, 5, 12, std::nullopt)},
                          EntryKind::account, 6);
  EXPECT_FALSE(q.ok);
  EXPECT_TRUE(has(q.why, "no value")) << q.why;
  // Unreachable nodes count among the nodes but do not vote; broken replies neither.
  std::vector<NodeAnswer> a = {answer("n1", kX, 5, 12, balance(1)), {}, {}, {}};
  a[1].node = "down";
  a[1].error = "connection refused";
  a[2] = answer("n3", kX, 5, 12, balance(1));
  a[2].reply = Json::string("not json we know");
  a[3] = answer("n4", kX, 5, 12, balance(1));
  a[3].reply.members().erase(a[3].reply.members().begin());  // no "block"
  q = quorum(a, EntryKind::account, 6);
  EXPECT_FALSE(q.ok);
  a[2] = answer("n3", kX, 5, 12, balance(1));
  q = quorum(a, EntryKind::account, 6);
  EXPECT_TRUE(q.ok) << q.why;
  // Seven nodes: f = 2, three needed.
  std::vector<NodeAnswer> seven;
  for (int i = 0; i < 7; ++i) seven.push_back(answer("n" + std::to_string(i), kX, 5, 12, balance(i < 2 ? 7 : i)));
  EXPECT_FALSE(quorum(seven, EntryKind::account, 6).ok);
  seven[2] = answer("n2", kX, 5, 12, balance(7));
  EXPECT_TRUE(quorum(seven, EntryKind::account, 6).ok);
  EXPECT_FALSE(quorum({}, EntryKind::account, 6).ok);
}

// A claim is its block, that block's height and the value together: one liar (within f)
// repeating the honest nodes' block and value with a made-up height makes a claim of its
// own, and cannot lift the honest one above a newer one.
TEST(Quorum, OneLiarCannotMoveAClaimsHeight) {
  const std::vector<NodeAnswer> a = {
      answer("n1", kX, 5, 12, balance(700)),   answer("n2", kX, 5, 12, balance(700)),
      answer("n3", kX, 5, 12, balance(700)),   answer("n4", kY, 6, 13, balance(650)),
      answer("n5", kY, 6, 13, balance(650)),   answer("n6", kY, 6, 13, balance(650)),
      answer("liar", kX, 1000, 2000, balance(700)),
  };
  const QuorumResult q = quorum(a, EntryKind::account, 6);
  ASSERT_TRUE(q.ok) << q.why;
  EXPECT_EQ(q.value.block, kY);
  EXPECT_EQ(q.value.height, 6);
  EXPECT_EQ(dump_python(q.value.value), dump_python(balance(650)));
}

}  // namespace
}  // namespace hf::node
