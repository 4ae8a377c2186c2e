#include "net/io/http_session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>

namespace hf::netio {

namespace bhttp = boost::beast::http;

HttpSession::HttpSession(const std::string& base, TlsVerify verify, std::chrono::milliseconds timeout)
    : verify_(std::move(verify)), timeout_(timeout) {
  std::string rest;
  if (base.rfind("https://", 0) == 0) {
    url_.tls = true;
    rest = base.substr(8);
  } else if (base.rfind("http://", 0) == 0) {
    rest = base.substr(7);
  } else {
    throw std::runtime_error("a node URL starts with http:// or https:// (" + base + ")");
  }
  rest = rest.substr(0, rest.find('/'));
  std::string why;
  std::string host, port;
  if (!split_host_port(rest, &host, &port, &why)) throw std::runtime_error(base + ": " + why);
  url_.host = host;
  url_.port = port;
  url_.text = base;
  host_header_ = rest;
  base_ = std::string(url_.tls ? "https://" : "http://") + rest;
  tls_ = make_client_tls(verify_);
}

HttpSession::~HttpSession() {
  if (stream_) stream_->close();
}

HttpResult HttpSession::call(const std::string& method, const std::string& path, const std::string& body) {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + host_header_ + "\r\nUser-Agent: hashforge\r\n";
  if (method != "GET") req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n";
  req += body;
  // A kept-alive connection the server has since closed fails on first use: reconnect once.
  const bool reused = stream_ != nullptr;
  try {
    return exchange_once(req);
  } catch (const std::runtime_error&) {
    if (!reused || method != "GET") throw;
  }
  return exchange_once(req);
}

HttpResult HttpSession::exchange_once(const std::string& request) {
  HttpResult out;
  std::exception_ptr failure;
  bool keep = false;
  auto run = [&]() -> awaitable<void> {
    if (!stream_) {
      stream_ = co_await connect_stream(url_, *tls_, verify_, timeout_);
      leftover_.clear();
    }
    co_await stream_->write(asio::buffer(request));
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(max_reply);
    parser.header_limit(64 * 1024);
    parser.eager(true);
    boost::beast::error_code ec;
    std::string buf = std::move(leftover_);
    leftover_.clear();
    std::size_t used = 0;
    char chunk[16384];
    for (;;) {
      while (used < buf.size() && !parser.is_done()) {
        const std::size_t n = parser.put(asio::buffer(buf.data() + used, buf.size() - used), ec);
        used += n;
        if (ec == bhttp::error::need_more) {
          ec = {};
          break;
        }
        if (ec) throw boost::system::system_error(ec);
        if (n == 0) break;
      }
      if (parser.is_done()) break;
      std::size_t n = 0;
      try {
        n = co_await stream_->read_some(asio::buffer(chunk));
      } catch (const boost::system::system_error& e) {
        if (e.code() == asio::error::eof) {
          parser.put_eof(ec);
          if (ec) throw std::runtime_error("the server closed the connection mid-reply");
          break;
        }
        throw;
      }
      buf.append(chunk, n);
    }
    leftover_ = buf.substr(used);
    auto& res = parser.get();
    out.status = static_cast<int>(res.result_int());
    out.body = std::move(res.body());
    keep = res.keep_alive();
  };
  io_.restart();
  asio::co_spawn(io_, run(), [&](std::exception_ptr e) { failure = e; });
  io_.run_for(timeout_);
  if (!io_.stopped()) {
    if (stream_) stream_->close();
    io_.run_for(std::chrono::seconds(1));
    stream_.reset();
    throw std::runtime_error(base_ + ": timed out");
  }
  if (failure) {
    stream_.reset();
    try {
      std::rethrow_exception(failure);
    } catch (const boost::system::system_error& e) {
      if (e.code() == bhttp::error::body_limit)
        throw std::runtime_error(base_ + ": reply larger than " + std::to_string(max_reply) + " bytes");
      throw std::runtime_error(base_ + ": " + e.code().message());
    } catch (const std::exception& e) {
      throw std::runtime_error(base_ + ": " + e.what());
    }
  }
  if (!keep) stream_.reset();
  return out;
}

}  // namespace hf::netio
