#include "net/coordinator/seed_server.hpp"

#include <stdexcept>

#include "net/io/duration.hpp"
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
  settle_ = std::make_shared<asio::steady_timer>(io_);
  asio::co_spawn(io_, accept_loop(), asio::detached);
}

void SeedServer::stop() {
  stopping_ = true;
  boost::system::error_code ec;
  if (acceptor_) acceptor_->close(ec);
  if (settle_) settle_->cancel();
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
    const bool full = gate_ && gate_->full();
    if (batch_started_ || !task_.seed_round_open() || waiting_.size() >= clients_ || full) {
      // One batch per run, as the seed system's server: later clients are turned away at once.
      if (full) gate_->count_refusal();
      sock.close(ec);
      continue;
    }
    // The client's place in the connection limit lasts as long as anything holds its socket.
    auto held = std::make_shared<std::pair<tcp::socket, netio::ConnSlot>>(std::move(sock), netio::ConnSlot(gate_));
    std::shared_ptr<tcp::socket> s(held, &held->first);
    waiting_.push_back(s);
    asio::co_spawn(io_, watch(s), asio::detached);
    log_("plain protocol: client " + std::to_string(waiting_.size()) + " of " + std::to_string(clients_) +
         " connected");
    if (waiting_.size() >= clients_ && !settling_) {
      // Seats are taken by clients that stay: a port probe closes within this.
      settling_ = true;
      settle_->expires_after(kSettle);
      settle_->async_wait([this](boost::system::error_code e) {
        settling_ = false;
        if (!e && !stopping_ && !batch_started_ && waiting_.size() >= clients_) start_batch();
      });
    }
  }
}

asio::awaitable<void> SeedServer::watch(std::shared_ptr<tcp::socket> s) {
  // A plain-protocol client says nothing before END, so the socket turning readable while
  // it waits means it closed (or broke the protocol): either way its seat is free again.
  boost::system::error_code ec;
  co_await s->async_wait(tcp::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
  if (batch_started_ || stopping_) co_return;  // cancelled when the batch started
  const auto it = std::find(waiting_.begin(), waiting_.end(), s);
  if (it == waiting_.end()) co_return;
  waiting_.erase(it);
  boost::system::error_code ignore;
  const bool spoke = !ec && s->available(ignore) > 0;
  log_(spoke ? "plain protocol: a client sent data before START; turned away"
             : "plain protocol: a client left before the batch started; its seat is free");
  s->close(ignore);
}

void SeedServer::start_batch() {
  batch_started_ = true;
  for (auto& s : waiting_) {
    boost::system::error_code ec;
    s->cancel(ec);  // ends its watch: from here a client that leaves is a failed answer
  }
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
  asio::steady_timer deadline(io_, netio::seconds_to(secs + 120));
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
