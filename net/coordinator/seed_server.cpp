#include "net/coordinator/seed_server.hpp"

#include <stdexcept>

#include "net/io/stream.hpp"

namespace hf::coord {

SeedServer::SeedServer(asio::io_context& io, FileTaskRunner& task, unsigned clients,
                       std::function<void(const std::string&)> log)
    : io_(io), task_(task), clients_(std::max(1u, clients)), log_(std::move(log)) {}

void SeedServer::listen(const std::string& where) {
  // The seed system's port is the default: "PORT", "HOST:" and "HOST:PORT" are all accepted.
  std::string full = where;
  if (where.find(':') == std::string::npos)
    full = "0.0.0.0:" + (where.empty() ? std::string("50010") : where);
  else if (where.back() == ':')
    full = where + "50010";
  std::string bound;
  try {
    acceptor_ = netio::listen_on(io_, full, &bound);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string("--seed-listen: ") + e.what());
  }
  endpoint_ = "seed://" + bound;
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
      // One batch per run, as the seed system's server: later clients are turned away at once.
      sock.close(ec);
      continue;
    }
    waiting_.push_back(std::make_shared<tcp::socket>(std::move(sock)));
    log_("plain protocol: client " + std::to_string(waiting_.size()) + " of " + std::to_string(clients_) +
         " connected");
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

asio::awaitable<void> SeedServer::serve(std::shared_ptr<tcp::socket> s, std::shared_ptr<const Bytes> file,
                                        std::string who) {
  // The client mines for its own time (the seed system's: 60 s); the answer may take that long
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
      const std::size_t n =
          co_await s->async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
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
    nonce = mining::parse_nonce_hex8(reply);
    if (!nonce) why = "answer is not 8 lowercase hex characters";
  }
  boost::system::error_code ec;
  s->close(ec);
  if (nonce)
    log_("plain protocol: " + who + " answered " + reply);
  else
    log_("plain protocol: " + who + " rejected: " + why);
  task_.seed_answer(nonce, who);
}

}  // namespace hf::coord
