#include "net/node/ledger_json.hpp"

#include <algorithm>

#include "hashforge/hex.hpp"

namespace hf::node::ledger {

namespace {

std::optional<std::string> bytes_field(const Json& j, const char* key, std::size_t max) {
  const Json* f = j.find(key);
  if (!f || !f->is_string() || f->as_string().size() > 2 * max) return std::nullopt;
  auto b = from_hex(f->as_string());
  if (!b) return std::nullopt;
  return std::string(b->begin(), b->end());
}

std::optional<std::uint64_t> uint_field(const Json& j, const char* key) {
  const Json* f = j.find(key);
  auto v = f && f->is_int() ? f->as_int64() : std::nullopt;
  if (!v || *v < 0) return std::nullopt;
  return static_cast<std::uint64_t>(*v);
}

// Reads big-endian fields off the front of a value.
struct Reader {
  std::string_view s;
  bool ok = true;
  std::uint64_t u64() {
    if (s.size() < 8) return ok = false, 0;
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<std::uint8_t>(s[static_cast<std::size_t>(i)]);
    s.remove_prefix(8);
    return v;
  }
  template <std::size_t N>
  std::array<std::uint8_t, N> bytes() {
    std::array<std::uint8_t, N> a{};
    if (s.size() < N) return ok = false, a;
    std::copy_n(s.begin(), N, a.begin());
    s.remove_prefix(N);
    return a;
  }
  std::string text(std::uint64_t n) {
    if (s.size() < n) return ok = false, std::string();
    std::string t(s.substr(0, n));
    s.remove_prefix(n);
    return t;
  }
};

}  // namespace

std::string hex_of(std::string_view bytes) {
  return to_hex(ByteView(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

std::optional<Hash> hash_of_hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  auto b = from_hex(hex);
  if (!b || b->size() != 32) return std::nullopt;
  Hash h{};
  std::copy(b->begin(), b->end(), h.begin());
  return h;
}

Json proof_to_json(const StateProof& p) {
  Json path = Json::array();
  for (const Hash& h : p.path) path.push(Json::string(hex_of(h)));
  return Json::object({{"key", Json::string(hex_of(p.entry.key))},
                       {"value", Json::string(hex_of(p.entry.value))},
                       {"index", Json::integer(static_cast<std::int64_t>(p.index))},
                       {"count", Json::integer(static_cast<std::int64_t>(p.count))},
                       {"path", std::move(path)}});
}

std::optional<StateProof> proof_from_json(const Json& j, std::string* why) {
  *why = "malformed proof";
  if (!j.is_object()) return std::nullopt;
  StateProof p;
  auto key = bytes_field(j, "key", 256);
  auto value = bytes_field(j, "value", 4096);
  auto index = uint_field(j, "index");
  auto count = uint_field(j, "count");
  const Json* path = j.find("path");
  if (!key || !value || !index || !count || !path || !path->is_array() || path->items().size() > 64) return std::nullopt;
  p.entry = {std::move(*key), std::move(*value)};
  p.index = *index;
  p.count = *count;
  for (const Json& h : path->items()) {
    auto hh = h.is_string() ? hash_of_hex(h.as_string()) : std::nullopt;
    if (!hh) return std::nullopt;
    p.path.push_back(*hh);
  }
  why->clear();
  return p;
}

Json absence_to_json(const AbsenceProof& p) {
  return Json::object({{"count", Json::integer(static_cast<std::int64_t>(p.count))},
                       {"below", p.below ? proof_to_json(*p.below) : Json()},
                       {"above", p.above ? proof_to_json(*p.above) : Json()}});
}

std::optional<AbsenceProof> absence_from_json(const Json& j, std::string* why) {
  *why = "malformed absence proof";
  if (!j.is_object()) return std::nullopt;
  AbsenceProof p;
  auto count = uint_field(j, "count");
  if (!count) return std::nullopt;
  p.count = *count;
  for (const char* side : {"below", "above"}) {
    const Json* s = j.find(side);
    if (!s || s->is_null()) continue;
    auto q = proof_from_json(*s, why);
    if (!q) return std::nullopt;
    (std::string_view(side) == "below" ? p.below : p.above) = std::move(*q);
  }
  why->clear();
  return p;
}

std::optional<Account> decode_account(std::string_view value) {
  Reader r{value};
  Account a;
  a.balance = r.u64();
  a.held = r.u64();
  a.next_seq = r.u64();
  if (!r.ok || !r.s.empty() || a.held > a.balance) return std::nullopt;
  return a;
}

std::optional<Auction> decode_auction(std::string_view value) {
  Reader r{value};
  Auction a;
  a.owner = r.bytes<32>();
  const std::uint64_t n = r.u64();
  if (!r.ok || n > kMaxItemBytes) return std::nullopt;
  a.item = r.text(n);
  a.min_bid = r.u64();
  a.closes_at = r.u64();
  a.created_at = r.u64();
  auto st = r.bytes<1>();
  if (st[0] > 2) return std::nullopt;
  a.status = static_cast<AuctionStatus>(st[0]);
  a.leader = r.bytes<32>();
  a.high = r.u64();
  a.bids = r.u64();
  if (!r.ok || !r.s.empty()) return std::nullopt;
  return a;
}

std::optional<std::uint64_t> decode_escrow(std::string_view value) {
  Reader r{value};
  std::uint64_t v = r.u64();
  if (!r.ok || !r.s.empty()) return std::nullopt;
  return v;
}

std::string_view status_name(AuctionStatus s) {
  switch (s) {
    case AuctionStatus::open: return "open";
    case AuctionStatus::closed: return "closed";
    case AuctionStatus::cancelled: return "cancelled";
  }
  return "?";
}

Json account_json(const Account& a) {
  return Json::object({{"balance", Json::integer(static_cast<std::int64_t>(a.balance))},
                       {"held", Json::integer(static_cast<std::int64_t>(a.held))},
                       {"free", Json::integer(static_cast<std::int64_t>(a.free()))},
                       {"next_seq", Json::integer(static_cast<std::int64_t>(a.next_seq))}});
}

Json auction_json(const Hash& id, const Auction& a) {
  std::vector<Json::Member> m;
  m.emplace_back("auction", Json::string(hex_of(id)));
  m.emplace_back("owner", Json::string(hex_of(a.owner)));
  m.emplace_back("item", Json::string(a.item));
  m.emplace_back("min_bid", Json::integer(static_cast<std::int64_t>(a.min_bid)));
  m.emplace_back("closes_at", Json::integer(static_cast<std::int64_t>(a.closes_at)));
  m.emplace_back("created_at", Json::integer(static_cast<std::int64_t>(a.created_at)));
  m.emplace_back("status", Json::string(std::string(status_name(a.status))));
  m.emplace_back("bids", Json::integer(static_cast<std::int64_t>(a.bids)));
  m.emplace_back("high", Json::integer(static_cast<std::int64_t>(a.high)));
  m.emplace_back("leader", a.bids ? Json::string(hex_of(a.leader)) : Json());
  return Json::object(std::move(m));
}

}  // namespace hf::node::ledger
