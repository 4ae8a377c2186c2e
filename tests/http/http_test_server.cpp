// A small server on net/http for tests/net/test_http_hostile.py: every limit and timeout
// settable from the command line, and routes that make the hostile cases possible (a large
// reply for a client that never reads, an echo for bodies, numbered replies for pipelining).
// Prints "listening URL" once ready; SIGINT/SIGTERM stop it gracefully.
#include <sys/resource.h>

#include <boost/asio.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "net/http/server.hpp"

namespace {

using namespace hf::http;

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "http_test_server: %s\n", why.c_str());
  std::exit(2);
}

long long number(const char* flag, const char* v) {
  char* end = nullptr;
  const long long n = std::strtoll(v, &end, 10);
  if (!*v || *end || n < 0) usage(std::string(flag) + " needs a non-negative integer");
  return n;
}

Router routes() {
  Router r;
  r.get("/", [](const Request&) { return Response::text(200, "hello"); });
  r.get("/n/{i}", [](const Request& q) { return Response::text(200, std::string(*q.param("i"))); });
  r.post("/echo", [](const Request& q) {
    Response res;
    res.content_type = "application/octet-stream";
    res.body = q.body;
    return res;
  });
  // GET /big?mib=N: N MiB (default 8, at most 256), built per request as a handler would.
  r.get("/big", [](const Request& q) {
    long long mib = 8;
    if (auto v = q.query_value("mib")) mib = std::atoll(std::string(*v).c_str());
    if (mib < 0 || mib > 256) return Response::text(400, "mib must be 0..256");
    Response res;
    res.content_type = "application/octet-stream";
    res.body.assign(static_cast<std::size_t>(mib) << 20, 'b');
    return res;
  });
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  std::string listen = "127.0.0.1:0";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage(a + " needs a value");
    const char* v = argv[++i];
    using ms = std::chrono::milliseconds;
    if (a == "--listen")
      listen = v;
    else if (a == "--max-connections")
      s.max_connections = number(argv[i - 1], v);
    else if (a == "--idle-timeout")
      s.idle_timeout = ms(number(argv[i - 1], v));
    else if (a == "--request-timeout")
      s.request_timeout = ms(number(argv[i - 1], v));
    else if (a == "--write-timeout")
      s.write_timeout = ms(number(argv[i - 1], v));
    else if (a == "--max-queued")
      s.max_queued_bytes = number(argv[i - 1], v);
    else if (a == "--max-body")
      s.limits.max_body = number(argv[i - 1], v);
    else if (a == "--max-header")
      s.limits.max_header_bytes = number(argv[i - 1], v);
    else if (a == "--shutdown-grace")
      s.shutdown_grace = ms(number(argv[i - 1], v));
    else if (a == "--threads")
      s.io_threads = static_cast<unsigned>(number(argv[i - 1], v));
    else if (a == "--cert")
      s.tls_cert_file = v;
    else if (a == "--key")
      s.tls_key_file = v;
    else if (a == "--nofile") {
      // A low descriptor limit, so the test can make accept() fail with EMFILE.
      rlimit rl{};
      getrlimit(RLIMIT_NOFILE, &rl);
      rl.rlim_cur = static_cast<rlim_t>(number(argv[i - 1], v));
      if (setrlimit(RLIMIT_NOFILE, &rl) != 0) usage("cannot lower the descriptor limit");
    } else {
      usage("unknown option " + a);
    }
  }
  s.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };

  boost::asio::io_context io(1);
  try {
    Server server(io, routes(), s);
    std::printf("listening %s\n", server.listen(listen).c_str());
    std::fflush(stdout);
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    boost::asio::steady_timer done(io);
    signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      server.stop();
      done.expires_after(s.shutdown_grace + std::chrono::milliseconds(100));
      done.async_wait([&](const boost::system::error_code&) { io.stop(); });
    });
    io.run();
  } catch (const std::exception& e) {
    usage(e.what());
  }
  return 0;
}
