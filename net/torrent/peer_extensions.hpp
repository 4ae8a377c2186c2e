// The extension protocol's handshake (BEP 10): the bencoded dictionary a peer sends as
// extended message 0, naming the extensions it speaks and the message ids it wants for them,
// its client name, listen port, request queue size and what it sees as our address. Pure code.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace hf::torrent::wire {

struct ExtHandshake {
  std::map<std::string, std::uint8_t> extensions;  // "ut_metadata" -> its id on this link (0: turned off)
  std::string client;                              // "v": shown as the peer's client
  std::optional<std::uint16_t> listen_port;        // "p"
  std::optional<std::uint32_t> request_queue;      // "reqq": requests it keeps outstanding
  std::string your_ip;                             // "yourip": 4 or 16 raw bytes
  std::optional<std::uint64_t> metadata_size;      // BEP 9
  bool upload_only = false;                        // BEP 21: it only seeds
};

std::string encode_ext_handshake(const ExtHandshake& h);
// Tolerant of what it does not know (other keys, extensions with odd ids are skipped) and
// strict about sizes: nullopt with *why when it is not a bencoded dictionary.
std::optional<ExtHandshake> parse_ext_handshake(std::string_view payload, std::string* why);

}  // namespace hf::torrent::wire
