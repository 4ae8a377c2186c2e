// `hashforge torrent daemon`: many torrents in one process, driven through a local JSON API
// and a web page on net/http. Every torrent is a PeerClient on the daemon's io_context,
// sharing one DHT; every download lives under the root folder; every request passes the
// ApiGuard (Host, Origin, token).
//
// API (JSON; the token in X-Hashforge-Token or Authorization: Bearer):
//   GET    /api/torrents                   every torrent, with its status
//   POST   /api/torrents                   add: a .torrent as the body
//                                          (Content-Type: application/x-bittorrent, ?dir=SUB),
//                                          or {"magnet": "...", "dir": "SUB", "peers": [...]}
//   GET    /api/torrents/{id}              one torrent: status, peers, rate history
//   POST   /api/torrents/{id}/pause        stop its peers (resume data kept)
//   POST   /api/torrents/{id}/resume
//   POST   /api/torrents/{id}/limits       {"upload": B/s, "download": B/s} (0: none)
//   DELETE /api/torrents/{id}              remove it (its files stay)
//   GET    /api/status                     the daemon: torrents, rates, limits, DHT
//   GET    /api/limits                     limits across every torrent, and connections open
//   POST   /api/limits                     {"upload": B/s, "download": B/s, "connections": N}
//                                          (0: none; kept across restarts)
// The page: GET / (the token is given to it in the URL's #fragment, never sent in a URL).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "net/http/router.hpp"
#include "net/torrent/daemon_guard.hpp"

namespace hf::torrent {

namespace dht {
class DhtService;
}

struct DaemonOptions {
  std::string root;  // an existing folder: every download goes under it
  ApiGuard guard;
  std::shared_ptr<dht::DhtService> dht;  // shared by every torrent (null: none)
  std::string backend;                   // the engine backend for piece checks
  std::function<void(const std::string&)> log;
};

class TorrentDaemon {
 public:
  TorrentDaemon(boost::asio::io_context& io, DaemonOptions opt);
  ~TorrentDaemon();
  TorrentDaemon(const TorrentDaemon&) = delete;
  TorrentDaemon& operator=(const TorrentDaemon&) = delete;

  // The API and the page; the daemon must outlive the router.
  http::Router router();
  // Opens ROOT/.hashforge/daemon.db, relaunches the torrents kept there (unless paused) and
  // starts the once-a-second sampling of every torrent's rates. Throws std::runtime_error
  // with one line when the database cannot be opened.
  void start();
  // Stops every torrent (resume data written), then `done`.
  void stop(std::function<void()> done);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace hf::torrent
