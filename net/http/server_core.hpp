// Internal to the HTTP server: the state its acceptors and connections share. Kept alive
// by every coroutine that uses it, so a Server may be destroyed while its io_context still
// holds work.
#pragma once
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "net/http/router.hpp"
#include "net/http/settings.hpp"

namespace hf::http {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

class Connection;

// One io_context and the connections living on it. `conns` and `stopping` are touched only
// from that io_context's thread.
struct Worker {
  explicit Worker(asio::io_context& ctx) : io(ctx), grace(ctx) {}
  asio::io_context& io;
  std::list<Connection*> conns;
  bool stopping = false;
  asio::steady_timer grace;
};

struct ServerCore {
  Settings settings;
  Router router;
  std::optional<ssl::context> tls;
  std::atomic<std::size_t> active{0};  // connections open, every thread
  std::atomic<bool> stopping{false};
  std::atomic<unsigned> next_worker{0};

  // io_threads > 0: the server's own contexts and threads; otherwise the caller's context.
  std::vector<std::unique_ptr<asio::io_context>> own_contexts;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::thread> threads;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;

  std::mutex acceptors_mu;
  std::vector<std::shared_ptr<tcp::acceptor>> acceptors;

  Worker& pick_worker() { return *workers[next_worker.fetch_add(1, std::memory_order_relaxed) % workers.size()]; }
  void log(const std::string& line) const {
    if (settings.log) settings.log(line);
  }
};

// "1.2.3.4:80" or "[::1]:80".
inline std::string endpoint_text(const tcp::endpoint& ep) {
  std::string s;
  const auto a = ep.address();
  if (a.is_v6()) s += '[';
  s += a.to_string();
  if (a.is_v6()) s += ']';
  s += ':';
  s += std::to_string(ep.port());
  return s;
}

// Runs one accepted connection on w's thread until it ends (takes over the count in
// core->active, which the caller has already raised).
// `peer` as accept() gave it (no getpeername per connection).
void start_connection(std::shared_ptr<ServerCore> core, Worker& w, tcp::socket sock, const tcp::endpoint& peer);
// On w's thread: closes w's idle connections and marks the others to close after their
// current request.
void stop_connections(Worker& w);
// On w's thread: closes every connection of w at once.
void cut_connections(Worker& w);

}  // namespace hf::http
