// The client side of a Stratum connection, shared by the worker's pool client and the
// coordinator's upstream (proxy) link: pool URLs, connecting with deadlines (TCP, then TLS),
// and the failover-with-backoff policy over a list of URLs.
#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "net/io/stream.hpp"

namespace hf::netio {

struct PoolUrl {
  bool tls = false;
  std::string host, port, text;
};
// stratum+tcp://host:port, stratum+ssl://host:port (also stratum+tls://).
std::optional<PoolUrl> parse_pool_url(const std::string& url, std::string* why);

// client.reconnect's params [host, port, wait_s] (all optional): where to go (nullopt: the
// same URL again) and how long to wait first (clamped to an hour). The new URL keeps the
// current one's TLS setting. A host and port that no pool URL could hold are ignored.
struct Reconnect {
  std::optional<PoolUrl> url;
  std::chrono::milliseconds wait{0};
};
Reconnect parse_reconnect(const boost::json::array& params, bool tls);

// Resolves and connects within `timeout`, then runs the TLS handshake (for a TLS URL) within
// another `timeout`. `tls` must outlive the stream. Throws std::runtime_error with one line.
awaitable<std::unique_ptr<Stream>> connect_stream(const PoolUrl& url, ssl::context& tls,
                                                  std::chrono::milliseconds timeout);

// Which URL to try next and how long to wait first. After a connection that had worked (or
// a redirect), start over at the primary after the shortest pause; after a failure, move to
// the next URL at once, and back off (doubling up to `max`) once a whole round has failed.
// Pure code.
class Failover {
 public:
  Failover(std::size_t urls, std::chrono::milliseconds min, std::chrono::milliseconds max)
      : n_(urls ? urls : 1), min_(min), max_(max), backoff_(min) {}
  std::size_t current() const { return index_; }
  // The attempt on current() has ended; returns the wait before the next (without jitter).
  std::chrono::milliseconds next(bool was_up) {
    if (was_up) {
      index_ = 0;
      backoff_ = min_;
      return min_;
    }
    index_ = (index_ + 1) % n_;
    if (index_ != 0) return std::chrono::milliseconds(0);
    backoff_ = std::min(backoff_ * 2, max_);
    return backoff_;
  }

 private:
  std::size_t n_, index_ = 0;
  std::chrono::milliseconds min_, max_, backoff_;
};

// `wait` plus up to a quarter more at random, so a fleet of clients does not reconnect in
// lockstep after a pool restart.
template <class Rng>
std::chrono::milliseconds with_jitter(std::chrono::milliseconds wait, Rng& rng) {
  const auto extra = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(wait.count() / 4 + 1));
  return wait + std::chrono::milliseconds(extra);
}

}  // namespace hf::netio
