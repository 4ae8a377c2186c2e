// A node's answer to a ledger read (/api/account, /api/auction, /api/auction/{id}/bid/{key}),
// as a ledger client judges it (net/node/ledger_json.*, ledger_reads.*, ledger_state.*),
// against the fixed header chain of tests/fuzz/ledger_fixture.hpp. Properties: no crash and no
// exception; a refusal has a reason; a proof or absence proof that parses writes back to JSON
// that parses to the same proof; a value that decodes encodes back to the same bytes; and
// check_proven believes nothing false: when it accepts a reply, the block is on the followed
// chain k deep, and what it says (found or not, the value) is what that block's real state
// holds for the key.
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/ledger_fixture.hpp"

namespace {

using namespace hf::fuzz::ledger_fixture;

bool same_proof(const StateProof& a, const StateProof& b) {
  return a.entry.key == b.entry.key && a.entry.value == b.entry.value && a.index == b.index && a.count == b.count &&
         a.path == b.path;
}

// The value bytes as check_proven shows them for `kind` (null when they do not decode).
Json decoded(EntryKind kind, const std::string& key, std::string_view value) {
  switch (kind) {
    case EntryKind::account:
      if (auto a = decode_account(value)) return account_json(*a);
      break;
    case EntryKind::auction:
      if (auto a = decode_auction(value)) {
        Hash id{};
        if (key.size() == 33) std::copy(key.begin() + 1, key.end(), id.begin());
        return auction_json(id, *a);
      }
      break;
    case EntryKind::escrow:
      if (auto v = decode_escrow(value)) return Json::object({{"held", Json::integer(static_cast<std::int64_t>(*v))}});
      break;
  }
  return Json();
}

// Every decoder on some bytes: what decodes encodes back to them.
void decoders(std::string_view bytes) {
  if (auto a = decode_account(bytes)) {
    HF_FUZZ_CHECK(account_value(*a) == bytes);
    HF_FUZZ_CHECK(a->held <= a->balance);
  }
  if (auto a = decode_auction(bytes)) {
    HF_FUZZ_CHECK(auction_value(*a) == bytes);
    HF_FUZZ_CHECK(a->item.size() <= kMaxItemBytes);
  }
  if (auto v = decode_escrow(bytes)) HF_FUZZ_CHECK(escrow_value(*v) == bytes);
}

void proof_parsers(const Json& j, const Fixture& f) {
  std::string why;
  if (auto p = proof_from_json(j, &why)) {
    HF_FUZZ_CHECK(why.empty());
    auto back = proof_from_json(proof_to_json(*p), &why);
    HF_FUZZ_CHECK(back && same_proof(*p, *back));
    decoders(p->entry.value);
    // Against any root: no crash; against a real one, only a real entry.
    if (verify_proof(*p, f.trees.back().root())) {
      auto real = f.trees.back().prove(p->entry.key);
      HF_FUZZ_CHECK(real && real->entry.value == p->entry.value);
    }
  } else {
    HF_FUZZ_CHECK(!why.empty());
  }
  why.clear();
  if (auto a = absence_from_json(j, &why)) {
    HF_FUZZ_CHECK(why.empty());
    auto back = absence_from_json(absence_to_json(*a), &why);
    HF_FUZZ_CHECK(back && back->count == a->count && back->below.has_value() == a->below.has_value() &&
                  back->above.has_value() == a->above.has_value());
    for (const auto& [key, kind] : f.keys)
      if (verify_absence(*a, key, f.trees.back().root())) HF_FUZZ_CHECK(!f.trees.back().prove(key));
  } else {
    HF_FUZZ_CHECK(!why.empty());
  }
}

void judge(const Json& reply, const std::string& key, EntryKind kind, const Fixture& f) {
  const CheckedValue v = check_proven(reply, key, kind, *f.headers, f.rules);
  if (!v.ok) {
    HF_FUZZ_CHECK(!v.why.empty());
    return;
  }
  HF_FUZZ_CHECK(v.why.empty());
  const HeaderEntry* h = f.headers->find(v.block);
  HF_FUZZ_CHECK(h != nullptr && h->height == v.height);
  HF_FUZZ_CHECK(f.headers->depth_on_best(*h) >= f.rules.k);
  HF_FUZZ_CHECK(v.height >= 0 && v.height <= kTip && f.chain[static_cast<std::size_t>(v.height)].hash == v.block);
  const StateTree& real = f.trees[static_cast<std::size_t>(v.height)];
  auto p = real.prove(key);
  HF_FUZZ_CHECK(v.found == p.has_value());
  if (p) HF_FUZZ_CHECK(dump_python(v.value) == dump_python(decoded(kind, key, p->entry.value)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Fixture& f = fixture();
  const std::string_view text = hf::fuzz::text_of(data, size);
  decoders(text);
  ParseResult pr = parse_json(text, {.max_depth = 16, .max_bytes = 1 << 16, .max_int_digits = 40});
  if (!pr.value) return 0;
  const Json& reply = *pr.value;

  proof_parsers(reply, f);
  if (reply.is_object()) {
    if (const Json* p = reply.find("proof")) proof_parsers(*p, f);
    if (const Json* a = reply.find("absence")) {
      proof_parsers(*a, f);
      if (a->is_object())
        for (const char* side : {"below", "above"})
          if (const Json* s = a->find(side)) proof_parsers(*s, f);
    }
  }

  // The reply as an answer about each key the chain knows, and about the key its proof names.
  for (const auto& [key, kind] : f.keys) judge(reply, key, kind, f);
  if (const Json* pj = reply.is_object() ? reply.find("proof") : nullptr) {
    std::string why;
    if (auto p = proof_from_json(*pj, &why))
      for (EntryKind kind : {EntryKind::account, EntryKind::auction, EntryKind::escrow})
        judge(reply, p->entry.key, kind, f);
  }
  return 0;
}
