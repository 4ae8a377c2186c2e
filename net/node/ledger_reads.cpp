#include "net/node/ledger_reads.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "net/node/ledger_json.hpp"

namespace hf::node::ledger {

namespace {

std::optional<Json> decode(EntryKind kind, const std::string& key, std::string_view value) {
  switch (kind) {
    case EntryKind::account: {
      auto a = decode_account(value);
      return a ? std::optional<Json>(account_json(*a)) : std::nullopt;
    }
    case EntryKind::auction: {
      auto a = decode_auction(value);
      auto id = hash_of_hex(hex_of(std::string_view(key).substr(1)));
      return a && id ? std::optional<Json>(auction_json(*id, *a)) : std::nullopt;
    }
    case EntryKind::escrow: {
      auto v = decode_escrow(value);
      if (!v) return std::nullopt;
      return Json::object({{"held", Json::integer(static_cast<std::int64_t>(*v))}});
    }
  }
  return std::nullopt;
}

const std::string* str(const Json& j, const char* k) {
  const Json* f = j.is_object() ? j.find(k) : nullptr;
  return f && f->is_string() ? &f->as_string() : nullptr;
}

std::optional<std::int64_t> num(const Json& j, const char* k) {
  const Json* f = j.is_object() ? j.find(k) : nullptr;
  return f && f->is_int() ? f->as_int64() : std::nullopt;
}

}  // namespace

CheckedValue check_proven(const Json& reply, const std::string& key, EntryKind kind, const HeaderChain& headers,
                          const ProofRules& rules) {
  CheckedValue out;
  auto wrong = [&](std::string why) {
    out.ok = false;
    out.why = std::move(why);
    return out;
  };
  const Json* block = reply.is_object() ? reply.find("block") : nullptr;
  const Json* found = reply.is_object() ? reply.find("found") : nullptr;
  if (!block || !found || !found->is_bool()) return wrong("the reply lacks \"block\" or \"found\"");
  const std::string* hash = str(*block, "hash");
  const std::string* tx_root = str(*block, "tx_root");
  const std::string* state_root = str(*block, "state_root");
  if (!hash || !tx_root || !state_root) return wrong("the reply's block lacks its hash or roots");
  auto short_of_headers = [&](std::string why) {
    wrong(std::move(why));
    out.headers_short = true;
    return out;
  };
  const HeaderEntry* h = headers.find(*hash);
  if (!h) return short_of_headers("its block " + hash->substr(0, 16) + " is on no header chain any node showed");
  const std::int64_t depth = headers.depth_on_best(*h);
  if (depth < 0) return short_of_headers("its block " + hash->substr(0, 16) + " is not on the most-work chain");
  if (depth < rules.k)
    return short_of_headers("its block has " + std::to_string(depth) + " blocks on top, fewer than k = " +
                            std::to_string(rules.k));
  if (rules.now - static_cast<double>(headers.tip().time) > rules.max_tip_age_seconds)
    return short_of_headers("the most-work chain's tip is " + std::to_string(static_cast<long long>(rules.now - headers.tip().time)) +
                 " s old: no node is showing recent blocks");
  auto commit = commitment_of(*tx_root, *state_root);
  if (!commit || *commit != h->commitment) return wrong("the state root it names is not the one its block commits to");
  auto root = hash_of_hex(*state_root);
  std::string why;
  if (found->as_bool()) {
    const Json* pj = reply.find("proof");
    auto p = pj ? proof_from_json(*pj, &why) : std::nullopt;
    if (!p) return wrong("no valid proof: " + why);
    if (p->entry.key != key) return wrong("the proof is for another entry");
    if (!verify_proof(*p, *root)) return wrong("the proof does not lead to the block's state root");
    auto v = decode(kind, key, p->entry.value);
    if (!v) return wrong("the proven value does not decode");
    out.found = true;
    out.value = std::move(*v);
  } else {
    const Json* aj = reply.find("absence");
    auto a = aj ? absence_from_json(*aj, &why) : std::nullopt;
    if (!a) return wrong("no valid absence proof: " + why);
    if (!verify_absence(*a, key, *root)) return wrong("the absence proof does not hold against the block's state root");
  }
  out.ok = true;
  out.height = h->height;
  out.block = h->hash;
  return out;
}

QuorumResult quorum(const std::vector<NodeAnswer>& answers, EntryKind kind, std::int64_t k) {
  (void)kind;
  QuorumResult out;
  const std::size_t n = answers.size();
  const std::size_t need = (n - 1) / 3 + 1;
  // (block hash, value text) -> the nodes saying so; value text "absent" when not found.
  struct Claim {
    std::int64_t height = 0;
    Json value;
    bool found = false;
    std::vector<std::string> nodes;
  };
  // Keyed by the block's hash, its height and the value: a node that names a real block
  // with another height makes a claim of its own, which no honest node shares.
  std::map<std::tuple<std::string, std::int64_t, std::string>, Claim> claims;
  std::map<std::string, std::vector<std::string>> by_block;  // block -> nodes answering at it
  for (const auto& a : answers) {
    if (!a.reachable) continue;
    const Json* block = a.reply.is_object() ? a.reply.find("block") : nullptr;
    const std::string* hash = block ? str(*block, "hash") : nullptr;
    auto height = block ? num(*block, "height") : std::nullopt;
    auto tip = num(a.reply, "tip_height");
    const Json* found = a.reply.is_object() ? a.reply.find("found") : nullptr;
    if (!hash || !height || !tip || !found || !found->is_bool()) continue;
    if (*tip - *height < k) {
      out.stale.push_back(a.node);  // not k deep by its own account: no vote
      continue;
    }
    Json v = found->as_bool() && a.reply.find("value") ? *a.reply.find("value") : Json();
    std::string text = found->as_bool() ? dump_python(v, {.sort_keys = true}) : "absent";
    Claim& c = claims[{*hash, *height, text}];
    c.height = *height;
    c.value = std::move(v);
    c.found = found->as_bool();
    c.nodes.push_back(a.node);
    by_block[*hash].push_back(a.node);
  }
  const Claim* best = nullptr;
  const std::string* best_block = nullptr;
  for (const auto& [key, c] : claims)
    if (c.nodes.size() >= need && (!best || c.height > best->height)) {
      best = &c;
      best_block = &std::get<0>(key);
    }
  if (!best) {
    out.why = "no value at any block is reported k deep by " + std::to_string(need) + " of " + std::to_string(n) +
              " nodes";
    return out;
  }
  // Two claims at the winning height, each with f+1 nodes: more than f nodes are wrong (or
  // the chain forked k deep), and no answer can be trusted.
  for (const auto& [key, c] : claims)
    if (&c != best && c.nodes.size() >= need && c.height == best->height) {
      out.why = "conflicting answers at height " + std::to_string(best->height) + ", each from " +
                std::to_string(need) + " or more nodes: more nodes are faulty than the quorum tolerates";
      return out;
    }
  out.ok = true;
  out.agreed = best->nodes;
  out.value.ok = true;
  out.value.found = best->found;
  out.value.value = best->value;
  out.value.height = best->height;
  out.value.block = *best_block;
  for (const auto& [key, c] : claims)
    if (std::get<0>(key) == *best_block && &c != best) {
      out.disagreed.insert(out.disagreed.end(), c.nodes.begin(), c.nodes.end());
      out.disagreement += (out.disagreement.empty() ? "" : "; ") + std::get<2>(key);
    }
  return out;
}

}  // namespace hf::node::ledger
