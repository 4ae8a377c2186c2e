// One torrent's peers as pure code: what each connected peer is told and asked, which of
// its requests we serve, which blocks we assemble into pieces, whom we choke. No sockets,
// no disk, no clock of its own: the driver (net/torrent/peer_client) hands in handshakes,
// decoded messages, the blocks it read from disk and the verdicts of piece checks, and takes
// out the bytes to send to each peer, the blocks to read, the whole pieces to check and
// write, and the peers to drop. So every scenario, hostile ones included, runs in a unit
// test with scripted peers.
//
// Rules it keeps (BEP 3, BEP 6):
//  - the first message after the handshake may be a bitfield (or, with the fast extension,
//    have all / have none); a later one only adds pieces, like HAVEs (aria2 sends two);
//  - we ask only peers that unchoked us (or for pieces they allowed fast), never one block of
//    two peers at once outside endgame, as many blocks as the peer's rate fills in a few
//    seconds; a choke without the fast extension drops every request we had at that peer;
//  - we serve 16 KiB blocks of pieces we hold to peers we unchoked; a choked fast peer's
//    requests are rejected, a cancelled one is not sent;
//  - a piece is announced (HAVE) only after the driver checked and wrote it; a piece that
//    fails its check is pinned on its sender when one peer sent all of it; when several did,
//    each block's fingerprint is kept, and once the piece passes, whoever sent a block that
//    differs from the good one is dropped and its address banned.
#pragma once
#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "net/torrent/choker.hpp"
#include "net/torrent/hash_tree.hpp"
#include "net/torrent/peer_extensions.hpp"
#include "net/torrent/metainfo.hpp"
#include "net/torrent/peer_wire.hpp"
#include "net/torrent/piece_picker.hpp"
#include "net/torrent/ut_pex.hpp"

namespace hf::torrent {

// Bytes a second over the last few seconds: an exponential average, updated by tick().
class RateMeter {
 public:
  void add(std::uint64_t bytes) { window_ += bytes, total_ += bytes; }
  void tick(double now);
  double rate() const { return rate_; }
  std::uint64_t total() const { return total_; }

 private:
  std::uint64_t window_ = 0, total_ = 0;
  double rate_ = 0, at_ = -1;
};

struct SessionConfig {
  bool sequential = false;              // pieces in order (streaming)
  std::size_t max_peers = 60;           // connections for this torrent
  // A peer's requests we hold at once, as told in our extension handshake (reqq): beyond it
  // they are rejected (dropped without the fast extension), and a peer four times over it
  // is dropped.
  std::size_t max_requests_in = 2048;
  std::uint16_t listen_port = 0;        // told to peers in the extension handshake
  std::uint16_t dht_port = 0;           // BEP 5: told to DHT-capable peers in a PORT message
  double request_timeout = 30;          // seconds before a block we asked for is asked elsewhere
  double keepalive_every = 90;          // seconds of silence before we send a keep-alive
  double rechoke_every = 10;
  bool pex = true;                      // peer exchange (BEP 11); never on a private torrent
  double pex_every = 60;                // seconds between ut_pex messages to a peer
  Choker::Config choke;
  std::uint64_t seed = 1;               // the picker's and the choker's random draws
  // Bytes of pieces being assembled or waiting for their check, at most (whole pieces: at
  // least 8 of them): the download's memory, whatever the torrent's size.
  std::uint64_t max_piece_memory = 256ull << 20;
};

// What the driver shows and `--json` prints about one peer.
struct PeerStatus {
  PeerKey key = 0;
  std::string address, client;
  bool am_choking = true, am_interested = false, peer_choking = true, peer_interested = false;
  bool seed = false;
  std::uint32_t pieces = 0;
  double download_rate = 0, upload_rate = 0;
  std::uint64_t downloaded = 0, uploaded = 0;
  std::size_t requests_out = 0, requests_in = 0;
  bool snubbed = false;  // we want its pieces, and it has sent none for the choker's snub time
};

class TorrentSession {
 public:
  TorrentSession(const Metainfo& m, const wire::Hash20& our_peer_id, const SessionConfig& cfg);

  // Before any peer: pieces we hold already (resume data, a recheck).
  void set_have(std::uint32_t piece);
  bool have(std::uint32_t piece) const { return picker_.have(piece); }
  std::uint32_t pieces() const { return shape_.pieces; }
  std::uint32_t have_count() const { return picker_.have_count(); }
  bool complete() const { return picker_.complete(); }
  std::uint64_t bytes_left() const;
  const wire::TorrentShape& shape() const { return shape_; }
  const wire::Hash20& info_hash() const { return info_hash_; }

  // The port told to peers in our extension handshake (known once the driver listens).
  void set_listen_port(std::uint16_t port) { cfg_.listen_port = port; }
  void set_dht_port(std::uint16_t port) { cfg_.dht_port = port; }
  // Our handshake (the fast and extension bits set) for a connection we open or accept.
  wire::Handshake our_handshake() const;

  // A connection's handshake arrived. Empty: the peer is in (its first messages are queued
  // for it); else why it is refused (another torrent, ourselves, a banned address, too many
  // peers), and the driver closes the connection.
  // `greeted`: the peer came over from a magnet link's metadata phase, where it was told
  // already that we hold nothing (have none): what we hold now goes as HAVE messages.
  std::string peer_connected(PeerKey k, const wire::Handshake& theirs, const std::string& address,
                             std::optional<std::array<std::uint8_t, 4>> ipv4, double now, bool greeted = false);
  // A decoded message from a connected peer. A protocol error closes the peer (take_closes).
  void peer_message(PeerKey k, const wire::Message& m, double now);
  // The connection is gone (closed by either side): its requests go to other peers.
  void peer_gone(PeerKey k);
  // The connection was ours (we dialled its address): its address is where it listens, which
  // peer exchange may tell others.
  void mark_outgoing(PeerKey k);
  // Addresses peers told us of (ut_pex), "host:port", for the driver to dial if it wants.
  std::vector<std::string> take_pex_peers() { return std::exchange(pex_found_, {}); }
  // DHT nodes peers named in PORT messages (BEP 5), "host" and port, for the DHT to ping.
  std::vector<std::pair<std::string, std::uint16_t>> take_dht_nodes() { return std::exchange(dht_found_, {}); }
  bool connected(PeerKey k) const { return peers_.count(k) != 0; }
  std::size_t peer_count() const { return peers_.size(); }

  // The driver's side of the work.
  struct Read {
    PeerKey peer = 0;
    BlockRef block;
  };
  // Blocks to read from disk and hand back to block_read, at most kReadsInFlight (1 MiB) per peer,
  // and none for a peer where room(key) is false (its connection has enough queued): what a
  // slow peer asks for waits here, as requests, not in memory as data.
  static constexpr std::size_t kReadsInFlight = 64;
  template <class Room>
  std::vector<Read> take_reads(Room room) {
    std::vector<Read> r;
    for (auto& [k, p] : peers_)
      while (p.reading < p.requests.size() && p.reading < kReadsInFlight && room(k)) {
        r.push_back({k, p.requests[p.reading]});
        ++p.reading;
      }
    return r;
  }
  void block_read(PeerKey k, const BlockRef& b, std::span<const std::uint8_t> data, double now);
  void block_unreadable(PeerKey k, const BlockRef& b);  // a disk error: the request is rejected

  struct Piece {
    std::uint32_t index = 0;
    std::vector<std::uint8_t> data;
  };
  std::vector<Piece> take_pieces();  // whole pieces to check (and write if right)
  // Pieces being assembled, for resume data: which blocks are in (zeros of pad files aside)
  // and the piece's buffer (only those blocks' bytes mean anything). A copy.
  struct PartialPiece {
    std::uint32_t index = 0;
    std::vector<bool> blocks;
    std::vector<std::uint8_t> data;
  };
  std::vector<PartialPiece> partial_pieces() const;
  // An earlier run's blocks of an unfinished piece, read back from disk (`data`: the whole
  // piece, only the blocks marked count): received now and never asked for; a piece they
  // complete goes to be checked like any other (and, should it fail, no peer is blamed for
  // these blocks). False when nothing was taken (piece held, shapes wrong, all in already).
  bool restore_blocks(std::uint32_t piece, const std::vector<bool>& blocks, std::span<const std::uint8_t> data);
  // The check's verdict (after the write, for a good one), with the piece's bytes: HAVE to
  // every peer, or the blocks' fingerprints kept to find who sent bad ones (see .cpp).
  void piece_checked(std::uint32_t index, bool ok, std::span<const std::uint8_t> data, double now);

  // BEP 52 hash requests for leaves (base layer 0) need the data: the driver reads these
  // pieces (wire indices [first_piece, first_piece + pieces), all held), hashes each 16 KiB
  // block of the file's bytes in them, and hands the hashes back (in order, a piece's
  // blocks past the file's end left out) to leaf_hashes_ready, or says it could not.
  struct HashRead {
    PeerKey peer = 0;
    wire::HashSpan span;
    std::uint32_t first_piece = 0, pieces = 0;
    std::uint64_t file_offset = 0, file_length = 0;  // the file's place in the wire stream
  };
  std::vector<HashRead> take_hash_reads() { return std::exchange(hash_reads_, {}); }
  void leaf_hashes_ready(const HashRead& r, const std::vector<Sha256>& blocks, double now);
  void leaf_hashes_failed(const HashRead& r, double now);

  std::string take_output(PeerKey k);  // bytes to send to k now
  std::vector<PeerKey> take_ready();   // peers with output waiting
  struct Close {
    PeerKey peer = 0;
    std::string why;
  };
  std::vector<Close> take_closes();  // peers to disconnect (the driver then calls peer_gone)

  // Once a second or so: rates, request timeouts, keep-alives, the rechoke.
  void tick(double now);

  // `now` (seconds, the session's clock) tells snubbed peers; without it none is.
  std::vector<PeerStatus> peer_status(double now = -1) const;
  std::uint64_t downloaded() const { return down_.total(); }
  std::uint64_t uploaded() const { return up_.total(); }
  double download_rate() const { return down_.rate(); }
  double upload_rate() const { return up_.rate(); }
  std::uint64_t wasted() const { return wasted_; }      // block bytes nobody asked for (or twice)
  std::uint32_t hash_failures() const { return failures_; }
  std::uint64_t hash_requests_served() const { return hash_requests_served_; }
  std::uint64_t metadata_pieces_served() const { return metadata_served_; }
  // Bytes of ut_metadata pieces and BEP 52 hash replies queued since the last call: the
  // uploads besides piece blocks (which the driver charges when it reads them) that its upload
  // limit must charge too.
  std::uint64_t take_reply_bytes() { return std::exchange(reply_bytes_, 0); }
  const std::set<std::string>& banned() const { return banned_; }
  bool endgame() const { return picker_.endgame(); }

 private:
  struct Asked {
    BlockRef block;
    double at = 0;
  };
  struct Peer {
    PeerKey key = 0;
    std::string address, client;
    wire::Hash20 id{};
    bool fast = false, extensions = false;
    std::uint8_t ut_metadata = 0;  // its id for ut_metadata messages (0: it does not take them)
    std::uint8_t ut_pex = 0;       // its id for ut_pex messages
    bool outgoing = false;
    std::uint16_t listen_port = 0;  // from its extension handshake
    PexState pex;                   // what it has been told of our peers
    double pex_out_at = 0, pex_in_at = -1e9;
    bool am_choking = true, am_interested = false, peer_choking = true, peer_interested = false;
    bool first_message = true;  // nothing but the handshake seen yet
    bool seed = false;
    std::uint32_t pieces = 0;       // how many it has
    std::uint32_t interesting = 0;  // pieces it has that we lack
    std::vector<std::uint32_t> allowed_in;  // pieces it lets us ask for while it chokes us
    std::vector<std::uint32_t> allowed_out;  // pieces we serve it while we choke it (BEP 6)
    std::map<std::uint32_t, std::uint32_t> allowed_served;  // blocks of each served while choked
    std::vector<std::uint32_t> suggested;    // pieces it suggested (BEP 6): asked for first
    std::vector<Asked> asked;               // our requests at it, oldest first
    // Slow start: requests outstanding grow by one per block received (up to 250) until the
    // rate, measured once a second over seconds, says how deep the queue should be; a
    // timeout sets it back. Without it a fast peer waits seconds for its rate to show.
    std::uint32_t slow_depth = 4;
    // Its requests we will serve, in order: the first `reading` are with the driver being
    // read (length 0 once cancelled or choked: dropped when they come back).
    std::deque<BlockRef> requests;
    std::size_t reading = 0;
    RateMeter down, up;
    double connected_at = 0, last_sent = 0, last_block_at = -1e9;
    std::uint64_t metadata_sent = 0;  // bytes of the info dictionary served to it (ut_metadata)
    std::uint64_t hashes_sent = 0;    // bytes of BEP 52 hash replies from the piece layers up
    std::uint64_t leaves_read = 0;    // bytes of data read to answer its leaf hash requests
    std::string out;
  };
  struct Assembly {
    std::vector<std::uint8_t> data;
    std::vector<PeerKey> from;  // who sent each block
  };
  struct Suspect {  // a block of a piece that failed: who sent it and what it was
    std::string host;
    PeerKey peer = 0;
    std::uint32_t block = 0;
    Sha256 fingerprint{};
  };
  void ban(const std::string& host, PeerKey k, const std::string& why);

  Peer* find(PeerKey k);
  void send(Peer& p, std::string_view bytes, double now);
  void close(Peer& p, std::string why);
  void update_interest(Peer& p, double now);
  void request_more(Peer& p, double now);
  void drop_requests(Peer& p);  // every block we asked p for goes back to the picker
  void on_have(Peer& p, std::uint32_t piece, double now);
  void on_block(Peer& p, const wire::Message& m, double now);
  void on_request(Peer& p, const wire::Message& m, double now);
  void on_hash_request(Peer& p, const wire::HashSpan& span, double now);
  void on_extended(Peer& p, const wire::Message& m, double now);
  void on_pex(Peer& p, std::string_view payload, double now);
  void send_pex(double now);
  bool pex_on() const { return cfg_.pex && !private_; }
  void reject_hashes(PeerKey k, const wire::HashSpan& span, double now);
  void ask_block_hashes(std::uint32_t piece, const std::vector<PeerKey>& senders, double now);
  void on_block_hashes(Peer& p, const wire::Message& m);
  const HashTree& hash_tree(const Sha256& root);
  void choke(Peer& p, bool choke, double now);
  static constexpr std::size_t kAllowedFast = 10;  // BEP 6's allowed-fast set size
  bool served_while_choked(const Peer& p, std::uint32_t piece) const;
  // Takes b off p's requests being read: nullopt if it is not there, else whether it was
  // dropped meanwhile (cancelled, or the peer choked).
  std::optional<bool> take_reading(Peer& p, const BlockRef& b);
  void rechoke(double now);
  std::size_t choker_slots() const;

  wire::TorrentShape shape_;
  wire::Hash20 info_hash_{}, our_id_{};
  SessionConfig cfg_;
  PiecePicker picker_;
  Choker choker_;
  std::map<PeerKey, Peer> peers_;
  std::map<std::uint32_t, Assembly> assembling_;
  std::vector<Piece> done_;
  std::map<std::uint32_t, std::vector<PeerKey>> senders_;  // pieces being checked: who sent each block
  std::map<std::uint32_t, std::vector<Suspect>> suspects_;  // failed pieces not yet passed
  std::set<PeerKey> ready_;
  std::vector<Close> closes_;
  std::set<std::string> banned_;  // addresses (host part) that sent bad data
  RateMeter down_, up_;
  std::uint64_t wasted_ = 0;
  std::uint32_t failures_ = 0;
  double last_rechoke_ = -1e9;
  struct V2File {
    std::uint64_t offset = 0, length = 0;  // in the wire stream
    std::string layer;                     // 32 bytes a piece
  };
  std::map<Sha256, V2File> piece_layers_;                       // by pieces root
  std::uint64_t hash_reply_cap_ = 0;                            // a peer's hashes_sent at most
  // v2: leaf hashes asked of a peer for a failed piece (BEP 52), to name the senders of its
  // wrong blocks at once. One a peer, a few at most.
  struct BlameAsk {
    std::uint32_t piece = 0;
    wire::HashSpan span;
  };
  std::map<PeerKey, BlameAsk> blame_asks_;
  std::vector<HashRead> hash_reads_;
  std::set<PeerKey> hash_reading_;                              // peers with a leaf read out
  std::map<Sha256, std::unique_ptr<HashTree>> hash_trees_;      // built at the first request
  std::uint64_t hash_requests_served_ = 0;
  std::string info_dict_;  // served to peers by ut_metadata (BEP 9)
  bool private_ = false;   // BEP 27: no peer exchange
  std::vector<std::string> pex_found_;
  std::vector<std::pair<std::string, std::uint16_t>> dht_found_;
  std::set<std::string> pex_seen_;  // addresses handed out already
  std::uint64_t metadata_served_ = 0;
  std::uint64_t reply_bytes_ = 0;  // take_reply_bytes
};

}  // namespace hf::torrent
