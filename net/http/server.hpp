// The HTTP/1.1 server every web front shares (Boost.Asio with C++20 coroutines; Beast's
// parser): one coroutine per connection, a deadline before every read and write, request
// size and header limits, keep-alive and pipelining, a cap on bytes queued per connection,
// a bounded number of connections, optional TLS on the same code path, graceful stop.
//
// Requests go to a Router of plain functions (net/http/router.hpp). Handlers run on the
// server's threads: with Settings::io_threads == 0 that is the io_context given here, so a
// handler may read the owner's state without locks but must not block it; work that takes
// long belongs on another executor, with the handler answering from what it published.
//
// Bad input always gets an answer before the close: 400 (malformed, with a one-line reason),
// 408 (request not finished within request_timeout), 413 (body), 414 (request line), 431
// (head), 501 (transfer coding), 505 (version); 503 to a connection over max_connections.
#pragma once
#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "net/http/router.hpp"
#include "net/http/settings.hpp"

namespace hf::http {

struct ServerCore;

class Server {
 public:
  // Throws std::runtime_error with one line when the TLS certificate or key cannot be loaded.
  Server(boost::asio::io_context& io, Router router, Settings settings = {});
  // Cuts every connection and, with io_threads > 0, joins the server's threads.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Listens on "address:port" ("[v6]:port"; port 0 lets the OS pick) and returns the URL
  // ("http://127.0.0.1:8080", or https:// with TLS). May be called more than once. Throws
  // std::runtime_error with one line. Call from the thread that owns `io`, before it runs or
  // on it.
  std::string listen(const std::string& where);

  // Graceful stop: no new connections, idle ones closed now, requests in progress answered
  // (with Connection: close) and anything left cut after settings.shutdown_grace. Returns
  // at once; safe from any thread, and more than once.
  void stop();

  // Connections open now, over every thread.
  std::size_t connections() const;

 private:
  std::shared_ptr<ServerCore> core_;
};

}  // namespace hf::http
