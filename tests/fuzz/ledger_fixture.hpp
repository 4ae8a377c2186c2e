// A small, fixed ledger network for the ledger client's fuzz targets (ledger_reply,
// header_chain): its spec ("header-sha256d", one leading hex zero, retargeting every 2 s over
// 4 blocks), a followed chain of 10 blocks with money, an auction, bids and transfers, one
// block on a side branch, the client's HeaderChain over all of them, and the state after
// every block. Everything is deterministic (fixed keys, times, first nonce that meets the
// target), so the seed corpora written from it stay real replies of this chain.
#pragma once
#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hashforge/hex.hpp"
#include "net/node/block_tree.hpp"
#include "net/node/header_chain.hpp"
#include "net/node/ledger_json.hpp"
#include "net/node/ledger_reads.hpp"

namespace hf::fuzz::ledger_fixture {

using namespace hf::node;
using namespace hf::node::ledger;

inline constexpr std::int64_t kGenesisTime = 1'700'000'000;
inline constexpr std::int64_t kTip = 10;

inline KeyPair key(std::uint8_t n) {
  std::array<std::uint8_t, 32> seed{};
  seed.fill(n);
  return *keypair_from_seed(seed);
}

// An entry of /api/headers for `b`, as Node::headers_json writes it.
inline Json header_entry(const Block& b) {
  Bytes h = block_header(b);
  return Json::object({{"height", Json::integer(b.index)},
                       {"hash", Json::string(b.hash)},
                       {"header", Json::string(to_hex(ByteView(h.data(), h.size())))},
                       {"tx_root", Json::string(hex_of(transactions_root(b.transactions)))},
                       {"state_root", Json::string(b.state_root)}});
}

struct Fixture {
  KeyPair admin = key(1), alice = key(2), bob = key(3), carol = key(4), dave = key(5);  // dave: never paid
  ChainSpec spec;
  std::vector<Block> chain;           // the followed chain, genesis first
  std::vector<LedgerState> states;    // the state after each block of `chain`
  std::vector<StateTree> trees;       // and its tree
  Block side;                         // on chain[3], never followed
  std::unique_ptr<LedgerState> side_state;
  Hash auction{};
  std::unique_ptr<HeaderChain> headers;  // over the chain and the side block
  ProofRules rules;                      // k = 3, the tip 5 s old
  // The keys a reply may be about, with the kind of entry each is.
  std::vector<std::pair<std::string, EntryKind>> keys;
};

inline const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture f;
    const std::string zeros(64, '0');
    Json genesis = Json::object({{"index", Json::integer(0)},
                                 {"transactions", Json::array()},
                                 {"timestamp", Json::integer(kGenesisTime)},
                                 {"previous_hash", Json::string(zeros)},
                                 {"nonce", Json::integer(0)},
                                 {"state_root", Json::string(zeros)},
                                 {"bits", Json::integer(compact_of(target_of_zeros(1)))}});
    Json spec = Json::object(
        {{"name", Json::string("ledger-fuzz")},
         {"scheme", Json::string("header-sha256d")},
         {"difficulty", Json::integer(1)},
         {"block_interval", Json::integer(2)},
         {"retarget_window", Json::integer(4)},
         {"genesis", std::move(genesis)},
         {"ledger", Json::object({{"admins", Json::array({Json::string(hex_of(f.admin.pub))})}})}});
    std::string why;
    f.spec = *parse_spec(dump_python(spec), &why);
    BlockTree tree(f.spec);
    const AddOptions opt{.now = 2e9};
    std::map<PublicKey, std::uint64_t> seq;
    auto op = [&](const KeyPair& k, Operation o) {
      o.account = k.pub;
      o.seq = ++seq[k.pub];
      sign_op(o, k, f.spec.id);
      return o;
    };
    auto mine = [&](const TreeEntry& parent, const std::vector<Operation>& ops, const std::string& root) {
      Block b;
      b.index = parent.block.index + 1;
      b.previous_hash = parent.block.hash;
      for (const auto& o : ops) b.transactions.push(op_to_json(o));
      b.timestamp = Json::integer(kGenesisTime + 2 * b.index);
      b.state_root = root;
      b.bits = tree.expected_bits(&parent);
      Key t;
      target_from_compact(b.bits, &t);
      for (b.nonce = 0;; ++b.nonce) {
        b.hash = f.spec.scheme->hash_hex(b);
        if (meets_target(b.hash, t) && meets_target(b.hash, f.spec.target)) return b;
      }
    };
    auto next = [&](std::vector<Operation> ops) {
      std::string w;
      const std::string root = hex_of(*tree.ledger_root_after(ops, &w));
      Block b = mine(tree.tip(), ops, root);
      tree.add(b, opt);
      f.chain.push_back(b);
      f.states.push_back(tree.ledger()->rewound(0));
    };
    f.chain.push_back(f.spec.genesis);
    f.states.push_back(tree.ledger()->rewound(0));
    auto money = [&](const KeyPair& to, std::uint64_t amount) {
      Operation o;
      o.kind = OpKind::create_money;
      o.to = to.pub;
      o.amount = amount;
      return op(f.admin, o);
    };
    next({money(f.alice, 1000), money(f.bob, 500), money(f.carol, 300)});  // 1
    Operation create;
    create.kind = OpKind::create_auction;
    create.item = "a vase";
    create.amount = 10;
    create.closes_at = 100;
    create = op(f.alice, create);
    f.auction = op_id(create, f.spec.id);
    next({create});  // 2
    Operation bid;
    bid.kind = OpKind::bid;
    bid.auction = f.auction;
    bid.amount = 120;
    Operation pay;
    pay.kind = OpKind::transfer;
    pay.to = f.alice.pub;
    pay.amount = 50;
    const Operation carol_pays = op(f.carol, pay);
    next({op(f.bob, bid), carol_pays});  // 3
    const std::map<PublicKey, std::uint64_t> seq_at_3 = seq;
    bid.amount = 150;
    next({op(f.carol, bid)});  // 4
    while (static_cast<std::int64_t>(f.chain.size()) <= kTip) next({});
    // The side block: carol pays alice again on block 3, a branch never followed.
    seq = seq_at_3;
    pay.amount = 5;
    const std::vector<Operation> side_ops = {op(f.carol, pay)};
    LedgerState s = f.states[3].rewound(0);
    s.apply_block(side_ops, &why);
    const TreeEntry* p3 = tree.find(f.chain[3].hash);
    f.side = mine(*p3, side_ops, hex_of(s.state_root()));
    f.side_state = std::make_unique<LedgerState>(std::move(s));
    tree.add(f.side, opt);

    for (const auto& st : f.states) f.trees.push_back(st.tree());
    f.headers = std::make_unique<HeaderChain>(f.spec);
    for (const auto& b : f.chain) f.headers->add(header_entry(b));
    f.headers->add(header_entry(f.side));
    f.rules.k = 3;
    f.rules.max_tip_age_seconds = 60;
    f.rules.now = static_cast<double>(f.headers->tip().time) + 5;
    for (const KeyPair* k : {&f.admin, &f.alice, &f.bob, &f.carol, &f.dave})
      f.keys.emplace_back(account_key(k->pub), EntryKind::account);
    f.keys.emplace_back(auction_key(f.auction), EntryKind::auction);
    for (const KeyPair* k : {&f.alice, &f.bob, &f.carol})
      f.keys.emplace_back(escrow_key(f.auction, k->pub), EntryKind::escrow);
    return f;
  }();
  return f;
}

}  // namespace hf::fuzz::ledger_fixture
