// The request parser under the server's limits, fed bytes directly (no sockets): what it
// accepts, how it splits pipelined input, and the status each kind of bad input gets.
#include <gtest/gtest.h>

#include <string>

#include "net/http/request_reader.hpp"

namespace hf::http {
namespace {

using R = RequestReader::Result;

struct Fed {
  R result;
  std::size_t used;
};

// Feeds `in` whole (as the server does with its buffer), retrying while the reader takes
// bytes without finishing (it stops after the head to check it).
Fed feed_all(RequestReader& rd, std::string_view in) {
  std::size_t total = 0;
  for (;;) {
    std::size_t used = 0;
    const R r = rd.feed(in.substr(total), &used);
    total += used;
    if (r != R::need_more || used == 0 || total == in.size()) return {r, total};
  }
}

TEST(RequestReader, SimpleGet) {
  RequestReader rd(RequestLimits{});
  const std::string in = "GET /api/stats?window=1m&x=a+b HTTP/1.1\r\nHost: h\r\nX-Thing: V\r\n\r\n";
  const Fed f = feed_all(rd, in);
  ASSERT_EQ(f.result, R::done);
  EXPECT_EQ(f.used, in.size());
  const Request& q = rd.request();
  EXPECT_EQ(q.method, "GET");
  EXPECT_EQ(q.target, "/api/stats?window=1m&x=a+b");
  EXPECT_EQ(q.path, "/api/stats");
  EXPECT_EQ(q.query_value("window").value_or(""), "1m");
  EXPECT_EQ(q.query_value("x").value_or(""), "a b");
  EXPECT_EQ(q.header("x-thing").value_or(""), "V");
  EXPECT_EQ(q.version, 11);
  EXPECT_TRUE(q.keep_alive);
  EXPECT_TRUE(q.body.empty());
}

TEST(RequestReader, ByteByByteGivesTheSameRequest) {
  RequestReader rd(RequestLimits{});
  const std::string in = "POST /p%20q HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
  std::string buf;
  R last = R::need_more;
  for (char c : in) {
    buf += c;
    std::size_t used = 0;
    last = rd.feed(buf, &used);
    buf.erase(0, used);
    while (last == R::need_more && used > 0 && !buf.empty()) {
      last = rd.feed(buf, &used);
      buf.erase(0, used);
    }
    ASSERT_NE(last, R::error) << rd.error().reason;
  }
  ASSERT_EQ(last, R::done);
  EXPECT_EQ(rd.request().path, "/p q");
  EXPECT_EQ(rd.request().body, "hello");
  EXPECT_TRUE(rd.in_progress());
}

TEST(RequestReader, PipelinedRequestsComeOneAtATime) {
  RequestReader rd(RequestLimits{});
  const std::string in =
      "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
      "\r\n"  // a stray blank line between requests is allowed
      "GET /b HTTP/1.1\r\nHost: h\r\n\r\nGET /c HT";
  std::string_view rest = in;
  Fed f = feed_all(rd, rest);
  ASSERT_EQ(f.result, R::done);
  EXPECT_EQ(rd.request().path, "/a");
  rest.remove_prefix(f.used);
  rd.reset();
  EXPECT_FALSE(rd.in_progress());
  f = feed_all(rd, rest);
  ASSERT_EQ(f.result, R::done);
  EXPECT_EQ(rd.request().path, "/b");
  rest.remove_prefix(f.used);
  rd.reset();
  f = feed_all(rd, rest);
  EXPECT_EQ(f.result, R::need_more);
  EXPECT_TRUE(rd.in_progress());
}

TEST(RequestReader, ChunkedBodyIsDecoded) {
  RequestReader rd(RequestLimits{});
  const std::string in =
      "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n";
  const Fed f = feed_all(rd, in);
  ASSERT_EQ(f.result, R::done) << rd.error().reason;
  EXPECT_EQ(rd.request().body, "hello world");
}

TEST(RequestReader, Http10ClosesUnlessAskedToKeepAlive) {
  RequestReader rd(RequestLimits{});
  ASSERT_EQ(feed_all(rd, "GET / HTTP/1.0\r\n\r\n").result, R::done);
  EXPECT_FALSE(rd.request().keep_alive);
  EXPECT_EQ(rd.request().version, 10);
  rd.reset();
  ASSERT_EQ(feed_all(rd, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").result, R::done);
  EXPECT_TRUE(rd.request().keep_alive);
  rd.reset();
  ASSERT_EQ(feed_all(rd, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").result, R::done);
  EXPECT_FALSE(rd.request().keep_alive);
}

TEST(RequestReader, ExpectContinue) {
  RequestReader rd(RequestLimits{});
  const std::string head = "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n";
  const Fed f = feed_all(rd, head);
  ASSERT_EQ(f.result, R::need_more);
  EXPECT_EQ(f.used, head.size());
  EXPECT_TRUE(rd.expects_continue());
  rd.continue_sent();
  EXPECT_FALSE(rd.expects_continue());
  ASSERT_EQ(feed_all(rd, "abc").result, R::done);
  EXPECT_EQ(rd.request().body, "abc");
}

struct BadCase {
  const char* name;
  std::string input;
  int status;
};

TEST(RequestReader, LimitsAndBadInputGetTheirStatus) {
  RequestLimits lim;
  lim.max_request_line = 100;
  lim.max_header_bytes = 1000;
  lim.max_header_fields = 10;
  lim.max_body = 50;
  lim.max_query_params = 4;
  std::string many_fields = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 11; ++i) many_fields += "X-" + std::to_string(i) + ": v\r\n";
  many_fields += "\r\n";
  const BadCase cases[] = {
      {"long request line", "GET /" + std::string(200, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n", 414},
      {"long request line, unfinished", "GET /" + std::string(200, 'a'), 414},
      {"huge header", "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(2000, 'b') + "\r\n\r\n", 431},
      {"too many fields", many_fields, 431},
      {"declared body too large", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 51\r\n\r\n", 413},
      {"chunked body too large",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + std::string(64, 'x') +
           "\r\n0\r\n\r\n",
       413},
      {"bad request line", "HELLO THERE\r\n\r\n", 400},
      {"binary garbage", std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + "\r\n\r\n", 400},
      {"other version", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
      {"bad version", "GET / HTTP/x.y\r\nHost: h\r\n\r\n", 400},
      {"long header after a short line", "GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(990, 'l') + "\r\n\r\n", 431},
      {"no host", "GET / HTTP/1.1\r\n\r\n", 400},
      {"length and chunked", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
       400},
      {"two lengths", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400},
      {"gzip coding", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
      {"odd expectation", "GET / HTTP/1.1\r\nHost: h\r\nExpect: tea\r\n\r\n", 417},
      {"bad escape", "GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"not a path", "GET abc HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"too many query params", "GET /?a&b&c&d&e HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"bad chunk", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
      {"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
  };
  for (const BadCase& c : cases) {
    RequestReader rd(lim);
    const Fed f = feed_all(rd, c.input);
    EXPECT_EQ(f.result, R::error) << c.name;
    if (f.result != R::error) continue;
    EXPECT_EQ(rd.error().status, c.status) << c.name << ": " << rd.error().reason;
    EXPECT_FALSE(rd.error().reason.empty()) << c.name;
    EXPECT_EQ(rd.error().reason.find('\n'), std::string::npos) << c.name;
  }
}

TEST(RequestReader, BufferFullWhileStillInTheHeadIs431) {
  RequestReader rd(RequestLimits{});
  const Fed f = feed_all(rd, "GET / HTTP/1.1\r\nHost: h\r\nX: aaaa");
  ASSERT_EQ(f.result, R::need_more);
  EXPECT_EQ(rd.fail_buffer_full().status, 431);
}

}  // namespace
}  // namespace hf::http
