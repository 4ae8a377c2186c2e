#include "net/io/accept.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace hf::netio {

namespace {

using clock_type = std::chrono::steady_clock;

bool out_of_descriptors(const boost::system::error_code& ec) {
  if (ec.category() != boost::system::system_category()) return false;
  const int v = ec.value();
  return v == EMFILE || v == ENFILE || v == ENOBUFS || v == ENOMEM;
}

// Tells a refused peer why, then ends the connection (the caller closes the descriptor).
// What the peer already sent is read first, without waiting, so that the close does not turn
// into a reset that could destroy the line before the peer reads it.
void refuse_fd(int fd, const std::string& line) {
  char junk[4096];
  (void)::recv(fd, junk, sizeof junk, MSG_DONTWAIT);
  if (!line.empty()) (void)::send(fd, line.data(), line.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_RDWR);
}

// Events counted between log lines: one line at the first event and then at most one per
// interval, each with the count since the last, so a flood of refusals costs a few lines.
struct LogEvery {
  clock_type::time_point last{};
  std::uint64_t count = 0;
  bool due(std::chrono::milliseconds every) {
    ++count;
    const auto now = clock_type::now();
    if (last != clock_type::time_point{} && now - last < every) return false;
    last = now;
    return true;
  }
  std::string take() {
    const std::uint64_t n = count;
    count = 0;
    return std::to_string(n);
  }
};

}  // namespace

awaitable<void> accept_loop(std::shared_ptr<tcp::acceptor> acc, std::shared_ptr<ConnGate> gate, AcceptOptions opt,
                            std::function<void(tcp::socket, ConnSlot)> on_accept) {
  asio::steady_timer pause(acc->get_executor());
  auto backoff = opt.backoff;
  boost::system::error_code ec;
  acc->non_blocking(true, ec);  // the spare-descriptor path below must never wait in accept()
  int spare = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  LogEvery refused, failed;
  auto log = [&opt](const std::string& line) {
    if (opt.log) opt.log(line);
  };
  for (;;) {
    auto [aec, sock] = co_await acc->async_accept(asio::as_tuple(asio::use_awaitable));
    if (aec) {
      if (aec == asio::error::operation_aborted || !acc->is_open()) break;
      if (!out_of_descriptors(aec)) continue;  // the peer left before we took it, and the like
      // No descriptor for the waiting client: it would sit in the backlog with no answer.
      // The spare makes room to take it and refuse it; then pause, so the loop does not spin
      // while the connections we hold finish and give descriptors back.
      if (spare >= 0) {
        ::close(spare);
        const int fd = ::accept4(acc->native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
          gate->count_refusal();
          refuse_fd(fd, opt.refusal);
          ::close(fd);
        }
        spare = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      }
      if (failed.due(opt.log_every))
        log(opt.what + ": accept failed: " + aec.message() + " (" + failed.take() +
            " times since the last report); backing off up to " + std::to_string(opt.backoff_max.count()) + " ms");
      pause.expires_after(backoff);
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      backoff = std::min(backoff * 2, opt.backoff_max);
      continue;
    }
    backoff = opt.backoff;
    if (gate->full()) {
      // The newest connection is the one refused: those held are workers already mining.
      gate->count_refusal();
      refuse_fd(sock.native_handle(), opt.refusal);
      sock.close(ec);
      if (refused.due(opt.log_every))
        log(opt.what + ": at the limit of " + std::to_string(gate->limit()) + " connections; refused " +
            refused.take() + " since the last report");
      continue;
    }
    on_accept(std::move(sock), ConnSlot(gate));
  }
  if (spare >= 0) ::close(spare);
}

DescriptorPlan plan_descriptors(std::size_t nofile, std::size_t stratum_want, std::size_t http_want,
                                std::size_t reserve) {
  DescriptorPlan p{stratum_want, http_want, {}};
  const std::size_t avail = nofile > reserve ? nofile - reserve : 0;
  if (stratum_want <= avail && http_want <= avail - stratum_want) return p;
  // The dashboard serves a few people; the workers are what the coordinator is for.
  p.http = std::max<std::size_t>(1, std::min(http_want, avail / 4));
  p.stratum = std::max<std::size_t>(1, std::min(stratum_want, avail > p.http ? avail - p.http : 0));
  p.note = "--max-connections " + std::to_string(stratum_want) + " and --http-max-connections " +
           std::to_string(http_want) + " do not fit the descriptor limit of " + std::to_string(nofile) +
           " (ulimit -n) less " + std::to_string(reserve) + " kept in reserve: holding at most " +
           std::to_string(p.stratum) + " Stratum and " + std::to_string(p.http) + " HTTP connections";
  return p;
}

}  // namespace hf::netio
