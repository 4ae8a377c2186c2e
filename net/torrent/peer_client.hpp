// A BitTorrent client for one torrent on an Asio executor: the sockets, trackers and disk
// around TorrentSession (the pure peer logic). Peers come from the torrent's trackers (HTTP,
// HTTPS and UDP, BEP 12 tiers) and from addresses given by hand; every peer connection is a
// net/io LengthConn after the 68-byte handshake. Disk reads and writes and the piece checks
// (SHA-1 on the engine) run on a worker thread, never on the network thread; a piece is
// written and HAVE sent only once it checked good.
//
// Single-threaded like the rest of net/io: start, stop and status must be called on the
// executor's thread (the io_context's run()).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "net/torrent/magnet.hpp"
#include "net/torrent/metainfo.hpp"
#include "net/torrent/torrent_session.hpp"

namespace hf::torrent {

namespace dht {
class DhtService;
}

// Rates and connections several torrents share (the daemon's global limits). Used from the
// one io_context that runs their clients: not thread-safe.
struct SharedLimits {
  TokenBucket up, down;         // bytes a second across the torrents (unlimited by default)
  std::size_t max_connections = 0;  // peer connections across the torrents (0: no limit)
  std::size_t connections = 0;      // open now
  std::size_t opening = 0;          // being dialled or through their handshake now
  // A quarter second of burst, at least a few blocks; 0: no limit (as for one torrent).
  void set_rates(double upload, double download);
  double upload = 0, download = 0;  // as set
};

struct ClientOptions {
  // The file (single-file torrent) or folder, as `torrent verify` takes it. For a magnet
  // link, the folder the torrent's name goes under (empty: the current one).
  std::string data;
  std::string save_torrent;  // a magnet link: where to write the .torrent once its metadata is in
  // A magnet link: a last say on the torrent its metadata makes (a non-empty reason stops it
  // before any file is made), e.g. the daemon refusing names that would leave its root.
  std::function<std::string(const Metainfo&)> vet_metadata;
  std::string listen;  // where peers connect to us (port 0: any); empty: [::]:0, else 0.0.0.0:0
  std::vector<std::string> peers;    // host:port to connect to besides the trackers' peers
  bool trackers = true;              // announce to the torrent's trackers
  bool recheck = true;               // hash data already on disk before trusting it (unless resume data vouches)
  bool complete_only = false;        // `torrent seed`: start only with every piece held (never write into the data)
  bool direct_writes = true;         // downloaded pieces written around the page cache (Storage)
  // Resume data (net/torrent/resume): the pieces synced to disk, with each file's size and
  // time, written every 30 s, at completion and at stop. Empty: DATA + ".hfresume".
  std::string resume_file;
  bool resume = true;
  bool trust_resume = true;  // false: hash everything at start anyway (resume data still written)
  std::size_t max_connections = 60;
  double upload_limit = 0, download_limit = 0;  // bytes a second, 0: none
  // Limits shared with other torrents on the same io_context (the daemon's): rates and
  // connections across all of them, on top of this torrent's own. Null: none.
  std::shared_ptr<SharedLimits> shared_limits;
  std::string backend;               // the engine backend for piece checks (empty: the best)
  // Peers from the DHT (BEP 5): looked up and announced to, shared by many torrents; never
  // for a private torrent (BEP 27). Null: no DHT.
  std::shared_ptr<dht::DhtService> dht;
  SessionConfig session;
  std::function<void(const std::string&)> log;
};

struct TrackerStatus {
  std::string url, last_error;
  std::int64_t seeders = -1, leechers = -1, peers = 0;
  double next_announce_in = 0;
};

struct WebSeedStatus {
  std::string url;
  std::uint64_t downloaded = 0;
  std::string last_error;
  bool active = false;  // in the session now (not failed, dropped or done)
};

struct ClientStatus {
  std::string name;
  std::uint32_t pieces = 0, have = 0;
  std::uint64_t total = 0, left = 0, downloaded = 0, uploaded = 0, wasted = 0;
  double download_rate = 0, upload_rate = 0;
  std::uint32_t hash_failures = 0;
  std::size_t banned = 0;
  bool complete = false;
  std::uint16_t port = 0;
  // A magnet link before its metadata: what ut_metadata fetched so far.
  bool has_metadata = true;
  std::uint64_t metadata_size = 0;
  std::uint32_t metadata_pieces = 0, metadata_got = 0;
  double metadata_ms = -1;  // how long the metadata took, once in (magnet links)
  std::string failed;       // why the torrent cannot go on
  double first_piece_ms = -1;  // from start to the first piece checked and written
  std::uint64_t dht_peers = 0;  // distinct peers the DHT named
  std::uint32_t dht_lookups = 0;
  std::vector<PeerStatus> peers;
  std::vector<TrackerStatus> trackers;
  std::vector<WebSeedStatus> web_seeds;
};

// What one tracker says of a torrent's swarm: a scrape (BEP 48 over HTTP(S), BEP 15 over UDP).
struct TrackerScrape {
  std::string url;
  std::string error;  // empty when it answered
  std::int64_t seeders = 0, completed = 0, leechers = 0;
};
// Scrapes every tracker the torrent names (every URL of every tier, all at once, each within
// the tracker timeout) for its swarm; runs `io` until each has answered or failed.
std::vector<TrackerScrape> scrape_trackers(boost::asio::io_context& io, const Metainfo& m);

class PeerClient {
 public:
  PeerClient(boost::asio::io_context& io, Metainfo meta, ClientOptions opt);
  // A magnet link: the info dictionary is fetched from the link's peers (x.pe, opt.peers)
  // and trackers first (BEP 9), checked against its info-hash(es), and the download goes on
  // on the same connections.
  PeerClient(boost::asio::io_context& io, Magnet magnet, ClientOptions opt);
  ~PeerClient();
  PeerClient(const PeerClient&) = delete;
  PeerClient& operator=(const PeerClient&) = delete;

  // Creates the files (sparse), checks what is on disk, listens, announces and dials.
  // Throws std::runtime_error with one line (a bad listen address, files that cannot be made).
  void start();
  // Announces `stopped` (briefly), closes every connection, syncs the files; then `done`.
  void stop(std::function<void()> done);
  ClientStatus status() const;
  // Bytes a second, 0 for none; from now on.
  void set_limits(double upload, double download);
  // Called once when the last piece is written and synced.
  std::function<void()> on_complete;
  std::function<void()> on_metadata;                   // a magnet link's metadata is in
  std::function<void(const std::string&)> on_failed;  // it cannot go on (one line)

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace hf::torrent
