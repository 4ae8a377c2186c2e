// LengthConn on real loopback sockets: whole frames out of partial reads, keep-alives, the
// length cap enforced at the prefix, a peer that never reads, and the timeouts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>

#include "net/io/length_conn.hpp"
#include "tests/io/conn_harness.hpp"

namespace hf::netio::test {
namespace {

std::string frame(const std::string& payload) {
  const auto n = static_cast<std::uint32_t>(payload.size());
  std::string f{static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                static_cast<char>(n)};
  return f + payload;
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 131 + 7);
  return s;
}

class LengthConnTest : public ::testing::Test {
 protected:
  void open(const FrameLimits& lim, int peer_rcvbuf = 0) {
    auto pair = connected_pair(io, peer_rcvbuf);
    peer = std::make_unique<tcp::socket>(std::move(pair.peer));
    conn = std::make_shared<LengthConn>(make_tcp_stream(std::move(pair.server)), lim);
    conn->start();
  }
  void TearDown() override {
    if (conn) conn->close("test over");
    if (peer) peer->close();
    drain(io);
  }
  asio::io_context io;
  std::unique_ptr<tcp::socket> peer;
  std::shared_ptr<LengthConn> conn;
};

TEST_F(LengthConnTest, FramesOfEverySizeUpToTheCapArriveWholeAndInOrder) {
  FrameLimits lim;
  lim.max_frame = 70000;
  open(lim);
  const std::vector<std::size_t> sizes{0, 1, 5, 4095, 4096, 4097, 70000, 0, 3};
  run(io, [&]() -> asio::awaitable<void> {
    std::string all;
    for (std::size_t n : sizes) all += frame(pattern(n));
    co_await write_all(*peer, all);
    for (std::size_t n : sizes) {
      auto f = co_await conn->read_frame();
      EXPECT_TRUE(f.has_value()) << conn->why();
      if (!f) co_return;
      EXPECT_EQ(*f, pattern(n));
    }
    EXPECT_FALSE(conn->closed());
  });
}

TEST_F(LengthConnTest, AFrameDeliveredAByteAtATimeArrivesOnce) {
  open({});
  run(io, [&]() -> asio::awaitable<void> {
    // The writer runs beside the reader, so the reader sees the prefix and the payload in
    // one-byte pieces, then a keep-alive the same way.
    asio::co_spawn(
        co_await asio::this_coro::executor,
        [&]() -> asio::awaitable<void> { co_await write_bytewise(*peer, frame("hello, peer") + frame("")); },
        asio::detached);
    auto f = co_await conn->read_frame();
    EXPECT_EQ(f, std::optional<std::string>("hello, peer"));
    auto keep_alive = co_await conn->read_frame();
    EXPECT_EQ(keep_alive, std::optional<std::string>(""));
  });
}

TEST_F(LengthConnTest, ALengthOverTheCapClosesAtThePrefixWithoutWaitingForThePayload) {
  FrameLimits lim;
  lim.max_frame = 1024;
  open(lim);
  run(io, [&]() -> asio::awaitable<void> {
    // Only the four length bytes: an implementation that waited for (or allocated) the
    // payload would hang here or ask for 4 GiB.
    co_await write_all(*peer, std::string(4, '\xff'));
    auto f = co_await conn->read_frame();
    EXPECT_FALSE(f.has_value());
    EXPECT_TRUE(conn->frame_too_big());
    EXPECT_TRUE(conn->closed());
    EXPECT_EQ(conn->why(), "frame of 4294967295 bytes is over the 1024-byte cap");
    EXPECT_EQ(co_await read_to_eof(*peer), "");  // the peer sees the close
  });
}

TEST_F(LengthConnTest, OneByteOverTheCapIsRefusedAfterFramesAtTheCap) {
  FrameLimits lim;
  lim.max_frame = 1024;
  open(lim);
  run(io, [&]() -> asio::awaitable<void> {
    co_await write_all(*peer, frame(pattern(1024)) + frame(pattern(1025)));
    EXPECT_EQ(co_await conn->read_frame(), std::optional<std::string>(pattern(1024)));
    EXPECT_FALSE(co_await conn->read_frame());
    EXPECT_TRUE(conn->frame_too_big());
    EXPECT_TRUE(starts_with(conn->why(), "frame of 1025 bytes")) << conn->why();
  });
}

TEST_F(LengthConnTest, APeerThatNeverReadsIsCutOffWithMemoryBounded) {
  FrameLimits lim;
  lim.max_frame = 16 * 1024;
  lim.max_queued = 256 * 1024;
  open(lim, 16 * 1024);
  conn->stream().socket().set_option(asio::socket_base::send_buffer_size(16 * 1024));
  run(io, [&]() -> asio::awaitable<void> {
    const std::string payload = pattern(lim.max_frame);
    std::size_t most_queued = 0, frames = 0;
    // Up to 64 MiB offered to a peer that reads nothing: the queue cap must end it long
    // before, and the bytes held must never pass the cap.
    for (; frames < 4096 && !conn->closed(); ++frames) {
      conn->send_frame(payload);
      most_queued = std::max(most_queued, conn->queued_bytes());
      co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);  // let the writer run
    }
    EXPECT_TRUE(conn->closed());
    EXPECT_LT(frames, 4096u);
    EXPECT_GT(frames, lim.max_queued / payload.size());  // the writer did send until the peer stalled
    EXPECT_LE(most_queued, lim.max_queued);
    EXPECT_TRUE(starts_with(conn->why(), "peer reads too slowly")) << conn->why();
    EXPECT_EQ(conn->queued_bytes(), 0u);  // dropped at the close
  });
}

TEST_F(LengthConnTest, ASilentPeerIsClosedAfterTheIdleTimeout) {
  FrameLimits lim;
  lim.idle_timeout = 300ms;
  open(lim);
  run(io, [&]() -> asio::awaitable<void> {
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(co_await conn->read_frame());
    EXPECT_TRUE(starts_with(conn->why(), "idle for")) << conn->why();
    // The watchdog looks every 500 ms: closed within a tick or two of the timeout.
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
  });
}

TEST_F(LengthConnTest, KeepAlivesHoldOffTheIdleTimeout) {
  FrameLimits lim;
  lim.idle_timeout = 700ms;
  open(lim);
  run(io, [&]() -> asio::awaitable<void> {
    asio::co_spawn(
        co_await asio::this_coro::executor,
        [&]() -> asio::awaitable<void> {
          for (int i = 0; i < 10; ++i) {
            co_await write_all(*peer, frame(""));
            co_await sleep_for(200ms);
          }
        },
        asio::detached);
    for (int i = 0; i < 10; ++i) {
      auto f = co_await conn->read_frame();
      EXPECT_EQ(f, std::optional<std::string>("")) << conn->why();
      if (!f) co_return;
    }
    EXPECT_FALSE(conn->closed());               // 2 s of keep-alives against a 0.7 s idle timeout
    EXPECT_FALSE(co_await conn->read_frame());  // then silence
    EXPECT_TRUE(starts_with(conn->why(), "idle for")) << conn->why();
  });
}

TEST_F(LengthConnTest, AFrameThatStallsHalfwayIsCutOff) {
  FrameLimits lim;
  lim.frame_timeout = 300ms;
  open(lim);
  run(io, [&]() -> asio::awaitable<void> {
    co_await write_all(*peer, frame(pattern(100)).substr(0, 14));
    EXPECT_FALSE(co_await conn->read_frame());
    EXPECT_TRUE(starts_with(conn->why(), "a frame was not finished within")) << conn->why();
  });
}

TEST_F(LengthConnTest, APeerThatLeavesMidFrameEndsTheConnection) {
  open({});
  run(io, [&]() -> asio::awaitable<void> {
    co_await write_all(*peer, frame("complete") + frame(pattern(50)).substr(0, 20));
    peer->close();
    EXPECT_EQ(co_await conn->read_frame(), std::optional<std::string>("complete"));
    EXPECT_FALSE(co_await conn->read_frame());
    EXPECT_EQ(conn->why(), "closed by peer");
  });
}

TEST_F(LengthConnTest, CloseAfterFlushSendsEveryQueuedFrameFirst) {
  open({});
  run(io, [&]() -> asio::awaitable<void> {
    conn->send_frame("one");
    conn->send_frame("");
    conn->send_frame(pattern(10000));
    conn->close_after_flush("done");
    conn->send_frame("after the close: dropped");
    EXPECT_EQ(co_await read_to_eof(*peer), frame("one") + frame("") + frame(pattern(10000)));
    EXPECT_TRUE(conn->closed());
    EXPECT_EQ(conn->why(), "done");
  });
}

TEST_F(LengthConnTest, SendingAFrameOverTheCapClosesWithTheReason) {
  FrameLimits lim;
  lim.max_frame = 100;
  open(lim);
  conn->send_frame(pattern(101));
  EXPECT_TRUE(conn->closed());
  EXPECT_EQ(conn->why(), "refusing to send a frame of 101 bytes, over the 100-byte cap");
}

}  // namespace
}  // namespace hf::netio::test
