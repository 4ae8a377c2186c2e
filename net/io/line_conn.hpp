// A line-oriented connection: reads newline-terminated lines with a length cap, queues
// writes with a cap on bytes waiting, and closes peers that stall. Used by Stratum on both
// sides (coordinator sessions, a worker's pool connection). The queue, the timeouts and the
// close reasons are ConnBase's; this class adds the lines. Single-threaded: every call must
// come from the executor the connection runs on.
#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "net/io/conn_base.hpp"

namespace hf::netio {

struct LineLimits {
  std::size_t max_line = 16 * 1024;                        // bytes, newline excluded
  std::chrono::milliseconds idle_timeout{15 * 60 * 1000};  // no complete line this long
  std::chrono::milliseconds line_timeout{30 * 1000};       // a started line must end in time
  std::size_t max_queued = 1 << 20;                        // unsent bytes: beyond, the peer is too slow
};

class LineConn : public ConnBase, public std::enable_shared_from_this<LineConn> {
 public:
  LineConn(std::unique_ptr<Stream> s, const LineLimits& lim);
  // Starts the writer and the watchdog. Call once, after any TLS handshake.
  void start();
  // The next line without its newline (and without a trailing '\r'); nullopt once the
  // connection is over, with why() saying why. A line over the cap ends it too
  // (line_too_long() is then true) so the caller can answer before the close.
  awaitable<std::optional<std::string>> read_line();
  bool line_too_long() const { return too_long_; }
  // send, close, close_after_flush, closed, why, stream, peer, queued_bytes: ConnBase.

 private:
  std::size_t max_line_;
  std::size_t scanned_ = 0;  // bytes of buf_ known to hold no newline
  bool too_long_ = false;
};

}  // namespace hf::netio
