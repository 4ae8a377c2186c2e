// The coordinator's web front (Boost.Beast): GET /api/stats is the statistics as JSON, GET /
// the live dashboard page compiled into the binary. HTTP/1.1, GET and HEAD only, small
// requests only: everything else gets a 4xx and the connection closes.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include <boost/asio.hpp>
#include <boost/json.hpp>

namespace hf::coord {

class HttpServer {
 public:
  using StatsFn = std::function<boost::json::object()>;
  HttpServer(boost::asio::io_context& io, StatsFn stats);
  // Binds host:port; returns the URL ("http://127.0.0.1:8080"). Throws with one line.
  std::string listen(const std::string& where);
  void stop();

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::io_context& io_;
  StatsFn stats_;
  std::shared_ptr<boost::asio::ip::tcp::acceptor> acc_;
};

}  // namespace hf::coord
