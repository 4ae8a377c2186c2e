// The auction ledger's pure core: Ed25519 operations (signed over the network id and a
// sequence number), the state machine's rules, all-or-nothing blocks, undo against a replay
// from genesis, money conserved under random operations, and state proofs.
#include <gtest/gtest.h>

#include <random>

#include "hashforge/hex.hpp"
#include "net/node/ledger_state.hpp"

namespace hf::node::ledger {
namespace {

KeyPair key(std::uint8_t n) {
  std::array<std::uint8_t, 32> seed{};
  seed.fill(n);
  return *keypair_from_seed(seed);
}

constexpr std::string_view kNet = "test-network";

struct Harness {
  KeyPair admin = key(1);
  std::map<PublicKey, std::uint64_t> seq;
  LedgerState state{{admin.pub}, std::string(kNet)};

  Operation op(const KeyPair& k, OpKind kind) {
    Operation o;
    o.kind = kind;
    o.account = k.pub;
    o.seq = ++seq[k.pub];
    return o;
  }
  Operation signed_op(const KeyPair& k, Operation o) {
    sign_op(o, k, kNet);
    return o;
  }
  Operation money(const KeyPair& to, std::uint64_t amount) {
    Operation o = op(admin, OpKind::create_money);
    o.to = to.pub;
    o.amount = amount;
    return signed_op(admin, o);
  }
  Operation transfer(const KeyPair& from, const KeyPair& to, std::uint64_t amount) {
    Operation o = op(from, OpKind::transfer);
    o.to = to.pub;
    o.amount = amount;
    return signed_op(from, o);
  }
  Operation auction(const KeyPair& owner, std::string item, std::uint64_t min, std::uint64_t closes) {
    Operation o = op(owner, OpKind::create_auction);
    o.item = std::move(item);
    o.amount = min;
    o.closes_at = closes;
    return signed_op(owner, o);
  }
  Operation bid(const KeyPair& k, const Hash& a, std::uint64_t amount) {
    Operation o = op(k, OpKind::bid);
    o.auction = a;
    o.amount = amount;
    return signed_op(k, o);
  }
  Operation on_auction(const KeyPair& k, OpKind kind, const Hash& a) {
    Operation o = op(k, kind);
    o.auction = a;
    return signed_op(k, o);
  }
  void block(std::vector<Operation> ops) {
    std::string why;
    ASSERT_TRUE(state.apply_block(ops, &why)) << why;
  }
  std::uint64_t balance(const KeyPair& k) {
    const Account* a = state.account(k.pub);
    return a ? a->balance : 0;
  }
  std::uint64_t free(const KeyPair& k) {
    const Account* a = state.account(k.pub);
    return a ? a->free() : 0;
  }
};

// RFC 8032 section 7.1, tests 1 to 3: the public key from the seed and the signature byte for
// byte, then verification, and a flipped bit refused.
TEST(Ledger, Ed25519MatchesRfc8032) {
  struct V {
    const char *seed, *pub, *msg, *sig;
  };
  const V vs[] = {
      {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
       "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
      {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
       "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
      {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
       "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
       "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
  };
  for (const V& v : vs) {
    std::array<std::uint8_t, 32> seed{};
    const auto sb = from_hex(v.seed);
    std::copy(sb->begin(), sb->end(), seed.begin());
    const auto k = keypair_from_seed(seed);
    ASSERT_TRUE(k);
    EXPECT_EQ(to_hex(k->pub), v.pub);
    const auto mb = from_hex(v.msg);
    const std::string msg(mb->begin(), mb->end());
    Signature sig = sign(*k, msg);
    EXPECT_EQ(to_hex(sig), v.sig);
    EXPECT_TRUE(verify(k->pub, msg, sig));
    sig[10] ^= 0x20;
    EXPECT_FALSE(verify(k->pub, msg, sig));
  }
}

// Signing and verifying reuse one context per key and thread: a refused signature must not
// leave the context refusing (or accepting) the next one, signatures stay RFC 8032's
// deterministic bytes, and more keys than the cache holds still check (it empties itself).
TEST(Ledger, Ed25519ContextsReusedPerKeyStayExact) {
  std::array<std::uint8_t, 32> seed{};
  seed[3] = 7;
  const auto k = keypair_from_seed(seed);
  ASSERT_TRUE(k);
  const Signature first = sign(*k, "pay 1");
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(sign(*k, "pay 1"), first);
    Signature bad = first;
    bad[63] ^= 0x01;
    EXPECT_FALSE(verify(k->pub, "pay 1", bad));
    EXPECT_TRUE(verify(k->pub, "pay 1", first));
    EXPECT_FALSE(verify(k->pub, "pay 2", first));
    EXPECT_TRUE(verify(k->pub, "pay 1", first));
  }
  std::vector<KeyPair> keys;
  for (int i = 0; i < 1100; ++i) {
    seed[0] = static_cast<std::uint8_t>(i);
    seed[1] = static_cast<std::uint8_t>(i >> 8);
    keys.push_back(*keypair_from_seed(seed));
  }
  std::vector<Signature> sigs;
  for (const auto& key : keys) sigs.push_back(sign(key, "m"));
  for (std::size_t i = 0; i < keys.size(); ++i) {
    ASSERT_TRUE(verify(keys[i].pub, "m", sigs[i])) << i;
    ASSERT_FALSE(verify(keys[(i + 1) % keys.size()].pub, "m", sigs[i])) << i;
  }
}

TEST(Ledger, SignaturesBindTheNetworkAndEveryField) {
  Harness h;
  const KeyPair alice = key(2);
  const Operation o = h.transfer(alice, key(3), 10);
  EXPECT_TRUE(signature_ok(o, kNet));
  EXPECT_FALSE(signature_ok(o, "another-network"));
  Operation t = o;
  t.amount = 11;
  EXPECT_FALSE(signature_ok(t, kNet));
  t = o;
  t.seq = 2;
  EXPECT_FALSE(signature_ok(t, kNet));
  t = o;
  t.to = key(4).pub;
  EXPECT_FALSE(signature_ok(t, kNet));
  t = o;
  t.sig[5] ^= 1;
  EXPECT_FALSE(signature_ok(t, kNet));
  EXPECT_EQ(user_id(alice.pub).size(), 40u);
  EXPECT_EQ(op_id(t, kNet), op_id(o, kNet));  // the id is of what is signed, not of the signature
  t = o;
  t.amount = 11;
  EXPECT_NE(op_id(t, kNet), op_id(o, kNet));
}

TEST(Ledger, JsonRoundTripAndRefusals) {
  Harness h;
  const KeyPair alice = key(2);
  const Operation a = h.auction(alice, "a painting \u00e9", 5, 10);
  std::string why;
  auto back = op_from_json(op_to_json(a), &why);
  ASSERT_TRUE(back) << why;
  EXPECT_TRUE(signature_ok(*back, kNet));
  EXPECT_EQ(op_id(*back, kNet), op_id(a, kNet));

  auto refused = [&](std::string_view text) {
    ParseResult p = parse_json(text);
    if (!p.value) return true;
    std::string w;
    const bool bad = !op_from_json(*p.value, &w);
    EXPECT_TRUE(!bad || !w.empty());
    return bad;
  };
  const std::string acct(64, 'a'), sig(128, 'b');
  EXPECT_TRUE(refused("[]"));
  EXPECT_TRUE(refused(R"({"op":"steal","account":")" + acct + R"(","seq":1,"sig":")" + sig + R"("})"));
  EXPECT_TRUE(refused(R"({"op":"transfer","account":")" + acct + R"(","seq":1,"to":")" + acct +
                      R"(","amount":5,"sig":")" + sig + R"("})"));  // to oneself
  EXPECT_TRUE(refused(R"({"op":"transfer","account":")" + acct + R"(","seq":1,"to":")" + std::string(64, 'c') +
                      R"(","amount":-5,"sig":")" + sig + R"("})"));
  EXPECT_TRUE(refused(R"({"op":"transfer","account":")" + acct + R"(","seq":1,"to":")" + std::string(64, 'c') +
                      R"(","amount":5,"extra":1,"sig":")" + sig + R"("})"));
  EXPECT_TRUE(refused(R"({"op":"transfer","account":"zz","seq":1,"to":")" + std::string(64, 'c') +
                      R"(","amount":5,"sig":")" + sig + R"("})"));
  EXPECT_TRUE(refused(R"({"op":"create_auction","account":")" + acct + R"(","seq":1,"item":"","amount":1,"closes_at":5,"sig":")" +
                      sig + R"("})"));
  EXPECT_TRUE(refused(R"({"op":"cancel_auction","account":")" + acct + R"(","seq":0,"auction":")" + acct +
                      R"(","sig":")" + sig + R"("})"));
}

TEST(Ledger, OnlyAdministratorsCreateMoney) {
  Harness h;
  const KeyPair alice = key(2), bob = key(3);
  h.block({h.money(alice, 1000)});
  EXPECT_EQ(h.balance(alice), 1000u);
  Operation forged;
  forged.kind = OpKind::create_money;
  forged.account = alice.pub;
  forged.seq = 1;
  forged.to = alice.pub;
  forged.amount = 1'000'000;
  sign_op(forged, alice, kNet);
  std::string why;
  EXPECT_FALSE(h.state.apply_block({forged}, &why));
  EXPECT_NE(why.find("administrator"), std::string::npos) << why;
  EXPECT_EQ(h.balance(alice), 1000u);
  // An account nobody paid cannot act at all.
  Operation o = h.transfer(bob, alice, 1);
  EXPECT_NE(h.state.check(o, 2).find("unknown account"), std::string::npos);
}

TEST(Ledger, ReplayOutOfOrderOverdraftAndForgeryChangeNothing) {
  Harness h;
  const KeyPair alice = key(2), bob = key(3);
  const Operation m = h.money(alice, 100);
  h.block({m});
  const Hash root = h.state.state_root();
  std::string why;
  EXPECT_FALSE(h.state.apply_block({m}, &why));  // replayed
  EXPECT_NE(why.find("replayed"), std::string::npos) << why;
  Operation t1 = h.transfer(alice, bob, 10);
  Operation t2 = h.transfer(alice, bob, 10);
  EXPECT_FALSE(h.state.apply_block({t2}, &why));  // seq 2 before seq 1
  EXPECT_NE(why.find("out of order"), std::string::npos) << why;
  Operation big = t1;
  big.amount = 101;
  sign_op(big, alice, kNet);
  EXPECT_FALSE(h.state.apply_block({big}, &why));
  EXPECT_NE(why.find("insufficient"), std::string::npos) << why;
  Operation forged = t1;
  forged.to = key(9).pub;  // changed after signing
  EXPECT_FALSE(h.state.apply_block({forged}, &why));
  EXPECT_NE(why.find("signature"), std::string::npos) << why;
  // A valid operation followed by an invalid one: the whole block is refused.
  EXPECT_FALSE(h.state.apply_block({t1, big}, &why));
  EXPECT_EQ(h.state.state_root(), root);
  EXPECT_EQ(h.state.height(), 1u);
  h.block({t1, t2});
  EXPECT_EQ(h.balance(bob), 20u);
  EXPECT_EQ(h.balance(alice), 80u);
}

TEST(Ledger, AuctionEscrowAndSettlement) {
  Harness h;
  const KeyPair alice = key(2), bob = key(3), carol = key(4);
  h.block({h.money(alice, 100), h.money(bob, 500), h.money(carol, 500)});  // height 1
  const Operation create = h.auction(alice, "a vase", 50, 5);
  const Hash id = op_id(create, kNet);
  h.block({create});  // height 2
  std::string why;
  EXPECT_FALSE(h.state.apply_block({h.bid(alice, id, 60)}, &why));  // owner
  h.seq[alice.pub]--;
  EXPECT_FALSE(h.state.apply_block({h.bid(bob, id, 40)}, &why));  // below the minimum
  h.seq[bob.pub]--;
  EXPECT_FALSE(h.state.apply_block({h.bid(bob, id, 600)}, &why));  // more than bob has
  h.seq[bob.pub]--;
  h.block({h.bid(bob, id, 100), h.bid(carol, id, 150)});  // height 3
  EXPECT_EQ(h.free(bob), 400u);
  EXPECT_EQ(h.free(carol), 350u);
  EXPECT_FALSE(h.state.apply_block({h.bid(bob, id, 150)}, &why));  // must beat 150
  h.seq[bob.pub]--;
  // bob raises: his escrow on this auction becomes 200 (100 more held)
  EXPECT_FALSE(h.state.apply_block({h.on_auction(alice, OpKind::cancel_auction, id)}, &why));  // has bids
  h.seq[alice.pub]--;
  EXPECT_FALSE(h.state.apply_block({h.on_auction(alice, OpKind::close_auction, id)}, &why));  // before 5
  EXPECT_NE(why.find("closes at height 5"), std::string::npos) << why;
  h.seq[alice.pub]--;
  h.block({h.bid(bob, id, 200)});  // height 4
  EXPECT_EQ(h.state.auction(id)->status, AuctionStatus::open);
  EXPECT_EQ(h.free(bob), 300u);
  h.block({});  // height 5, the closing height: it settles at the end of the block
  const Auction* a = h.state.auction(id);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, AuctionStatus::closed);
  EXPECT_EQ(a->leader, bob.pub);
  EXPECT_EQ(h.balance(alice), 300u);
  EXPECT_EQ(h.balance(bob), 300u);
  EXPECT_EQ(h.free(bob), 300u);
  EXPECT_EQ(h.balance(carol), 500u);  // released
  EXPECT_EQ(h.free(carol), 500u);
  EXPECT_EQ(h.state.escrow(id, carol.pub), 0u);
  EXPECT_FALSE(h.state.apply_block({h.bid(carol, id, 300)}, &why));  // closed
  h.seq[carol.pub]--;

  // Cancel before any bid returns nothing to anyone and ends it.
  const Operation c2 = h.auction(alice, "a lamp", 1, 100);
  h.block({c2});
  h.block({h.on_auction(alice, OpKind::cancel_auction, op_id(c2, kNet))});
  EXPECT_EQ(h.state.auction(op_id(c2, kNet))->status, AuctionStatus::cancelled);
}

// Random traffic from a few accounts, invalid operations included: every block either
// applies whole or changes nothing, money is conserved, undo then redo equals a replay from
// genesis, and every account's proof checks against the root.
TEST(Ledger, RandomTrafficUndoAndProofs) {
  std::mt19937_64 rng(42);
  Harness h;
  std::vector<KeyPair> users;
  for (std::uint8_t i = 2; i < 8; ++i) users.push_back(key(i));
  std::vector<std::vector<Operation>> chain;
  std::vector<Hash> auctions;
  std::uint64_t created = 0;
  std::size_t applied = 0;
  for (int b = 0; b < 60; ++b) {
    std::vector<Operation> ops;
    auto seq_before = h.seq;
    const std::uint64_t height = h.state.height() + 1;
    for (int n = 0; n < 6; ++n) {
      const KeyPair& u = users[rng() % users.size()];
      const KeyPair& v = users[rng() % users.size()];
      switch (rng() % 5) {
        case 0: ops.push_back(h.money(u, 1 + rng() % 100)); break;
        case 1:
          if (u.pub != v.pub) ops.push_back(h.transfer(u, v, 1 + rng() % 60));
          break;
        case 2: {
          Operation a = h.auction(u, "item " + std::to_string(rng() % 1000), 1 + rng() % 20, height + 1 + rng() % 5);
          auctions.push_back(op_id(a, kNet));
          ops.push_back(a);
          break;
        }
        default:
          if (!auctions.empty()) ops.push_back(h.bid(u, auctions[rng() % auctions.size()], 1 + rng() % 80));
      }
    }
    // Keep only what the state accepts in sequence (re-signing with fresh sequence numbers).
    h.seq = seq_before;
    std::vector<Operation> good;
    for (Operation o : ops) {
      const KeyPair* k = o.account == h.admin.pub ? &h.admin : nullptr;
      for (const KeyPair& u : users)
        if (u.pub == o.account) k = &u;
      o.seq = h.seq[o.account] + 1;
      sign_op(o, *k, kNet);
      std::vector<Operation> trial = good;
      trial.push_back(o);
      std::string why;
      const Hash before = h.state.state_root();
      if (h.state.apply_block(trial, &why)) {
        h.state.undo_block();
        good = trial;
        ++h.seq[o.account];
      } else {
        EXPECT_EQ(h.state.state_root(), before);
      }
    }
    h.block(good);
    applied += good.size();
    for (const Operation& o : good)
      if (o.kind == OpKind::create_money) created += o.amount;
    chain.push_back(good);
    std::uint64_t total = 0;
    for (const KeyPair& u : users) total += h.balance(u);
    EXPECT_EQ(total, created) << "block " << b;
  }
  // The traffic did exercise the rules: many operations, and auctions that ended with a sale.
  EXPECT_GT(applied, 150u);
  std::size_t sold = 0;
  for (const Hash& id : auctions)
    if (const Auction* a = h.state.auction(id); a && a->status == AuctionStatus::closed && a->bids > 0) ++sold;
  EXPECT_GT(sold, 3u);
  // Undo 10 blocks and redo them: the same state as a fresh replay of the whole chain.
  const Hash root = h.state.state_root();
  for (int i = 0; i < 10; ++i) h.state.undo_block();
  EXPECT_EQ(h.state.height(), 50u);
  LedgerState replay50({h.admin.pub}, std::string(kNet));
  for (int i = 0; i < 50; ++i) {
    std::string why;
    ASSERT_TRUE(replay50.apply_block(chain[static_cast<std::size_t>(i)], &why)) << why;
  }
  EXPECT_TRUE(h.state == replay50);
  EXPECT_EQ(h.state.state_root(), replay50.state_root());
  for (int i = 50; i < 60; ++i) h.block(chain[static_cast<std::size_t>(i)]);
  EXPECT_EQ(h.state.state_root(), root);

  for (const KeyPair& u : users) {
    auto p = h.state.prove_account(u.pub);
    if (!p) continue;
    EXPECT_TRUE(verify_proof(*p, root));
    StateProof bad = *p;
    bad.entry.value[3] ^= 1;  // a node lying about the balance
    EXPECT_FALSE(verify_proof(bad, root));
    Hash other = root;
    other[0] ^= 1;
    EXPECT_FALSE(verify_proof(*p, other));
  }
  EXPECT_FALSE(h.state.prove_account(key(99).pub));
}

}  // namespace
}  // namespace hf::node::ledger
