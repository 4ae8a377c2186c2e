#include "net/node/header_chain.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "hashforge/engine.hpp"
#include "hashforge/hex.hpp"

namespace hf::node {

namespace {

std::uint32_t le32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

std::array<std::uint8_t, 32> sha256d(ByteView v) {
  const Digest d = Engine::instance().digest(Algo::sha256d, v);
  std::array<std::uint8_t, 32> out{};
  std::copy_n(d.bytes.begin(), 32, out.begin());
  return out;
}

std::string reversed_hex(const std::uint8_t* p) {
  std::array<std::uint8_t, 32> r{};
  std::reverse_copy(p, p + 32, r.begin());
  return to_hex(ByteView(r.data(), r.size()));
}

double work_of(std::uint32_t bits) {
  Key t;
  if (!target_from_compact(bits, &t).empty()) return 0;
  double v = 0;
  for (int i = 0; i < 8; ++i) v = v * 4294967296.0 + t.w[i];
  return std::ldexp(1.0, 256) / (v + 1);
}

}  // namespace

std::optional<std::array<std::uint8_t, 32>> commitment_of(const std::string& tx_root_hex,
                                                           const std::string& state_root_hex) {
  if (!is_hash_hex(tx_root_hex) || !is_hash_hex(state_root_hex)) return std::nullopt;
  Bytes both = *from_hex(tx_root_hex);
  Bytes s = *from_hex(state_root_hex);
  both.insert(both.end(), s.begin(), s.end());
  return sha256d(ByteView(both.data(), both.size()));
}

HeaderChain::HeaderChain(const ChainSpec& spec) : spec_(spec) {
  clock_ = [] {
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
  };
  HeaderEntry& g = store_.emplace_back();
  g.hash = spec.genesis.hash;
  g.previous = spec.genesis.previous_hash;
  g.height = 0;
  g.time = static_cast<std::int64_t>(spec.genesis.time());
  g.bits = spec.genesis.bits;
  entries_.emplace(g.hash, &g);
  tip_ = &g;
}

const HeaderEntry* HeaderChain::find(const std::string& hash) const {
  auto it = entries_.find(hash);
  return it == entries_.end() ? nullptr : it->second;
}

double HeaderChain::median_time_past(const HeaderEntry* e) const {
  std::vector<std::int64_t> times;
  for (int i = 0; i < 11 && e; ++i, e = e->parent) times.push_back(e->time);
  std::sort(times.begin(), times.end());
  return static_cast<double>(times[times.size() / 2]);
}

std::uint32_t HeaderChain::expected_bits(const HeaderEntry* parent) const {
  return bits_after(
      spec_, parent, [](const HeaderEntry& e) { return e.time; }, [](const HeaderEntry& e) { return e.bits; });
}

std::string HeaderChain::add(const Json& h) {
  if (!h.is_object()) return "a header entry is an object";
  const Json* hash = h.find("hash");
  const Json* header = h.find("header");
  const Json* height = h.find("height");
  if (!hash || !hash->is_string() || !is_hash_hex(hash->as_string())) return "bad \"hash\"";
  if (find(hash->as_string())) return {};
  if (!header || !header->is_string() || header->as_string().size() != 160) return "\"header\" is not 80 bytes of hex";
  auto raw = from_hex(header->as_string());
  if (!raw || raw->size() != 80) return "\"header\" is not 80 bytes of hex";
  const std::uint8_t* p = raw->data();
  HeaderEntry e;
  e.hash = reversed_hex(sha256d(ByteView(p, 80)).data());
  if (e.hash != hash->as_string()) return "its hash is not the hash of its header";
  e.previous = reversed_hex(p + 4);
  std::copy_n(p + 36, 32, e.commitment.begin());
  e.time = le32(p + 68);
  e.bits = le32(p + 72);
  const HeaderEntry* parent = find(e.previous);
  if (!parent) return "unknown previous block " + e.previous.substr(0, 16);
  e.height = parent->height + 1;
  auto hv = height && height->is_int() ? height->as_int64() : std::nullopt;
  if (!hv || *hv != e.height) return "its height does not follow its parent's";
  // The time rules every node applies: a chain of headers a node would refuse is no chain.
  if (!(static_cast<double>(e.time) > median_time_past(parent))) return "its time is not after the median of the last 11";
  if (static_cast<double>(e.time) > clock_() + spec_.max_future_seconds) return "its time is too far in the future";
  if (spec_.scheme->bounded_nonce() && e.bits != expected_bits(parent)) return "its bits break the retarget rule";
  Key t;
  if (!target_from_compact(e.bits, &t).empty() || !meets_target(e.hash, t) || !meets_target(e.hash, spec_.target))
    return "its proof of work does not meet its target";
  e.work = parent->work + work_of(e.bits);
  e.parent = parent;
  HeaderEntry& stored = store_.emplace_back(std::move(e));
  entries_.emplace(stored.hash, &stored);
  if (stored.work > tip_->work) tip_ = &stored;
  return {};
}

std::int64_t HeaderChain::depth_on_best(const HeaderEntry& e) const {
  const HeaderEntry* x = tip_;
  while (x && x->height > e.height) x = x->parent;
  return x == &e ? tip_->height - e.height : -1;
}

}  // namespace hf::node
