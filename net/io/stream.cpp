#include "net/io/stream.hpp"

#include <stdexcept>

namespace hf::netio {

std::string endpoint_text(const tcp::endpoint& ep) {
  auto a = ep.address();
  // An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d: named as the IPv4 address
  // it is, so one host has one name whichever socket it came in on.
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

StreamDeadline::StreamDeadline(asio::io_context& io, Stream* s, std::chrono::steady_clock::duration timeout)
    : t_(io, timeout) {
  t_.async_wait([s, armed = armed_, fired = fired_](boost::system::error_code ec) {
    if (ec || !*armed) return;
    *fired = true;
    s->close();
  });
}

StreamDeadline::~StreamDeadline() {
  *armed_ = false;
  t_.cancel();
}

std::string Stream::peer() const {
  if (!peer_cache.empty()) return peer_cache;
  boost::system::error_code ec;
  auto ep = const_cast<Stream*>(this)->socket().remote_endpoint(ec);
  if (ec) return "?";
  peer_cache = endpoint_text(ep);
  return peer_cache;
}

namespace {

class TcpStream final : public Stream {
 public:
  explicit TcpStream(tcp::socket s) : s_(std::move(s)) {
    boost::system::error_code ec;
    s_.set_option(tcp::no_delay(true), ec);  // one short line per reply: do not wait for more
    peer();
  }
  awaitable<std::size_t> read_some(asio::mutable_buffer b) override {
    co_return co_await s_.async_read_some(b, asio::use_awaitable);
  }
  awaitable<void> write(asio::const_buffer b) override { co_await asio::async_write(s_, b, asio::use_awaitable); }
  awaitable<void> handshake() override { co_return; }
  tcp::socket& socket() override { return s_; }

 private:
  tcp::socket s_;
};

class TlsStream final : public Stream {
 public:
  TlsStream(tcp::socket s, ssl::context& ctx, bool server, const std::string& sni)
      : s_(std::move(s), ctx), server_(server) {
    boost::system::error_code ec;
    s_.lowest_layer().set_option(tcp::no_delay(true), ec);
    if (!server && !sni.empty()) SSL_set_tlsext_host_name(s_.native_handle(), sni.c_str());
    peer();
  }
  awaitable<std::size_t> read_some(asio::mutable_buffer b) override {
    co_return co_await s_.async_read_some(b, asio::use_awaitable);
  }
  awaitable<void> write(asio::const_buffer b) override { co_await asio::async_write(s_, b, asio::use_awaitable); }
  awaitable<void> handshake() override {
    co_await s_.async_handshake(server_ ? ssl::stream_base::server : ssl::stream_base::client, asio::use_awaitable);
  }
  tcp::socket& socket() override { return s_.next_layer(); }
  SSL* tls_native() override { return s_.native_handle(); }

 private:
  ssl::stream<tcp::socket> s_;
  bool server_;
};

}  // namespace

std::unique_ptr<Stream> make_tcp_stream(tcp::socket s) { return std::make_unique<TcpStream>(std::move(s)); }

std::unique_ptr<Stream> make_tls_stream(tcp::socket s, ssl::context& ctx, bool server, const std::string& sni) {
  return std::make_unique<TlsStream>(std::move(s), ctx, server, sni);
}

bool split_host_port(const std::string& s, std::string* host, std::string* port, std::string* why) {
  std::size_t colon;
  if (!s.empty() && s[0] == '[') {
    const std::size_t close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      *why = "'" + s + "' is not [address]:port";
      return false;
    }
    *host = s.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = s.rfind(':');
    if (colon == std::string::npos) {
      *why = "'" + s + "' has no :port";
      return false;
    }
    *host = s.substr(0, colon);
  }
  *port = s.substr(colon + 1);
  if (port->empty() || port->size() > 5 || port->find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(*port) > 65535) {
    *why = "'" + s + "' has a bad port";
    return false;
  }
  if (host->empty()) *host = "0.0.0.0";
  return true;
}

std::shared_ptr<tcp::acceptor> listen_on(asio::io_context& io, const std::string& where, std::string* bound) {
  std::string host, port, why;
  if (!split_host_port(where, &host, &port, &why)) throw std::runtime_error(why);
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("'" + host + "' is not an IP address");
  const tcp::endpoint ep(addr, static_cast<unsigned short>(std::stoul(port)));
  auto acc = std::make_shared<tcp::acceptor>(io);
  acc->open(ep.protocol(), ec);
  if (!ec) acc->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && addr.is_v6() && addr.to_v6().is_unspecified()) {
    // [::] means every address, IPv4 ones too, whatever net.ipv6.bindv6only says.
    boost::system::error_code ignored;
    acc->set_option(asio::ip::v6_only(false), ignored);
  }
  if (!ec) acc->bind(ep, ec);
  if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
  *bound = endpoint_text(acc->local_endpoint());
  return acc;
}

}  // namespace hf::netio
