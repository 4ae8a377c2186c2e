#include "net/torrent/magnet_session.hpp"

#include <algorithm>
#include <cstring>

#include "net/torrent/peer_extensions.hpp"

namespace hf::torrent {

namespace {

// What a peer may say before the metadata is in: a bitfield of a huge torrent and many
// HAVEs fit; a flood does not.
constexpr std::size_t kMaxKeptBytes = 4u << 20;
constexpr std::size_t kMaxKeptFrames = 100'000;

MetadataFetch::Want want_of(const Magnet& m) {
  MetadataFetch::Want w;
  if (m.btih) w.v1 = *m.btih;
  if (m.btmh) w.v2 = *m.btmh;
  return w;
}

}  // namespace

MagnetSession::MagnetSession(const Magnet& m, const wire::Hash20& our_peer_id, std::size_t max_peers)
    : our_id_(our_peer_id), max_peers_(max_peers), fetch_(want_of(m)) {
  if (m.btih) info_hash_ = *m.btih;
  else if (m.btmh) std::memcpy(info_hash_.data(), m.btmh->data(), info_hash_.size());
}

wire::Handshake MagnetSession::our_handshake() const { return wire::our_handshake(info_hash_, our_id_); }

void MagnetSession::send(PeerKey k, Peer& p, std::string_view bytes) {
  p.out.append(bytes);
  ready_.insert(k);
}

void MagnetSession::close(PeerKey k, std::string why) {
  for (const Close& c : closes_)
    if (c.peer == k) return;
  closes_.push_back({k, std::move(why)});
}

std::string MagnetSession::peer_connected(PeerKey k, const wire::Handshake& theirs, const std::string& address,
                                          double /*now*/) {
  if (theirs.info_hash != info_hash_) return "the handshake names another torrent";
  if (theirs.peer_id == our_id_) return "a connection to ourselves";
  if (banned_.count(wire::host_of(address))) return "banned: it sent bad metadata";
  if (peers_.size() >= max_peers_) return "too many peers (" + std::to_string(max_peers_) + ")";
  for (const auto& [key, q] : peers_)
    if (q.handover.handshake.peer_id == theirs.peer_id) return "that peer id is connected already";
  if (peers_.count(k)) return "connection key in use";
  Peer& p = peers_[k];
  p.handover.handshake = theirs;
  p.handover.address = address;
  p.client = wire::client_name(theirs.peer_id);
  std::string out;
  if (theirs.has(wire::kExtensionProtocol)) {
    wire::ExtHandshake eh;
    eh.client = "hashforge 0.1.0";
    eh.extensions["ut_metadata"] = wire::kUtMetadataId;
    if (listen_port_) eh.listen_port = listen_port_;
    wire::encode_extended(0, wire::encode_ext_handshake(eh), &out);
  }
  if (theirs.has(wire::kFast)) wire::encode_simple(wire::MsgId::have_none, &out);
  if (!out.empty()) send(k, p, out);
  if (layers_) layers_->add_peer(k);
  return {};
}

void MagnetSession::peer_message(PeerKey k, std::string_view frame, const wire::Message& m, double now) {
  auto it = peers_.find(k);
  if (it == peers_.end() || m.keep_alive) return;
  Peer& p = it->second;
  const bool ours = m.known && m.id == wire::MsgId::extended && m.ext_id == wire::kUtMetadataId;
  const bool layer_answer = m.known && (m.id == wire::MsgId::hashes || m.id == wire::MsgId::hash_reject);
  if (!ours && !layer_answer) {
    // Kept for the TorrentSession, which checks it against the torrent's shape.
    p.kept_bytes += frame.size();
    if (p.kept_bytes > kMaxKeptBytes || p.handover.frames.size() >= kMaxKeptFrames)
      return close(k, "too much said before the metadata came");
    p.handover.frames.emplace_back(frame);
  }
  if (layer_answer) {
    if (!layers_) return;
    if (m.id == wire::MsgId::hash_reject) {
      layers_->on_reject(k, m.span);
    } else if (std::string bad = layers_->on_hashes(k, m.span, m.data); !bad.empty()) {
      return ban(k, bad);
    }
    flush_requests(now);
    return;
  }
  if (!m.known || m.id != wire::MsgId::extended) return;
  if (!p.handover.handshake.has(wire::kExtensionProtocol)) return close(k, "an extended message without the extension protocol");
  std::string why;
  if (m.ext_id == 0) {
    auto h = wire::parse_ext_handshake(m.data, &why);
    if (!h) return close(k, why);
    if (!h->client.empty()) p.client = h->client;
    auto e = h->extensions.find("ut_metadata");
    p.ut_metadata = e == h->extensions.end() ? 0 : e->second;
    if (p.ut_metadata && h->metadata_size) {
      p.offers = fetch_.add_peer(k, *h->metadata_size).empty();
    } else if (p.offers) {
      p.offers = false;  // it took the offer back
      fetch_.remove_peer(k);
    }
    flush_requests(now);
    return;
  }
  if (!ours) return;
  auto msg = wire::parse_metadata_msg(m.data, &why);
  if (!msg) return close(k, why);
  switch (msg->type) {
    case wire::MetadataType::request:
      if (p.ut_metadata) {
        std::string out;
        wire::encode_extended(p.ut_metadata, wire::encode_metadata_reject(msg->piece), &out);
        send(k, p, out);
      }
      break;
    case wire::MetadataType::data: {
      const bool was_done = fetch_.done();
      if (std::string bad = fetch_.on_data(k, *msg, now); !bad.empty()) return close(k, bad);
      if (!was_done && fetch_.done()) metadata_in();
      break;
    }
    case wire::MetadataType::reject:
      fetch_.on_reject(k, msg->piece, now);
      break;
  }
  for (PeerKey liar : fetch_.take_bad()) ban(liar, "it sent metadata that does not match the info-hash");
  flush_requests(now);
}

void MagnetSession::ban(PeerKey k, const std::string& why) {
  if (auto q = peers_.find(k); q != peers_.end()) banned_.insert(wire::host_of(q->second.handover.address));
  close(k, why);
}

void MagnetSession::metadata_in() {
  std::string why;
  auto m = parse_metainfo(torrent_from_info(fetch_.metadata(), {}, {}), &why);
  if (!m || m->has_v1 || !m->has_v2 || m->has_piece_layers) return;  // the driver says what is wrong, if anything
  auto lf = std::make_unique<LayerFetch>(*m);
  if (lf->done()) return;  // no file longer than a piece
  layers_ = std::move(lf);
  for (const auto& [k, p] : peers_) layers_->add_peer(k);
}

void MagnetSession::flush_requests(double now) {
  for (const auto& r : fetch_.take_requests(now)) {
    auto it = peers_.find(r.peer);
    if (it == peers_.end()) continue;
    std::string out;
    wire::encode_extended(it->second.ut_metadata, wire::encode_metadata_request(r.piece), &out);
    send(r.peer, it->second, out);
  }
  if (!layers_) return;
  for (const auto& r : layers_->take_requests(now)) {
    auto it = peers_.find(r.peer);
    if (it == peers_.end()) continue;
    std::string out;
    wire::encode_hash_span(wire::MsgId::hash_request, r.span, &out);
    send(r.peer, it->second, out);
  }
}

void MagnetSession::peer_gone(PeerKey k) {
  peers_.erase(k);
  ready_.erase(k);
  fetch_.remove_peer(k);
  if (layers_) layers_->remove_peer(k);
}

void MagnetSession::tick(double now) {
  fetch_.tick(now);
  if (layers_) layers_->tick(now);
  if (now - last_keepalive_ >= 60) {  // a long wait for an offer must not look like a dead link
    last_keepalive_ = now;
    for (auto& [k, p] : peers_) {
      std::string ka;
      wire::encode_keep_alive(&ka);
      send(k, p, ka);
    }
  }
  flush_requests(now);
}

std::string MagnetSession::take_output(PeerKey k) {
  ready_.erase(k);
  auto it = peers_.find(k);
  return it == peers_.end() ? std::string{} : std::exchange(it->second.out, {});
}

std::map<PeerKey, MagnetSession::Handover> MagnetSession::take_peers() {
  std::map<PeerKey, Handover> out;
  for (auto& [k, p] : peers_) out.emplace(k, std::move(p.handover));
  peers_.clear();
  ready_.clear();
  return out;
}

std::vector<MagnetSession::PeerInfo> MagnetSession::peers() const {
  std::vector<PeerInfo> out;
  for (const auto& [k, p] : peers_) out.push_back({k, p.handover.address, p.client, p.offers});
  return out;
}

}  // namespace hf::torrent
