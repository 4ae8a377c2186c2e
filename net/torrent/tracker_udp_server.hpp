// The UDP tracker's sockets (BEP 15): each listening address gets `udp_threads` sockets
// bound with SO_REUSEPORT (the kernel spreads clients over them by address), each served
// by its own thread and io_context. Every datagram is answered from that thread with one
// non-blocking send; a reply the kernel cannot queue is dropped, as UDP may.
#pragma once
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "net/torrent/tracker_state.hpp"

namespace hf::torrent::tracker {

class UdpServer {
 public:
  explicit UdpServer(TrackerState& st);
  ~UdpServer();  // stops and joins
  UdpServer(const UdpServer&) = delete;
  UdpServer& operator=(const UdpServer&) = delete;

  // Binds "ADDRESS:PORT" ("[V6]:PORT"; an empty address is every IPv4 one; port 0 lets the
  // system pick, shared by every socket of that address) and returns "udp://ADDRESS:PORT"
  // with the real port. Throws std::runtime_error with one line.
  std::string listen(const std::string& where);
  void start();
  void stop();  // safe more than once

 private:
  struct Socket;
  TrackerState& st_;
  std::vector<std::unique_ptr<Socket>> socks_;
};

// The reply to one datagram from `from` at steady time `now` (seconds); empty when the
// datagram is dropped (too short to answer, or the sender is over its rate). Exposed for
// the unit tests: this is everything the socket does besides moving bytes.
std::string handle_udp_packet(TrackerState& st, std::span<const std::uint8_t> packet, const PeerAddr& from, double now);

}  // namespace hf::torrent::tracker
