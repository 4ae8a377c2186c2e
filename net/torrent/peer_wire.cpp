#include "net/torrent/peer_wire.hpp"

#include <algorithm>
#include <cstring>

#include "hashforge/engine.hpp"

namespace hf::torrent::wire {

namespace {

constexpr std::string_view kProtocol = "BitTorrent protocol";

std::uint32_t be32(const char* p) {
  const auto* u = reinterpret_cast<const std::uint8_t*>(p);
  return (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) | (std::uint32_t{u[2]} << 8) | u[3];
}

void put32(std::uint32_t v, std::string* out) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                     static_cast<char>(v)};
  out->append(b, 4);
}

// The length prefix and id of a message with `payload` bytes after the id.
void head(MsgId id, std::size_t payload, std::string* out) {
  put32(static_cast<std::uint32_t>(payload + 1), out);
  out->push_back(static_cast<char>(id));
}

void put_span(const HashSpan& s, std::string* out) {
  out->append(reinterpret_cast<const char*>(s.pieces_root.data()), s.pieces_root.size());
  put32(s.base_layer, out);
  put32(s.index, out);
  put32(s.length, out);
  put32(s.proof_layers, out);
}

HashSpan read_span(const char* p) {
  HashSpan s;
  std::memcpy(s.pieces_root.data(), p, 32);
  s.base_layer = be32(p + 32);
  s.index = be32(p + 36);
  s.length = be32(p + 40);
  s.proof_layers = be32(p + 44);
  return s;
}

bool power_of_two(std::uint32_t v) { return v && !(v & (v - 1)); }

}  // namespace

std::string encode_handshake(const Handshake& h) {
  std::string out;
  out.reserve(kHandshakeSize);
  out.push_back(static_cast<char>(kProtocol.size()));
  out.append(kProtocol);
  out.append(reinterpret_cast<const char*>(h.reserved.data()), h.reserved.size());
  out.append(reinterpret_cast<const char*>(h.info_hash.data()), h.info_hash.size());
  out.append(reinterpret_cast<const char*>(h.peer_id.data()), h.peer_id.size());
  return out;
}

std::optional<Handshake> parse_handshake(std::span<const std::uint8_t> b, std::string* why) {
  if (b.size() != kHandshakeSize) {
    *why = "a handshake is 68 bytes, not " + std::to_string(b.size());
    return std::nullopt;
  }
  if (b[0] != kProtocol.size() || std::memcmp(b.data() + 1, kProtocol.data(), kProtocol.size()) != 0) {
    *why = "not the BitTorrent protocol (an encrypted or other stream)";
    return std::nullopt;
  }
  Handshake h;
  std::memcpy(h.reserved.data(), b.data() + 20, 8);
  std::memcpy(h.info_hash.data(), b.data() + 28, 20);
  std::memcpy(h.peer_id.data(), b.data() + 48, 20);
  return h;
}

std::string_view msg_name(MsgId id) {
  switch (id) {
    case MsgId::choke: return "choke";
    case MsgId::unchoke: return "unchoke";
    case MsgId::interested: return "interested";
    case MsgId::not_interested: return "not interested";
    case MsgId::have: return "have";
    case MsgId::bitfield: return "bitfield";
    case MsgId::request: return "request";
    case MsgId::piece: return "piece";
    case MsgId::cancel: return "cancel";
    case MsgId::port: return "port";
    case MsgId::suggest: return "suggest piece";
    case MsgId::have_all: return "have all";
    case MsgId::have_none: return "have none";
    case MsgId::reject: return "reject request";
    case MsgId::allowed_fast: return "allowed fast";
    case MsgId::extended: return "extended";
    case MsgId::hash_request: return "hash request";
    case MsgId::hashes: return "hashes";
    case MsgId::hash_reject: return "hash reject";
  }
  return "unknown";
}

DecodeResult decode_message(std::string_view in, Message* m, std::size_t max_frame) {
  DecodeResult r;
  if (in.size() < 4) return r;
  const std::uint32_t len = be32(in.data());
  if (len > max_frame) {
    r.status = Decode::error;
    r.why = "a frame of " + std::to_string(len) + " bytes, over the " + std::to_string(max_frame) + " allowed";
    return r;
  }
  if (in.size() < 4 + static_cast<std::size_t>(len)) return r;
  r.why = decode_payload(in.substr(4, len), m);
  if (!r.why.empty()) {
    r.status = Decode::error;
    return r;
  }
  r.consumed = 4 + static_cast<std::size_t>(len);
  r.status = Decode::ok;
  return r;
}

std::string decode_payload(std::string_view frame, Message* m) {
  *m = Message{};
  if (frame.empty()) {
    m->keep_alive = true;
    return {};
  }
  const std::uint8_t id = static_cast<std::uint8_t>(frame[0]);
  const std::string_view p = frame.substr(1);
  m->raw_id = id;
  m->id = static_cast<MsgId>(id);
  auto exactly = [&](std::size_t n) -> bool { return p.size() == n; };
  auto wrong_size = [&]() {
    return std::string(msg_name(m->id)) + " with a payload of " + std::to_string(p.size()) + " bytes";
  };
  switch (m->id) {
    case MsgId::choke:
    case MsgId::unchoke:
    case MsgId::interested:
    case MsgId::not_interested:
    case MsgId::have_all:
    case MsgId::have_none:
      if (!exactly(0)) return wrong_size();
      break;
    case MsgId::have:
    case MsgId::suggest:
    case MsgId::allowed_fast:
      if (!exactly(4)) return wrong_size();
      m->index = be32(p.data());
      break;
    case MsgId::bitfield:
      m->data = p;
      break;
    case MsgId::request:
    case MsgId::cancel:
    case MsgId::reject:
      if (!exactly(12)) return wrong_size();
      m->index = be32(p.data());
      m->begin = be32(p.data() + 4);
      m->length = be32(p.data() + 8);
      break;
    case MsgId::piece:
      if (p.size() <= 8) return wrong_size();  // a piece message carries at least one byte
      m->index = be32(p.data());
      m->begin = be32(p.data() + 4);
      m->data = p.substr(8);
      m->length = static_cast<std::uint32_t>(m->data.size());
      break;
    case MsgId::port:
      if (!exactly(2)) return wrong_size();
      m->port = static_cast<std::uint16_t>((static_cast<std::uint8_t>(p[0]) << 8) | static_cast<std::uint8_t>(p[1]));
      break;
    case MsgId::extended:
      if (p.empty()) return wrong_size();
      m->ext_id = static_cast<std::uint8_t>(p[0]);
      m->data = p.substr(1);
      break;
    case MsgId::hash_request:
    case MsgId::hash_reject:
      if (!exactly(48)) return wrong_size();
      m->span = read_span(p.data());
      break;
    case MsgId::hashes:
      if (p.size() < 48 || (p.size() - 48) % 32 != 0) return wrong_size();
      m->span = read_span(p.data());
      m->data = p.substr(48);
      break;
    default:
      m->known = false;  // BEP 3: messages of unknown ids are ignored
      m->data = p;
      break;
  }
  return {};
}

std::uint64_t TorrentShape::piece_size(std::uint32_t index) const {
  if (index >= pieces) return 0;
  if (index + 1 < pieces) return piece_length;
  return total_length - piece_length * (pieces - 1);
}

std::string check_message(const Message& m, const TorrentShape& t) {
  if (m.keep_alive || !m.known) return {};
  auto index_ok = [&]() -> std::string {
    if (m.index >= t.pieces)
      return std::string(msg_name(m.id)) + " of piece " + std::to_string(m.index) + " (the torrent has " +
             std::to_string(t.pieces) + ")";
    return {};
  };
  auto block_ok = [&](std::uint64_t length) -> std::string {
    if (auto bad = index_ok(); !bad.empty()) return bad;
    if (length == 0) return std::string(msg_name(m.id)) + " of 0 bytes";
    if (length > kBlockSize)
      return std::string(msg_name(m.id)) + " of " + std::to_string(length) + " bytes, over 16 KiB";
    if (std::uint64_t{m.begin} + length > t.piece_size(m.index))
      return std::string(msg_name(m.id)) + " past the end of piece " + std::to_string(m.index);
    return {};
  };
  switch (m.id) {
    case MsgId::have:
    case MsgId::suggest:
    case MsgId::allowed_fast:
      return index_ok();
    case MsgId::bitfield: {
      const std::size_t want = (std::size_t{t.pieces} + 7) / 8;
      if (m.data.size() != want)
        return "a bitfield of " + std::to_string(m.data.size()) + " bytes (the torrent needs " +
               std::to_string(want) + ")";
      if (t.pieces % 8) {
        const auto last = static_cast<std::uint8_t>(m.data.back());
        if (last & static_cast<std::uint8_t>(0xFF >> (t.pieces % 8))) return "a bitfield with spare bits set";
      }
      return {};
    }
    case MsgId::request:
    case MsgId::cancel:
    case MsgId::reject:
      return block_ok(m.length);
    case MsgId::piece:
      return block_ok(m.data.size());
    case MsgId::hash_request:
    case MsgId::hash_reject:
    case MsgId::hashes:
      if (!power_of_two(m.span.length) || m.span.length < 2 || m.span.length > 512)
        return std::string(msg_name(m.id)) + " for " + std::to_string(m.span.length) +
               " hashes (a power of two from 2 to 512)";
      if (m.span.index % m.span.length) return std::string(msg_name(m.id)) + " not aligned to its length";
      if (m.span.base_layer > 63 || m.span.proof_layers > 63)
        return std::string(msg_name(m.id)) + " for layers no tree has";
      if (m.id == MsgId::hashes) {
        const std::size_t n = m.data.size() / 32;
        if (n < m.span.length || n - m.span.length > m.span.proof_layers)
          return "hashes: " + std::to_string(n) + " hashes for " + std::to_string(m.span.length) + " and " +
                 std::to_string(m.span.proof_layers) + " proof layers";
      }
      return {};
    default:
      return {};
  }
}

void encode_keep_alive(std::string* out) { put32(0, out); }

void encode_simple(MsgId id, std::string* out) { head(id, 0, out); }

void encode_have(std::uint32_t index, std::string* out) { encode_index(MsgId::have, index, out); }

void encode_bitfield(std::span<const std::uint8_t> bits, std::string* out) {
  head(MsgId::bitfield, bits.size(), out);
  out->append(reinterpret_cast<const char*>(bits.data()), bits.size());
}

void encode_request(MsgId id, std::uint32_t index, std::uint32_t begin, std::uint32_t length, std::string* out) {
  head(id, 12, out);
  put32(index, out);
  put32(begin, out);
  put32(length, out);
}

void encode_piece_header(std::uint32_t index, std::uint32_t begin, std::uint32_t length, std::string* out) {
  head(MsgId::piece, 8 + std::size_t{length}, out);
  put32(index, out);
  put32(begin, out);
}

void encode_index(MsgId id, std::uint32_t index, std::string* out) {
  head(id, 4, out);
  put32(index, out);
}

void encode_port(std::uint16_t port, std::string* out) {
  head(MsgId::port, 2, out);
  out->push_back(static_cast<char>(port >> 8));
  out->push_back(static_cast<char>(port));
}

void encode_extended(std::uint8_t ext_id, std::string_view payload, std::string* out) {
  head(MsgId::extended, 1 + payload.size(), out);
  out->push_back(static_cast<char>(ext_id));
  out->append(payload);
}

void encode_hash_span(MsgId id, const HashSpan& s, std::string* out) {
  head(id, 48, out);
  put_span(s, out);
}

void encode_hashes(const HashSpan& s, std::span<const Hash32> hashes, std::string* out) {
  head(MsgId::hashes, 48 + 32 * hashes.size(), out);
  put_span(s, out);
  for (const Hash32& h : hashes) out->append(reinterpret_cast<const char*>(h.data()), h.size());
}

std::vector<std::uint32_t> allowed_fast_set(std::array<std::uint8_t, 4> ipv4, const Hash20& info_hash,
                                            std::uint32_t pieces, std::size_t k) {
  std::vector<std::uint32_t> set;
  k = std::min<std::size_t>(k, pieces);
  std::array<std::uint8_t, 24> seed{};
  std::copy(ipv4.begin(), ipv4.begin() + 3, seed.begin());  // the /24: the last byte stays 0
  std::copy(info_hash.begin(), info_hash.end(), seed.begin() + 4);
  std::vector<std::uint8_t> x(seed.begin(), seed.end());
  while (set.size() < k) {
    const Digest d = Engine::instance().digest(Algo::sha1, ByteView(x.data(), x.size()));
    x.assign(d.bytes.begin(), d.bytes.begin() + 20);
    for (std::size_t i = 0; i < 5 && set.size() < k; ++i) {
      const std::uint32_t y = be32(reinterpret_cast<const char*>(x.data()) + 4 * i);
      const std::uint32_t index = y % pieces;
      if (std::find(set.begin(), set.end(), index) == set.end()) set.push_back(index);
    }
  }
  return set;
}

Hash20 make_peer_id(std::string_view version4, std::span<const std::uint8_t> random12) {
  static constexpr char kAlnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  Hash20 id{};
  std::string head = "-HF";
  head.append(version4.substr(0, 4));
  head.resize(7, '0');
  head.push_back('-');
  std::memcpy(id.data(), head.data(), 8);
  for (std::size_t i = 0; i < 12; ++i)
    id[8 + i] = static_cast<std::uint8_t>(kAlnum[(i < random12.size() ? random12[i] : 0) % 62]);
  return id;
}

namespace {

struct Known {
  const char* code;
  const char* name;
};
constexpr Known kAzureus[] = {
    {"TR", "Transmission"}, {"qB", "qBittorrent"}, {"LT", "libtorrent"},  {"lt", "rTorrent"},
    {"DE", "Deluge"},       {"UT", "µTorrent"},    {"UM", "µTorrent Mac"}, {"AZ", "Vuze"},
    {"BI", "BiglyBT"},      {"BT", "BitTorrent"},  {"KT", "KTorrent"},    {"WW", "WebTorrent"},
    {"BC", "BitComet"},     {"FD", "Free Download Manager"}, {"HF", "hashforge"},
};

// "4050" -> "4.0.5": one component a character ('A'.. for 10..), trailing zeros beyond the
// third dropped; lowercase letters are release tags and end the version.
std::string dotted(std::string_view v) {
  std::vector<int> parts;
  for (char c : v) {
    if (c >= '0' && c <= '9') parts.push_back(c - '0');
    else if (c >= 'A' && c <= 'Z') parts.push_back(c - 'A' + 10);
    else break;
  }
  while (parts.size() > 3 && parts.back() == 0) parts.pop_back();
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out.push_back('.');
    out += std::to_string(parts[i]);
  }
  return out;
}

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) out.push_back(c >= 0x20 && c < 0x7F ? c : '?');
  return out;
}

}  // namespace

std::string client_name(const Hash20& peer_id) {
  const std::string_view id(reinterpret_cast<const char*>(peer_id.data()), peer_id.size());
  if (id[0] == '-' && id[7] == '-') {
    const std::string_view code = id.substr(1, 2);
    for (const Known& k : kAzureus)
      if (code == k.code) {
        std::string v = dotted(id.substr(3, 4));
        return v.empty() ? k.name : std::string(k.name) + " " + v;
      }
    return "unknown (" + printable(id.substr(0, 8)) + ")";
  }
  if (id.substr(0, 3) == "A2-") {  // aria2: A2-major-minor-patch-
    std::string v;
    std::size_t pos = 3;
    for (int part = 0; part < 3; ++part) {
      const std::size_t dash = id.find('-', pos);
      if (dash == std::string_view::npos || dash == pos) break;
      if (part) v.push_back('.');
      v += printable(id.substr(pos, dash - pos));
      pos = dash + 1;
    }
    return v.empty() ? "aria2" : "aria2 " + v;
  }
  if (id[0] == 'M' && id[1] >= '0' && id[1] <= '9') {  // BitTorrent mainline: M7-4-3--
    std::string v;
    for (char c : id.substr(1, 7)) {
      if (c == '-' && !v.empty() && v.back() == '.') break;
      v.push_back(c == '-' ? '.' : c);
    }
    while (!v.empty() && v.back() == '.') v.pop_back();
    return "BitTorrent " + printable(v);
  }
  return "unknown (" + printable(id.substr(0, 8)) + ")";
}

}  // namespace hf::torrent::wire

namespace hf::torrent::wire {

std::string host_of(const std::string& address) {
  // A web seed (BEP 19) is known by its whole URL: two servers on one host are two sources.
  if (address.find("://") != std::string::npos) return address;
  if (!address.empty() && address.front() == '[') return address.substr(0, address.find(']') + 1);
  const auto colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

}  // namespace hf::torrent::wire

namespace hf::torrent::wire {

Handshake our_handshake(const Hash20& info_hash, const Hash20& peer_id) {
  Handshake h;
  h.info_hash = info_hash;
  h.peer_id = peer_id;
  h.set(kFast);
  h.set(kExtensionProtocol);
  return h;
}

}  // namespace hf::torrent::wire
