// The DHT's datagrams (net/torrent/dht_krpc, dht_node): every UDP packet from anyone.
// Properties: no crash; a refusal has a reason; what decodes encodes back to a message that
// decodes the same (ids, tokens, contacts, peers, error); floods are cut to their caps; and
// fed to a live node (which has a query of its own out, so answers can match), every reply
// it sends decodes, answers the asker's transaction, and its memory stays bounded.
#include "net/torrent/dht_krpc.hpp"
#include "net/torrent/dht_node.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace dht = hf::torrent::dht;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const dht::Decoded d = dht::decode(in);
  if (!d.message) {
    HF_FUZZ_CHECK(!d.error.empty());
  } else {
    const dht::Message& m = *d.message;
    HF_FUZZ_CHECK(m.tid.size() <= dht::kMaxTransactionId);
    HF_FUZZ_CHECK(m.nodes.size() <= dht::kMaxNodesKept && m.values.size() <= dht::kMaxValuesKept);
    const dht::Decoded again = dht::decode(dht::encode(m));
    HF_FUZZ_CHECK(again.message.has_value());
    const dht::Message& b = *again.message;
    HF_FUZZ_CHECK(b.kind == m.kind && b.tid == m.tid && b.id == m.id);
    if (m.kind == dht::Kind::query) {
      HF_FUZZ_CHECK(b.method_name == m.method_name || m.method != dht::Method::unknown);
      HF_FUZZ_CHECK(b.target == m.target && b.info_hash == m.info_hash && b.token == m.token);
      HF_FUZZ_CHECK(b.port == m.port && b.implied_port == m.implied_port);
    } else if (m.kind == dht::Kind::response) {
      HF_FUZZ_CHECK(b.token == m.token && b.values == m.values);
      // IPv4 contacts travel before IPv6 ones whatever the order they came in.
      HF_FUZZ_CHECK(b.nodes.size() == m.nodes.size());
    } else {
      HF_FUZZ_CHECK(b.error_code == m.error_code && b.error_message == m.error_message);
    }
  }

  // A live node: the first byte picks one of a few senders, one of which it has pinged.
  static dht::DhtNode node(dht::DhtConfig{}, 7);
  static std::int64_t now = 1'000'000;
  const dht::PeerAddr friend_addr = hf::torrent::tracker::v4_addr(0x0A000002u, 6881);
  if (node.stats().pending == 0) node.ping(friend_addr, now);
  node.take_outgoing();
  const std::uint8_t pick = size ? data[0] : 0;
  const dht::PeerAddr from = pick & 1 ? friend_addr : hf::torrent::tracker::v4_addr(0x0A000010u + (pick >> 5), 6881);
  now += pick & 0x10 ? 700 : 3;
  node.receive(from, in, now);
  if (pick & 0x08) node.tick(now);
  for (const auto& out : node.take_outgoing()) {
    const dht::Decoded r = dht::decode(out.bytes);
    HF_FUZZ_CHECK(r.message.has_value());
    if (out.to == from && r.message->kind != dht::Kind::query) HF_FUZZ_CHECK(r.message->tid == d.tid);
  }
  HF_FUZZ_CHECK(node.memory_bytes() < (64u << 20));
  return 0;
}
