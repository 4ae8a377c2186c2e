// One web seed's HTTP(S) client (BEP 19): byte ranges of file URLs over one keep-alive
// connection, reopened when the server closes it or the host changes. A server that ignores
// Range (python3 -m http.server answers 200 with the whole file) still works: the bytes
// before the range are read and dropped, and that connection is not reused.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include "net/io/stream.hpp"

namespace hf::torrent {

class WebFetcher {
 public:
  explicit WebFetcher(boost::asio::io_context& io, std::chrono::seconds timeout = std::chrono::seconds(30));
  // Exactly `length` bytes of `url` from `from`; throws std::runtime_error with one line
  // (a refused connection, an HTTP error status, a short or mismatched reply, a timeout).
  boost::asio::awaitable<std::string> get_range(std::string url, std::uint64_t from, std::uint64_t length);
  // Drops the connection; not while get_range is in flight (use cancel()).
  void close();
  // From outside a get_range in flight: its socket is shut, it ends with an error, and no
  // later call reconnects.
  void cancel();

 private:
  boost::asio::io_context& io_;
  std::chrono::seconds timeout_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  std::unique_ptr<netio::Stream> stream_;
  std::string conn_;  // scheme://host:port of stream_
  std::string spare_;  // bytes read past the last reply (none with HTTP/1.1 and no pipelining)
  bool cancelled_ = false;
};

}  // namespace hf::torrent
