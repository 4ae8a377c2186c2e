// Peer links between hashforge nodes: length-prefixed frames (net/io/length_conn) over
// mutual TLS 1.3, each side pinning the other's certificate key to the chain spec's "nodes"
// list (any CA, any name: the key is the identity). Messages are net/node/wire.hpp's.
//
// A link sends hello, then asks a peer with more blocks for headers from a locator and for
// the blocks it lacks by hash, validating each block on its own; every new tip is pushed to
// every link. A peer that sends an invalid block is disconnected and refused for the ban
// time; a block with an unknown parent starts a header sync, never a ban.
#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "net/io/length_conn.hpp"
#include "net/node/node.hpp"

namespace hf::node {

struct WireConfig {
  std::string listen;                // "address:port" ("" for none)
  std::vector<std::string> connect;  // "host:port" of peers to dial (and redial)
  std::string cert_file, key_file;   // this node's certificate (its key is in the spec) and key, PEM
  std::function<void(const std::string&)> log;
};

// The SHA-256 (hex) of a PEM certificate's public key, as chain specs list it. Throws
// std::runtime_error with one line.
std::string key_id_of_cert_file(const std::string& pem_file);

class WirePeers {
 public:
  // Loads the certificate and key and finds this node's name in the spec. Throws
  // std::runtime_error with one line.
  WirePeers(boost::asio::io_context& io, Node& node, WireConfig cfg);
  ~WirePeers();

  const std::string& name() const { return name_; }
  // Starts the listener (returns the bound address, or "") and the dialers.
  std::string start();
  void stop();
  // Any thread: pushes a block (its chain-order text) to every link.
  void broadcast_block(const std::string& block_text);
  // Any thread: queues ledger operations (their JSON texts) for every link; they go out
  // together, one frame per link, within a couple of milliseconds (or at kMaxOps).
  void broadcast_ops(const std::vector<std::string>& op_texts);
  std::size_t links() const { return links_count_; }

 private:
  struct Link;
  netio::awaitable<void> dial_loop(std::string where);
  netio::awaitable<void> run_link(netio::tcp::socket socket, bool outgoing, std::string where);
  void log(const std::string& line) const;

  boost::asio::io_context& io_;
  Node& node_;
  WireConfig cfg_;
  std::string name_;
  std::unique_ptr<boost::asio::ssl::context> server_tls_, client_tls_;
  std::shared_ptr<netio::tcp::acceptor> acceptor_;
  std::set<std::shared_ptr<Link>> live_;
  std::atomic<std::size_t> links_count_{0};
  std::mutex ops_mu_;
  std::vector<std::string> ops_out_;  // queued for the next ops frame
  bool ops_flush_armed_ = false;
  void flush_ops();
  bool stopping_ = false;
};

}  // namespace hf::node
