// The client side of a Stratum connection, shared by the worker's pool client and the
// coordinator's upstream (proxy) link: pool URLs, connecting with deadlines (TCP, then TLS),
// and the failover-with-backoff policy over a list of URLs.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "net/io/stream.hpp"

namespace hf::netio {

// Which of a host's addresses a connection may use: a client listening on one family
// announces itself over that family only (a BitTorrent tracker hands out the address an
// announce came from).
enum class Family : std::uint8_t { any, v4, v6 };
// Whether an address of that kind (is_v6) may be used under `f`.
inline bool family_allows(Family f, bool is_v6) { return f == Family::any || is_v6 == (f == Family::v6); }
// The one-line error for a host none of whose addresses `f` allows.
std::string no_address_of_family(const std::string& host, Family f);

struct PoolUrl {
  bool tls = false;
  std::string host, port, text;
  Family family = Family::any;
};
// stratum+tcp://host:port, stratum+ssl://host:port (also stratum+tls://); port 1..65535.
std::optional<PoolUrl> parse_pool_url(const std::string& url, std::string* why);

// client.reconnect's params [host, port, wait_s] (all optional): where to go (nullopt: the
// same URL again) and how long to wait first (clamped to an hour). The new URL keeps the
// current one's TLS setting. A host and port that no pool URL could hold are ignored.
struct Reconnect {
  std::optional<PoolUrl> url;
  std::chrono::milliseconds wait{0};
};
Reconnect parse_reconnect(const boost::json::array& params, bool tls);

// How a client checks a pool's TLS certificate. By default it must chain to the system's CA
// store (Debian's ca-certificates) and name the URL's host (a DNS name, or an IP address in
// its subjectAltName). `ca_file` trusts that PEM bundle instead (a private CA). Pinned
// `fingerprints` accept exactly the certificates with those SHA-256s and check no chain or
// name: a pin is the stronger statement, and it is how a self-signed pool is trusted (one pin
// for each of the failover URLs' servers, any of which may answer). `insecure` checks nothing
// (the link is encrypted, but anyone on the path can pose as the pool).
struct TlsVerify {
  std::string ca_file;
  std::vector<std::string> fingerprints;  // 64 lowercase hex digits each (parse_fingerprint)
  bool insecure = false;
};
// A SHA-256 fingerprint as `openssl x509 -fingerprint -sha256` prints it (hex pairs with
// colons, any case; an "sha256 Fingerprint=" prefix allowed) or as plain hex: 64 lowercase
// hex digits, or nullopt with a reason.
std::optional<std::string> parse_fingerprint(const std::string& text, std::string* why);
// The client context for `v`. Throws std::runtime_error with one line (an unreadable CA file).
std::unique_ptr<ssl::context> make_client_tls(const TlsVerify& v);

// Resolves and connects within `timeout`, then runs the TLS handshake (for a TLS URL) within
// another `timeout`, checking the certificate as `verify` says (`tls` must come from
// make_client_tls(verify) and outlive the stream). Throws std::runtime_error with one line; a
// refused certificate says why ("TLS: certificate verify failed: self-signed certificate",
// "... hostname mismatch", "TLS: certificate fingerprint mismatch ...").
awaitable<std::unique_ptr<Stream>> connect_stream(const PoolUrl& url, ssl::context& tls, const TlsVerify& verify,
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
