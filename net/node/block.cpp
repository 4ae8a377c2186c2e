#include "net/node/block.hpp"

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

}  // namespace

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
  *why = "unknown block scheme \"" + std::string(name) + "\" (known: seed-json)";
  return nullptr;
}

}  // namespace hf::node
