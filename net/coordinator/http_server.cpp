#include "net/coordinator/http_server.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "net/coordinator/dashboard_page.hpp"
#include "net/io/stream.hpp"

namespace hf::coord {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

HttpServer::HttpServer(asio::io_context& io, StatsFn stats) : io_(io), stats_(std::move(stats)) {}

std::string HttpServer::listen(const std::string& where) {
  std::string bound;
  acc_ = netio::listen_on(io_, where, &bound);
  asio::co_spawn(io_, accept_loop(), asio::detached);
  return "http://" + bound;
}

void HttpServer::stop() {
  boost::system::error_code ec;
  if (acc_) acc_->close(ec);
}

namespace {

asio::awaitable<void> serve(beast::tcp_stream stream, HttpServer::StatsFn stats) {
  beast::flat_buffer buf(8192);
  for (;;) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(8192);
    parser.body_limit(0);
    stream.expires_after(std::chrono::seconds(30));
    boost::system::error_code ec;
    co_await http::async_read(stream, buf, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    const auto& req = parser.get();
    http::response<http::string_body> res;
    res.version(req.version());
    res.set(http::field::server, "hashforge");
    res.set(http::field::cache_control, "no-store");
    const std::string target(req.target());
    const std::string path = target.substr(0, target.find('?'));
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res.result(http::status::method_not_allowed);
      res.set(http::field::allow, "GET, HEAD");
      res.set(http::field::content_type, "text/plain");
      res.body() = "method not allowed\n";
    } else if (path == "/api/stats") {
      res.result(http::status::ok);
      res.set(http::field::content_type, "application/json");
      res.body() = boost::json::serialize(stats()) + "\n";
    } else if (path == "/" || path == "/index.html") {
      res.result(http::status::ok);
      res.set(http::field::content_type, "text/html; charset=utf-8");
      res.body() = dashboard_html();
    } else {
      res.result(http::status::not_found);
      res.set(http::field::content_type, "text/plain");
      res.body() = "not found\n";
    }
    const bool head = req.method() == http::verb::head;
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    if (head) res.body().clear();
    const bool keep = res.keep_alive();
    http::response_serializer<http::string_body> sr(res);
    if (head) sr.split(true);
    if (head)
      co_await http::async_write_header(stream, sr, asio::redirect_error(asio::use_awaitable, ec));
    else
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !keep) break;
  }
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

}  // namespace

asio::awaitable<void> HttpServer::accept_loop() {
  auto acc = acc_;
  for (;;) {
    boost::system::error_code ec;
    tcp::socket s = co_await acc->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acc->is_open()) break;
      continue;
    }
    asio::co_spawn(io_, serve(beast::tcp_stream(std::move(s)), stats_), asio::detached);
  }
}

}  // namespace hf::coord
