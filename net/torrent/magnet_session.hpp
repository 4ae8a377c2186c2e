// A magnet link's first phase as pure code: peers connected by the info-hash alone, asked
// for the info dictionary over ut_metadata (BEP 9) until MetadataFetch has it checked. What
// each peer says meanwhile (its extension handshake, bitfield, HAVEs, chokes) is kept, so
// that once the torrent is known the driver hands the same connections to a TorrentSession
// and replays it: no peer is dropped and dialled again.
//
// We greet each peer with our extension handshake (ut_metadata) and, with the fast
// extension, have none; TorrentSession::peer_connected(..., greeted = true) then sends only
// HAVEs. Requests for metadata we do not have yet are rejected.
#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "net/torrent/layer_fetch.hpp"
#include "net/torrent/magnet.hpp"
#include "net/torrent/peer_wire.hpp"
#include "net/torrent/ut_metadata.hpp"

namespace hf::torrent {

class MagnetSession {
 public:
  MagnetSession(const Magnet& m, const wire::Hash20& our_peer_id, std::size_t max_peers = 60);

  // The 20 bytes the swarm is known by: the v1 info-hash, else the v2 one cut to 20 bytes.
  const wire::Hash20& info_hash() const { return info_hash_; }
  wire::Handshake our_handshake() const;
  void set_listen_port(std::uint16_t port) { listen_port_ = port; }

  // As TorrentSession's: empty when the peer is in, else why it is refused.
  std::string peer_connected(PeerKey k, const wire::Handshake& theirs, const std::string& address, double now);
  // A frame's payload as it came off the connection, and its decoded message.
  void peer_message(PeerKey k, std::string_view frame, const wire::Message& m, double now);
  void peer_gone(PeerKey k);
  void tick(double now);

  std::string take_output(PeerKey k);
  std::vector<PeerKey> take_ready() { return {ready_.begin(), ready_.end()}; }
  struct Close {
    PeerKey peer = 0;
    std::string why;
  };
  std::vector<Close> take_closes() { return std::exchange(closes_, {}); }

  // The metadata is in and checked, and for a v2-only torrent its piece layers too.
  bool done() const { return fetch_.done() && (!layers_ || layers_->done()); }
  const std::string& metadata() const { return fetch_.metadata(); }
  // v2: each file's piece layer by its root (empty for v1 and hybrid torrents).
  std::map<Sha256, std::string> piece_layers() const { return layers_ ? layers_->layers() : std::map<Sha256, std::string>{}; }
  const LayerFetch* layer_fetch() const { return layers_.get(); }
  const MetadataFetch& fetch() const { return fetch_; }
  const std::set<std::string>& banned() const { return banned_; }

  // Once done(): each connected peer with its handshake and the frames to replay, in order.
  struct Handover {
    wire::Handshake handshake;
    std::string address;
    std::vector<std::string> frames;
  };
  std::map<PeerKey, Handover> take_peers();

  struct PeerInfo {
    PeerKey key = 0;
    std::string address, client;
    bool offers = false;  // its handshake offered the metadata
  };
  std::vector<PeerInfo> peers() const;

 private:
  struct Peer {
    Handover handover;
    std::string client, out;
    std::size_t kept_bytes = 0;
    std::uint8_t ut_metadata = 0;  // its id for our messages
    bool offers = false;
  };
  void send(PeerKey k, Peer& p, std::string_view bytes);
  void close(PeerKey k, std::string why);
  void flush_requests(double now);
  void metadata_in();  // v2-only: the piece layers are fetched next
  void ban(PeerKey k, const std::string& why);

  wire::Hash20 info_hash_{}, our_id_{};
  std::size_t max_peers_;
  std::uint16_t listen_port_ = 0;
  double last_keepalive_ = 0;
  MetadataFetch fetch_;
  std::unique_ptr<LayerFetch> layers_;
  std::map<PeerKey, Peer> peers_;
  std::set<PeerKey> ready_;
  std::vector<Close> closes_;
  std::set<std::string> banned_;
};

}  // namespace hf::torrent
