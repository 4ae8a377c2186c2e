#include "net/io/connect.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <algorithm>
#include <stdexcept>

namespace hf::netio {

using namespace boost::asio::experimental::awaitable_operators;

std::optional<PoolUrl> parse_pool_url(const std::string& url, std::string* why) {
  PoolUrl u;
  u.text = url;
  std::string rest;
  for (const char* p : {"stratum+tcp://", "stratum+ssl://", "stratum+tls://"}) {
    if (url.rfind(p, 0) == 0) {
      u.tls = std::string(p) != "stratum+tcp://";
      rest = url.substr(std::string(p).size());
    }
  }
  if (rest.empty()) {
    *why = "'" + url + "' is not stratum+tcp://host:port or stratum+ssl://host:port";
    return std::nullopt;
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  if (!split_host_port(rest, &u.host, &u.port, why)) return std::nullopt;
  return u;
}

Reconnect parse_reconnect(const boost::json::array& p, bool tls) {
  Reconnect r;
  if (p.size() >= 2 && p[0].is_string() && (p[1].is_int64() || p[1].is_string())) {
    const std::string host(p[0].as_string());
    const std::string port = p[1].is_int64() ? std::to_string(p[1].as_int64()) : std::string(p[1].as_string());
    // Only a place a pool URL could name: a bad port or a host with '/' or brackets in it
    // is ignored like a malformed request (the same pool again), never dialled.
    const std::string where = host.find(':') != std::string::npos ? "[" + host + "]:" + port : host + ":" + port;
    std::string why;
    auto u = parse_pool_url(std::string(tls ? "stratum+ssl://" : "stratum+tcp://") + where, &why);
    if (u && u->host == host && u->port == port) r.url = std::move(u);
  }
  const std::int64_t wait = p.size() >= 3 && p[2].is_int64() ? std::clamp<std::int64_t>(p[2].as_int64(), 0, 3600) : 0;
  r.wait = std::chrono::milliseconds(wait * 1000);
  return r;
}

namespace {
// The handshake's failure as a value, for use with `||` (see connect_stream()).
awaitable<boost::system::error_code> handshake(Stream& s) {
  try {
    co_await s.handshake();
  } catch (const boost::system::system_error& e) {
    co_return e.code();
  }
  co_return boost::system::error_code{};
}
}  // namespace

awaitable<std::unique_ptr<Stream>> connect_stream(const PoolUrl& url, ssl::context& tls,
                                                  std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  const auto eps = co_await resolver.async_resolve(url.host, url.port, asio::use_awaitable);
  tcp::socket sock(ex);
  asio::steady_timer deadline(ex, timeout);
  // Errors come back as codes, not exceptions: `||` waits for the first operation that
  // succeeds, so a refused connection would otherwise sit out the whole timeout.
  boost::system::error_code ec;
  auto connected = co_await (asio::async_connect(sock, eps, asio::redirect_error(asio::use_awaitable, ec)) ||
                             deadline.async_wait(asio::use_awaitable));
  if (connected.index() == 1) throw std::runtime_error("connect timed out");
  if (ec) throw std::runtime_error("cannot connect: " + ec.message());
  auto stream = url.tls ? make_tls_stream(std::move(sock), tls, false, url.host) : make_tcp_stream(std::move(sock));
  if (url.tls) {
    deadline.expires_after(timeout);
    auto hs = co_await (handshake(*stream) || deadline.async_wait(asio::use_awaitable));
    if (hs.index() == 1) throw std::runtime_error("TLS handshake timed out");
    if (const auto& e = std::get<0>(hs)) throw std::runtime_error("TLS handshake failed: " + e.message());
  }
  co_return stream;
}

}  // namespace hf::netio
