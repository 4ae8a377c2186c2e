// One torrent's peer logic (net/torrent/torrent_session.*) fed by a hostile peer: whatever
// frames it sends, in any order, beside a well-behaved seed. Input: 1 byte of options (are
// we a seed; the hostile peer's fast bit; whether reads come back and pieces pass; a
// hybrid with a pad file and v2 piece layers, for pad blocks and hash requests), then
// frames as on the wire. Properties: no crash; nothing queued for the hostile peer after it
// was closed; bytes sent to any peer decode as whole messages; a piece is never handed over
// twice without a failed check between; counters stay consistent (have <= pieces).
#include <cstring>
#include <map>
#include <set>

#include "net/torrent/torrent_session.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace t = hf::torrent;
namespace w = hf::torrent::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t opt = data[0];
  t::Metainfo m;
  m.has_v1 = true;
  m.piece_length = 32 * 1024;
  m.total_length = 5 * m.piece_length + 1000;  // 6 pieces, the last short
  m.pieces.assign(6 * 20, 'x');
  m.info_hash_v1.fill(0x11);
  if (opt & 16) {
    // A hybrid of two files, the first padded to a piece (BEP 47), each with a v2 piece
    // layer: pad blocks are never requested and hash requests are answered from the layers.
    auto file = [&](std::uint64_t offset, std::uint64_t length, bool pad, std::uint8_t root) {
      t::FileEntry f;
      f.offset = offset, f.length = length, f.pad = pad;
      f.path = {pad ? ".pad" : "f", std::to_string(offset)};
      if (!pad) {
        f.pieces_root.emplace();
        f.pieces_root->fill(root);
        f.piece_layer.assign(32 * ((length + m.piece_length - 1) / m.piece_length), static_cast<char>(root));
      }
      return f;
    };
    m.has_v2 = true;
    m.files = {file(0, 40000, false, 0xA1), file(40000, 65536 - 40000, true, 0),
               file(65536, m.total_length - 65536, false, 0xB2)};
  }
  w::Hash20 us{}, them{}, good{};
  us.fill('u'), them.fill('t'), good.fill('g');
  t::TorrentSession s(m, us, {});
  const bool seed = opt & 1;
  if (seed)
    for (std::uint32_t i = 0; i < s.pieces(); ++i) s.set_have(i);
  w::Handshake h;
  h.info_hash = m.info_hash_v1;
  h.peer_id = them;
  if (opt & 2) h.set(w::kFast);
  const t::PeerKey bad = 1, ok = 2;
  if (!s.peer_connected(bad, h, "192.0.2.1:6881", std::nullopt, 0).empty()) return 0;
  h.peer_id = good;
  h.set(w::kFast);
  HF_FUZZ_CHECK(s.peer_connected(ok, h, "192.0.2.2:6881", std::nullopt, 0).empty());
  std::string have_all;
  w::encode_simple(w::MsgId::have_all, &have_all);
  w::Message hm;
  HF_FUZZ_CHECK(w::decode_message(have_all, &hm).status == w::Decode::ok);
  s.peer_message(ok, hm, 0);

  std::set<std::uint32_t> handed;  // pieces given for checking, not yet judged
  bool bad_closed = false;
  std::vector<std::uint8_t> zeros(w::kBlockSize, 0);
  std::vector<t::BlockRef> answers;
  auto drain = [&](double now) {
    for (const auto& r : s.take_reads([](t::PeerKey) { return true; })) {
      if (opt & 4)
        s.block_read(r.peer, r.block, std::span<const std::uint8_t>(zeros.data(), r.block.length), now);
      else
        s.block_unreadable(r.peer, r.block);
    }
    for (const auto& r : s.take_hash_reads()) {
      // Leaf hashes asked for: "read" as zero hashes (which the piece layer refutes) or failed.
      if (opt & 4)
        s.leaf_hashes_ready(r, std::vector<t::Sha256>(std::size_t{r.pieces} * 2), now);
      else
        s.leaf_hashes_failed(r, now);
    }
    for (auto& p : s.take_pieces()) {
      HF_FUZZ_CHECK(handed.insert(p.index).second);
      HF_FUZZ_CHECK(p.data.size() == s.shape().piece_size(p.index));
      s.piece_checked(p.index, (opt & 8) != 0, p.data, now);
      handed.erase(p.index);
    }
    for (const auto& c : s.take_closes()) {
      HF_FUZZ_CHECK(!c.why.empty());
      if (c.peer == bad) bad_closed = true;
      s.peer_gone(c.peer);
    }
    for (t::PeerKey k : s.take_ready()) {
      std::string out = s.take_output(k);
      if (k == bad) HF_FUZZ_CHECK(!bad_closed || out.empty());
      std::size_t at = 0;
      while (at < out.size()) {
        w::Message msg;
        auto d = w::decode_message(std::string_view(out).substr(at), &msg);
        HF_FUZZ_CHECK(d.status == w::Decode::ok);
        at += d.consumed;
        if (k == ok && !msg.keep_alive && msg.id == w::MsgId::request) answers.push_back({msg.index, msg.begin, msg.length});
      }
    }
    // The good seed answers what was asked of it with the right-sized block of zeros, so
    // pieces complete and get checked while the hostile peer talks.
    for (const auto& b : answers) {
      if (!s.connected(ok)) break;
      std::string frame;
      w::encode_piece_header(b.piece, b.begin, b.length, &frame);
      frame.append(b.length, '\0');
      w::Message pm;
      HF_FUZZ_CHECK(w::decode_message(frame, &pm).status == w::Decode::ok);
      s.peer_message(ok, pm, now);
    }
    answers.clear();
    HF_FUZZ_CHECK(s.have_count() <= s.pieces());
  };
  drain(0);

  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  double now = 0;
  while (!in.empty() && !bad_closed) {
    w::Message msg;
    auto d = w::decode_message(in, &msg);
    if (d.status != w::Decode::ok) break;
    s.peer_message(bad, msg, now);
    in.remove_prefix(d.consumed);
    now += 0.5;
    s.tick(now);
    drain(now);
  }
  return 0;
}
