#include "net/http/server.hpp"

#include <pthread.h>
#include <sys/socket.h>

#include <cerrno>
#include <stdexcept>

#include "net/http/server_core.hpp"

namespace hf::http {

namespace {

using boost::system::error_code;

// "address:port" or "[v6 address]:port" into an endpoint; throws with one line.
tcp::endpoint parse_endpoint(const std::string& where) {
  std::string host, port;
  if (!where.empty() && where[0] == '[') {
    const std::size_t close = where.find(']');
    if (close == std::string::npos || close + 1 >= where.size() || where[close + 1] != ':')
      throw std::runtime_error("'" + where + "' is not [address]:port");
    host = where.substr(1, close - 1);
    port = where.substr(close + 2);
  } else {
    const std::size_t colon = where.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("'" + where + "' has no :port");
    host = where.substr(0, colon);
    port = where.substr(colon + 1);
  }
  if (host.empty()) host = "0.0.0.0";
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535)
    throw std::runtime_error("'" + where + "' has a bad port");
  error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("'" + host + "' is not an IP address");
  return {addr, static_cast<unsigned short>(std::stoul(port))};
}

// Over max_connections: answer 503 without waiting for the request, and close. The socket
// is read first (without blocking) so that a request already here does not turn the close
// into a reset that could destroy the answer.
void refuse(tcp::socket& s, bool tls) {
  error_code ec;
  s.non_blocking(true, ec);
  if (!tls) {
    char junk[4096];
    s.read_some(asio::buffer(junk), ec);
    static constexpr std::string_view busy =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 21\r\n"
        "Retry-After: 1\r\nConnection: close\r\n\r\ntoo many connections\n";
    s.write_some(asio::buffer(busy.data(), busy.size()), ec);
  }
  s.shutdown(tcp::socket::shutdown_both, ec);
  s.close(ec);
}

bool out_of_resources(const error_code& ec) {
  if (ec.category() != boost::system::system_category()) return false;
  const int v = ec.value();
  return v == EMFILE || v == ENFILE || v == ENOBUFS || v == ENOMEM;
}

// Accepts for `acc`: onto `own` when each worker has an acceptor of its own (the kernel
// spreads connections over them: no hand-off between threads), else round robin.
asio::awaitable<void> accept_loop(std::shared_ptr<ServerCore> core, std::shared_ptr<tcp::acceptor> acc,
                                  Worker* own) {
  const Settings& set = core->settings;
  auto backoff = set.accept_backoff;
  asio::steady_timer pause(acc->get_executor());
  while (!core->stopping.load()) {
    Worker& w = own ? *own : core->pick_worker();
    tcp::endpoint peer;
    auto [ec, accepted] = co_await acc->async_accept(w.io, peer, asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acc->is_open() || core->stopping.load()) break;
      if (out_of_resources(ec)) {
        // The pending connection stays in the backlog; spinning on accept would only burn
        // the CPU the existing connections need to finish and free descriptors.
        core->log("http: accept failed (" + ec.message() + "); pausing " + std::to_string(backoff.count()) + " ms");
        pause.expires_after(backoff);
        co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
        backoff = std::min(backoff * 2, set.accept_backoff_max);
      }
      continue;
    }
    backoff = set.accept_backoff;
    tcp::socket sock(std::move(accepted));
    if (core->active.fetch_add(1, std::memory_order_relaxed) >= set.max_connections) {
      core->active.fetch_sub(1, std::memory_order_relaxed);
      refuse(sock, core->tls.has_value());
      continue;
    }
    start_connection(core, w, std::move(sock), peer);
    // Take whatever else the backlog holds without another trip through the reactor: a
    // burst of new connections (clients that connect per request) costs one wakeup.
    for (int more = 0; more < 64 && !core->stopping.load(); ++more) {
      Worker& w2 = own ? *own : core->pick_worker();
      error_code aec;
      tcp::socket next(w2.io);
      acc->accept(next, peer, aec);
      if (aec) break;  // would_block (the acceptor is non-blocking), or an error the async path will see
      if (core->active.fetch_add(1, std::memory_order_relaxed) >= set.max_connections) {
        core->active.fetch_sub(1, std::memory_order_relaxed);
        refuse(next, core->tls.has_value());
        continue;
      }
      start_connection(core, w2, std::move(next), peer);
    }
  }
}

void begin_stop(const std::shared_ptr<ServerCore>& core, bool now) {
  core->stopping.store(true);
  {
    std::lock_guard lock(core->acceptors_mu);
    for (auto& acc : core->acceptors)
      asio::post(acc->get_executor(), [acc] {
        error_code ec;
        acc->close(ec);
      });
  }
  for (auto& wp : core->workers) {
    Worker* w = wp.get();
    asio::post(w->io, [core, w, now] {
      stop_connections(*w);
      if (now) {
        w->grace.cancel();
        cut_connections(*w);
        return;
      }
      w->grace.expires_after(core->settings.shutdown_grace);
      w->grace.async_wait([core, w](const error_code& ec) {
        if (!ec) cut_connections(*w);
      });
    });
  }
}

}  // namespace

Server::Server(asio::io_context& io, Router router, Settings settings) : core_(std::make_shared<ServerCore>()) {
  core_->settings = std::move(settings);
  core_->router = std::move(router);
  const Settings& s = core_->settings;
  if (!s.tls_cert_file.empty() || !s.tls_key_file.empty()) {
    if (s.tls_cert_file.empty() || s.tls_key_file.empty())
      throw std::runtime_error("HTTPS needs both a certificate and a key");
    core_->tls.emplace(ssl::context::tls_server);
    core_->tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                            ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    error_code ec;
    core_->tls->use_certificate_chain_file(s.tls_cert_file, ec);
    if (ec) throw std::runtime_error("cannot load TLS certificate " + s.tls_cert_file + ": " + ec.message());
    core_->tls->use_private_key_file(s.tls_key_file, ssl::context::pem, ec);
    if (ec) throw std::runtime_error("cannot load TLS key " + s.tls_key_file + ": " + ec.message());
  }
  if (s.io_threads == 0) {
    core_->workers.push_back(std::make_unique<Worker>(io));
    return;
  }
  for (unsigned i = 0; i < s.io_threads; ++i) {
    // One io_context per thread: no lock is shared between threads on the request path.
    core_->own_contexts.push_back(std::make_unique<asio::io_context>(1));
    core_->workers.push_back(std::make_unique<Worker>(*core_->own_contexts.back()));
    core_->guards.push_back(asio::make_work_guard(*core_->own_contexts.back()));
  }
  for (auto& ctx : core_->own_contexts)
    core_->threads.emplace_back([c = ctx.get()] {
      (void)pthread_setname_np(pthread_self(), "hf-http");  // for top -H and perf
      for (;;) {
        try {
          c->run();
          return;
        } catch (...) {
          // A handler escaped with an exception; the thread keeps serving.
        }
      }
    });
}

Server::~Server() {
  begin_stop(core_, true);
  core_->guards.clear();
  for (auto& t : core_->threads) t.join();
}

std::string Server::listen(const std::string& where) {
  tcp::endpoint ep = parse_endpoint(where);
  // With several threads, one acceptor each on the same port (SO_REUSEPORT): a thread serves
  // the connections it accepted, with no wakeup of another thread per connection, which is
  // most of what a client that connects per request costs.
  const std::size_t n = core_->workers.size();
  std::string bound;
  if (n > 1) {
    // SO_REUSEPORT would also let a second server of ours bind a port this one holds and
    // silently take half its connections. A plain bind first: it fails if the port is
    // taken, and for port 0 it picks the port the group then shares.
    tcp::acceptor probe(core_->workers.front()->io);
    error_code ec;
    probe.open(ep.protocol(), ec);
    if (!ec) probe.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) probe.bind(ep, ec);
    if (ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
    ep = probe.local_endpoint();
  }
  for (std::size_t i = 0; i < n; ++i) {
    Worker& w = *core_->workers[i];
    auto acc = std::make_shared<tcp::acceptor>(w.io);
    error_code ec;
    acc->open(ep.protocol(), ec);
    if (!ec) acc->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && n > 1) {
      const int one = 1;
      if (::setsockopt(acc->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        ec = error_code(errno, boost::system::system_category());
    }
    if (!ec) acc->bind(ep, ec);
    if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      // The acceptors opened so far stay in core_->acceptors and close with the server.
      throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
    }
    if (i == 0) {
      ep = acc->local_endpoint();  // port 0: the others share the port the first one got
      bound = endpoint_text(ep);
    }
    {
      std::lock_guard lock(core_->acceptors_mu);
      core_->acceptors.push_back(acc);
    }
    acc->non_blocking(true, ec);  // accept_loop drains the backlog with plain accepts
    asio::co_spawn(w.io, accept_loop(core_, acc, n > 1 ? &w : nullptr), asio::detached);
  }
  return (core_->tls ? "https://" : "http://") + bound;
}

void Server::stop() { begin_stop(core_, false); }

std::size_t Server::connections() const { return core_->active.load(std::memory_order_relaxed); }

}  // namespace hf::http
