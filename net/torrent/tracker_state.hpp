// What the tracker's HTTP handlers, UDP sockets and timers share: the swarms, the rate
// limiter, the UDP connection ids, counters for /stats and the last history JSON.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/torrent/tracker_rate_limit.hpp"
#include "net/torrent/tracker_swarm.hpp"
#include "net/torrent/tracker_udp.hpp"

namespace hf::torrent::tracker {

struct TrackerConfig {
  SwarmConfig swarm;
  std::vector<std::string> http_listen;  // "ADDRESS:PORT", "[V6]:PORT"
  std::vector<std::string> udp_listen;
  unsigned http_threads = 2;
  unsigned udp_threads = 1;  // sockets on each UDP address (SO_REUSEPORT), one thread each
  double rate_limit = 20;    // requests a second per client address; 0: none
  double rate_burst = 100;
  // The `ip` parameter (and BEP 15's ip field) from any client, not only loopback ones: for
  // a tracker behind a reverse proxy on another host. Off: anyone could otherwise enter a
  // third party's address into swarms and have thousands of clients connect to it.
  bool trust_ip_param = false;
  std::string db_path;  // the stats history (SQLite); empty: none
  double sample_interval = 60;
  std::size_t max_http_connections = 4096;
  std::function<void(const std::string&)> log;
};

struct Counters {
  std::atomic<std::uint64_t> http_announces{0}, udp_announces{0};
  std::atomic<std::uint64_t> http_scrapes{0}, udp_scrapes{0};
  std::atomic<std::uint64_t> udp_connects{0};
  std::atomic<std::uint64_t> failures{0};      // announces and scrapes answered with a failure
  std::atomic<std::uint64_t> rate_limited{0};  // requests refused (HTTP) or dropped (UDP) by the limiter
  std::atomic<std::uint64_t> bad_connection_ids{0};
};

// Seconds on the steady clock: swarm ages, connection-id slots, rate buckets.
inline double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
inline std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct TrackerState {
  explicit TrackerState(TrackerConfig c)
      : cfg(std::move(c)),
        swarms(cfg.swarm),
        limiter(cfg.rate_limit, cfg.rate_burst),
        started_unix(unix_seconds()),
        history_json(std::make_shared<const std::string>("{\"windows\":[]}")) {}

  std::shared_ptr<const std::string> history() const {
    std::lock_guard lock(history_mu);
    return history_json;
  }
  void set_history(std::string json) {
    auto p = std::make_shared<const std::string>(std::move(json));
    std::lock_guard lock(history_mu);
    history_json = std::move(p);
  }

  const TrackerConfig cfg;
  Swarms swarms;
  RateLimiter limiter;
  ConnectionIds ids;
  Counters counters;
  const std::int64_t started_unix;

 private:
  mutable std::mutex history_mu;
  std::shared_ptr<const std::string> history_json;
};

}  // namespace hf::torrent::tracker
