// A length-prefixed connection: each frame is a 4-byte big-endian payload length and the
// payload, as in the BitTorrent peer wire protocol; a frame of length 0 is a keep-alive. The
// length is checked against a cap before anything is allocated for the payload, so a peer
// cannot make us reserve 4 GiB with four bytes. The queue, the timeouts and the close
// reasons are ConnBase's. Single-threaded: every call must come from the executor the
// connection runs on.
#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/io/conn_base.hpp"

namespace hf::netio {

struct FrameLimits {
  std::size_t max_frame = 1 << 20;                         // payload bytes, prefix excluded
  std::chrono::milliseconds idle_timeout{15 * 60 * 1000};  // no complete frame this long
  std::chrono::milliseconds frame_timeout{30 * 1000};      // a started frame must end in time
  std::size_t max_queued = 4 << 20;                        // unsent bytes: beyond, the peer is too slow
};

class LengthConn : public ConnBase, public std::enable_shared_from_this<LengthConn> {
 public:
  LengthConn(std::unique_ptr<Stream> s, const FrameLimits& lim);
  // Starts the writer and the watchdog. Call once, after any handshake.
  void start();
  // The next frame's payload (empty for a keep-alive, which also counts as activity for the
  // idle timeout); nullopt once the connection is over, with why() saying why. A length over
  // max_frame closes the connection at once (frame_too_big() is then true).
  awaitable<std::optional<std::string>> read_frame();
  // Queues one frame. A payload over max_frame is refused by closing the connection: the
  // peer would refuse it anyway, and the cap is the same both ways.
  void send_frame(std::string_view payload);
  bool frame_too_big() const { return too_big_; }
  // send (raw bytes, e.g. a handshake before framing starts), close, close_after_flush,
  // closed, why, stream, peer, queued_bytes: ConnBase.

 private:
  std::size_t max_frame_;
  bool too_big_ = false;
};

}  // namespace hf::netio
