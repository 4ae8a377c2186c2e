// A client's keep-alive HTTP/1.1 session with one server, over TCP or TLS (checked as
// netio::TlsVerify says): blocking calls with a deadline each, one connection reused while
// the server keeps it open and reopened once when it has closed it. Sessions may share an
// io_context, and then call_all() runs one request on each of several sessions at once (a
// client asking every node). For command-line clients (`hashforge auction`) and load
// generators; not thread-safe (one per thread).
#pragma once
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "net/io/connect.hpp"

namespace hf::netio {

struct HttpResult {
  int status = 0;
  std::string body;
  std::string error;  // call_all: why there is no reply (status 0)
};

class HttpSession {
 public:
  // `base` is "http://host:port" or "https://host:port" (a path after it is ignored).
  // `io`: a shared io_context (nullptr: the session's own). Throws std::runtime_error with
  // one line on a bad URL or an unreadable CA file.
  HttpSession(const std::string& base, TlsVerify verify, std::chrono::milliseconds timeout = std::chrono::seconds(10),
              boost::asio::io_context* io = nullptr);
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  // Throws std::runtime_error with one line ("connect: Connection refused", "timed out",
  // "TLS: certificate verify failed ...", "reply larger than ...").
  HttpResult get(const std::string& path) { return call("GET", path, {}); }
  HttpResult post(const std::string& path, const std::string& json_body) { return call("POST", path, json_body); }
  HttpResult call(const std::string& method, const std::string& path, const std::string& body);

  // GET `path` on every session at once (they must share one io_context); each result
  // has a status, or status 0 and the error. Returns within the longest timeout.
  static std::vector<HttpResult> call_all(const std::vector<HttpSession*>& sessions, const std::string& path);

  const std::string& base() const { return base_; }
  std::size_t max_reply = 64 * 1024 * 1024;

 private:
  std::string request_text(const std::string& method, const std::string& path, const std::string& body) const;
  awaitable<HttpResult> exchange(std::string request);  // throws
  std::string describe(std::exception_ptr e) const;     // one line
  std::string base_, host_header_;
  PoolUrl url_;
  TlsVerify verify_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<boost::asio::io_context> own_io_;
  boost::asio::io_context* io_;
  std::unique_ptr<ssl::context> tls_;
  std::unique_ptr<Stream> stream_;
  std::string leftover_;  // bytes read past the last reply
};

}  // namespace hf::netio
