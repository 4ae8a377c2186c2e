// A line-oriented connection: reads newline-terminated lines with a length cap, queues
// writes with a cap on bytes waiting, and closes peers that stall. Used by Stratum on both
// sides (coordinator sessions, a worker's pool connection). Single-threaded: every call
// must come from the executor the connection runs on.
#pragma once
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "net/io/stream.hpp"

namespace hf::netio {

struct LineLimits {
  std::size_t max_line = 16 * 1024;                        // bytes, newline excluded
  std::chrono::milliseconds idle_timeout{15 * 60 * 1000};  // no complete line this long
  std::chrono::milliseconds line_timeout{30 * 1000};       // a started line must end in time
  std::size_t max_queued = 1 << 20;                        // unsent bytes: beyond, the peer is too slow
};

class LineConn : public std::enable_shared_from_this<LineConn> {
 public:
  LineConn(std::unique_ptr<Stream> s, const LineLimits& lim);
  // Starts the writer and the watchdog. Call once, after any TLS handshake.
  void start();
  // The next line without its newline (and without a trailing '\r'); nullopt once the
  // connection is over, with why() saying why. A line over the cap ends it too
  // (line_too_long() is then true) so the caller can answer before the close.
  awaitable<std::optional<std::string>> read_line();
  void send(std::string data);                     // queued; the writer sends in order
  void close(const std::string& why);              // now, dropping anything unsent
  void close_after_flush(const std::string& why);  // once everything queued is sent
  bool closed() const { return closed_; }
  bool line_too_long() const { return too_long_; }
  const std::string& why() const { return why_; }
  Stream& stream() { return *stream_; }
  const std::string& peer() const { return peer_; }
  std::size_t queued_bytes() const { return queued_; }

 private:
  awaitable<void> writer();
  awaitable<void> watchdog();
  using clock = std::chrono::steady_clock;

  std::unique_ptr<Stream> stream_;
  LineLimits lim_;
  std::string peer_;
  std::string buf_;
  std::size_t scanned_ = 0;  // bytes of buf_ known to hold no newline
  std::deque<std::string> out_;
  std::size_t queued_ = 0;
  asio::steady_timer wake_, tick_;
  clock::time_point last_line_, line_started_;
  bool partial_ = false, closed_ = false, flush_then_close_ = false, too_long_ = false;
  std::string why_;
};

}  // namespace hf::netio
