// LineConn on real loopback sockets (the Python suites drive it through the whole binary):
// lines out of partial reads, the line cap answered before the close, a peer that never
// reads, the timeouts with their reasons, and one line shared by many connections' queues.
#include <gtest/gtest.h>

#include <algorithm>

#include "net/io/line_conn.hpp"
#include "tests/io/conn_harness.hpp"

namespace hf::netio::test {
namespace {

class LineConnTest : public ::testing::Test {
 protected:
  void open(const LineLimits& lim, int peer_rcvbuf = 0) {
    auto pair = connected_pair(io, peer_rcvbuf);
    peer = std::make_unique<tcp::socket>(std::move(pair.peer));
    conn = std::make_shared<LineConn>(make_tcp_stream(std::move(pair.server)), lim);
    conn->start();
  }
  void TearDown() override {
    if (conn) conn->close("test over");
    if (peer) peer->close();
    drain(io);
  }
  asio::io_context io;
  std::unique_ptr<tcp::socket> peer;
  std::shared_ptr<LineConn> conn;
};

TEST_F(LineConnTest, ALineDeliveredAByteAtATimeArrivesOnceWithoutItsEnding) {
  open({});
  run(io, [&]() -> asio::awaitable<void> {
    asio::co_spawn(
        co_await asio::this_coro::executor,
        [&]() -> asio::awaitable<void> { co_await write_bytewise(*peer, "{\"id\":1}\r\n\nlast\n"); }, asio::detached);
    EXPECT_EQ(co_await conn->read_line(), std::optional<std::string>("{\"id\":1}"));
    EXPECT_EQ(co_await conn->read_line(), std::optional<std::string>(""));
    EXPECT_EQ(co_await conn->read_line(), std::optional<std::string>("last"));
  });
}

TEST_F(LineConnTest, ManyLinesInOneReadComeOutOneByOne) {
  open({});
  run(io, [&]() -> asio::awaitable<void> {
    std::string all;
    for (int i = 0; i < 500; ++i) all += "line " + std::to_string(i) + "\n";
    co_await write_all(*peer, all);
    for (int i = 0; i < 500; ++i) EXPECT_EQ(co_await conn->read_line(), "line " + std::to_string(i));
  });
}

TEST_F(LineConnTest, ALineAtTheCapPassesAndOneOverIsReportedSoTheCallerCanAnswer) {
  LineLimits lim;
  lim.max_line = 64;
  open(lim);
  run(io, [&]() -> asio::awaitable<void> {
    co_await write_all(*peer, std::string(64, 'a') + "\n" + std::string(100, 'b'));
    EXPECT_EQ(co_await conn->read_line(), std::string(64, 'a'));
    EXPECT_FALSE(co_await conn->read_line());
    EXPECT_TRUE(conn->line_too_long());
    EXPECT_FALSE(conn->closed());  // the caller answers first
    EXPECT_EQ(conn->why(), "line longer than 64 bytes");
    conn->send("too long\n");
    conn->close_after_flush(conn->why());
    EXPECT_EQ(co_await read_to_eof(*peer), "too long\n");
    EXPECT_TRUE(conn->closed());
  });
}

TEST_F(LineConnTest, APeerThatNeverReadsIsCutOffWithMemoryBounded) {
  LineLimits lim;
  lim.max_queued = 256 * 1024;
  open(lim, 16 * 1024);
  conn->stream().socket().set_option(asio::socket_base::send_buffer_size(16 * 1024));
  run(io, [&]() -> asio::awaitable<void> {
    const std::string line = std::string(8191, 'x') + "\n";
    std::size_t most_queued = 0, lines = 0;
    for (; lines < 8192 && !conn->closed(); ++lines) {
      conn->send(line);
      most_queued = std::max(most_queued, conn->queued_bytes());
      co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    }
    EXPECT_TRUE(conn->closed());
    EXPECT_LT(lines, 8192u);
    EXPECT_GT(lines, lim.max_queued / line.size());  // the writer did send until the peer stalled
    EXPECT_LE(most_queued, lim.max_queued);
    EXPECT_TRUE(starts_with(conn->why(), "peer reads too slowly")) << conn->why();
  });
}

TEST_F(LineConnTest, ASilentPeerIsClosedAfterTheIdleTimeout) {
  LineLimits lim;
  lim.idle_timeout = 300ms;
  open(lim);
  run(io, [&]() -> asio::awaitable<void> {
    EXPECT_FALSE(co_await conn->read_line());
    EXPECT_EQ(conn->why(), "idle for 0 s");  // whole seconds, as the coordinator logs them
  });
}

TEST_F(LineConnTest, ALineThatIsNeverFinishedIsCutOff) {
  LineLimits lim;
  lim.line_timeout = 300ms;
  open(lim);
  run(io, [&]() -> asio::awaitable<void> {
    co_await write_all(*peer, "{\"id\":1,\"method\":");
    EXPECT_FALSE(co_await conn->read_line());
    EXPECT_EQ(conn->why(), "a line was not finished within 0 s");
  });
}

// Limits far beyond what the clock's nanoseconds can hold once converted (1e13 ms, from
// --idle-timeout 1e10) mean "practically never"; they once wrapped negative and closed every
// connection at the first watchdog tick ("idle for -9223372036854775 s").
TEST_F(LineConnTest, LimitsBeyondTheClocksRangeDoNotWrap) {
  LineLimits lim;
  lim.idle_timeout = std::chrono::milliseconds(10'000'000'000'000);
  lim.line_timeout = lim.idle_timeout;
  open(lim);
  run(io, [&]() -> asio::awaitable<void> {
    co_await write_all(*peer, "{\"id\":1,");  // a started line: the stall clock runs too
    std::optional<std::string> got;
    bool finished = false;
    const auto ex = co_await asio::this_coro::executor;
    asio::co_spawn(
        ex,
        [&]() -> asio::awaitable<void> {
          got = co_await conn->read_line();
          finished = true;
        },
        asio::detached);
    asio::steady_timer t(ex, 1200ms);  // two watchdog ticks
    co_await t.async_wait(asio::use_awaitable);
    EXPECT_FALSE(conn->closed()) << conn->why();
    co_await write_all(*peer, "\"x\":2}\n");
    while (!finished) {
      t.expires_after(10ms);
      co_await t.async_wait(asio::use_awaitable);
    }
    EXPECT_EQ(got, std::optional<std::string>("{\"id\":1,\"x\":2}"));
    conn->close("done");
  });
}

TEST_F(LineConnTest, APeerThatLeavesEndsTheConnectionAfterItsLastLine) {
  open({});
  run(io, [&]() -> asio::awaitable<void> {
    co_await write_all(*peer, "bye\npartial");
    peer->close();
    EXPECT_EQ(co_await conn->read_line(), std::optional<std::string>("bye"));
    EXPECT_FALSE(co_await conn->read_line());
    EXPECT_EQ(conn->why(), "closed by peer");
  });
}

// One line many connections send (the coordinator's job line to every miner) is queued as the
// one shared copy, between small lines that are still written together; every peer gets every
// line whole and in order.
TEST_F(LineConnTest, ASharedLineReachesEveryPeerWholeAndInOrder) {
  open({});
  auto second = connected_pair(io);
  auto conn2 = std::make_shared<LineConn>(make_tcp_stream(std::move(second.server)), LineLimits{});
  conn2->start();
  const auto big = std::make_shared<const std::string>(std::string(300 * 1024, 'j') + "\n");
  run(io, [&]() -> asio::awaitable<void> {
    for (LineConn* c : {conn.get(), conn2.get()}) {
      c->send("a\n");
      c->send("b\n");
      c->send(big);
      c->send("c\n");
      c->send(big);
      EXPECT_EQ(c->queued_bytes(), 6 + 2 * big->size());
      c->close_after_flush("done");
    }
    EXPECT_EQ(big.use_count(), 5) << "queued by reference, not copied";
    const std::string want = "a\nb\n" + *big + "c\n" + *big;
    EXPECT_EQ(co_await read_to_eof(*peer), want);
    EXPECT_EQ(co_await read_to_eof(second.peer), want);
  });
  EXPECT_EQ(big.use_count(), 1) << "released once written";
}

TEST_F(LineConnTest, TheFirstCloseReasonStays) {
  open({});
  conn->close("first");
  conn->close("second");
  conn->send("dropped\n");
  EXPECT_EQ(conn->why(), "first");
  EXPECT_EQ(conn->queued_bytes(), 0u);
}

}  // namespace
}  // namespace hf::netio::test
