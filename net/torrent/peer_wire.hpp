// The peer wire protocol's bytes (BEP 3), with the fast extension (BEP 6), the extension
// protocol's framing (BEP 10) and v2's hash messages (BEP 52). Pure code: a handshake and
// length-prefixed messages in and out of byte buffers; the sockets are elsewhere.
//
//   handshake   19 "BitTorrent protocol" reserved[8] info_hash[20] peer_id[20]   (68 bytes)
//   message     length:u32 id:u8 payload    (length 0: keep-alive; integers big-endian)
//
// Decoding checks each message's length against its id; what needs the torrent (a piece
// index in range, a block inside its piece, a bitfield's size) is check_message's work.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hf::torrent::wire {

using Hash20 = std::array<std::uint8_t, 20>;
using Hash32 = std::array<std::uint8_t, 32>;

inline constexpr std::size_t kHandshakeSize = 68;
inline constexpr std::uint32_t kBlockSize = 16 * 1024;  // what every client requests, and the most it serves
// The largest frame decode_message accepts unless told otherwise: a 16 KiB block with its
// header, a bitfield of 8 Mi pieces, a hashes message of 512 hashes and a long proof.
inline constexpr std::size_t kDefaultMaxFrame = 1 << 20;

// Reserved-byte flags (byte index, bit mask).
struct Feature {
  std::size_t byte;
  std::uint8_t mask;
};
inline constexpr Feature kExtensionProtocol{5, 0x10};  // BEP 10
inline constexpr Feature kFast{7, 0x04};               // BEP 6
inline constexpr Feature kDht{7, 0x01};                // BEP 5
inline constexpr Feature kV2Upgrade{7, 0x10};          // BEP 52: "I can talk v2 on a hybrid torrent"

struct Handshake {
  std::array<std::uint8_t, 8> reserved{};
  Hash20 info_hash{};  // v1: SHA-1 of info; v2-only: SHA-256 of info, first 20 bytes
  Hash20 peer_id{};
  bool has(Feature f) const { return (reserved[f.byte] & f.mask) != 0; }
  void set(Feature f) { reserved[f.byte] |= f.mask; }
};

// What hashforge sends for a swarm: the fast extension and the extension protocol on.
Handshake our_handshake(const Hash20& info_hash, const Hash20& peer_id);
std::string encode_handshake(const Handshake& h);
// The 68 bytes of a handshake; nullopt with *why when the protocol string is not BitTorrent's.
std::optional<Handshake> parse_handshake(std::span<const std::uint8_t> bytes, std::string* why);

enum class MsgId : std::uint8_t {
  choke = 0,
  unchoke = 1,
  interested = 2,
  not_interested = 3,
  have = 4,
  bitfield = 5,
  request = 6,
  piece = 7,
  cancel = 8,
  port = 9,  // BEP 5: the sender's DHT port
  suggest = 13,
  have_all = 14,
  have_none = 15,
  reject = 16,
  allowed_fast = 17,
  extended = 20,
  hash_request = 21,
  hashes = 22,
  hash_reject = 23,
};
std::string_view msg_name(MsgId id);

// BEP 52's hash request, hashes and hash reject share this header.
struct HashSpan {
  Hash32 pieces_root{};  // the file's merkle root
  std::uint32_t base_layer = 0;  // 0: leaves (16 KiB blocks); the piece layer is log2(piece / 16 KiB)
  std::uint32_t index = 0;       // first hash wanted, in the base layer
  std::uint32_t length = 0;      // hashes wanted: a power of two, at least 2, at most 512
  std::uint32_t proof_layers = 0;  // uncle hashes wanted above the span
};

struct Message {
  bool keep_alive = false;
  MsgId id = MsgId::choke;
  bool known = true;  // false: an id this code does not speak (BEP 3: ignore it); `data` is the payload
  std::uint32_t index = 0;   // have, request, piece, cancel, suggest, reject, allowed_fast
  std::uint32_t begin = 0;   // request, piece, cancel, reject
  std::uint32_t length = 0;  // request, cancel, reject
  std::uint16_t port = 0;
  std::uint8_t ext_id = 0;  // extended: 0 is the extension handshake
  HashSpan span;            // hash_request, hashes, hash_reject
  // bitfield bytes, a piece's block, an extended payload, the hashes (32 bytes each). A view
  // into the buffer given to decode_message: valid while that buffer is.
  std::string_view data;
  std::uint8_t raw_id = 0;
};

enum class Decode { ok, need_more, error };
struct DecodeResult {
  Decode status = Decode::need_more;
  std::size_t consumed = 0;  // bytes of the buffer this message took (ok only)
  std::string why;           // error only
};
// One message from the front of `in` (the stream after the handshakes). A frame longer
// than max_frame is an error before its payload arrives, so a hostile length costs nothing.
DecodeResult decode_message(std::string_view in, Message* out, std::size_t max_frame = kDefaultMaxFrame);
// One frame's payload without its length prefix (as a framed connection hands it over;
// empty: a keep-alive). Empty on success, else why the payload is wrong for its id.
std::string decode_payload(std::string_view frame, Message* out);

// What a torrent allows: checks a decoded message against its shape. Empty when it fits.
struct TorrentShape {
  std::uint32_t pieces = 0;
  std::uint64_t piece_length = 0;
  std::uint64_t total_length = 0;
  std::uint64_t piece_size(std::uint32_t index) const;
};
std::string check_message(const Message& m, const TorrentShape& t);

// Encoders append to *out.
void encode_keep_alive(std::string* out);
void encode_simple(MsgId id, std::string* out);  // choke, unchoke, interested, not interested, have all, have none
void encode_have(std::uint32_t index, std::string* out);
void encode_bitfield(std::span<const std::uint8_t> bits, std::string* out);
void encode_request(MsgId id, std::uint32_t index, std::uint32_t begin, std::uint32_t length, std::string* out);  // request, cancel, reject
// A piece message's 13 header bytes for a block of `length` bytes: the block itself follows,
// written straight from wherever it is (no copy here).
void encode_piece_header(std::uint32_t index, std::uint32_t begin, std::uint32_t length, std::string* out);
void encode_index(MsgId id, std::uint32_t index, std::string* out);  // suggest, allowed fast
void encode_port(std::uint16_t port, std::string* out);
void encode_extended(std::uint8_t ext_id, std::string_view payload, std::string* out);
void encode_hash_span(MsgId id, const HashSpan& s, std::string* out);  // hash request, hash reject
void encode_hashes(const HashSpan& s, std::span<const Hash32> hashes, std::string* out);

// BEP 6's allowed-fast set: the first k distinct piece indexes drawn from SHA-1 chains over
// the peer's IPv4 address (its /24) and the info hash, the same set every client computes.
std::vector<std::uint32_t> allowed_fast_set(std::array<std::uint8_t, 4> ipv4, const Hash20& info_hash,
                                            std::uint32_t pieces, std::size_t k);

// The host part of a peer's "host:port" or "[v6]:port" address: what a ban is keyed by (a web
// seed's URL, with its "://", is kept whole).
std::string host_of(const std::string& address);

// Peer ids: hashforge's is Azureus style, "-HFxyzw-" and 12 random characters.
Hash20 make_peer_id(std::string_view version4, std::span<const std::uint8_t> random12);
// The client a peer id names, as other clients show it ("Transmission 4.0.5", "aria2 1.36.0",
// "libtorrent 2.0.8.0"), or "unknown (-XX1234-)".
std::string client_name(const Hash20& peer_id);

}  // namespace hf::torrent::wire
