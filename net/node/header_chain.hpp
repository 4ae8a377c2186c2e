// The header chain a ledger client holds, gathered from every node it knows: each header is
// checked on its own (its hash, its proof of work against bits the retarget rule gives from
// its ancestors, its link to a known parent, its time after the median of the last 11 and
// not further ahead of the client's clock than nodes allow) and the chain with the most work
// is followed.
// A proof from one node is only believed for a block on that chain, buried deep enough; a
// node cannot make a block look heavier than it is. Pure code.
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include "net/node/json.hpp"
#include "net/node/spec.hpp"

namespace hf::node {

struct HeaderEntry {
  std::string hash, previous;
  std::int64_t height = 0;
  std::int64_t time = 0;
  std::uint32_t bits = 0;
  std::array<std::uint8_t, 32> commitment{};  // SHA-256d(transactions root || state root)
  double work = 0;
  const HeaderEntry* parent = nullptr;
};

class HeaderChain {
 public:
  explicit HeaderChain(const ChainSpec& spec);
  // The clock the future limit is read against (seconds since the epoch; the system's by
  // default).
  void set_clock(std::function<double()> clock) { clock_ = std::move(clock); }

  // One entry of /api/headers ({"height", "hash", "header", ...}). Empty when added or
  // already known; else why the header is refused (a node that sends one is lying).
  std::string add(const Json& h);
  const HeaderEntry* find(const std::string& hash) const;
  const HeaderEntry& tip() const { return *tip_; }
  // Blocks on top of `e` on the followed chain (0 for the tip), or -1 when e is not on it.
  std::int64_t depth_on_best(const HeaderEntry& e) const;
  std::size_t size() const { return entries_.size(); }

 private:
  std::uint32_t expected_bits(const HeaderEntry* parent) const;
  double median_time_past(const HeaderEntry* e) const;
  const ChainSpec& spec_;
  std::function<double()> clock_;
  std::deque<HeaderEntry> store_;
  std::unordered_map<std::string, HeaderEntry*> entries_;
  const HeaderEntry* tip_ = nullptr;
};

// SHA-256d(transactions root || state root), the roots as 64 hex digits; nullopt when malformed.
std::optional<std::array<std::uint8_t, 32>> commitment_of(const std::string& tx_root_hex,
                                                           const std::string& state_root_hex);

}  // namespace hf::node
