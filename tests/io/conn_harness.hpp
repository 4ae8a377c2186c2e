// In-process loopback plumbing for the connection tests: a connected socket pair on one
// io_context (one side becomes the connection under test, the other is a raw socket the
// test drives byte by byte) and a runner that drives a test coroutine to its end.
#pragma once
#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include <chrono>
#include <exception>
#include <string>

namespace hf::netio::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

struct SocketPair {
  tcp::socket server;  // wrapped by the connection under test
  tcp::socket peer;    // the other end, driven by the test
};

// `peer_rcvbuf` (bytes, 0: the system's) is set before connecting, so the peer's window is
// small from the start: a peer that never reads then stops the sender after little data.
inline SocketPair connected_pair(asio::io_context& io, int peer_rcvbuf = 0) {
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  tcp::socket peer(io);
  peer.open(tcp::v4());
  if (peer_rcvbuf > 0) peer.set_option(asio::socket_base::receive_buffer_size(peer_rcvbuf));
  peer.set_option(tcp::no_delay(true));  // each write of the test leaves as its own segment
  peer.connect(acc.local_endpoint());
  tcp::socket server = acc.accept();
  return {std::move(server), std::move(peer)};
}

// Runs the coroutine made by `body` until it returns, rethrowing what it threw. A body
// still running after `limit` fails the test instead of hanging it.
template <class Body>
void run(asio::io_context& io, Body body, std::chrono::milliseconds limit = 20s) {
  bool done = false;
  std::exception_ptr error;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) {
    done = true;
    error = e;
  });
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    if (io.stopped()) io.restart();
    io.run_one_for(50ms);
  }
  ASSERT_TRUE(done) << "the test coroutine did not finish within " << limit.count() << " ms";
  if (error) std::rethrow_exception(error);
}

// Lets the connection's own coroutines (writer, watchdog) finish after a test closed it,
// so nothing outlives the io_context.
inline void drain(asio::io_context& io) {
  io.restart();
  io.run_for(2s);
}

inline asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

inline asio::awaitable<void> write_all(tcp::socket& s, const std::string& data) {
  co_await asio::async_write(s, asio::buffer(data), asio::use_awaitable);
}

// One byte per write with a pause between: the reader sees every partial state.
inline asio::awaitable<void> write_bytewise(tcp::socket& s, const std::string& data) {
  for (char c : data) {
    co_await asio::async_write(s, asio::buffer(&c, 1), asio::use_awaitable);
    co_await sleep_for(2ms);
  }
}

// Everything until the other side closes.
inline asio::awaitable<std::string> read_to_eof(tcp::socket& s) {
  std::string all;
  char tmp[4096];
  for (;;) {
    boost::system::error_code ec;
    const std::size_t n = co_await s.async_read_some(asio::buffer(tmp), asio::redirect_error(asio::use_awaitable, ec));
    all.append(tmp, n);
    if (ec) break;
  }
  co_return all;
}

inline bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace hf::netio::test
