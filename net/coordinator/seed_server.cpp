#include "net/coordinator/seed_server.hpp"

#include <stdexcept>

#include "net/io/stream.hpp"

namespace hf::coord {

SeedServer::SeedServer(asio::io_context& io, FileTaskRunner& task, unsigned clients, std::function<void(const std::string&)> log)
    : io_(io), task_(task), clients_(std::max(1u, clients)), log_(std::move(log)) {}

void SeedServer::listen(const std::string& where) {
  std::string host = "0.0.0.0", port = "50010", why;
  if (where.find(':') == std::string::npos) {
    if (!where.empty()) port = where;  // a bare port
  } else if (where.back() == ':') {
    host = where.substr(0, where.size() - 1);
  } else if (!netio::split_host_port(where, &host, &port, &why)) {
    throw std::runtime_error("--seed-listen: " + why);
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("--seed-listen: '" + host + "' is not an IP address");
  unsigned long p = 0;
  try {
    p = std::stoul(port);
  } catch (...) {
    p = 70000;
  }
  if (p > 65535) throw std::runtime_error("--seed-listen: bad port '" + port + "'");
  tcp::endpoint ep(addr, static_cast<unsigned short>(p));
  acceptor_ = std::make_shared<tcp::acceptor>(io_);
  acceptor_->open(ep.protocol(), ec);
  if (!ec) acceptor_->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_->bind(ep, ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
  const tcp::endpoint bound = acceptor_->local_endpoint();
  const std::string a = bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string();
  endpoint_ = "seed://" + a + ":" + std::to_string(bound.port());
  asio::co_spawn(io_, accept_loop(), asio::detached);
}

void SeedServer::stop() {
  stopping_ = true;
  boost::system::error_code ec;
  if (acceptor_) acceptor_->close(ec);
  for (auto& s : waiting_) s->close(ec);
  waiting_.clear();
}

asio::awaitable<void> SeedServer::accept_loop() {
  auto acc = acceptor_;
  while (!stopping_) {
    boost::system::error_code ec;
    tcp::socket sock = co_await acc->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) break;
      asio::steady_timer t(io_, std::chrono::milliseconds(100));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (batch_started_ || !task_.seed_round_open()) {
      // One batch per run, as the report's server: later clients are turned away at once.
      sock.close(ec);
      continue;
    }
    waiting_.push_back(std::make_shared<tcp::socket>(std::move(sock)));
    log_("plain protocol: client " + std::to_string(waiting_.size()) + " of " + std::to_string(clients_) + " connected");
    if (waiting_.size() >= clients_) start_batch();
  }
}

void SeedServer::start_batch() {
  batch_started_ = true;
  const auto file = std::make_shared<const Bytes>(task_.task().input());
  task_.seed_batch_started(waiting_.size());
  for (auto& s : waiting_) {
    boost::system::error_code ec;
    const auto ep = s->remote_endpoint(ec);
    const std::string who = ec ? "seed:?" : "seed:" + ep.address().to_string() + ":" + std::to_string(ep.port());
    asio::co_spawn(io_, serve(s, file, who), asio::detached);
  }
  waiting_.clear();
}

asio::awaitable<void> SeedServer::serve(std::shared_ptr<tcp::socket> s, std::shared_ptr<const Bytes> file, std::string who) {
  // The client mines for its own time (the report's: 60 s); the answer may take that long
  // plus the transfer, and a client silent well past the task's time is given up.
  const double secs = task_.config().seconds > 0 ? task_.config().seconds : 600;
  asio::steady_timer deadline(io_, std::chrono::milliseconds(static_cast<std::int64_t>((secs + 120) * 1000)));
  bool timed_out = false;
  deadline.async_wait([s, &timed_out](boost::system::error_code ec) {
    if (ec) return;
    timed_out = true;
    boost::system::error_code ignore;
    s->close(ignore);
  });
  std::string reply, why;
  try {
    static const char start[] = "START", end[] = "END";
    std::array<asio::const_buffer, 3> out{asio::buffer(start, 5), asio::buffer(*file), asio::buffer(end, 3)};
    co_await asio::async_write(*s, out, asio::use_awaitable);
    // Read the answer to the end of the stream; more than a few bytes is not an answer.
    char buf[64];
    for (;;) {
      boost::system::error_code ec;
      const std::size_t n = co_await s->async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      reply.append(buf, n);
      if (ec == asio::error::eof) break;
      if (ec) throw boost::system::system_error(ec);
      if (reply.size() > 8) {
        why = "sent more than 8 characters";
        break;
      }
    }
  } catch (const boost::system::system_error& e) {
    why = timed_out ? "no answer in time" : e.code().message();
  }
  deadline.cancel();
  std::optional<std::uint32_t> nonce;
  if (why.empty()) {
    bool ok = reply.size() == 8;
    std::uint32_t n = 0;
    for (char c : reply) {
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      ok = ok && d >= 0;
      n = n << 4 | static_cast<std::uint32_t>(d < 0 ? 0 : d);
    }
    if (ok) nonce = n;
    else why = "answer is not 8 lowercase hex characters";
  }
  boost::system::error_code ec;
  s->close(ec);
  if (nonce) log_("plain protocol: " + who + " answered " + reply);
  else log_("plain protocol: " + who + " rejected: " + why);
  task_.seed_answer(nonce, who);
}

}  // namespace hf::coord
