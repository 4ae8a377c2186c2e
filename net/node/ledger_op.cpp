#include "net/node/ledger_op.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <cstring>

#include "hashforge/hex.hpp"

namespace hf::node::ledger {
namespace {

constexpr std::string_view kDomain = "hashforge-auction-op-v1";

void put_u64(std::string* out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
template <std::size_t N>
void put_bytes(std::string* out, const std::array<std::uint8_t, N>& a) {
  out->append(reinterpret_cast<const char*>(a.data()), N);
}

bool uses_to(OpKind k) { return k == OpKind::create_money || k == OpKind::transfer; }
bool uses_amount(OpKind k) {
  return k == OpKind::create_money || k == OpKind::transfer || k == OpKind::create_auction || k == OpKind::bid;
}
bool uses_auction(OpKind k) {
  return k == OpKind::bid || k == OpKind::close_auction || k == OpKind::cancel_auction;
}

template <std::size_t N>
bool hex_field(const Json& j, std::string_view key, std::array<std::uint8_t, N>* out, std::string* why) {
  const Json* v = j.find(key);
  if (!v || !v->is_string()) {
    *why = "\"" + std::string(key) + "\" must be a string of " + std::to_string(2 * N) + " hex digits";
    return false;
  }
  std::optional<Bytes> b = from_hex(v->as_string());
  if (!b || b->size() != N || v->as_string().size() != 2 * N) {
    *why = "\"" + std::string(key) + "\" must be " + std::to_string(2 * N) + " hex digits";
    return false;
  }
  std::copy(b->begin(), b->end(), out->begin());
  return true;
}

bool u64_field(const Json& j, std::string_view key, std::uint64_t* out, std::string* why) {
  const Json* v = j.find(key);
  const std::optional<std::int64_t> n = v && v->is_int() ? v->as_int64() : std::nullopt;
  if (!n || *n < 0 || static_cast<std::uint64_t>(*n) > kMaxAmount) {
    *why = "\"" + std::string(key) + "\" must be a whole number from 0 to 2^53";
    return false;
  }
  *out = static_cast<std::uint64_t>(*n);
  return true;
}

}  // namespace

std::string_view op_kind_name(OpKind k) {
  switch (k) {
    case OpKind::create_money: return "create_money";
    case OpKind::transfer: return "transfer";
    case OpKind::create_auction: return "create_auction";
    case OpKind::bid: return "bid";
    case OpKind::close_auction: return "close_auction";
    case OpKind::cancel_auction: return "cancel_auction";
  }
  return "?";
}

std::optional<OpKind> parse_op_kind(std::string_view s) {
  for (OpKind k : {OpKind::create_money, OpKind::transfer, OpKind::create_auction, OpKind::bid,
                   OpKind::close_auction, OpKind::cancel_auction})
    if (op_kind_name(k) == s) return k;
  return std::nullopt;
}

std::string signing_bytes(const Operation& op, std::string_view network_id) {
  std::string out;
  out.reserve(160 + op.item.size() + network_id.size());
  out.append(kDomain);
  out.push_back('\0');
  put_u64(&out, network_id.size());
  out.append(network_id);
  out.push_back(static_cast<char>(op.kind));
  put_bytes(&out, op.account);
  put_u64(&out, op.seq);
  put_bytes(&out, op.to);
  put_u64(&out, op.amount);
  put_u64(&out, op.item.size());
  out.append(op.item);
  put_u64(&out, op.closes_at);
  put_bytes(&out, op.auction);
  return out;
}

Hash op_id(const Operation& op, std::string_view network_id) {
  const std::string b = signing_bytes(op, network_id);
  Hash h{};
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), h.data());
  return h;
}

void sign_op(Operation& op, const KeyPair& key, std::string_view network_id) {
  op.account = key.pub;
  op.sig = sign(key, signing_bytes(op, network_id));
}

bool signature_ok(const Operation& op, std::string_view network_id) {
  return verify(op.account, signing_bytes(op, network_id), op.sig);
}

bool SigCache::verify(const Operation& op) { return verify(op, op_id(op, network_)); }

bool SigCache::verify(const Operation& op, const Hash& id) {
  std::string key(reinterpret_cast<const char*>(id.data()), id.size());
  key.append(reinterpret_cast<const char*>(op.sig.data()), op.sig.size());
  {
    std::lock_guard lk(mu_);
    if (ok_.count(key)) return true;
  }
  ++verified_;
  if (!signature_ok(op, network_)) return false;
  std::lock_guard lk(mu_);
  if (ok_.size() >= capacity_) ok_.clear();
  ok_.insert(std::move(key));
  return true;
}

std::string check_shape(const Operation& op) {
  if (op.seq == 0) return "seq starts at 1";
  if (uses_amount(op.kind) && (op.amount == 0 || op.amount > kMaxAmount)) return "amount must be from 1 to 2^53";
  if (op.kind == OpKind::transfer && op.to == op.account) return "a transfer to oneself";
  if (op.kind == OpKind::create_auction) {
    if (op.item.empty() || op.item.size() > kMaxItemBytes) return "item must be 1 to 200 bytes";
    if (op.closes_at == 0 || op.closes_at > kMaxAmount) return "closes_at must be a block height from 1 to 2^53";
  }
  // Fields an operation does not use must be empty, so one signed operation has one meaning.
  if (!uses_to(op.kind) && op.to != PublicKey{}) return "\"to\" does not belong in " + std::string(op_kind_name(op.kind));
  if (!uses_amount(op.kind) && op.amount != 0)
    return "\"amount\" does not belong in " + std::string(op_kind_name(op.kind));
  if (op.kind != OpKind::create_auction && (!op.item.empty() || op.closes_at != 0))
    return "\"item\" and \"closes_at\" belong only in create_auction";
  if (!uses_auction(op.kind) && op.auction != Hash{})
    return "\"auction\" does not belong in " + std::string(op_kind_name(op.kind));
  return {};
}

Json op_to_json(const Operation& op) {
  std::vector<Json::Member> m;
  m.emplace_back("op", Json::string(std::string(op_kind_name(op.kind))));
  m.emplace_back("account", Json::string(to_hex(op.account)));
  m.emplace_back("seq", Json::integer(static_cast<std::int64_t>(op.seq)));
  if (uses_to(op.kind)) m.emplace_back("to", Json::string(to_hex(op.to)));
  if (uses_amount(op.kind)) m.emplace_back("amount", Json::integer(static_cast<std::int64_t>(op.amount)));
  if (op.kind == OpKind::create_auction) {
    m.emplace_back("item", Json::string(op.item));
    m.emplace_back("closes_at", Json::integer(static_cast<std::int64_t>(op.closes_at)));
  }
  if (uses_auction(op.kind)) m.emplace_back("auction", Json::string(to_hex(op.auction)));
  m.emplace_back("sig", Json::string(to_hex(op.sig)));
  return Json::object(std::move(m));
}

std::optional<Operation> op_from_json(const Json& j, std::string* why) {
  if (!j.is_object()) {
    *why = "an operation is a JSON object";
    return std::nullopt;
  }
  const Json* kind = j.find("op");
  std::optional<OpKind> k = kind && kind->is_string() ? parse_op_kind(kind->as_string()) : std::nullopt;
  if (!k) {
    *why = "\"op\" must be one of create_money, transfer, create_auction, bid, close_auction, cancel_auction";
    return std::nullopt;
  }
  Operation op;
  op.kind = *k;
  std::size_t expected = 4;  // op, account, seq, sig
  if (!hex_field(j, "account", &op.account, why) || !u64_field(j, "seq", &op.seq, why) ||
      !hex_field(j, "sig", &op.sig, why))
    return std::nullopt;
  if (uses_to(op.kind)) {
    if (!hex_field(j, "to", &op.to, why)) return std::nullopt;
    ++expected;
  }
  if (uses_amount(op.kind)) {
    if (!u64_field(j, "amount", &op.amount, why)) return std::nullopt;
    ++expected;
  }
  if (op.kind == OpKind::create_auction) {
    const Json* item = j.find("item");
    if (!item || !item->is_string()) {
      *why = "\"item\" must be a string";
      return std::nullopt;
    }
    op.item = item->as_string();
    if (!u64_field(j, "closes_at", &op.closes_at, why)) return std::nullopt;
    expected += 2;
  }
  if (uses_auction(op.kind)) {
    if (!hex_field(j, "auction", &op.auction, why)) return std::nullopt;
    ++expected;
  }
  if (j.members().size() != expected) {
    *why = "unexpected fields for " + std::string(op_kind_name(op.kind));
    return std::nullopt;
  }
  if (std::string bad = check_shape(op); !bad.empty()) {
    *why = bad;
    return std::nullopt;
  }
  return op;
}

}  // namespace hf::node::ledger
