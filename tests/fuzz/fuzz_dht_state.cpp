// The DHT's saved routing table (`--dht-state FILE`, RoutingTable::load): read at start-up from
// a file that a crash, a full disk or another program may have left in any state.
// Properties: no crash; what loads has a 20-byte id and at most the compact lists' worth of
// nodes; a table filled from it saves bytes that load again with the same id and only nodes
// that were loaded.
#include <algorithm>

#include "net/torrent/dht_routing.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace dht = hf::torrent::dht;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto got = dht::RoutingTable::load(hf::fuzz::text_of(data, size));
  if (!got) return 0;
  const auto& [id, nodes] = *got;
  // 26 bytes a node in "nodes", 38 in "nodes6": the input bounds the count.
  HF_FUZZ_CHECK(nodes.size() * 26 <= size);
  dht::RoutingTable table(id);
  for (const dht::NodeEntry& n : nodes) table.heard(n, 0, false);
  HF_FUZZ_CHECK(table.size() <= nodes.size());
  const auto again = dht::RoutingTable::load(table.save());
  HF_FUZZ_CHECK(again.has_value());
  HF_FUZZ_CHECK(again->first == id);
  HF_FUZZ_CHECK(again->second.size() == table.size());
  for (const dht::NodeEntry& n : again->second) HF_FUZZ_CHECK(std::find(nodes.begin(), nodes.end(), n) != nodes.end());
  return 0;
}
