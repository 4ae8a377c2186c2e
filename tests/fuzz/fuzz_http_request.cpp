// The HTTP server's request path without sockets (net/http): bytes through RequestReader
// (Beast's parser under the server's limits, plus our checks), each request through a
// Router, each response through the head writer. The first input byte picks how the rest is
// cut into reads (1 to 64 bytes at a time), as a slow or fragmented client would send it.
//
// Properties: no crash or exception on any input; an error carries a status the server may
// send and a one-line reason; a parsed request is within the limits and has a path the
// router can take; reading in pieces yields exactly the requests that reading the whole
// input at once does; a written head is well framed (one blank line, at its end) whatever
// the request put into the response.
#include <cstdint>
#include <string>
#include <vector>

#include "net/http/request_reader.hpp"
#include "net/http/router.hpp"
#include "net/http/serialize.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace hf::http;

RequestLimits limits() {
  RequestLimits l;
  l.max_request_line = 256;
  l.max_header_bytes = 1024;
  l.max_header_fields = 16;
  l.max_body = 4096;
  l.max_query_params = 8;
  return l;
}

const Router& router() {
  static const Router r = [] {
    Router r;
    auto echo = [](const Request& q) {
      Response res = Response::text(200, q.method + " " + q.path);
      for (const auto& [k, v] : q.params) res.headers.add("X-Param-" + k, v);  // may hold CR/LF: must be dropped
      for (const auto& [k, v] : q.query) res.headers.add(k.empty() ? "X-Empty" : k, v);
      res.body += q.body;
      return res;
    };
    r.get("/", echo);
    r.get("/api/stats", echo);
    r.get("/blocks/{hash}", echo);
    r.get("/blocks/{hash}/tx/{n}", echo);
    r.get("/static/*", echo);
    r.post("/echo", echo);
    r.put("/echo", echo);
    return r;
  }();
  return r;
}

struct Seen {
  std::string method, target, body;
  bool operator==(const Seen&) const = default;
};

void check_error(const ParseError& e) {
  static const int allowed[] = {400, 413, 414, 417, 431, 501, 505};
  bool ok = false;
  for (int s : allowed) ok |= e.status == s;
  HF_FUZZ_CHECK(ok);
  HF_FUZZ_CHECK(!e.reason.empty());
  HF_FUZZ_CHECK(e.reason.find_first_of("\r\n") == std::string::npos);
}

void check_request(const Request& q, const RequestLimits& lim) {
  HF_FUZZ_CHECK(!q.method.empty());
  HF_FUZZ_CHECK(!q.path.empty() && (q.path[0] == '/' || q.path == "*"));
  HF_FUZZ_CHECK(q.path.find('\0') == std::string::npos);
  HF_FUZZ_CHECK(q.version == 10 || q.version == 11);
  HF_FUZZ_CHECK(q.body.size() <= lim.max_body);
  HF_FUZZ_CHECK(q.headers.size() <= lim.max_header_fields);
  HF_FUZZ_CHECK(q.query.size() <= lim.max_query_params);
  HF_FUZZ_CHECK(q.target.size() <= lim.max_request_line);
}

void check_response(Request& q) {
  const Response res = router().route(q);
  HF_FUZZ_CHECK(res.status == 200 || res.status == 404 || res.status == 405);
  if (res.status == 405) HF_FUZZ_CHECK(res.headers.has("Allow"));
  std::string head;
  append_head(head, res, res.payload().size(), {.keep_alive = q.keep_alive, .client_http10 = q.version == 10});
  HF_FUZZ_CHECK(head.rfind("HTTP/1.1 ", 0) == 0);
  HF_FUZZ_CHECK(head.find("\r\n\r\n") == head.size() - 4);
  // Every line ends in CRLF and holds no other CR or LF.
  for (std::size_t pos = 0; pos < head.size();) {
    const std::size_t crlf = head.find("\r\n", pos);
    HF_FUZZ_CHECK(crlf != std::string::npos);
    const std::string_view line(head.data() + pos, crlf - pos);
    HF_FUZZ_CHECK(line.find_first_of("\r\n") == std::string_view::npos);
    pos = crlf + 2;
  }
}

// Parses `in` handed over `step` bytes at a time (0: all at once), as the server does: the
// unconsumed bytes stay at the front of a buffer the next read appends to.
std::vector<Seen> parse(std::string_view in, std::size_t step, bool check) {
  const RequestLimits lim = limits();
  RequestReader rd(lim);
  std::vector<Seen> seen;
  std::string buf;
  std::size_t given = 0;
  for (;;) {
    const std::size_t n = step == 0 ? in.size() - given : std::min(step, in.size() - given);
    buf.append(in.substr(given, n));
    given += n;
    for (;;) {
      std::size_t used = 0;
      const auto r = rd.feed(buf, &used);
      HF_FUZZ_CHECK(used <= buf.size());
      buf.erase(0, used);
      if (r == RequestReader::Result::error) {
        if (check) check_error(rd.error());
        return seen;
      }
      if (r == RequestReader::Result::need_more) {
        if (rd.expects_continue()) rd.continue_sent();
        if (used == 0 || buf.empty()) break;
        continue;
      }
      Request& q = rd.request();
      if (check) {
        check_request(q, lim);
        check_response(q);
      }
      seen.push_back({q.method, q.target, q.body});
      rd.reset();
    }
    if (given == in.size()) return seen;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = 1 + data[0] % 64;
  const std::string_view in = hf::fuzz::text_of(data + 1, size - 1);
  const std::vector<Seen> pieces = parse(in, step, true);
  const std::vector<Seen> whole = parse(in, 0, false);
  HF_FUZZ_CHECK(pieces == whole);
  return 0;
}
