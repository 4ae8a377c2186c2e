#include "net/io/http_session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>

namespace hf::netio {

namespace bhttp = boost::beast::http;

HttpSession::HttpSession(const std::string& base, TlsVerify verify, std::chrono::milliseconds timeout,
                         boost::asio::io_context* io)
    : verify_(std::move(verify)), timeout_(timeout) {
  if (!io) {
    own_io_ = std::make_unique<boost::asio::io_context>();
    io = own_io_.get();
  }
  io_ = io;
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

std::string HttpSession::request_text(const std::string& method, const std::string& path,
                                      const std::string& body) const {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + host_header_ + "\r\nUser-Agent: hashforge\r\n";
  if (method != "GET") req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n";
  req += body;
  return req;
}

awaitable<HttpResult> HttpSession::exchange(std::string request) {
  // A kept-alive connection the server has since closed fails on first use: one more try
  // on a fresh one (a GET only: a POST may have been taken).
  const bool reused = stream_ != nullptr;
  const bool retry = reused && request.rfind("GET ", 0) == 0;
  for (int attempt = 0;; ++attempt) {
    try {
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
          if (e.code() != asio::error::eof) throw;
          parser.put_eof(ec);
          if (ec) throw std::runtime_error("the server closed the connection mid-reply");
          break;
        }
        buf.append(chunk, n);
      }
      leftover_ = buf.substr(used);
      auto& res = parser.get();
      HttpResult out;
      out.status = static_cast<int>(res.result_int());
      out.body = std::move(res.body());
      if (!res.keep_alive()) stream_.reset();
      co_return out;
    } catch (...) {
      stream_.reset();
      if (!retry || attempt > 0) throw;
    }
  }
}

std::string HttpSession::describe(std::exception_ptr e) const {
  try {
    std::rethrow_exception(e);
  } catch (const boost::system::system_error& x) {
    if (x.code() == bhttp::error::body_limit) return base_ + ": reply larger than " + std::to_string(max_reply) + " bytes";
    return base_ + ": " + x.code().message();
  } catch (const std::exception& x) {
    return base_ + ": " + x.what();
  }
}

HttpResult HttpSession::call(const std::string& method, const std::string& path, const std::string& body) {
  HttpResult out;
  std::exception_ptr failure;
  bool done = false;
  io_->restart();
  asio::co_spawn(*io_, exchange(request_text(method, path, body)), [&](std::exception_ptr e, HttpResult r) {
    failure = e;
    out = std::move(r);
    done = true;
  });
  io_->run_for(timeout_);
  if (!done) {
    if (stream_) stream_->close();
    io_->run_for(std::chrono::seconds(1));
    stream_.reset();
    throw std::runtime_error(base_ + ": timed out");
  }
  if (failure) throw std::runtime_error(describe(failure));
  return out;
}

std::vector<HttpResult> HttpSession::call_all(const std::vector<HttpSession*>& sessions, const std::string& path) {
  std::vector<HttpResult> out(sessions.size());
  if (sessions.empty()) return out;
  boost::asio::io_context& io = *sessions[0]->io_;
  std::vector<bool> done(sessions.size(), false);
  std::size_t left = sessions.size();
  auto timeout = std::chrono::milliseconds(0);
  io.restart();
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    HttpSession* s = sessions[i];
    if (s->io_ != &io) throw std::logic_error("call_all: the sessions must share one io_context");
    timeout = std::max(timeout, s->timeout_);
    asio::co_spawn(io, s->exchange(s->request_text("GET", path, {})),
                   [&, i, s](std::exception_ptr e, HttpResult r) {
                     if (e) {
                       r.status = 0;
                       r.error = s->describe(e);
                     }
                     out[i] = std::move(r);
                     done[i] = true;
                     if (--left == 0) io.stop();
                   });
  }
  io.run_for(timeout);
  if (left > 0) {
    for (std::size_t i = 0; i < sessions.size(); ++i)
      if (!done[i] && sessions[i]->stream_) sessions[i]->stream_->close();
    io.restart();
    io.run_for(std::chrono::seconds(1));
    for (std::size_t i = 0; i < sessions.size(); ++i)
      if (!done[i]) {
        sessions[i]->stream_.reset();
        out[i].status = 0;
        out[i].error = sessions[i]->base_ + ": timed out";
      }
  }
  return out;
}

}  // namespace hf::netio
