#include "net/node/spec.hpp"

#include <array>

#include "hashforge/engine.hpp"
#include "hashforge/hex.hpp"

namespace hf::node {

namespace {

Key key_of_hex(const std::string& hash_hex) {
  Key k;
  for (int i = 0; i < 8; ++i) k.w[i] = static_cast<std::uint32_t>(std::stoul(hash_hex.substr(i * 8, 8), nullptr, 16));
  return k;
}

void finish(ChainSpec& s) {
  s.genesis.hash = s.scheme->hash_hex(s.genesis);
  std::string canon = dump_python(s.to_json(), {.sort_keys = true});
  ByteView v(reinterpret_cast<const std::uint8_t*>(canon.data()), canon.size());
  s.id = Engine::instance().digest(Algo::sha256, v).hex();
}

}  // namespace

Key target_of_zeros(int zeros) {
  Key k = Key::max();
  int bits = zeros * 4;
  for (int i = 0; i < 8; ++i) {
    int lo = i * 32;  // this word holds bits lo..lo+31 counted from the most significant
    if (bits >= lo + 32)
      k.w[i] = 0;
    else if (bits > lo)
      k.w[i] = 0xffffffffu >> (bits - lo);
  }
  return k;
}

bool meets_target(const std::string& hash_hex, const Key& target) {
  return is_hash_hex(hash_hex) && key_of_hex(hash_hex) <= target;
}

Json ChainSpec::to_json() const {
  std::vector<Json::Member> m;
  m.emplace_back("name", Json::string(name));
  m.emplace_back("scheme", Json::string(scheme_name));
  if (difficulty >= 0)
    m.emplace_back("difficulty", Json::integer(difficulty));
  else
    m.emplace_back("target", Json::string(target.hex()));
  m.emplace_back("genesis", block_to_json(genesis, false));
  if (scheme_name != "seed-json") {
    m.emplace_back("block_interval", Json::real(static_cast<double>(retarget.interval_ms) / 1000));
    m.emplace_back("retarget_window", Json::integer(retarget.window));
  }
  if (ledger) {
    Json list = Json::array();
    for (const auto& a : admins) list.push(Json::string(to_hex(ByteView(a.data(), a.size()))));
    m.emplace_back("ledger", Json::object({{"admins", std::move(list)}}));
  }
  if (!nodes.empty()) {
    Json list = Json::array();
    for (const auto& n : nodes) list.push(Json::object({{"name", Json::string(n.name)}, {"key", Json::string(n.key)}}));
    m.emplace_back("nodes", std::move(list));
  }
  return Json::object(std::move(m));
}

const NodeKey* ChainSpec::node_of_key(const std::string& key_hex) const {
  for (const auto& n : nodes)
    if (n.key == key_hex) return &n;
  return nullptr;
}

ChainSpec default_spec(int difficulty) {
  ChainSpec s;
  std::string why;
  s.scheme = make_scheme("seed-json", &why);
  s.difficulty = difficulty;
  s.target = target_of_zeros(difficulty);
  s.genesis.index = 0;
  s.genesis.transactions = Json::array();
  s.genesis.timestamp = Json::integer(0);
  s.genesis.previous_hash = "0";
  s.genesis.nonce = 0;
  finish(s);
  return s;
}

std::optional<ChainSpec> parse_spec(std::string_view text, std::string* why) {
  auto fail = [&](std::string w) -> std::optional<ChainSpec> {
    *why = std::move(w);
    return std::nullopt;
  };
  ParseResult pr = parse_json(text, {.max_depth = 32, .max_bytes = 1024 * 1024});
  if (!pr.value) return fail("not JSON: " + pr.error);
  const Json& j = *pr.value;
  if (!j.is_object()) return fail("a chain spec is a JSON object");
  ChainSpec s;
  if (const Json* n = j.find("name")) {
    if (!n->is_string() || n->as_string().empty()) return fail("\"name\" must be a non-empty string");
    s.name = n->as_string();
  }
  if (const Json* sc = j.find("scheme")) {
    if (!sc->is_string()) return fail("\"scheme\" must be a string");
    s.scheme_name = sc->as_string();
  }
  std::string w;
  s.scheme = make_scheme(s.scheme_name, &w);
  if (!s.scheme) return fail(w);
  const Json* d = j.find("difficulty");
  const Json* t = j.find("target");
  if ((d != nullptr) == (t != nullptr)) return fail("give exactly one of \"difficulty\" and \"target\"");
  if (d) {
    auto dv = d->is_int() ? d->as_int64() : std::nullopt;
    if (!dv || *dv < 1 || *dv > 64) return fail("\"difficulty\" must be an integer 1..64 (leading hex zeros)");
    s.difficulty = static_cast<int>(*dv);
    s.target = target_of_zeros(s.difficulty);
  } else {
    if (!t->is_string()) return fail("\"target\" must be 64 hex digits");
    std::string e = target_from_hex(t->as_string(), &s.target);
    if (!e.empty()) return fail("\"target\": " + e);
    if (s.target.is_zero()) return fail("\"target\" must not be zero");
    s.difficulty = -1;
    int z = leading_zero_bits(s.target);
    if (z % 4 == 0 && target_of_zeros(z / 4) == s.target && z > 0) s.difficulty = z / 4;
  }
  const Json* bi = j.find("block_interval");
  const Json* rw = j.find("retarget_window");
  if (s.scheme_name == "seed-json") {
    if (bi || rw) return fail("\"block_interval\" and \"retarget_window\" need a header scheme");
  } else {
    s.retarget.interval_ms = 1000;
    if (bi) {
      if (!bi->is_number() || !(bi->as_double() >= 0 && bi->as_double() <= 86400))
        return fail("\"block_interval\" must be seconds from 0 (a fixed target) to 86400");
      s.retarget.interval_ms = static_cast<std::uint64_t>(bi->as_double() * 1000 + 0.5);
    }
    if (rw) {
      auto wv = rw->is_int() ? rw->as_int64() : std::nullopt;
      if (!wv || *wv < 2 || *wv > 10000) return fail("\"retarget_window\" must be 2..10000 blocks");
      s.retarget.window = static_cast<std::uint32_t>(*wv);
    }
  }
  const Json* g = j.find("genesis");
  if (!g) return fail("missing \"genesis\"");
  auto gb = block_from_json(*g, &w, false);
  if (!gb) return fail("\"genesis\": " + w);
  if (gb->index != 0) return fail("\"genesis\": index must be 0");
  if (std::string bad = s.scheme->check_fields(*gb); !bad.empty()) return fail("\"genesis\": " + bad);
  s.genesis = std::move(*gb);
  if (const Json* nodes = j.find("nodes")) {
    if (!nodes->is_array() || nodes->items().size() > 1000) return fail("\"nodes\" must be an array of at most 1000");
    for (const Json& n : nodes->items()) {
      const Json* name = n.is_object() ? n.find("name") : nullptr;
      const Json* key = n.is_object() ? n.find("key") : nullptr;
      if (!name || !name->is_string() || name->as_string().empty() || name->as_string().size() > 64)
        return fail("\"nodes\": each needs a \"name\" of 1..64 characters");
      if (!key || !key->is_string() || !is_hash_hex(key->as_string()))
        return fail("\"nodes\": each \"key\" is the SHA-256 of its certificate's public key, 64 lowercase hex digits");
      for (const auto& other : s.nodes)
        if (other.name == name->as_string() || other.key == key->as_string())
          return fail("\"nodes\": " + name->as_string() + " is listed twice");
      s.nodes.push_back({name->as_string(), key->as_string()});
    }
  }
  if (const Json* led = j.find("ledger")) {
    if (s.scheme_name == "seed-json") return fail("\"ledger\" needs a header scheme (its blocks commit to a state root)");
    const Json* admins = led->is_object() ? led->find("admins") : nullptr;
    if (!admins || !admins->is_array() || admins->items().empty() || admins->items().size() > 100)
      return fail("\"ledger\": \"admins\" must list 1..100 public keys");
    for (const Json& a : admins->items()) {
      auto raw = a.is_string() ? from_hex(a.as_string()) : std::nullopt;
      if (!raw || raw->size() != 32 || !is_hash_hex(a.as_string()))
        return fail("\"ledger\": each admin is an Ed25519 public key, 64 lowercase hex digits");
      std::array<std::uint8_t, 32> k{};
      std::copy(raw->begin(), raw->end(), k.begin());
      s.admins.push_back(k);
    }
    s.ledger = true;
  }
  finish(s);
  if (const Json* h = g->find("hash"); h && h->is_string() && h->as_string() != s.genesis.hash)
    return fail("\"genesis\": its \"hash\" is not the hash of its fields (" + s.genesis.hash + ")");
  return s;
}

std::uint32_t compact_of(const Key& target) {
  // The number's bytes, most significant first.
  std::array<std::uint8_t, 32> b{};
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 4; ++j) b[static_cast<std::size_t>(4 * i + j)] = static_cast<std::uint8_t>(target.w[i] >> (24 - 8 * j));
  std::size_t first = 0;
  while (first < 32 && b[first] == 0) ++first;
  if (first == 32) return 0;
  std::uint32_t size = static_cast<std::uint32_t>(32 - first);
  std::uint32_t mant = 0;
  for (std::size_t k = 0; k < 3; ++k) mant = (mant << 8) | (first + k < 32 ? b[first + k] : 0);
  // The mantissa's top bit is a sign in the compact form: shift one byte right instead.
  if (mant & 0x800000u) {
    mant >>= 8;
    ++size;
  }
  return (size << 24) | mant;
}

}  // namespace hf::node
