#include "net/torrent/tracker_service.hpp"

#include <algorithm>
#include <chrono>

#include "net/torrent/tracker_http.hpp"

namespace hf::torrent::tracker {

namespace {

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::max(seconds, 0.001) * 1000));
}

}  // namespace

Service::Service(boost::asio::io_context& io, TrackerConfig cfg)
    : io_(io), st_(std::make_unique<TrackerState>(std::move(cfg))), expiry_timer_(io), sample_timer_(io) {
  if (!st_->cfg.db_path.empty()) {
    history_ = std::make_unique<History>(st_->cfg.db_path);
    st_->set_history(history_->windows_json(unix_seconds()));
  }
}

Service::~Service() { stop(); }

std::vector<std::string> Service::start() {
  std::vector<std::string> urls;
  if (!st_->cfg.http_listen.empty()) {
    http::Settings hs;
    hs.io_threads = std::max(1u, st_->cfg.http_threads);
    hs.max_connections = st_->cfg.max_http_connections;
    // Announces are one short GET: small limits keep a hostile client's cost low. The
    // request line holds the whole query (a scrape of 64 hashes is about 4 KiB escaped).
    hs.limits.max_body = 1024;
    hs.limits.max_query_params = 128;
    hs.request_timeout = std::chrono::seconds(10);
    hs.idle_timeout = std::chrono::seconds(30);
    hs.log = st_->cfg.log;
    http_ = std::make_unique<http::Server>(io_, make_tracker_router(*st_), hs);
    for (const auto& w : st_->cfg.http_listen) urls.push_back(http_->listen(w));
  }
  if (!st_->cfg.udp_listen.empty()) {
    udp_ = std::make_unique<UdpServer>(*st_);
    for (const auto& w : st_->cfg.udp_listen) urls.push_back(udp_->listen(w));
    udp_->start();
  }
  schedule_expiry();
  if (history_) schedule_sample();
  return urls;
}

void Service::stop() {
  if (stopped_) return;
  stopped_ = true;
  expiry_timer_.cancel();
  sample_timer_.cancel();
  if (http_) http_->stop();
  if (udp_) udp_->stop();
  if (history_) {
    try {
      take_sample();
    } catch (const HistoryError& e) {
      if (st_->cfg.log) st_->cfg.log(e.what());
    }
  }
}

void Service::schedule_expiry() {
  // A quarter of the peer timeout, at most a minute: a silent peer goes within 1.25 timeouts.
  const double every = std::min<double>(60, std::max<double>(1, st_->cfg.swarm.effective_peer_timeout() / 4.0));
  expiry_timer_.expires_after(ms(every));
  expiry_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    st_->swarms.expire(static_cast<std::int64_t>(steady_seconds()));
    schedule_expiry();
  });
}

void Service::schedule_sample() {
  sample_timer_.expires_after(ms(st_->cfg.sample_interval));
  sample_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    try {
      take_sample();
    } catch (const HistoryError& e) {
      // A full disk loses history, never the tracker.
      if (st_->cfg.log) st_->cfg.log(e.what());
    }
    schedule_sample();
  });
}

void Service::take_sample() {
  const Totals t = st_->swarms.totals();
  const std::uint64_t announces = st_->counters.http_announces.load() + st_->counters.udp_announces.load();
  Sample s;
  s.unix_time = unix_seconds();
  s.torrents = t.torrents;
  s.peers = t.seeders + t.leechers;
  s.seeders = t.seeders;
  s.leechers = t.leechers;
  s.completed = t.completed - last_completed_;
  s.announces = announces - last_announces_;
  last_completed_ = t.completed;
  last_announces_ = announces;
  history_->add(s);
  st_->set_history(history_->windows_json(s.unix_time));
}

}  // namespace hf::torrent::tracker
