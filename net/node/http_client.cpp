#include "net/node/http_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>

namespace hf::node {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

asio::awaitable<void> exchange(tcp::resolver& resolver, beast::tcp_stream& stream, const PeerUrl& url,
                               const HttpCall& call, const Allowlist& allow, HttpReply* out) {
  stream.expires_after(call.timeout);
  auto results = co_await resolver.async_resolve(url.host, std::to_string(url.port), asio::use_awaitable);
  std::vector<tcp::endpoint> allowed;
  std::string refused;
  for (const auto& r : results) {
    auto ip = parse_ip(r.endpoint().address().to_string());
    if (ip && allow.allows(*ip))
      allowed.push_back(r.endpoint());
    else
      refused = r.endpoint().address().to_string();
  }
  if (allowed.empty()) throw std::runtime_error("address " + (refused.empty() ? url.host : refused) + " not allowed");
  co_await stream.async_connect(allowed, asio::use_awaitable);

  bhttp::request<bhttp::string_body> req{call.method == "POST" ? bhttp::verb::post : bhttp::verb::get, call.path, 11};
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  req.set(bhttp::field::host, host + ":" + std::to_string(url.port));
  req.set(bhttp::field::user_agent, "hashforge-node");
  req.set(bhttp::field::connection, "close");
  if (call.method == "POST") {
    req.set(bhttp::field::content_type, "application/json");
    req.body() = call.body;
    req.prepare_payload();
  }
  co_await bhttp::async_write(stream, req, asio::use_awaitable);

  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(call.max_reply);
  parser.header_limit(64 * 1024);
  co_await bhttp::async_read(stream, buf, parser, asio::use_awaitable);
  auto& res = parser.get();
  out->status = static_cast<int>(res.result_int());
  out->content_type = std::string(res[bhttp::field::content_type]);
  out->body = std::move(res.body());
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

}  // namespace

HttpReply http_call(const PeerUrl& url, const HttpCall& call, const Allowlist& allow) {
  asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  HttpReply out;
  std::exception_ptr failure;
  asio::co_spawn(io, exchange(resolver, stream, url, call, allow, &out), [&](std::exception_ptr e) { failure = e; });
  // The resolver has no deadline of its own: the whole exchange gets one more chance to end.
  io.run_for(call.timeout + std::chrono::seconds(1));
  if (!io.stopped()) {
    resolver.cancel();
    beast::error_code ignored;
    stream.socket().close(ignored);
    io.run_for(std::chrono::seconds(1));
    if (!failure) throw std::runtime_error("timed out");
  }
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const boost::system::system_error& e) {
      if (e.code() == beast::error::timeout) throw std::runtime_error("timed out");
      if (e.code() == bhttp::error::body_limit)
        throw std::runtime_error("reply larger than " + std::to_string(call.max_reply) + " bytes");
      throw std::runtime_error(e.code().message());
    }
  }
  return out;
}

std::string check_host_allowed(const PeerUrl& url, const Allowlist& allow) {
  if (auto ip = parse_ip(url.host)) return allow.allows(*ip) ? std::string() : "address " + url.host + " not allowed";
  asio::io_context io;
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto results = resolver.resolve(url.host, std::to_string(url.port), ec);
  if (ec) return "cannot resolve " + url.host + ": " + ec.message();
  for (const auto& r : results) {
    auto ip = parse_ip(r.endpoint().address().to_string());
    if (!ip || !allow.allows(*ip))
      return url.host + " resolves to " + r.endpoint().address().to_string() + ", not allowed";
  }
  return {};
}

}  // namespace hf::node
