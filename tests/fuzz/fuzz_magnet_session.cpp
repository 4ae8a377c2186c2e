// A magnet link's metadata phase (net/torrent/magnet_session.*, ut_metadata.*) fed by a
// hostile peer beside an honest one that holds the true info dictionary. Input: 1 byte of
// options (the hostile peer's extension and fast bits, whether the honest peer is there),
// then frames as on the wire from the hostile peer. Properties: no crash; every parsed
// ut_metadata message re-encodes and parses back the same; bytes we send decode as whole
// messages; if the fetch says done, what it holds is the true info dictionary (no peer can
// make us take another); frames kept for the handover stay within bounds.
#include <openssl/sha.h>

#include <cstring>

#include "net/torrent/magnet_session.hpp"
#include "net/torrent/peer_extensions.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace t = hf::torrent;
namespace w = hf::torrent::wire;

namespace {

// Every whole message in `bytes` decodes.
void check_output(const std::string& bytes) {
  std::string_view rest(bytes);
  while (!rest.empty()) {
    w::Message m;
    const auto r = w::decode_message(rest, &m);
    HF_FUZZ_CHECK(r.status == w::Decode::ok);
    rest.remove_prefix(r.consumed);
  }
}

void feed(t::MagnetSession& s, t::PeerKey k, std::string_view payload) {
  w::Message m;
  if (!w::decode_payload(payload, &m).empty()) return;
  s.peer_message(k, payload, m, 0);
  if (m.known && m.id == w::MsgId::extended && m.ext_id == w::kUtMetadataId) {
    std::string why;
    if (auto msg = w::parse_metadata_msg(m.data, &why)) {
      std::string again;
      if (msg->type == w::MetadataType::request) again = w::encode_metadata_request(msg->piece);
      else if (msg->type == w::MetadataType::reject) again = w::encode_metadata_reject(msg->piece);
      else again = w::encode_metadata_data(msg->piece, msg->total_size, msg->data);
      const auto back = w::parse_metadata_msg(again, &why);
      HF_FUZZ_CHECK(back && back->type == msg->type && back->piece == msg->piece &&
                    back->total_size == msg->total_size && back->data == msg->data);
    } else {
      HF_FUZZ_CHECK(!why.empty());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t opt = data[0];
  // The true info dictionary: two metadata pieces.
  static const std::string info = [] {
    std::string s = "d6:lengthi1000e4:name8:data.bin12:piece lengthi16384e6:pieces20:";
    s.append(20, 'p');
    s += "7:padding20000:";
    s.append(20000, 'z');
    s += "e";
    return s;
  }();
  t::Magnet link;
  link.btih.emplace();
  SHA1(reinterpret_cast<const unsigned char*>(info.data()), info.size(), link.btih->data());
  w::Hash20 ours{};
  ours.fill(0x4d);
  t::MagnetSession s(link, ours, 8);

  w::Handshake hostile;
  hostile.info_hash = s.info_hash();
  hostile.peer_id.fill(0x48);
  if (opt & 1) hostile.set(w::kExtensionProtocol);
  if (opt & 2) hostile.set(w::kFast);
  HF_FUZZ_CHECK(s.peer_connected(1, hostile, "10.0.0.1:1", 0).empty());

  const bool honest = opt & 4;
  std::uint8_t honest_id = 7;
  if (honest) {
    w::Handshake h = hostile;
    h.peer_id.fill(0x47);
    h.set(w::kExtensionProtocol);
    HF_FUZZ_CHECK(s.peer_connected(2, h, "10.0.0.2:1", 0).empty());
    w::ExtHandshake eh;
    eh.extensions["ut_metadata"] = honest_id;
    eh.metadata_size = info.size();
    std::string frame;
    w::encode_extended(0, w::encode_ext_handshake(eh), &frame);
    feed(s, 2, std::string_view(frame).substr(4));
  }

  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  bool hostile_open = true;
  for (int round = 0; round < 64 && !rest.empty(); ++round) {
    if (hostile_open) {
      w::Message m;
      const auto r = w::decode_message(rest, &m);
      if (r.status != w::Decode::ok) break;
      feed(s, 1, rest.substr(4, r.consumed - 4));
      rest.remove_prefix(r.consumed);
    }
    for (const auto& c : s.take_closes()) {
      if (c.peer == 1) hostile_open = false;
      s.peer_gone(c.peer);
    }
    // The honest peer answers every request it got with the truth.
    const std::string to_honest = s.take_output(2);
    check_output(to_honest);
    check_output(s.take_output(1));
    std::string_view out(to_honest);
    while (honest && !out.empty()) {
      w::Message m;
      const auto r = w::decode_message(out, &m);
      if (r.status != w::Decode::ok) break;
      std::string why;
      if (m.known && m.id == w::MsgId::extended && m.ext_id == honest_id) {
        if (auto q = w::parse_metadata_msg(m.data, &why); q && q->type == w::MetadataType::request) {
          std::string frame;
          w::encode_extended(w::kUtMetadataId,
                             w::encode_metadata_data(q->piece, info.size(), w::metadata_piece(info, q->piece)), &frame);
          feed(s, 2, std::string_view(frame).substr(4));
        }
      }
      out.remove_prefix(r.consumed);
    }
    s.tick(round);
    if (s.done()) break;
  }
  if (s.done()) HF_FUZZ_CHECK(s.metadata() == info);
  for (auto& [k, h] : s.take_peers()) HF_FUZZ_CHECK(h.frames.size() <= 100'000);
  return 0;
}
