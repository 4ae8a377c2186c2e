#include "net/node/block.hpp"

#include <algorithm>

#include "hashforge/engine.hpp"
#include "hashforge/hex.hpp"

namespace hf::node {

namespace {

std::string sha256_hex(std::string_view text) {
  ByteView v(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  return Engine::instance().digest(Algo::sha256, v).hex();
}

Bytes to_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

// The seed's scheme. Sorted keys put the nonce second: the hashed text is
// `{"index": I, "nonce": ` + decimal nonce + `, "previous_hash": ..., "timestamp": ...,
// "transactions": ...}`, so a mining job is that text with a varying-width decimal field.
class SeedJsonScheme final : public BlockScheme {
 public:
  std::string name() const override { return "seed-json"; }

  std::string hash_hex(const Block& b) const override { return sha256_hex(text(b, b.nonce)); }

  SearchTemplate search_template(const Block& b) const override {
    std::string head = prefix(b);
    std::string all = head + suffix(b);
    SearchTemplate t;
    t.message = to_bytes(all);
    t.field.offset = head.size();
    t.field.encoding = Encoding::dec;
    t.field.width = 0;
    return t;
  }

  std::size_t hashed_size(const Block& b) const override { return text(b, b.nonce).size(); }

 private:
  static std::string prefix(const Block& b) { return "{\"index\": " + std::to_string(b.index) + ", \"nonce\": "; }
  static std::string suffix(const Block& b) {
    std::string s = ", \"previous_hash\": ";
    dump_python_string(b.previous_hash, &s);
    s += ", \"timestamp\": ";
    dump_python(b.timestamp, &s, {.sort_keys = true});
    s += ", \"transactions\": ";
    dump_python(b.transactions, &s, {.sort_keys = true});
    s += '}';
    return s;
  }
  static std::string text(const Block& b, std::uint64_t nonce) { return prefix(b) + std::to_string(nonce) + suffix(b); }
};

using Hash32 = std::array<std::uint8_t, 32>;

Hash32 sha256d(ByteView v) {
  const Digest d = Engine::instance().digest(Algo::sha256d, v);
  Hash32 h{};
  std::copy_n(d.bytes.begin(), 32, h.begin());
  return h;
}

void put_u32le(Bytes* out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// 64 hex digits to bytes; zeros when malformed (check_fields refuses such blocks first).
Hash32 hex32(const std::string& hex) {
  Hash32 h{};
  if (auto b = from_hex(hex); b && b->size() == 32) std::copy(b->begin(), b->end(), h.begin());
  return h;
}

class HeaderScheme final : public BlockScheme {
 public:
  std::string name() const override { return "header-sha256d"; }

  std::string hash_hex(const Block& b) const override {
    Hash32 h = sha256d(block_header(b));
    std::reverse(h.begin(), h.end());  // shown as Bitcoin shows block hashes
    return to_hex(h);
  }

  SearchTemplate search_template(const Block& b) const override {
    SearchTemplate t;
    t.message = block_header(b);
    t.field.offset = 76;
    t.field.encoding = Encoding::u32le;
    t.algo = Algo::sha256d;
    t.order = ByteOrder::bitcoin;
    return t;
  }

  std::size_t hashed_size(const Block& b) const override {
    return 80 + dump_python(b.transactions, {.sort_keys = true}).size();
  }

  std::string check_fields(const Block& b) const override {
    if (!is_hash_hex(b.previous_hash)) return "previous_hash must be 64 lowercase hex digits";
    if (!is_hash_hex(b.state_root)) return "state_root must be 64 lowercase hex digits";
    const auto t = b.timestamp.is_int() ? b.timestamp.as_int64() : std::nullopt;
    if (!t || *t < 0 || *t > 0xffffffffLL) return "timestamp must be whole seconds that fit 32 bits";
    if (b.nonce > 0xffffffffULL) return "nonce must fit 32 bits";
    if (b.bits == 0) return "bits (the compact target) missing";
    return {};
  }

  bool bounded_nonce() const override { return true; }
};

}  // namespace

std::array<std::uint8_t, 32> transactions_root(const Json& transactions) {
  std::vector<Hash32> level;
  for (const Json& tx : transactions.items()) level.push_back(hex32(txid_of(tx)));
  if (level.empty()) return Hash32{};
  Bytes pair(64);
  while (level.size() > 1) {
    std::vector<Hash32> up;
    for (std::size_t i = 0; i + 1 < level.size(); i += 2) {
      std::copy(level[i].begin(), level[i].end(), pair.begin());
      std::copy(level[i + 1].begin(), level[i + 1].end(), pair.begin() + 32);
      up.push_back(sha256d(pair));
    }
    if (level.size() % 2) up.push_back(level.back());
    level = std::move(up);
  }
  return level[0];
}

Bytes block_header(const Block& b) {
  Bytes h;
  h.reserve(80);
  put_u32le(&h, 1);
  Hash32 prev = hex32(b.previous_hash);
  std::reverse(prev.begin(), prev.end());
  h.insert(h.end(), prev.begin(), prev.end());
  Bytes roots(64);
  const Hash32 txr = transactions_root(b.transactions), str = hex32(b.state_root);
  std::copy(txr.begin(), txr.end(), roots.begin());
  std::copy(str.begin(), str.end(), roots.begin() + 32);
  const Hash32 commit = sha256d(roots);
  h.insert(h.end(), commit.begin(), commit.end());
  const auto t = b.timestamp.is_int() ? b.timestamp.as_int64() : std::nullopt;
  put_u32le(&h, static_cast<std::uint32_t>(t.value_or(0)));
  put_u32le(&h, b.bits);
  put_u32le(&h, static_cast<std::uint32_t>(b.nonce));
  return h;
}

bool is_hash_hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Json block_to_json(const Block& b, bool with_hash) {
  std::vector<Json::Member> m;
  m.reserve(6);
  m.emplace_back("index", Json::integer(b.index));
  m.emplace_back("transactions", b.transactions);
  m.emplace_back("timestamp", b.timestamp);
  m.emplace_back("previous_hash", Json::string(b.previous_hash));
  m.emplace_back("nonce", Json::big_integer(std::to_string(b.nonce)));
  if (with_hash) m.emplace_back("hash", Json::string(b.hash));
  if (!b.state_root.empty() || b.bits != 0) {
    m.emplace_back("state_root", Json::string(b.state_root));
    m.emplace_back("bits", Json::integer(b.bits));
  }
  return Json::object(std::move(m));
}

std::string block_chain_text(const Block& b) { return dump_python(block_to_json(b)); }

std::optional<Block> block_from_json(const Json& j, std::string* why, bool require_hash) {
  auto fail = [&](std::string w) -> std::optional<Block> {
    *why = std::move(w);
    return std::nullopt;
  };
  if (!j.is_object()) return fail("a block must be a JSON object");
  Block b;
  const Json* index = j.find("index");
  if (!index) return fail("missing \"index\"");
  auto iv = index->is_int() ? index->as_int64() : std::nullopt;
  if (!iv || *iv < 0) return fail("\"index\" must be a non-negative integer");
  b.index = *iv;

  const Json* txs = j.find("transactions");
  if (!txs) return fail("missing \"transactions\"");
  if (!txs->is_array()) return fail("\"transactions\" must be an array");
  b.transactions = *txs;

  const Json* ts = j.find("timestamp");
  if (!ts) return fail("missing \"timestamp\"");
  if (!ts->is_number()) return fail("\"timestamp\" must be a number");
  double t = ts->as_double();
  if (!(t >= 0 && t < 1e12)) return fail("\"timestamp\" must be seconds since the epoch");
  b.timestamp = *ts;

  const Json* prev = j.find("previous_hash");
  if (!prev) return fail("missing \"previous_hash\"");
  if (!prev->is_string()) return fail("\"previous_hash\" must be a string");
  b.previous_hash = prev->as_string();

  const Json* nonce = j.find("nonce");
  if (!nonce) return fail("missing \"nonce\"");
  auto nv = nonce->is_int() ? nonce->as_int64() : std::nullopt;
  if (!nv || *nv < 0) return fail("\"nonce\" must be a non-negative integer below 2^63");
  b.nonce = static_cast<std::uint64_t>(*nv);

  if (const Json* sr = j.find("state_root")) {
    if (!sr->is_string() || !is_hash_hex(sr->as_string())) return fail("\"state_root\" must be 64 lowercase hex digits");
    b.state_root = sr->as_string();
  }
  if (const Json* bits = j.find("bits")) {
    auto bv = bits->is_int() ? bits->as_int64() : std::nullopt;
    if (!bv || *bv <= 0 || *bv > 0xffffffffLL) return fail("\"bits\" must be a compact target (1 to 2^32 - 1)");
    b.bits = static_cast<std::uint32_t>(*bv);
  }

  const Json* hash = j.find("hash");
  if (hash) {
    if (!hash->is_string() || !is_hash_hex(hash->as_string())) return fail("\"hash\" must be 64 lowercase hex digits");
    b.hash = hash->as_string();
  } else if (require_hash) {
    return fail("missing \"hash\"");
  }
  return b;
}

std::string txid_of(const Json& tx) { return sha256_hex(dump_python(tx, {.sort_keys = true})); }

std::string check_transaction_shape(const Json& tx) {
  if (!tx.is_object()) return "a transaction must be a JSON object";
  const Json* author = tx.find("author");
  const Json* content = tx.find("content");
  if (!author || !author->truthy()) return "\"author\" missing or empty";
  if (!content || !content->truthy()) return "\"content\" missing or empty";
  return {};
}

std::unique_ptr<BlockScheme> make_scheme(std::string_view name, std::string* why) {
  if (name == "seed-json") return std::make_unique<SeedJsonScheme>();
  if (name == "header-sha256d") return std::make_unique<HeaderScheme>();
  *why = "unknown block scheme \"" + std::string(name) + "\" (known: seed-json, header-sha256d)";
  return nullptr;
}

}  // namespace hf::node
