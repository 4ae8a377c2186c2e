// `hashforge torrent dht`: a DHT node alone (BEP 5, BEP 32), as a bootstrap node for a
// swarm, or to look up an info-hash's peers (and announce one) from the command line; and
// the --dht options of download and seed.
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <cstdio>

#include "apps/cli_checks.hpp"
#include "apps/cli_util.hpp"
#include "apps/dht_cli.hpp"
#include "apps/torrent_cli.hpp"
#include "net/torrent/magnet.hpp"

namespace hf::cli {

namespace json = boost::json;
namespace asio = boost::asio;
namespace dht = torrent::dht;

namespace {

// The well-known routers mainstream clients join through, when no node is given.
const std::vector<std::string> kDefaultBootstrap = {"router.bittorrent.com:6881", "dht.transmissionbt.com:6881",
                                                    "router.utorrent.com:6881"};

json::object family_json(const dht::DhtStats& s) {
  return json::object{{"nodes", s.table},           {"replacements", s.replacements}, {"buckets", s.buckets},
                      {"queries_in", s.queries_in}, {"responses_in", s.responses_in}, {"queries_out", s.queries_out},
                      {"timeouts", s.timeouts},     {"rate_limited", s.rate_limited}, {"bad_tokens", s.bad_tokens},
                      {"malformed", s.malformed_in}, {"lookups_done", s.lookups_done}, {"infohashes", s.infohashes},
                      {"peers_stored", s.peers_stored}};
}

}  // namespace

void DhtFlags::add_to(CLI::App* cmd, bool standalone) {
  const std::string p = standalone ? "--" : "--dht-";
  if (!standalone) cmd->add_flag("--dht", on, "Find peers and announce through the DHT (BEP 5), besides trackers");
  cmd->add_option(p + "listen", listen,
                  "UDP PORT, or ADDRESS:PORT, for the DHT node (default: any free port, IPv4 and IPv6)")
      ->check(check::non_empty());
  cmd->add_option(p + "bootstrap", bootstrap,
                  "HOST:PORT of a DHT node to join through (repeatable; default: the well-known routers)");
  cmd->add_option(p + "state", state, "File keeping the DHT node's id and routing table across restarts")
      ->check(check::non_empty());
}

std::shared_ptr<dht::DhtService> DhtFlags::start(asio::io_context& io, bool verbose) const {
  dht::DhtOptions o;
  o.listen = listen;
  o.bootstrap = bootstrap.empty() ? kDefaultBootstrap : bootstrap;
  o.state_file = state;
  if (verbose) o.log = [](const std::string& s) { std::fprintf(stderr, "%s\n", s.c_str()); };
  auto svc = std::make_shared<dht::DhtService>(io, o);
  try {
    svc->start();
  } catch (const std::exception& e) {
    failure(e.what());
  }
  return svc;
}

json::object dht_json(const dht::DhtServiceStatus& s) {
  json::object o{{"id", s.id}, {"port", s.port4 ? s.port4 : s.port6}};
  if (s.port4) o["ipv4"] = family_json(s.v4);
  if (s.port6) o["ipv6"] = family_json(s.v6);
  return o;
}

namespace {

struct NodeOpts {
  DhtFlags flags;
  std::string lookup;       // 40 hex digits or a magnet link
  unsigned announce = 0;    // the port to announce with the lookup
  double seconds = 0;       // run this long (0: until interrupted, or the lookup's end)
  bool json = false, verbose = false;
};

int run_node(const NodeOpts& o) {
  std::optional<dht::NodeId> target;
  if (!o.lookup.empty()) {
    if (o.lookup.rfind("magnet:", 0) == 0) {
      std::string why;
      auto m = torrent::parse_magnet(o.lookup, &why);
      if (!m) usage_error("not a magnet link: " + why);
      if (m->btih) target = dht::node_id_from({reinterpret_cast<const char*>(m->btih->data()), 20});
      else if (m->btmh) target = dht::node_id_from({reinterpret_cast<const char*>(m->btmh->data()), 20});
    } else {
      target = dht::id_from_hex(o.lookup);
    }
    if (!target) usage_error("--lookup wants an info-hash (40 hex digits) or a magnet link: " + o.lookup);
  }
  if (o.announce && !target) usage_error("--announce needs --lookup");
  asio::io_context io;
  auto svc = o.flags.start(io, o.verbose);
  std::fprintf(stderr, "DHT node %s on UDP port %u\n", svc->status().id.c_str(), svc->port());
  bool stopping = false, interrupted = false;
  std::size_t found = 0;
  auto stop = [&] {
    stopping = true;
    svc->stop();
    io.stop();
  };
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    interrupted = true;
    stop();
  });
  asio::steady_timer timer(io), lookup_timer(io), end_timer(io);
  if (o.seconds > 0) {
    end_timer.expires_after(std::chrono::milliseconds(static_cast<long long>(o.seconds * 1000)));
    end_timer.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) stop();
    });
  }
  // Outlives the io_context's run: the lookups' callbacks call it again.
  std::function<void()> go;
  if (target) {
    // Wait for the table to fill from the bootstrap nodes, then look up (again every 2 s
    // until something is found or time runs out).
    go = [&] {
      lookup_timer.expires_after(std::chrono::seconds(2));
      lookup_timer.async_wait([&](const boost::system::error_code& ec) {
        if (ec || stopping) return;
        svc->get_peers(
            *target, static_cast<std::uint16_t>(o.announce),
            [&](const std::vector<std::string>& peers) {
              for (const auto& p : peers) {
                ++found;
                if (o.json)
                  std::printf("%s\n", json_text(json::object{{"peer", p}}).c_str());
                else std::printf("peer %s\n", p.c_str());
                std::fflush(stdout);
              }
            },
            [&](std::size_t) {
              if (stopping) return;
              if ((found > 0 && !o.announce) || (o.announce && o.seconds <= 0)) return stop();
              go();
            });
      });
    };
    go();
  }
  std::function<void()> report = [&] {
    timer.expires_after(std::chrono::seconds(o.json ? 1 : 10));
    timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      auto s = svc->status();
      if (o.json) {
        std::printf("%s\n", json_text(json::object{{"dht", dht_json(s)}}).c_str());
        std::fflush(stdout);
      } else if (!target) {
        std::fprintf(stderr, "%zu IPv4 and %zu IPv6 nodes, %llu queries answered, %zu info-hashes stored\n",
                     s.v4.table, s.v6.table, static_cast<unsigned long long>(s.v4.queries_in + s.v6.queries_in),
                     s.v4.infohashes + s.v6.infohashes);
      }
      report();
    });
  };
  report();
  io.run();
  if (!stopping) svc->stop();
  if (target && !o.announce) {
    std::fprintf(stderr, "%zu peer%s found\n", found, found == 1 ? "" : "s");
    if (found == 0) return interrupted ? 130 : kExitFailure;
  }
  return 0;
}

}  // namespace

void add_torrent_dht(CLI::App* torrent, Runner& run) {
  auto o = std::make_shared<NodeOpts>();
  CLI::App* cmd = torrent->add_subcommand("dht", "Run a DHT node (BEP 5): a bootstrap node, or look up a torrent's peers");
  o->flags.add_to(cmd, true);
  cmd->add_option("--lookup", o->lookup, "An info-hash (40 hex digits) or magnet link whose peers to find and print")
      ->check(check::non_empty());
  cmd->add_option("--announce", o->announce, "With --lookup: announce this TCP port as a peer of the torrent")
      ->check(check::whole(1, 65535));
  cmd->add_option("--for", o->seconds, "Stop after this many seconds (default: until interrupted, or the lookup's end)")
      ->check(check::seconds(0.001, 1e7));
  cmd->add_flag("--json", o->json, "JSON lines: found peers, and the node's status each second");
  cmd->add_flag("-v,--verbose", o->verbose, "Log bootstrap and state-file events on stderr");
  cmd->callback([o, &run] { run = [o] { return run_node(*o); }; });
}

}  // namespace hf::cli
