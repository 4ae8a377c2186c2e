// One torrent's peers: see torrent_session.hpp for the rules kept.
#include "net/torrent/torrent_session.hpp"

#include "net/torrent/merkle.hpp"
#include "net/torrent/piece_check.hpp"
#include "net/torrent/ut_metadata.hpp"

#include <algorithm>
#include <limits>
#include <cstring>
#include <utility>

namespace hf::torrent {

using wire::host_of;

void RateMeter::tick(double now) {
  if (at_ < 0) {
    at_ = now;
    return;
  }
  const double dt = now - at_;
  if (dt <= 0) return;
  // A 5-second time constant: steady enough to rank peers, quick enough for the choker.
  const double alpha = std::min(1.0, dt / 5.0);
  rate_ += alpha * (static_cast<double>(window_) / dt - rate_);
  window_ = 0;
  at_ = now;
}

TorrentSession::TorrentSession(const Metainfo& m, const wire::Hash20& our_peer_id, const SessionConfig& cfg)
    : shape_{m.wire_pieces(), m.piece_length, m.wire_length()},
      info_hash_(m.swarm_hash()),
      our_id_(our_peer_id),
      cfg_(cfg),
      picker_(PiecePicker::Config{.pieces = m.wire_pieces(),
                                  .piece_length = m.piece_length,
                                  .total_length = m.wire_length(),
                                  .sequential = cfg.sequential,
                                  .seed = cfg.seed,
                                  .zero_ranges = m.zero_ranges(),
                                  .max_partial = static_cast<std::uint32_t>(std::clamp<std::uint64_t>(
                                      cfg.max_piece_memory / std::max<std::uint64_t>(m.piece_length, 1), 8,
                                      std::numeric_limits<std::uint32_t>::max()))}),
      choker_([&] {
        Choker::Config c = cfg.choke;
        c.seed = cfg.seed ^ 0x9e3779b97f4a7c15ull;
        return c;
      }()),
      info_dict_(m.info_dict),
      private_(m.is_private) {
  // v2 files longer than a piece: their piece layers, for peers' hash requests.
  for (const auto& f : m.files)
    if (f.pieces_root && !f.piece_layer.empty() && f.length > m.piece_length)
      piece_layers_[*f.pieces_root] = {f.offset, f.length, f.piece_layer};
  // A peer fetching the piece layers needs each once, and the layers above them (no more
  // again) only as proofs; twice all of that covers retries, and 64 KiB the proofs of small
  // spans. Past it a peer's hash requests are rejected, so none draws unbounded replies.
  for (const auto& [root, f] : piece_layers_) hash_reply_cap_ += 4 * f.layer.size();
  hash_reply_cap_ += 64 * 1024;
}

void TorrentSession::set_have(std::uint32_t piece) {
  if (piece < shape_.pieces) picker_.set_have(piece);
}

std::uint64_t TorrentSession::bytes_left() const {
  std::uint64_t left = 0;
  for (std::uint32_t i = 0; i < shape_.pieces; ++i)
    if (!picker_.have(i)) left += shape_.piece_size(i);
  return left;
}

wire::Handshake TorrentSession::our_handshake() const { return wire::our_handshake(info_hash_, our_id_); }

TorrentSession::Peer* TorrentSession::find(PeerKey k) {
  auto it = peers_.find(k);
  return it == peers_.end() ? nullptr : &it->second;
}

void TorrentSession::send(Peer& p, std::string_view bytes, double now) {
  p.out.append(bytes);
  p.last_sent = now;
  ready_.insert(p.key);
}

void TorrentSession::close(Peer& p, std::string why) {
  for (const Close& c : closes_)
    if (c.peer == p.key) return;  // one reason is enough
  closes_.push_back({p.key, std::move(why)});
}

std::string TorrentSession::peer_connected(PeerKey k, const wire::Handshake& theirs, const std::string& address,
                                           std::optional<std::array<std::uint8_t, 4>> ipv4, double now,
                                           bool greeted) {
  if (theirs.info_hash != info_hash_) return "the handshake names another torrent";
  if (theirs.peer_id == our_id_) return "a connection to ourselves";
  if (banned_.count(host_of(address))) return "banned: it sent bad data before";
  if (peers_.size() >= cfg_.max_peers) return "too many peers (" + std::to_string(cfg_.max_peers) + ")";
  for (const auto& [key, q] : peers_)
    if (q.id == theirs.peer_id) return "that peer id is connected already";
  if (peers_.count(k)) return "connection key in use";
  Peer& p = peers_[k];
  p.key = k;
  p.address = address;
  p.id = theirs.peer_id;
  p.client = wire::client_name(theirs.peer_id);
  p.fast = theirs.has(wire::kFast);
  p.extensions = theirs.has(wire::kExtensionProtocol);
  p.connected_at = now;
  picker_.add_peer(k, {});  // it has nothing until it says otherwise

  std::string out;
  if (p.extensions) {
    // BEP 10: first, so the peer knows our queue size before it fills it.
    wire::ExtHandshake eh;
    eh.client = "hashforge 0.1.0";
    eh.request_queue = static_cast<std::uint32_t>(cfg_.max_requests_in);
    if (cfg_.listen_port) eh.listen_port = cfg_.listen_port;
    eh.upload_only = picker_.complete();
    eh.extensions["ut_metadata"] = wire::kUtMetadataId;
    if (pex_on()) eh.extensions["ut_pex"] = wire::kUtPexId;
    if (!info_dict_.empty()) eh.metadata_size = info_dict_.size();
    wire::encode_extended(0, wire::encode_ext_handshake(eh), &out);
  }
  // BEP 5: a peer that runs a DHT is told where ours listens.
  if (cfg_.dht_port && theirs.has(wire::kDht)) wire::encode_port(cfg_.dht_port, &out);
  const std::uint32_t held = picker_.have_count();
  if (greeted) {
    p.first_message = false;  // its first message came in the metadata phase
    for (std::uint32_t i = 0; i < shape_.pieces && held > 0; ++i)
      if (picker_.have(i)) wire::encode_have(i, &out);
  } else if (p.fast && held == shape_.pieces) {
    wire::encode_simple(wire::MsgId::have_all, &out);
  } else if (p.fast && held == 0) {
    wire::encode_simple(wire::MsgId::have_none, &out);
  } else if (held > 0) {
    std::vector<std::uint8_t> bits((shape_.pieces + 7) / 8, 0);
    for (std::uint32_t i = 0; i < shape_.pieces; ++i)
      if (picker_.have(i)) bits[i / 8] |= static_cast<std::uint8_t>(0x80 >> (i % 8));
    wire::encode_bitfield(bits, &out);
  }
  // BEP 6: a fast peer on IPv4 may ask for a few pieces while we choke it (the same set
  // every client computes from its address), so a new peer gets something to trade soon.
  // Not on small torrents, where the set would be most of them and choking would mean
  // nothing.
  if (p.fast && ipv4 && shape_.pieces > 4 * kAllowedFast) {
    p.allowed_out = wire::allowed_fast_set(*ipv4, info_hash_, shape_.pieces, kAllowedFast);
    for (std::uint32_t i : p.allowed_out) wire::encode_index(wire::MsgId::allowed_fast, i, &out);
  }
  if (!out.empty()) send(p, out, now);
  return {};
}

bool TorrentSession::served_while_choked(const Peer& p, std::uint32_t piece) const {
  return std::find(p.allowed_out.begin(), p.allowed_out.end(), piece) != p.allowed_out.end();
}

void TorrentSession::peer_gone(PeerKey k) {
  auto it = peers_.find(k);
  if (it == peers_.end()) return;
  blame_asks_.erase(k);
  picker_.remove_peer(k);  // its outstanding blocks become askable again
  ready_.erase(k);
  hash_reading_.erase(k);
  peers_.erase(it);
  // The others may now get what it was asked for.
  for (auto& [key, q] : peers_) request_more(q, q.last_sent);
}

void TorrentSession::update_interest(Peer& p, double now) {
  const bool want = p.interesting > 0 && !picker_.complete();
  if (want == p.am_interested) return;
  p.am_interested = want;
  std::string out;
  wire::encode_simple(want ? wire::MsgId::interested : wire::MsgId::not_interested, &out);
  send(p, out, now);
}

void TorrentSession::drop_requests(Peer& p) {
  for (const Asked& a : p.asked) picker_.dropped(p.key, a.block);
  p.asked.clear();
}

void TorrentSession::request_more(Peer& p, double now) {
  if (!p.am_interested) return;
  const bool choked = p.peer_choking;
  if (choked && (!p.fast || p.allowed_in.empty())) return;
  const std::size_t depth = std::max<std::size_t>(request_queue_depth(p.down.rate()), p.slow_depth);
  if (p.asked.size() >= depth) return;
  std::vector<BlockRef> blocks;
  if (!choked && !p.suggested.empty()) {
    // Its suggestions first, while they are still missing here.
    std::erase_if(p.suggested, [&](std::uint32_t i) { return picker_.have(i); });
    blocks = picker_.pick(p.key, depth - p.asked.size(), p.suggested);
  }
  if (p.asked.size() + blocks.size() < depth) {
    auto more = picker_.pick(p.key, depth - p.asked.size() - blocks.size(),
                             choked ? std::span<const std::uint32_t>(p.allowed_in) : std::span<const std::uint32_t>());
    blocks.insert(blocks.end(), more.begin(), more.end());
  }
  if (blocks.empty()) return;
  std::string out;
  for (const BlockRef& b : blocks) {
    wire::encode_request(wire::MsgId::request, b.piece, b.begin, b.length, &out);
    p.asked.push_back({b, now});
  }
  send(p, out, now);
}

void TorrentSession::on_have(Peer& p, std::uint32_t piece, double now) {
  if (picker_.peer_has_piece(p.key, piece)) return;  // said twice: nothing new
  picker_.peer_has(p.key, piece);
  ++p.pieces;
  p.seed = p.pieces == shape_.pieces;
  if (!picker_.have(piece)) ++p.interesting;
  update_interest(p, now);
  request_more(p, now);
}

void TorrentSession::peer_message(PeerKey k, const wire::Message& m, double now) {
  Peer* pp = find(k);
  if (!pp) return;
  Peer& p = *pp;
  if (m.keep_alive) return;
  if (!m.known) return;  // BEP 3: unknown ids are ignored
  if (std::string why = wire::check_message(m, shape_); !why.empty()) return close(p, why);
  // The extension handshake (BEP 10) may come before the bitfield: aria2 and libtorrent send
  // it first, so it does not count as the first message.
  const bool first = p.first_message;
  if (m.id != wire::MsgId::extended && m.id != wire::MsgId::port) p.first_message = false;
  using wire::MsgId;
  switch (m.id) {
    case MsgId::bitfield:
    case MsgId::have_all:
    case MsgId::have_none: {
      if (!first) {
        // BEP 3 wants it first, but aria2 sends its bitfield twice: a later one (or have
        // all) can only add pieces, as HAVE messages would; have none says nothing new.
        if (m.id == MsgId::have_all) {
          for (std::uint32_t i = 0; i < shape_.pieces; ++i) on_have(p, i, now);
        } else if (m.id == MsgId::bitfield) {
          for (std::uint32_t i = 0; i < shape_.pieces; ++i)
            if (static_cast<std::uint8_t>(m.data[i / 8]) & (0x80 >> (i % 8))) on_have(p, i, now);
        }
        if (p.seed && picker_.complete()) return close(p, "both of us are seeds");
        break;
      }
      if (m.id != MsgId::bitfield && !p.fast) return close(p, std::string(wire::msg_name(m.id)) + " without the fast extension");
      if (m.id == MsgId::have_none) break;
      if (m.id == MsgId::have_all) {
        picker_.add_seed(k);
        p.pieces = shape_.pieces;
      } else {
        auto bits = std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(m.data.data()), m.data.size());
        picker_.add_peer(k, bits);
        p.pieces = 0;
        for (std::uint32_t i = 0; i < shape_.pieces; ++i) p.pieces += picker_.peer_has_piece(k, i);
      }
      p.seed = p.pieces == shape_.pieces;
      p.interesting = 0;
      for (std::uint32_t i = 0; i < shape_.pieces; ++i)
        if (!picker_.have(i) && picker_.peer_has_piece(k, i)) ++p.interesting;
      if (p.seed && picker_.complete()) return close(p, "both of us are seeds");
      update_interest(p, now);
      request_more(p, now);
      break;
    }
    case MsgId::have:
      on_have(p, m.index, now);
      break;
    case MsgId::choke:
      p.peer_choking = true;
      // Without the fast extension a choke cancels every request; with it, the peer
      // rejects each one it drops (and may still send those it keeps).
      if (!p.fast) drop_requests(p);
      break;
    case MsgId::unchoke:
      p.peer_choking = false;
      request_more(p, now);
      break;
    case MsgId::interested:
      p.peer_interested = true;
      // Room in the slots: unchoked at once rather than at the next rechoke, so a fresh
      // swarm does not wait ten seconds for its first block.
      if (p.am_choking) {
        std::size_t open = 0;
        for (const auto& [key, q] : peers_) open += !q.am_choking;
        if (open < choker_slots()) choke(p, false, now);
      }
      break;
    case MsgId::not_interested:
      p.peer_interested = false;
      break;
    case MsgId::request:
      on_request(p, m, now);
      break;
    case MsgId::cancel: {
      const BlockRef b{m.index, m.begin, m.length};
      auto it = std::find(p.requests.begin(), p.requests.end(), b);
      if (it == p.requests.end()) break;
      if (static_cast<std::size_t>(it - p.requests.begin()) >= p.reading)
        p.requests.erase(it);  // not read yet: forgotten
      else
        it->length = 0;  // being read: dropped when it comes back
      break;
    }
    case MsgId::piece:
      on_block(p, m, now);
      break;
    case MsgId::reject: {
      if (!p.fast) return close(p, "reject without the fast extension");
      const BlockRef b{m.index, m.begin, m.length};
      auto it = std::find_if(p.asked.begin(), p.asked.end(), [&](const Asked& a) { return a.block == b; });
      if (it == p.asked.end()) break;  // a reject of nothing we asked: harmless
      p.asked.erase(it);
      picker_.dropped(k, b);
      break;
    }
    case MsgId::allowed_fast:
      if (!p.fast) return close(p, "allowed fast without the fast extension");
      if (std::find(p.allowed_in.begin(), p.allowed_in.end(), m.index) == p.allowed_in.end() && p.allowed_in.size() < 64)
        p.allowed_in.push_back(m.index);
      request_more(p, now);
      break;
    case MsgId::suggest:  // a hint (it may have the piece at hand): asked for first
      if (!p.fast) return close(p, "suggest without the fast extension");
      if (!picker_.have(m.index) &&
          std::find(p.suggested.begin(), p.suggested.end(), m.index) == p.suggested.end()) {
        if (p.suggested.size() >= 16) p.suggested.erase(p.suggested.begin());
        p.suggested.push_back(m.index);
      }
      request_more(p, now);
      break;
    case MsgId::port:  // its DHT node: worth a ping when we run one
      if (cfg_.dht_port && m.port && dht_found_.size() < 64) dht_found_.emplace_back(host_of(p.address), m.port);
      break;
    case MsgId::extended:
      on_extended(p, m, now);
      break;
    case MsgId::hash_request:
      on_hash_request(p, m.span, now);
      break;
    case MsgId::hashes:
      on_block_hashes(p, m);
      break;
    case MsgId::hash_reject:
      if (auto it = blame_asks_.find(k); it != blame_asks_.end() && it->second.span.index == m.span.index &&
                                          it->second.span.pieces_root == m.span.pieces_root)
        blame_asks_.erase(it);  // the retry from one peer names the sender instead
      break;
  }
}

// BEP 10's handshake tells us the peer's ids for the extensions and its client's name; BEP 9
// requests for the info dictionary are answered from the torrent's own bytes.
void TorrentSession::on_extended(Peer& p, const wire::Message& m, double now) {
  if (!p.extensions) return close(p, "an extended message without the extension protocol");
  if (m.ext_id == 0) {
    std::string why;
    auto h = wire::parse_ext_handshake(m.data, &why);
    if (!h) return close(p, why);
    auto it = h->extensions.find("ut_metadata");
    if (it != h->extensions.end()) p.ut_metadata = it->second;  // 0 turns it off
    it = h->extensions.find("ut_pex");
    if (it != h->extensions.end()) {
      p.ut_pex = it->second;
      p.pex_out_at = now - cfg_.pex_every + 2;  // the first message a little after the handshake
    }
    if (h->listen_port) p.listen_port = *h->listen_port;
    if (!h->client.empty()) p.client = h->client;
    return;
  }
  if (m.ext_id == wire::kUtPexId) return on_pex(p, m.data, now);
  if (m.ext_id != wire::kUtMetadataId) return;  // an extension we never offered: ignored
  std::string why;
  auto msg = wire::parse_metadata_msg(m.data, &why);
  if (!msg) return close(p, why);
  if (msg->type != wire::MetadataType::request || p.ut_metadata == 0) return;  // data we did not ask for
  std::string out;
  const std::string_view piece = wire::metadata_piece(info_dict_, msg->piece);
  // A peer needs the dictionary once; twice over covers a retry. Past that it is rejected, so
  // no peer can draw unbounded uploads from it (replies are charged to the upload limit after
  // the fact, not delayed).
  if (piece.empty() || p.metadata_sent + piece.size() > 2 * info_dict_.size()) {
    wire::encode_extended(p.ut_metadata, wire::encode_metadata_reject(msg->piece), &out);
  } else {
    wire::encode_extended(p.ut_metadata, wire::encode_metadata_data(msg->piece, info_dict_.size(), piece), &out);
    ++metadata_served_;
    p.metadata_sent += piece.size();
    reply_bytes_ += out.size();
  }
  send(p, out, now);
}

void TorrentSession::mark_outgoing(PeerKey k) {
  if (Peer* p = find(k)) p->outgoing = true;
}

// BEP 11: what a peer says of its peers becomes addresses to dial. One message a peer every
// 30 s is heeded (BEP 11 says one a minute); more are ignored, not punished.
void TorrentSession::on_pex(Peer& p, std::string_view payload, double now) {
  if (!pex_on()) return;
  std::string why;
  auto msg = wire::parse_pex(payload, &why);
  if (!msg) return close(p, why);
  if (now - p.pex_in_at < 30) return;
  p.pex_in_at = now;
  for (const auto& a : msg->added) {
    if (a.addr.port == 0 || pex_found_.size() >= 200) continue;
    std::string text = tracker::endpoint_text(a.addr);
    if (pex_seen_.size() < 10000 && pex_seen_.insert(text).second) pex_found_.push_back(std::move(text));
  }
}

// To every peer that takes ut_pex, once a pex_every: the peers we are connected to whose
// listening address we know (those we dialled, and those that told us their port).
void TorrentSession::send_pex(double now) {
  if (!pex_on()) return;
  std::vector<std::pair<PeerKey, wire::PexPeer>> known;
  for (const auto& [k, q] : peers_) {
    std::string where = q.outgoing ? q.address
                        : q.listen_port ? host_of(q.address) + ":" + std::to_string(q.listen_port) : std::string{};
    auto addr = where.empty() ? std::nullopt : tracker::parse_endpoint(where);
    if (!addr) continue;
    std::uint8_t flags = q.seed ? wire::kPexSeed : 0;
    if (q.outgoing) flags |= wire::kPexConnectable;
    known.push_back({k, {*addr, flags}});
  }
  for (auto& [k, p] : peers_) {
    if (!p.ut_pex || now - p.pex_out_at < cfg_.pex_every) continue;
    p.pex_out_at = now;
    std::vector<wire::PexPeer> others;
    for (const auto& [qk, qp] : known)
      if (qk != k) others.push_back(qp);
    auto msg = p.pex.next(others);
    if (!msg) continue;
    std::string out;
    wire::encode_extended(p.ut_pex, wire::encode_pex(*msg), &out);
    send(p, out, now);
  }
}

// BEP 52: answered from the piece layers the torrent carries (every file's, whatever we hold,
// since the .torrent has them all), the layers above them built once per file. Leaves need
// the data: asked of the driver for pieces we hold, one read per peer at a time. Anything
// malformed, an unknown file, or leaves of pieces we lack: hash reject.
void TorrentSession::on_hash_request(Peer& p, const wire::HashSpan& span, double now) {
  auto it = piece_layers_.find(span.pieces_root);
  if (it == piece_layers_.end()) return reject_hashes(p.key, span, now);
  const HashTree& tree = hash_tree(span.pieces_root);
  if (span.base_layer >= tree.piece_layer()) {
    auto answer = tree.answer(span.base_layer, span.index, span.length, span.proof_layers);
    if (!answer) return reject_hashes(p.key, span, now);
    std::string out;
    wire::encode_hashes(span, *answer, &out);
    if (p.hashes_sent + out.size() > hash_reply_cap_) return reject_hashes(p.key, span, now);
    ++hash_requests_served_;
    p.hashes_sent += out.size();
    reply_bytes_ += out.size();
    return send(p, out, now);
  }
  // Below the piece layer: only leaves (BEP 52 requires the leaf and piece layers).
  const std::uint64_t per_piece = std::uint64_t{1} << tree.piece_layer();
  const std::uint64_t leaves = tree.width(tree.piece_layer()) * per_piece;
  if (span.base_layer != 0 || span.length < 2 || span.length > 512 || (span.length & (span.length - 1)) != 0 ||
      span.index % span.length != 0 || std::uint64_t{span.index} + span.length > leaves || hash_reading_.count(p.key))
    return reject_hashes(p.key, span, now);
  const V2File& f = it->second;
  const std::uint64_t file_pieces = (f.length + shape_.piece_length - 1) / shape_.piece_length;
  const std::uint64_t k0 = span.index / per_piece;
  const std::uint64_t k1 = std::min<std::uint64_t>((std::uint64_t{span.index} + span.length - 1) / per_piece, file_pieces - 1);
  if (k0 >= file_pieces) return reject_hashes(p.key, span, now);  // nothing but padding: the piece layer says it
  const std::uint32_t first = static_cast<std::uint32_t>(f.offset / shape_.piece_length + k0);
  const std::uint32_t count = static_cast<std::uint32_t>(k1 - k0 + 1);
  for (std::uint32_t i = 0; i < count; ++i)
    if (!picker_.have(first + i)) return reject_hashes(p.key, span, now);
  // Leaves are asked for to find the bad blocks of a piece that failed a check: a peer never
  // needs the whole torrent's, and each request reads up to 8 MiB for a 16 KiB reply. Past
  // two reads of all the data (a retry's worth) a peer's leaf requests are rejected.
  const std::uint64_t read = std::min((k1 + 1) * shape_.piece_length, f.length) - k0 * shape_.piece_length;
  if (p.leaves_read + read > 2 * shape_.total_length) return reject_hashes(p.key, span, now);
  p.leaves_read += read;
  hash_reading_.insert(p.key);
  hash_reads_.push_back({p.key, span, first, count, f.offset, f.length});
}

void TorrentSession::ask_block_hashes(std::uint32_t piece, const std::vector<PeerKey>& senders, double now) {
  const std::uint64_t per_piece = shape_.piece_length / wire::kBlockSize;
  if (per_piece < 2 || per_piece > 512 || blame_asks_.size() >= 8) return;
  const std::uint64_t at = static_cast<std::uint64_t>(piece) * shape_.piece_length;
  for (const auto& [root, f] : piece_layers_) {
    if (at < f.offset || at >= f.offset + f.length) continue;
    const std::uint64_t k = (at - f.offset) / shape_.piece_length;
    if ((k + 1) * per_piece > std::numeric_limits<std::uint32_t>::max()) return;
    // A peer that has the piece and is not being asked already; one that sent none of the
    // bad piece first (an honest answer is likelier there, and a liar's is caught anyway).
    Peer* ask = nullptr;
    for (auto& [key, q] : peers_) {
      if (blame_asks_.count(key) || !picker_.peer_has_piece(key, piece)) continue;
      const bool sent = std::find(senders.begin(), senders.end(), key) != senders.end();
      if (!ask || (!sent && std::find(senders.begin(), senders.end(), ask->key) != senders.end())) ask = &q;
    }
    if (!ask) return;
    wire::HashSpan span;
    span.pieces_root = root;
    span.base_layer = 0;
    span.index = static_cast<std::uint32_t>(k * per_piece);
    span.length = static_cast<std::uint32_t>(per_piece);
    span.proof_layers = 0;
    blame_asks_[ask->key] = {piece, span};
    std::string out;
    wire::encode_hash_span(wire::MsgId::hash_request, span, &out);
    send(*ask, out, now);
    return;
  }
}

void TorrentSession::on_block_hashes(Peer& p, const wire::Message& m) {
  auto it = blame_asks_.find(p.key);
  if (it == blame_asks_.end()) return;  // not asked (a late answer, or unasked): ignored
  const BlameAsk ask = it->second;
  if (m.span.pieces_root != ask.span.pieces_root || m.span.base_layer != 0 || m.span.index != ask.span.index ||
      m.span.length != ask.span.length)
    return;
  blame_asks_.erase(it);
  const V2File& f = piece_layers_.at(ask.span.pieces_root);
  const std::uint64_t k = ask.span.index / ask.span.length;
  if (m.data.size() < 32ull * ask.span.length || f.layer.size() < 32 * (k + 1)) return;
  std::vector<Sha256> leaves(ask.span.length);
  for (std::size_t i = 0; i < leaves.size(); ++i) std::memcpy(leaves[i].data(), m.data.data() + 32 * i, 32);
  // The leaves must be the piece layer's: else the answer is a lie or garbage, and names no one.
  Sha256 want;
  std::memcpy(want.data(), f.layer.data() + 32 * k, 32);
  if (merkle_root(leaves, Sha256{}, leaves.size()) != want) return;
  auto sus = suspects_.find(ask.piece);
  if (sus == suspects_.end()) return;  // the piece has passed meanwhile: settled
  const std::uint64_t piece_at = k * shape_.piece_length;  // in the file
  const std::string what = "sent bad data for piece " + std::to_string(ask.piece);
  for (const Suspect& x : sus->second) {
    // A block the file ends inside is hashed over the file's bytes only: its fingerprint
    // (over the whole wire block) cannot be compared.
    if (x.block >= leaves.size() || piece_at + (x.block + 1) * wire::kBlockSize > f.length) continue;
    if (x.fingerprint != leaves[x.block] && !banned_.count(x.host))
      ban(x.host, x.peer, what + " (block " + std::to_string(x.block) + ")");
  }
}

void TorrentSession::reject_hashes(PeerKey k, const wire::HashSpan& span, double now) {
  Peer* p = find(k);
  if (!p) return;
  std::string out;
  wire::encode_hash_span(wire::MsgId::hash_reject, span, &out);
  send(*p, out, now);
}

const HashTree& TorrentSession::hash_tree(const Sha256& root) {
  auto& tree = hash_trees_[root];
  if (!tree) tree = std::make_unique<HashTree>(piece_layers_.at(root).layer, shape_.piece_length);
  return *tree;
}

void TorrentSession::leaf_hashes_failed(const HashRead& r, double now) {
  hash_reading_.erase(r.peer);
  reject_hashes(r.peer, r.span, now);
}

void TorrentSession::leaf_hashes_ready(const HashRead& r, const std::vector<Sha256>& blocks, double now) {
  hash_reading_.erase(r.peer);
  Peer* p = find(r.peer);
  if (!p) return;
  const HashTree& tree = hash_tree(r.span.pieces_root);
  const std::uint64_t per_piece = std::uint64_t{1} << tree.piece_layer();
  const std::uint64_t k0 = r.span.index / per_piece;
  // The leaves of the pieces read, each piece's padded with zero hashes past the file's end,
  // then whole zero pieces up to the span's end (the layer's padding).
  std::vector<Sha256> leaves;
  std::size_t at = 0;
  const std::uint64_t P = shape_.piece_length;
  for (std::uint32_t i = 0; i < r.pieces; ++i) {
    const std::uint64_t start = (k0 + i) * P;
    const std::uint64_t bytes = std::min(P, r.file_length - start);
    const std::uint64_t n = (bytes + kBlockSize - 1) / kBlockSize;
    if (at + n > blocks.size()) return reject_hashes(r.peer, r.span, now);
    std::vector<Sha256> piece(blocks.begin() + static_cast<std::ptrdiff_t>(at), blocks.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
    piece.resize(per_piece, Sha256{});
    // What we hold must be what the torrent says: else the answer would be a lie.
    if (merkle_root(piece, Sha256{}, per_piece) != tree.node(tree.piece_layer(), k0 + i))
      return reject_hashes(r.peer, r.span, now);
    leaves.insert(leaves.end(), piece.begin(), piece.end());
  }
  const std::uint64_t base = k0 * per_piece;
  leaves.resize(std::max<std::uint64_t>(leaves.size(), r.span.index - base + r.span.length), Sha256{});
  std::vector<Sha256> answer(leaves.begin() + static_cast<std::ptrdiff_t>(r.span.index - base),
                             leaves.begin() + static_cast<std::ptrdiff_t>(r.span.index - base + r.span.length));
  // Uncles from the span's own top up: below the piece layer from the leaves read (the
  // sibling lies in the same piece), from the tree above it.
  std::uint32_t covered = 0;
  while ((1u << covered) < r.span.length) ++covered;
  for (std::uint32_t layer = covered; layer <= r.span.proof_layers && layer < tree.top_layer(); ++layer) {
    const std::uint64_t sibling = (std::uint64_t{r.span.index} >> layer) ^ 1;
    if (layer >= tree.piece_layer()) {
      answer.push_back(tree.node(layer, sibling));
    } else {
      const std::uint64_t from = (sibling << layer) - base;
      std::vector<Sha256> sub(leaves.begin() + static_cast<std::ptrdiff_t>(from),
                              leaves.begin() + static_cast<std::ptrdiff_t>(from + (std::uint64_t{1} << layer)));
      answer.push_back(merkle_root(std::move(sub), Sha256{}, std::size_t{1} << layer));
    }
  }
  ++hash_requests_served_;
  std::string out;
  wire::encode_hashes(r.span, answer, &out);
  reply_bytes_ += out.size();
  send(*p, out, now);
}

std::size_t TorrentSession::choker_slots() const { return cfg_.choke.slots + 1; }

void TorrentSession::on_request(Peer& p, const wire::Message& m, double now) {
  const BlockRef b{m.index, m.begin, m.length};
  auto refuse = [&] {
    if (!p.fast) return;  // BEP 3: a choked peer's requests are dropped in silence
    std::string out;
    wire::encode_request(wire::MsgId::reject, b.piece, b.begin, b.length, &out);
    send(p, out, now);
  };
  if (b.length > wire::kBlockSize) return close(p, "a request for " + std::to_string(b.length) + " bytes, over 16 KiB");
  if (!picker_.have(b.piece)) return refuse();
  if (p.am_choking) {
    // An allowed-fast piece, once over (twice, for a retry): a peer asking for it again and
    // again, or after saying it has it, would be getting around the choke.
    if (!served_while_choked(p, b.piece) || picker_.peer_has_piece(p.key, b.piece)) return refuse();
    std::uint32_t& n = p.allowed_served[b.piece];
    if (n >= 2 * picker_.blocks_in(b.piece)) return refuse();
    ++n;
  }
  if (p.requests.size() >= 4 * cfg_.max_requests_in)
    return close(p, "more than " + std::to_string(4 * cfg_.max_requests_in) + " requests outstanding");
  if (p.requests.size() >= cfg_.max_requests_in) return refuse();  // over the queue it was told
  p.requests.push_back(b);
}

std::optional<bool> TorrentSession::take_reading(Peer& p, const BlockRef& b) {
  const auto reading_end = p.requests.begin() + static_cast<std::ptrdiff_t>(p.reading);
  auto it = std::find_if(p.requests.begin(), reading_end,
                         [&](const BlockRef& r) { return r.piece == b.piece && r.begin == b.begin; });
  if (it == reading_end) return std::nullopt;
  const bool dropped = it->length == 0;
  p.requests.erase(it);
  --p.reading;
  return dropped;
}

void TorrentSession::block_read(PeerKey k, const BlockRef& b, std::span<const std::uint8_t> data, double now) {
  Peer* p = find(k);
  if (!p) return;
  auto dropped = take_reading(*p, b);
  if (!dropped || *dropped || (p->am_choking && !served_while_choked(*p, b.piece)) || data.size() != b.length) return;
  // Straight into the peer's output: one copy of the block, not two.
  wire::encode_piece_header(b.piece, b.begin, b.length, &p->out);
  p->out.append(reinterpret_cast<const char*>(data.data()), data.size());
  p->last_sent = now;
  ready_.insert(p->key);
  p->up.add(data.size());
  up_.add(data.size());
}

void TorrentSession::block_unreadable(PeerKey k, const BlockRef& b) {
  Peer* p = find(k);
  if (!p) return;
  auto dropped = take_reading(*p, b);
  if (!dropped || *dropped || !p->fast) return;
  std::string out;
  wire::encode_request(wire::MsgId::reject, b.piece, b.begin, b.length, &out);
  send(*p, out, p->last_sent);
}

void TorrentSession::on_block(Peer& p, const wire::Message& m, double now) {
  const BlockRef b{m.index, m.begin, static_cast<std::uint32_t>(m.data.size())};
  auto it = std::find_if(p.asked.begin(), p.asked.end(), [&](const Asked& a) { return a.block == b; });
  if (it == p.asked.end()) {
    // Not asked of this peer (or cancelled in endgame and sent anyway): counted, not kept.
    wasted_ += b.length;
    return;
  }
  p.asked.erase(it);
  p.slow_depth = std::min<std::uint32_t>(p.slow_depth + 1, 250);
  bool accepted = false;
  auto others = picker_.received(p.key, b, &accepted);
  p.down.add(b.length);
  down_.add(b.length);
  p.last_block_at = now;
  if (!accepted) {
    wasted_ += b.length;
  } else {
    Assembly& a = assembling_[b.piece];
    if (a.data.empty()) {
      a.data.resize(shape_.piece_size(b.piece));
      a.from.assign(picker_.blocks_in(b.piece), 0);
    }
    std::memcpy(a.data.data() + b.begin, m.data.data(), b.length);
    a.from[b.begin / wire::kBlockSize] = p.key;
    if (picker_.all_blocks_in(b.piece)) {
      done_.push_back({b.piece, std::move(a.data)});
      senders_[b.piece] = std::move(a.from);
      assembling_.erase(b.piece);
    }
  }
  // Endgame: the copies asked of other peers are cancelled.
  for (PeerKey o : others) {
    Peer* q = find(o);
    if (!q) continue;
    auto qa = std::find_if(q->asked.begin(), q->asked.end(), [&](const Asked& a) { return a.block == b; });
    if (qa == q->asked.end()) continue;
    q->asked.erase(qa);
    std::string out;
    wire::encode_request(wire::MsgId::cancel, b.piece, b.begin, b.length, &out);
    send(*q, out, now);
  }
  request_more(p, now);
}

std::vector<TorrentSession::Piece> TorrentSession::take_pieces() { return std::exchange(done_, {}); }

namespace {
// The sender recorded for a block read back from disk: no peer has this key.
constexpr PeerKey kFromDisk = ~PeerKey{0};
}  // namespace

std::vector<TorrentSession::PartialPiece> TorrentSession::partial_pieces() const {
  std::vector<PartialPiece> out;
  for (const auto& [index, a] : assembling_) {
    if (a.data.empty()) continue;
    PartialPiece p{index, std::vector<bool>(picker_.blocks_in(index), false), {}};
    bool any = false;
    for (std::uint32_t i = 0; i < p.blocks.size(); ++i)
      if (picker_.block_received(index, i) && !picker_.local_block(index, i)) p.blocks[i] = any = true;
    if (!any) continue;
    p.data = a.data;
    out.push_back(std::move(p));
  }
  return out;
}

bool TorrentSession::restore_blocks(std::uint32_t piece, const std::vector<bool>& blocks,
                                    std::span<const std::uint8_t> data) {
  if (piece >= shape_.pieces || picker_.have(piece) || data.size() != shape_.piece_size(piece) ||
      blocks.size() != picker_.blocks_in(piece))
    return false;
  Assembly& a = assembling_[piece];
  const bool fresh = a.data.empty();
  if (fresh) {
    a.data.resize(data.size());
    a.from.assign(blocks.size(), 0);
  }
  bool any = false;
  for (std::uint32_t i = 0; i < blocks.size(); ++i) {
    if (!blocks[i] || !picker_.restore_block(piece, i)) continue;
    const std::size_t at = static_cast<std::size_t>(i) * wire::kBlockSize;
    const std::size_t n = std::min<std::size_t>(wire::kBlockSize, data.size() - at);
    std::memcpy(a.data.data() + at, data.data() + at, n);
    a.from[i] = kFromDisk;
    any = true;
  }
  if (picker_.all_blocks_in(piece)) {
    done_.push_back({piece, std::move(a.data)});
    senders_[piece] = std::move(a.from);
    assembling_.erase(piece);
  } else if (!any && fresh) {
    assembling_.erase(piece);
  }
  return any;
}

void TorrentSession::ban(const std::string& host, PeerKey k, const std::string& why) {
  banned_.insert(host);
  if (Peer* p = find(k); p && host_of(p->address) == host) close(*p, why);
  for (auto& [key, q] : peers_)
    if (host_of(q.address) == host) close(q, why);
}

void TorrentSession::piece_checked(std::uint32_t index, bool ok, std::span<const std::uint8_t> data, double now) {
  if (index >= shape_.pieces || picker_.have(index)) return;
  std::vector<PeerKey> from = std::move(senders_[index]);
  senders_.erase(index);
  const std::string what = "sent bad data for piece " + std::to_string(index);
  if (!ok) {
    ++failures_;
    picker_.failed(index);
    std::set<PeerKey> distinct(from.begin(), from.end());
    distinct.erase(0);  // zeros of pad files
    // Blocks an earlier run kept on disk may be the bad ones: with any of them in the piece
    // no single peer is blamed outright (kFromDisk counts as a sender of its own).
    if (distinct.size() == 1) {
      // One sender: it is the one.
      if (Peer* p = find(*distinct.begin())) ban(host_of(p->address), p->key, what);
    } else {
      // Several: which block was wrong shows once the piece passes. Kept per sender and
      // block, bounded (a piece failing again and again keeps its latest attempts).
      auto fps = block_hashes(data);
      auto& list = suspects_[index];
      for (std::uint32_t i = 0; i < from.size() && i < fps.size(); ++i) {
        Peer* p = find(from[i]);
        if (p) list.push_back({host_of(p->address), p->key, i, fps[i]});
      }
      if (list.size() > 4096) list.erase(list.begin(), list.end() - 4096);
      ask_block_hashes(index, from, now);
    }
    for (auto& [key, q] : peers_) request_more(q, now);
    return;
  }
  if (auto it = suspects_.find(index); it != suspects_.end()) {
    auto good = block_hashes(data);
    for (const Suspect& x : it->second)
      if (x.block < good.size() && x.fingerprint != good[x.block] && !banned_.count(x.host)) ban(x.host, x.peer, what);
    suspects_.erase(it);
  }
  picker_.verified(index);
  std::string have;
  wire::encode_have(index, &have);
  const bool done = picker_.complete();
  for (auto& [key, q] : peers_) {
    send(q, have, now);
    if (picker_.peer_has_piece(key, index) && q.interesting) --q.interesting;
    update_interest(q, now);
    if (done && q.seed) close(q, "download complete and the peer is a seed");
  }
}

std::string TorrentSession::take_output(PeerKey k) {
  Peer* p = find(k);
  ready_.erase(k);
  return p ? std::exchange(p->out, {}) : std::string();
}

std::vector<PeerKey> TorrentSession::take_ready() {
  std::vector<PeerKey> r(ready_.begin(), ready_.end());
  ready_.clear();
  return r;
}

std::vector<TorrentSession::Close> TorrentSession::take_closes() { return std::exchange(closes_, {}); }

void TorrentSession::choke(Peer& p, bool c, double now) {
  if (p.am_choking == c) return;
  p.am_choking = c;
  std::string out;
  wire::encode_simple(c ? wire::MsgId::choke : wire::MsgId::unchoke, &out);
  if (c) {
    // Its queued requests are dropped (rejected, for a fast peer), but for its allowed-fast
    // pieces; those being read are dropped when they come back.
    std::deque<BlockRef> kept;
    for (std::size_t i = 0; i < p.requests.size(); ++i) {
      const BlockRef& r = p.requests[i];
      if (served_while_choked(p, r.piece)) {
        kept.push_back(r);
        continue;
      }
      if (i >= p.reading) {
        if (p.fast) wire::encode_request(wire::MsgId::reject, r.piece, r.begin, r.length, &out);
        continue;
      }
      kept.push_back(r);
      kept.back().length = 0;
    }
    // Every read in flight is kept, at the front and in order (take_reading finds it there).
    p.reading = std::min(p.reading, p.requests.size());
    p.requests = std::move(kept);
  }
  send(p, out, now);
}

void TorrentSession::rechoke(double now) {
  std::vector<ChokePeer> cand;
  cand.reserve(peers_.size());
  for (const auto& [k, p] : peers_)
    cand.push_back({k, p.peer_interested, p.down.rate(), p.up.rate(), p.last_block_at, p.connected_at});
  auto open = choker_.rechoke(cand, picker_.complete(), now);
  std::set<PeerKey> unchoke(open.begin(), open.end());
  for (auto& [k, p] : peers_) choke(p, !unchoke.count(k), now);
}

void TorrentSession::tick(double now) {
  down_.tick(now);
  up_.tick(now);
  send_pex(now);
  for (auto& [k, p] : peers_) {
    p.down.tick(now);
    p.up.tick(now);
    // Requests unanswered too long go to other peers (the peer may still send them: then
    // they count as waste, not as a fault).
    bool dropped = false;
    while (!p.asked.empty() && now - p.asked.front().at > cfg_.request_timeout) {
      picker_.dropped(k, p.asked.front().block);
      p.asked.erase(p.asked.begin());
      p.slow_depth = 2;
      dropped = true;
    }
    if (dropped)
      for (auto& [k2, q] : peers_) request_more(q, now);  // the slow peer too, if no one else has them
    if (now - p.last_sent > cfg_.keepalive_every) {
      std::string out;
      wire::encode_keep_alive(&out);
      send(p, out, now);
    }
  }
  if (now - last_rechoke_ >= cfg_.rechoke_every) {
    last_rechoke_ = now;
    rechoke(now);
  }
}

std::vector<PeerStatus> TorrentSession::peer_status(double now) const {
  std::vector<PeerStatus> r;
  const double snub = cfg_.choke.snub_seconds;
  for (const auto& [k, p] : peers_) {
    const bool snubbed = now >= 0 && p.am_interested && now - p.last_block_at > snub && now - p.connected_at > snub;
    r.push_back({k, p.address, p.client, p.am_choking, p.am_interested, p.peer_choking, p.peer_interested, p.seed,
                 p.pieces, p.down.rate(), p.up.rate(), p.down.total(), p.up.total(), p.asked.size(),
                 p.requests.size(), snubbed});
  }
  return r;
}

}  // namespace hf::torrent
