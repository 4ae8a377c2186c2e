// The DHT on real sockets: one UDP socket and one DhtNode per address family (IPv4, and
// IPv6 where the host has it, BEP 32), the same port for both when it can, a timer driving
// their ticks, bootstrap hostnames resolved, and the routing table saved to a file (written
// whole or not at all) every 5 minutes and at stop, so a restart finds the network again
// without bootstrap nodes. Many torrents share one service.
//
// Single-threaded like the rest of net/io: call everything on the io_context's thread.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "net/torrent/dht_node.hpp"

namespace hf::torrent::dht {

struct DhtOptions {
  // "ADDR:PORT", "[ADDR]:PORT" or "PORT". An IPv4 address: IPv4 only; an IPv6 one: IPv6 only;
  // a bare port (or empty, port 0): both families on that port.
  std::string listen;
  std::vector<std::string> bootstrap;  // HOST:PORT of nodes to join through
  std::string state_file;              // the saved table (and our node id); empty: none
  DhtConfig config;                    // limits; id and family are set by the service
  std::function<void(const std::string&)> log;
};

struct DhtServiceStatus {
  std::string id;  // hex
  std::uint16_t port4 = 0, port6 = 0;  // 0: that family is off
  DhtStats v4, v6;
};

class DhtService {
 public:
  DhtService(boost::asio::io_context& io, DhtOptions opt);
  ~DhtService();
  DhtService(const DhtService&) = delete;
  DhtService& operator=(const DhtService&) = delete;

  // Binds, loads the saved table, pings its nodes and bootstraps. Throws std::runtime_error
  // with one line (a bad listen address, a port in use, an unreadable state file).
  void start();
  // Saves the table and closes the sockets.
  void stop();

  // get_peers on every family; peers as "host:port". announce_port > 0: announce_peer
  // after. `on_done` once every family's lookup has ended, with how many nodes answered.
  void get_peers(const NodeId& info_hash, std::uint16_t announce_port,
                 std::function<void(const std::vector<std::string>&)> on_peers,
                 std::function<void(std::size_t answered)> on_done);
  // A node a peer told us of (the peer wire's PORT message): pinged, kept if it answers.
  void add_node(const std::string& host, std::uint16_t port);
  // The port peers should be told in PORT messages (IPv4's, else IPv6's).
  std::uint16_t port() const;
  DhtServiceStatus status() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace hf::torrent::dht
