// The peer wire codec (net/torrent/peer_wire.*): every byte a peer sends after its handshake.
// Input: 3 bytes choosing a torrent shape, then a stream of frames (a handshake first when the
// stream starts with one). Properties: no crash; every decoded message re-encodes to exactly
// the bytes it came from; an error has a reason and consumes nothing; truncation only ever
// asks for more; a request that passes check_message lies inside its piece and is at most
// 16 KiB; an extension handshake that parses encodes and parses back the same, and so does a
// ut_pex message; a ut_metadata message that parses is within its limits.
#include <cstring>
#include <vector>

#include "net/torrent/peer_extensions.hpp"
#include "net/torrent/peer_wire.hpp"
#include "net/torrent/ut_metadata.hpp"
#include "net/torrent/ut_pex.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace w = hf::torrent::wire;

namespace {

std::string reencode(const w::Message& m) {
  std::string out;
  if (m.keep_alive) {
    w::encode_keep_alive(&out);
    return out;
  }
  switch (m.id) {
    case w::MsgId::choke:
    case w::MsgId::unchoke:
    case w::MsgId::interested:
    case w::MsgId::not_interested:
    case w::MsgId::have_all:
    case w::MsgId::have_none:
      w::encode_simple(m.id, &out);
      break;
    case w::MsgId::have:
      w::encode_have(m.index, &out);
      break;
    case w::MsgId::suggest:
    case w::MsgId::allowed_fast:
      w::encode_index(m.id, m.index, &out);
      break;
    case w::MsgId::bitfield:
      w::encode_bitfield({reinterpret_cast<const std::uint8_t*>(m.data.data()), m.data.size()}, &out);
      break;
    case w::MsgId::request:
    case w::MsgId::cancel:
    case w::MsgId::reject:
      w::encode_request(m.id, m.index, m.begin, m.length, &out);
      break;
    case w::MsgId::piece:
      w::encode_piece_header(m.index, m.begin, static_cast<std::uint32_t>(m.data.size()), &out);
      out += m.data;
      break;
    case w::MsgId::port:
      w::encode_port(m.port, &out);
      break;
    case w::MsgId::extended:
      w::encode_extended(m.ext_id, m.data, &out);
      break;
    case w::MsgId::hash_request:
    case w::MsgId::hash_reject:
      w::encode_hash_span(m.id, m.span, &out);
      break;
    case w::MsgId::hashes: {
      std::vector<w::Hash32> hs(m.data.size() / 32);
      for (std::size_t i = 0; i < hs.size(); ++i) std::memcpy(hs[i].data(), m.data.data() + 32 * i, 32);
      w::encode_hashes(m.span, hs, &out);
      break;
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  w::TorrentShape shape;
  shape.pieces = 1 + ((data[0] << 8 | data[1]) % 4096);
  shape.piece_length = std::uint64_t{16384} << (data[2] % 5);
  shape.total_length = shape.piece_length * (shape.pieces - 1) + 1 + (data[2] * 997u) % shape.piece_length;
  std::string_view rest(reinterpret_cast<const char*>(data) + 3, size - 3);
  if (rest.size() >= w::kHandshakeSize && rest[0] == 19) {
    std::string why;
    const auto h = w::parse_handshake(
        {reinterpret_cast<const std::uint8_t*>(rest.data()), w::kHandshakeSize}, &why);
    if (h) HF_FUZZ_CHECK(w::encode_handshake(*h) == rest.substr(0, w::kHandshakeSize));
    else HF_FUZZ_CHECK(!why.empty());
    rest.remove_prefix(w::kHandshakeSize);
  }
  const std::size_t max_frame = (data[0] & 1) ? w::kDefaultMaxFrame : w::kBlockSize + 13;
  while (!rest.empty()) {
    w::Message m;
    const w::DecodeResult r = w::decode_message(rest, &m, max_frame);
    if (r.status == w::Decode::need_more) {
      HF_FUZZ_CHECK(r.consumed == 0);
      break;
    }
    if (r.status == w::Decode::error) {
      HF_FUZZ_CHECK(r.consumed == 0 && !r.why.empty());
      break;
    }
    HF_FUZZ_CHECK(r.consumed >= 4 && r.consumed <= rest.size() && r.consumed <= max_frame + 4);
    if (m.keep_alive || m.known) HF_FUZZ_CHECK(reencode(m) == rest.substr(0, r.consumed));
    if (m.known && m.id == w::MsgId::extended && m.ext_id == 0) {
      std::string why;
      const auto h = w::parse_ext_handshake(m.data, &why);
      if (h) {  // what was read is written and read back the same
        const auto again = w::parse_ext_handshake(w::encode_ext_handshake(*h), &why);
        HF_FUZZ_CHECK(again && again->extensions == h->extensions && again->client == h->client &&
                      again->listen_port == h->listen_port && again->request_queue == h->request_queue);
      } else {
        HF_FUZZ_CHECK(!why.empty());
      }
    }
    if (m.known && m.id == w::MsgId::extended && m.ext_id == w::kUtPexId) {
      std::string why;
      if (const auto p = w::parse_pex(m.data, &why)) {  // written and read back the same
        const auto again = w::parse_pex(w::encode_pex(*p), &why);
        HF_FUZZ_CHECK(again && again->dropped == p->dropped && again->added.size() == p->added.size());
        for (std::size_t i = 0; again && i < p->added.size(); ++i)
          HF_FUZZ_CHECK(again->added[i].addr == p->added[i].addr && again->added[i].flags == p->added[i].flags);
      } else {
        HF_FUZZ_CHECK(!why.empty());
      }
    }
    if (m.known && m.id == w::MsgId::extended && m.ext_id == w::kUtMetadataId) {
      std::string why;
      if (const auto q = w::parse_metadata_msg(m.data, &why)) {
        HF_FUZZ_CHECK(q->data.size() <= w::kMetadataPiece && q->piece < w::kMaxMetadataSize / w::kMetadataPiece);
      } else {
        HF_FUZZ_CHECK(!why.empty());
      }
    }
    const std::string bad = w::check_message(m, shape);
    if (bad.empty() && m.known && (m.id == w::MsgId::request || m.id == w::MsgId::piece)) {
      HF_FUZZ_CHECK(m.index < shape.pieces && m.length >= 1 && m.length <= w::kBlockSize);
      HF_FUZZ_CHECK(std::uint64_t{m.begin} + m.length <= shape.piece_size(m.index));
    }
    rest.remove_prefix(r.consumed);
  }
  return 0;
}
