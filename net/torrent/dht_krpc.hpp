// KRPC, the DHT's message format (BEP 5, with BEP 32's IPv6 fields): one bencoded
// dictionary per UDP datagram.
//
//   query     d1:t<tid>1:y1:q1:q<method>1:ad2:id20:<sender> ...argsee
//   response  d1:t<tid>1:y1:r1:rd2:id20:<sender> ...valuesee
//   error     d1:t<tid>1:y1:e1:eli<code>e<message>ee
//
// Nodes travel as compact node info (20-byte id, then 4 or 16 address bytes and a big-endian
// port: 26 or 38 bytes), peers as compact peer info (6 or 18 bytes). Pure code.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/torrent/tracker_types.hpp"

namespace hf::torrent::dht {

using NodeId = std::array<std::uint8_t, 20>;
using tracker::PeerAddr;

struct NodeEntry {
  NodeId id{};
  PeerAddr addr;
  friend bool operator==(const NodeEntry&, const NodeEntry&) = default;
};

enum class Kind : std::uint8_t { query, response, error };
enum class Method : std::uint8_t { ping, find_node, get_peers, announce_peer, unknown };

// BEP 5's error codes.
inline constexpr int kGenericError = 201;
inline constexpr int kServerError = 202;
inline constexpr int kProtocolError = 203;  // malformed packet, invalid arguments, bad token
inline constexpr int kMethodUnknown = 204;

// Anything longer is not a DHT datagram: the largest UDP payload over IPv4 is 65,507 bytes,
// and no honest message is near 1,500.
inline constexpr std::size_t kMaxPacket = 65507;
// Contacts and peers kept from one response; the rest of a flood is dropped, not parsed.
inline constexpr std::size_t kMaxNodesKept = 64;
inline constexpr std::size_t kMaxValuesKept = 512;
inline constexpr std::size_t kMaxTransactionId = 32;
inline constexpr std::size_t kMaxToken = 64;

struct Message {
  std::string tid;  // transaction id: echoed back as is
  Kind kind = Kind::query;
  std::string version;  // "v": the sender's client and version, when given
  bool read_only = false;  // "ro" (BEP 43): the sender answers no queries; never add it to a table
  std::optional<PeerAddr> your_ip;  // "ip" (BEP 42): how the sender sees our address

  // Queries (method, args) and responses (id and what came back).
  Method method = Method::ping;
  std::string method_name;  // as sent, also for unknown methods
  NodeId id{};              // the sender's node id
  NodeId target{};          // find_node
  NodeId info_hash{};       // get_peers, announce_peer
  std::string token;        // announce_peer's argument, get_peers' answer
  std::uint16_t port = 0;   // announce_peer
  bool implied_port = false;
  bool want_v4 = false, want_v6 = false;  // "want" (BEP 32); both false: the sender's own family

  std::vector<NodeEntry> nodes;   // "nodes" (IPv4) and "nodes6" (IPv6)
  std::vector<PeerAddr> values;   // get_peers: peers of the info-hash
  bool nodes_cut = false;         // more contacts came than were kept

  int error_code = 0;
  std::string error_message;
};

std::string encode(const Message& m);

struct Decoded {
  std::optional<Message> message;
  std::string error;  // one line, when message is empty
  // What could be read of a malformed packet: enough to answer a broken query with a
  // protocol error (BEP 5 asks for 203) instead of silence.
  std::string tid;
  bool was_query = false;
};
Decoded decode(std::string_view packet);

// Compact forms (BEP 5, BEP 32).
std::string compact_nodes(const std::vector<NodeEntry>& nodes, bool v6);
std::string compact_peer(const PeerAddr& a);
// nullopt when the length is not a whole number of entries; at most `max` are kept.
std::optional<std::vector<NodeEntry>> parse_compact_nodes(std::string_view s, bool v6, std::size_t max,
                                                          bool* cut = nullptr);
std::optional<PeerAddr> parse_compact_peer(std::string_view s);

NodeId node_id_from(std::string_view bytes20);
std::string id_bytes(const NodeId& id);
std::string id_hex(const NodeId& id);
std::optional<NodeId> id_from_hex(std::string_view hex);
NodeId distance(const NodeId& a, const NodeId& b);
// Leading bits a and b share (160 when equal).
int common_prefix_bits(const NodeId& a, const NodeId& b);

}  // namespace hf::torrent::dht
