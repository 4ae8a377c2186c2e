// The HTTP server (net/http) at its simplest, for bench/http_vs_nginx.sh: GET / answers a
// fixed 200-byte body with keep-alive, on N I/O threads (one io_context each). The body is
// compiled in and sent without a copy, as a static asset would be.
#include <boost/asio.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "net/http/server.hpp"

namespace {

// 199 bytes of text and a newline: the same bytes the script gives nginx to serve.
const std::string& body() {
  static const std::string b = std::string(199, 'x') + "\n";
  return b;
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "http_bench_server: %s\nusage: hf_http_bench_server [--listen ADDR:PORT] [--threads N]\n", why);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  hf::http::Settings s;
  s.io_threads = 2;
  s.max_connections = 100000;
  s.idle_timeout = std::chrono::seconds(60);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage("missing value");
    if (a == "--listen")
      listen = argv[++i];
    else if (a == "--threads")
      s.io_threads = static_cast<unsigned>(std::max(1, std::atoi(argv[++i])));
    else
      usage("unknown option");
  }
  hf::http::Router r;
  r.get("/", [](const hf::http::Request&) {
    hf::http::Response res;
    res.content_type = "text/html";
    res.static_body = body();
    return res;
  });
  boost::asio::io_context io(1);
  try {
    hf::http::Server server(io, std::move(r), s);
    std::printf("listening %s\n", server.listen(listen).c_str());
    std::fflush(stdout);
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
    io.run();  // the server's own threads serve; this one waits for a signal
  } catch (const std::exception& e) {
    usage(e.what());
  }
  return 0;
}
