// What a node sends a ledger client as its header chain (/api/headers entries), through the
// client's HeaderChain::add (net/node/header_chain.*) on the network of
// tests/fuzz/ledger_fixture.hpp. The input is a JSON array of entries, or an object with
// "headers" (as /api/headers answers) and, when "fill_hash" is true, the harness writes each
// entry's "hash" from its "header" first, so that mutated headers get past the hash check to
// the rules behind it. Properties: no crash and no exception; a refused header has a reason
// and changes nothing; an accepted one is stored under the hash of its 80 bytes, follows its
// parent by one, meets the target of its bits and the network's, and adds work; adding it
// again is a no-op; the tip has the most work, is on its own chain and has the genesis below.
#include <openssl/sha.h>

#include <algorithm>

#include "hashforge/hex.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/ledger_fixture.hpp"

namespace {

using namespace hf::fuzz::ledger_fixture;

// The hash of an 80-byte header as Bitcoin shows it, or empty when `hex` is not one.
std::string hash_of_header(const Json* header) {
  if (!header || !header->is_string() || header->as_string().size() != 160) return {};
  auto raw = hf::from_hex(header->as_string());
  if (!raw || raw->size() != 80) return {};
  std::array<std::uint8_t, 32> a{}, d{};
  SHA256(raw->data(), raw->size(), a.data());
  SHA256(a.data(), a.size(), d.data());
  std::reverse(d.begin(), d.end());
  return hf::to_hex(hf::ByteView(d.data(), d.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Fixture& f = fixture();
  ParseResult pr = parse_json(hf::fuzz::text_of(data, size), {.max_depth = 16, .max_bytes = 1 << 18, .max_int_digits = 40});
  if (!pr.value) return 0;
  const Json* list = &*pr.value;
  bool fill_hash = false;
  if (list->is_object()) {
    const Json* fh = list->find("fill_hash");
    fill_hash = fh && fh->is_bool() && fh->as_bool();
    list = list->find("headers");
    if (!list) return 0;
  }
  if (!list->is_array()) return 0;

  HeaderChain hc(f.spec);
  const HeaderEntry* genesis = hc.find(f.spec.genesis.hash);
  HF_FUZZ_CHECK(genesis != nullptr && &hc.tip() == genesis);
  std::size_t n = 0;
  for (Json entry : list->items()) {
    if (++n > 64) break;
    if (fill_hash && entry.is_object()) {
      const std::string h = hash_of_header(entry.find("header"));
      if (!h.empty()) entry.set("hash", Json::string(h));
    }
    const Json* hash = entry.is_object() ? entry.find("hash") : nullptr;
    const bool known = hash && hash->is_string() && hc.find(hash->as_string());
    const std::size_t before = hc.size();
    const HeaderEntry* tip_before = &hc.tip();
    const std::string why = hc.add(entry);
    if (!why.empty()) {
      HF_FUZZ_CHECK(hc.size() == before && &hc.tip() == tip_before);
      continue;
    }
    HF_FUZZ_CHECK(hash && hash->is_string());
    const HeaderEntry* e = hc.find(hash->as_string());
    HF_FUZZ_CHECK(e != nullptr);
    if (known) {
      HF_FUZZ_CHECK(hc.size() == before);
    } else {
      HF_FUZZ_CHECK(hc.size() == before + 1);
      HF_FUZZ_CHECK(hash_of_header(entry.find("header")) == e->hash);
      HF_FUZZ_CHECK(e->parent != nullptr && e->parent->hash == e->previous);
      HF_FUZZ_CHECK(e->height == e->parent->height + 1);
      HF_FUZZ_CHECK(e->work > e->parent->work);
      hf::Key t;
      HF_FUZZ_CHECK(hf::target_from_compact(e->bits, &t).empty());
      HF_FUZZ_CHECK(meets_target(e->hash, t) && meets_target(e->hash, f.spec.target));
      HF_FUZZ_CHECK(e->work <= hc.tip().work);
      HF_FUZZ_CHECK(&hc.tip() == e || &hc.tip() == tip_before);
    }
    HF_FUZZ_CHECK(hc.add(entry).empty());  // again: already known
    HF_FUZZ_CHECK(hc.size() == (known ? before : before + 1));
    HF_FUZZ_CHECK(hc.depth_on_best(hc.tip()) == 0);
    HF_FUZZ_CHECK(hc.depth_on_best(*genesis) == hc.tip().height);
    const std::int64_t d = hc.depth_on_best(*e);
    HF_FUZZ_CHECK(d == -1 || d == hc.tip().height - e->height);
  }
  return 0;
}
