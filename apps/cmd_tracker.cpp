// `hashforge tracker`: the BitTorrent tracker, HTTP and UDP (docs/tracker.md). Parses options
// and prints; the tracker itself is net/torrent/tracker_*.
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>

#include "apps/cli_checks.hpp"
#include "apps/cli_util.hpp"
#include "apps/commands.hpp"
#include "hashforge/hex.hpp"
#include "net/io/atomic_file.hpp"
#include "net/torrent/tracker_service.hpp"

namespace hf::cli {

namespace {

namespace tr = hf::torrent::tracker;

struct Opts {
  std::vector<std::string> http, udp;
  std::string db = "tracker.sqlite";
  bool no_history = false;
  std::string whitelist;
  std::uint32_t interval = 1800;
  std::uint32_t min_interval = 60;
  std::uint32_t peer_timeout = 0;
  unsigned numwant = 50;
  unsigned max_numwant = 200;
  double rate_limit = 20;
  double rate_burst = 0;
  bool trust_ip = false;
  std::string sample_interval = "60";
  unsigned http_threads = 2;
  unsigned udp_threads = 1;
  std::size_t max_torrents = 1'000'000;
  std::size_t max_peers = 100'000;
  bool quiet = false;
};

// "90", "90s", "5m", "1h" -> seconds; negative when malformed.
double duration_seconds(const std::string& s) {
  if (s.empty()) return -1;
  double unit = 1;
  std::string num = s;
  switch (s.back()) {
    case 's':
      num.pop_back();
      break;
    case 'm':
      unit = 60, num.pop_back();
      break;
    case 'h':
      unit = 3600, num.pop_back();
      break;
    default:
      break;
  }
  char* end = nullptr;
  const double v = std::strtod(num.c_str(), &end);
  if (num.empty() || end != num.c_str() + num.size() || !std::isfinite(v) || v <= 0) return -1;
  return v * unit;
}

// One info-hash a line, 40 hex digits (v1) or 64 (v2, kept as its first 20 bytes, as it
// travels to trackers); blank lines and lines starting with '#' are skipped.
// Capped at 64 MiB (a million v2 hashes with room to spare): a device or a wrong file is
// refused, not read into memory without end.
tr::Whitelist read_whitelist(const std::string& path) {
  std::string why;
  const auto bytes = netio::read_file(path, std::size_t{64} << 20, &why);
  if (!bytes) failure("--whitelist " + why);
  std::istringstream in(std::string(bytes->begin(), bytes->end()));
  tr::Whitelist out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    std::size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    line = line.substr(start);
    auto raw = (line.size() == 40 || line.size() == 64) ? from_hex(line, &why) : std::nullopt;
    if (!raw)
      usage_error("--whitelist " + path + " line " + std::to_string(n) + ": not an info-hash (40 or 64 hex digits)");
    tr::InfoHash h;
    std::copy_n(raw->begin(), 20, h.begin());
    out.insert(h);
  }
  return out;
}

int run_tracker(Opts& o) {
  tr::TrackerConfig cfg;
  if (o.http.empty() && o.udp.empty()) {
    o.http.push_back("0.0.0.0:6969");
    o.udp.push_back("0.0.0.0:6969");
  }
  cfg.http_listen = o.http;
  cfg.udp_listen = o.udp;
  cfg.swarm.interval = o.interval;
  cfg.swarm.min_interval = std::min(o.min_interval, o.interval);
  cfg.swarm.peer_timeout = o.peer_timeout;
  if (o.numwant > o.max_numwant) usage_error("--numwant is larger than --max-numwant");
  cfg.swarm.numwant_default = o.numwant;
  cfg.swarm.numwant_max = o.max_numwant;
  cfg.swarm.max_torrents = o.max_torrents;
  cfg.swarm.max_peers_per_torrent = o.max_peers;
  if (!o.whitelist.empty()) cfg.swarm.whitelist = read_whitelist(o.whitelist);
  cfg.rate_limit = o.rate_limit;
  cfg.rate_burst = o.rate_burst > 0 ? o.rate_burst : std::max(1.0, 5 * o.rate_limit);
  cfg.trust_ip_param = o.trust_ip;
  cfg.http_threads = o.http_threads;
  cfg.udp_threads = o.udp_threads;
  cfg.db_path = o.no_history ? std::string() : o.db;
  cfg.sample_interval = duration_seconds(o.sample_interval);
  if (cfg.sample_interval <= 0) usage_error("--sample-interval: want seconds, e.g. 60, 1s, 5m");
  if (!o.quiet) cfg.log = [](const std::string& l) { std::fprintf(stderr, "tracker: %s\n", l.c_str()); };

  boost::asio::io_context io(1);
  std::unique_ptr<tr::Service> svc;
  std::vector<std::string> urls;
  try {
    svc = std::make_unique<tr::Service>(io, cfg);
    urls = svc->start();
  } catch (const std::runtime_error& e) {
    failure(e.what());
  }
  // Caught before the listening lines: a SIGTERM right after them is a clean stop.
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  for (const auto& u : urls)
    std::printf("tracker listening on %s%s\n", u.c_str(), u.rfind("http", 0) == 0 ? "/announce" : "");
  std::fflush(stdout);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    if (!o.quiet) std::fprintf(stderr, "tracker: shutting down\n");
    svc->stop();
    io.stop();
  });
  io.run();
  svc.reset();
  return 0;
}

}  // namespace

void add_tracker(CLI::App& app, Runner& run) {
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("tracker", "Run a BitTorrent tracker: HTTP and UDP announce and scrape, /stats");
  sub->add_option("--http", o->http,
                  "HTTP announce, scrape and /stats on ADDRESS:PORT; repeatable (default 0.0.0.0:6969 with "
                  "--udp 0.0.0.0:6969 when neither is given; port 0: any)")
      ->check(check::listen_address());
  sub->add_option("--udp", o->udp, "UDP tracker (BEP 15) on ADDRESS:PORT; repeatable")->check(check::listen_address());
  sub->add_option("--db", o->db, "SQLite file for the stats history (default tracker.sqlite)")
      ->check(check::non_empty());
  sub->add_flag("--no-history", o->no_history, "Keep no stats history (no database)");
  sub->add_option("--whitelist", o->whitelist,
                  "Private mode: track only the info-hashes in FILE (hex, one a line); others are refused")
      ->check(check::non_empty());
  sub->add_option("--interval", o->interval, "Seconds clients wait between announces, 10..86400 (default 1800)")
      ->check(check::whole(10, 86400));
  sub->add_option("--min-interval", o->min_interval, "The least a client may wait, in seconds (default 60)")
      ->check(check::whole(1, 86400));
  sub->add_option("--peer-timeout", o->peer_timeout,
                  "Drop peers silent this many seconds (default 0: twice --interval)")
      ->check(check::whole(0, 7 * 86400));
  sub->add_option("--numwant", o->numwant, "Peers handed out when the client does not say, 0..1000 (default 50)")
      ->check(check::whole(0, 1000));
  sub->add_option("--max-numwant", o->max_numwant, "Most peers one HTTP announce gets, 1..1000 (default 200)")
      ->check(check::whole(1, 1000));
  sub->add_option("--rate-limit", o->rate_limit, "Requests a second per client address, 0 for none (default 20)")
      ->check(check::number(0, 1e9));
  sub->add_option("--rate-burst", o->rate_burst, "Requests an address may send at once (default 5 x --rate-limit)")
      ->check(check::number(0, 1e9));
  sub->add_flag("--trust-ip-param", o->trust_ip,
                "Honour the announce's ip parameter from any client (default: from loopback only)");
  sub->add_option("--sample-interval", o->sample_interval, "Stats history sampling period: 60, 1s, 5m (default 60s)");
  sub->add_option("--http-threads", o->http_threads, "HTTP server threads, 1..64 (default 2)")
      ->check(check::whole(1, 64));
  sub->add_option("--udp-threads", o->udp_threads, "UDP sockets (and threads) per address, 1..64 (default 1)")
      ->check(check::whole(1, 64));
  sub->add_option("--max-torrents", o->max_torrents, "Info-hashes tracked at most (default 1000000)")
      ->check(check::whole(1, 100'000'000));
  sub->add_option("--max-peers", o->max_peers, "Peers stored per torrent at most (default 100000)")
      ->check(check::whole(1, 10'000'000));
  sub->add_flag("--quiet", o->quiet, "No log lines on stderr");
  sub->callback([o, &run] { run = [o] { return run_tracker(*o); }; });
}

}  // namespace hf::cli
