// A byte stream as the sessions see it: plain TCP or TLS over TCP, one interface, so a
// Stratum session or a worker's pool connection is written once for both.
#pragma once
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace hf::netio {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
template <class T>
using awaitable = asio::awaitable<T>;

class Stream {
 public:
  virtual ~Stream() = default;
  // Each throws boost::system::system_error on failure; read_some returns 0 only for an
  // empty buffer (end of stream is asio::error::eof).
  virtual awaitable<std::size_t> read_some(asio::mutable_buffer b) = 0;
  virtual awaitable<void> write(asio::const_buffer b) = 0;
  // TLS handshake (no-op on plain TCP).
  virtual awaitable<void> handshake() = 0;
  // Closes the socket at once; pending operations end with an error.
  void close() {
    boost::system::error_code ec;
    socket().shutdown(tcp::socket::shutdown_both, ec);
    socket().close(ec);
  }
  virtual tcp::socket& socket() = 0;
  // The OpenSSL connection of a TLS stream (null on plain TCP), for the client's checks of
  // the peer's certificate (connect.cpp).
  virtual SSL* tls_native() { return nullptr; }
  std::string peer() const;  // "1.2.3.4:5678", or "?" once closed
  mutable std::string peer_cache;
};

// Closes a stream when `timeout` passes, unless the guard is gone first: a bound on one
// exchange. The timer's handler may already be queued when the exchange ends; it then finds
// the guard disarmed and leaves the stream (perhaps freed, or reused) alone.
class StreamDeadline {
 public:
  StreamDeadline(asio::io_context& io, Stream* s, std::chrono::steady_clock::duration timeout);
  ~StreamDeadline();
  StreamDeadline(const StreamDeadline&) = delete;
  StreamDeadline& operator=(const StreamDeadline&) = delete;
  bool expired() const { return *fired_; }

 private:
  asio::steady_timer t_;
  std::shared_ptr<bool> armed_ = std::make_shared<bool>(true);
  std::shared_ptr<bool> fired_ = std::make_shared<bool>(false);
};

std::unique_ptr<Stream> make_tcp_stream(tcp::socket s);
// Server side when `server` is true. The client side sends `sni` as the server name when
// given; what it checks of the certificate is the context's and connect_stream()'s business.
std::unique_ptr<Stream> make_tls_stream(tcp::socket s, ssl::context& ctx, bool server, const std::string& sni = {});

// "host:port" (IPv6 as [addr]:port). Returns false with a reason.
bool split_host_port(const std::string& s, std::string* host, std::string* port, std::string* why);

// A listening socket on `where` ("address:port"; port 0 lets the OS pick). Throws
// std::runtime_error with one line. *bound gets the address actually bound, as "addr:port".
// "a.b.c.d:port" or "[v6]:port"; an IPv4-mapped IPv6 address (an IPv4 peer on a dual-stack
// socket) is written as the IPv4 address.
std::string endpoint_text(const tcp::endpoint& ep);

std::shared_ptr<tcp::acceptor> listen_on(asio::io_context& io, const std::string& where, std::string* bound);

}  // namespace hf::netio
