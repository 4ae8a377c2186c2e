// What a message connection needs whatever its framing: a bounded write queue drained by one
// writer, a watchdog that closes peers that go silent or stall in the middle of a message,
// a read buffer the framing takes messages from, and one reason for the close. LineConn
// (newline-framed: Stratum) and LengthConn (4-byte length prefix: peer wire protocols) add
// only the framing. Single-threaded: every call must come from the executor the connection
// runs on.
#pragma once
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "net/io/stream.hpp"

namespace hf::netio {

struct ConnLimits {
  std::chrono::milliseconds idle_timeout{15 * 60 * 1000};  // no complete message this long
  std::chrono::milliseconds message_timeout{30 * 1000};    // a started message must end in time
  std::size_t max_queued = 1 << 20;                        // unsent bytes: beyond, the peer is too slow
};

class ConnBase {
 public:
  ConnBase(const ConnBase&) = delete;
  ConnBase& operator=(const ConnBase&) = delete;

  void send(std::string data);                     // queued; the writer sends in order
  // The same, for a message many connections send (a job line to every miner): each queue
  // holds the one copy, so a broadcast costs memory once, not once a connection.
  void send(std::shared_ptr<const std::string> data);
  void close(const std::string& why);              // now, dropping anything unsent
  void close_after_flush(const std::string& why);  // once everything queued is sent
  bool closed() const { return closed_; }
  const std::string& why() const { return why_; }
  Stream& stream() { return *stream_; }
  const std::string& peer() const { return peer_; }
  std::size_t queued_bytes() const { return queued_; }
  // Called after each write to the socket completes (queued_bytes() is then lower): for a
  // sender that holds data back until the queue has room.
  void on_sent(std::function<void()> f) { on_sent_ = std::move(f); }

 protected:
  using clock = std::chrono::steady_clock;

  // `unit` names one message in close reasons ("line", "frame").
  ConnBase(std::unique_ptr<Stream> s, const ConnLimits& lim, const char* unit);
  ~ConnBase() = default;

  // Starts the writer and the watchdog. They hold `owner` (the framing class's own
  // shared_ptr) so the connection outlives them without ConnBase owning itself.
  void start_io(std::shared_ptr<void> owner);
  // Appends what the stream has to buf_. False once the connection is over: the peer left,
  // the read failed, or the connection was closed (why() then says why).
  awaitable<bool> fill();
  // The framing took one whole message off the front of buf_: the idle clock restarts, and
  // the stall clock runs for whatever is left in the buffer.
  void message_taken();
  // A reason without closing, for a caller that answers the peer before it closes.
  void set_why(std::string why) { why_ = std::move(why); }

  std::string buf_;        // received; the framing takes messages from buf_[head_] on
  std::size_t head_ = 0;   // bytes at the front already taken (dropped by the next fill)

 private:
  // A queued message: the connection's own bytes (no allocation beyond the string's), or a
  // copy it shares with other connections.
  struct Queued {
    std::string own;
    std::shared_ptr<const std::string> shared;
    const std::string& bytes() const { return shared ? *shared : own; }
  };
  void enqueue(Queued q);
  awaitable<void> writer(std::shared_ptr<void> owner);
  awaitable<void> watchdog(std::shared_ptr<void> owner);

  std::unique_ptr<Stream> stream_;
  ConnLimits lim_;
  const char* unit_;
  std::string peer_;
  std::deque<Queued> out_;
  std::unique_ptr<char[]> rbuf_;  // what one read takes from the socket (64 KiB, made on the first)
  std::function<void()> on_sent_;
  std::size_t queued_ = 0;
  asio::steady_timer wake_, tick_;
  clock::time_point last_message_, message_started_;
  bool partial_ = false, closed_ = false, flush_then_close_ = false;
  std::string why_;
};

}  // namespace hf::netio
