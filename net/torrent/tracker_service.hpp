// `hashforge tracker` put together (docs/tracker.md): the HTTP server (announce, scrape,
// stats) on its own threads, the UDP sockets on theirs, and on the caller's io_context the
// timers that expire silent peers and sample the figures into the history database.
#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <vector>

#include "net/http/server.hpp"
#include "net/torrent/tracker_history.hpp"
#include "net/torrent/tracker_state.hpp"
#include "net/torrent/tracker_udp_server.hpp"

namespace hf::torrent::tracker {

class Service {
 public:
  // Opens the history database (HistoryError when it cannot). Nothing listens yet.
  Service(boost::asio::io_context& io, TrackerConfig cfg);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Binds every address and starts serving; returns the URLs ("http://..." then "udp://...")
  // with their real ports. Throws std::runtime_error with one line.
  std::vector<std::string> start();
  // Stops listening, answers what is in flight, records a last sample. From the io_context's
  // thread; safe more than once.
  void stop();

  TrackerState& state() { return *st_; }

 private:
  void schedule_expiry();
  void schedule_sample();
  void take_sample();

  boost::asio::io_context& io_;
  std::unique_ptr<TrackerState> st_;
  std::unique_ptr<History> history_;
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<UdpServer> udp_;
  boost::asio::steady_timer expiry_timer_, sample_timer_;
  std::uint64_t last_completed_ = 0, last_announces_ = 0;
  bool stopped_ = false;
};

}  // namespace hf::torrent::tracker
