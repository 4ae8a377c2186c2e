// `hashforge torrent download FILE.torrent` and `hashforge torrent seed FILE.torrent DATA`:
// one torrent over the peer wire protocol (net/torrent/peer_client), with a progress line
// on stderr (rate, peers, ETA) or one JSON status object a second on stdout (--json).
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <unistd.h>

#include "apps/cli_checks.hpp"
#include "apps/cli_util.hpp"
#include "apps/dht_cli.hpp"
#include "apps/torrent_cli.hpp"
#include "hashforge/hex.hpp"
#include "net/torrent/client_json.hpp"
#include "net/torrent/peer_client.hpp"

namespace hf::cli {
namespace {

namespace json = boost::json;
namespace asio = boost::asio;

struct Opts {
  bool seed_mode = false;  // `seed`: runs until interrupted
  std::string torrent, data, output = ".";
  std::vector<std::string> peers;
  std::string listen;  // empty: any free port on every address, IPv6 and IPv4
  bool no_trackers = false, keep_seeding = false, json = false, quiet = false, sequential = false, verbose = false;
  bool no_recheck = false, force_recheck = false, buffered_writes = false;
  std::size_t max_peers = 60;
  std::string backend;
  std::string upload_limit, download_limit;
  std::string save_torrent;  // a magnet link: the .torrent written once the metadata is in
  DhtFlags dht;
};

json::object status_json(const torrent::ClientStatus& s, const torrent::dht::DhtService* dht) {
  json::object o = torrent::client_status_json(s);
  if (dht) {
    json::object d = dht_json(dht->status());
    d["peers_found"] = s.dht_peers;
    d["lookups"] = s.dht_lookups;
    o["dht"] = std::move(d);
  }
  return o;
}

void print_line(const torrent::ClientStatus& s, bool tty) {
  if (!s.has_metadata) {
    std::fprintf(stderr, "%sfetching the metadata: %u of %u pieces from %zu peer%s%s", tty ? "\r" : "", s.metadata_got,
                 s.metadata_pieces, s.peers.size(), s.peers.size() == 1 ? "" : "s", tty ? "   " : "\n");
    std::fflush(stderr);
    return;
  }
  const double frac = s.total ? static_cast<double>(s.total - s.left) / static_cast<double>(s.total) : 1.0;
  const int width = 24;
  const int fill = static_cast<int>(frac * width);
  std::string bar(static_cast<std::size_t>(fill), '=');
  bar.resize(width, ' ');
  std::string eta = "-";
  if (s.complete)
    eta = "done";
  else if (s.download_rate > 1)
    eta = std::to_string(static_cast<long long>(std::ceil(static_cast<double>(s.left) / s.download_rate))) + " s";
  std::fprintf(stderr, "%s[%s] %5.1f%%  down %s  up %s  %zu peer%s  ETA %s%s", tty ? "\r" : "", bar.c_str(), 100 * frac,
               si_rate(s.download_rate, "B").c_str(), si_rate(s.upload_rate, "B").c_str(), s.peers.size(),
               s.peers.size() == 1 ? "" : "s", eta.c_str(), tty ? "   " : "\n");
  std::fflush(stderr);
}

int run_client(const Opts& o) {
  const bool is_magnet = !o.seed_mode && o.torrent.rfind("magnet:", 0) == 0;
  std::optional<torrent::Magnet> magnet;
  torrent::Metainfo m;
  if (is_magnet) {
    std::string why;
    magnet = torrent::parse_magnet(o.torrent, &why);
    if (!magnet) usage_error("not a magnet link: " + why);
    if (o.peers.empty() && magnet->peers.empty() && (magnet->trackers.empty() || o.no_trackers) && !o.dht.on)
      usage_error("the magnet link names no tracker and no peer (x.pe): give --peer HOST:PORT, or --dht");
    m.name = magnet->name.empty() ? "(magnet)" : magnet->name;
  } else {
    if (!o.save_torrent.empty()) usage_error("--save-torrent is for magnet links");
    m = load_torrent(o.torrent);
  }
  // First: everything below that holds its timers or sockets (the DHT service in
  // co.dht) must go before it does.
  asio::io_context io;
  torrent::ClientOptions co;
  co.data = o.seed_mode ? resolve_data(m, o.data) : is_magnet ? o.output : o.output + "/" + m.name;
  co.save_torrent = o.save_torrent;
  co.listen = o.listen;
  co.peers = o.peers;
  co.trackers = !o.no_trackers;
  co.recheck = !o.no_recheck;
  co.complete_only = o.seed_mode;
  co.direct_writes = !o.buffered_writes;
  co.trust_resume = !o.force_recheck;
  co.max_connections = o.max_peers;
  check_torrent_backend(o.backend);
  co.backend = o.backend;
  co.session.sequential = o.sequential;
  if (!o.upload_limit.empty()) co.upload_limit = static_cast<double>(parse_size(o.upload_limit, "--upload-limit"));
  if (!o.download_limit.empty())
    co.download_limit = static_cast<double>(parse_size(o.download_limit, "--download-limit"));
  if (o.verbose)
    co.log = [](const std::string& s) { std::fprintf(stderr, "%s\n", s.c_str()); };
  if (m.is_private && !o.peers.empty() && !o.no_trackers)
    std::fprintf(stderr, "note: a private torrent (BEP 27): peers given by hand are used as well as its trackers'\n");

  if (!o.dht.on && (!o.dht.listen.empty() || !o.dht.bootstrap.empty() || !o.dht.state.empty()))
    usage_error("--dht-listen, --dht-bootstrap and --dht-state need --dht");
  if (o.dht.on) {
    if (m.is_private)
      std::fprintf(stderr, "note: a private torrent (BEP 27): no DHT, its trackers alone\n");
    else
      co.dht = o.dht.start(io, o.verbose);
  }
  torrent::PeerClient client = is_magnet ? torrent::PeerClient(io, *magnet, co) : torrent::PeerClient(io, m, co);
  bool finished = false, interrupted = false, stopping = false;
  auto stop = [&] {
    if (stopping) return;
    stopping = true;
    client.stop([&] { io.stop(); });
  };
  client.on_complete = [&] {
    finished = true;
    if (!o.quiet && !o.json && !o.seed_mode)
      std::fprintf(stderr, "%sdownload complete: %s\n", isatty(2) ? "\n" : "",
                   is_magnet ? (o.output + "/" + client.status().name).c_str() : co.data.c_str());
    if (!o.seed_mode && !o.keep_seeding) stop();
  };
  std::string failed;
  client.on_failed = [&](const std::string& why) {
    failed = why;
    stop();
  };
  client.on_metadata = [&] {
    if (o.quiet || o.json) return;
    auto s = client.status();
    std::fprintf(stderr, "%smetadata in after %.0f ms: %s, %u pieces, %s\n", isatty(2) ? "\n" : "", s.metadata_ms,
                 s.name.c_str(), s.pieces, human_size(s.total).c_str());
  };
  try {
    client.start();
  } catch (const std::exception& e) {
    failure(e.what());
  }
  if (!o.quiet && !o.json) {
    auto s = client.status();
    if (is_magnet)
      std::fprintf(stderr, "%s: magnet link, fetching the metadata; listening on port %u\n", m.name.c_str(), s.port);
    else
      std::fprintf(stderr, "%s: %u pieces, %u held, listening on port %u\n", m.name.c_str(), s.pieces, s.have, s.port);
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    interrupted = true;
    stop();
  });
  const bool tty = isatty(2);
  asio::steady_timer timer(io);
  int ticks = 0;
  std::function<void()> report = [&] {
    timer.expires_after(std::chrono::seconds(1));
    timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      auto s = client.status();
      ++ticks;
      if (o.json)
        std::printf("%s\n", json_text(status_json(s, co.dht.get())).c_str()), std::fflush(stdout);
      else if (!o.quiet && (tty || ticks % 5 == 0))
        print_line(s, tty);
      report();
    });
  };
  report();
  io.run();
  if (co.dht) co.dht->stop();  // its table saved
  auto s = client.status();
  if (o.json) {
    json::object fin = status_json(s, co.dht.get());
    fin["event"] = interrupted ? "interrupted" : "finished";
    std::printf("%s\n", json_text(fin).c_str());
  } else if (!o.quiet) {
    if (tty) std::fprintf(stderr, "\n");
    std::fprintf(stderr, "%s: %u of %u pieces, %s down, %s up, %u hash failure%s, %zu banned\n", s.name.c_str(), s.have,
                 s.pieces, human_size(s.downloaded).c_str(), human_size(s.uploaded).c_str(), s.hash_failures,
                 s.hash_failures == 1 ? "" : "s", s.banned);
  }
  if (!failed.empty()) failure(failed);
  if (o.seed_mode) return 0;
  if (!s.complete) return interrupted ? 130 : kExitFailure;
  return 0;
}

void add_common(CLI::App* cmd, Opts* o) {
  cmd->add_option("--peer", o->peers, "HOST:PORT of a peer to connect to (repeatable), besides the trackers' peers")
      ->check(check::connect_address());
  cmd->add_option(
         "--listen", o->listen,
         "ADDRESS:PORT to accept peers on; [::]:PORT is IPv6 and IPv4 (default: any free port on every address); "
         "trackers are announced to over the family it accepts on")
      ->check(check::non_empty());
  cmd->add_flag("--no-trackers", o->no_trackers, "Do not announce to the torrent's trackers");
  cmd->add_flag("--json", o->json, "One JSON status object a second on stdout, and a last one at the end");
  cmd->add_flag("-q,--quiet", o->quiet, "No progress line");
  cmd->add_flag("-v,--verbose", o->verbose, "Log connections, trackers and drops on stderr");
  cmd->add_option("--max-peers", o->max_peers, "Connections at most")->check(check::whole(1, 10000));
  cmd->add_option("--backend", o->backend,
                  "Engine backend for checking the data already on disk (default: the best); pieces as they arrive are "
                  "checked one at a time on the fastest single-stream code");
  CLI::Option* no_recheck =
      cmd->add_flag("--no-recheck", o->no_recheck,
                    "Skip hashing the data already on disk: pieces its resume data does not vouch for are downloaded "
                    "again (and written over)");
  cmd->add_flag("--buffered-writes", o->buffered_writes,
                "Write pieces through the page cache (default: around it, O_DIRECT, where the file system allows)");
  cmd->add_flag("--recheck", o->force_recheck, "Hash every piece on disk at start, whatever the resume data says")
      ->excludes(no_recheck);
  cmd->add_option("--upload-limit", o->upload_limit, "Bytes a second sent at most (\"2M\", \"500K\")");
  cmd->add_option("--download-limit", o->download_limit, "Bytes a second received at most (\"10M\")");
  o->dht.add_to(cmd, false);
}

}  // namespace

// `torrent scrape`: each tracker's counts for the torrent's swarm; the exit status says
// whether any tracker answered.
int run_scrape(const std::string& file, bool as_json) {
  const torrent::Metainfo m = load_torrent(file);
  if (m.tracker_tiers.empty()) failure(file + ": the torrent names no tracker");
  asio::io_context io;
  const auto results = torrent::scrape_trackers(io, m);
  bool any = false;
  for (const auto& r : results) {
    any |= r.error.empty();
    if (as_json) {
      json::object o{{"tracker", r.url}};
      if (r.error.empty()) {
        o["seeders"] = r.seeders;
        o["completed"] = r.completed;
        o["leechers"] = r.leechers;
      } else {
        o["error"] = r.error;
      }
      print_json(o);
    } else if (r.error.empty()) {
      std::printf("%s: %lld seeders, %lld leechers, %lld completed\n", r.url.c_str(), static_cast<long long>(r.seeders),
                  static_cast<long long>(r.leechers), static_cast<long long>(r.completed));
    } else {
      std::printf("%s: %s\n", r.url.c_str(), r.error.c_str());
    }
  }
  return any ? 0 : kExitFailure;
}

void add_torrent_client(CLI::App* torrent, Runner& run) {
  {
    struct ScrapeOpts {
      std::string torrent;
      bool json = false;
    };
    auto o = std::make_shared<ScrapeOpts>();
    CLI::App* cmd = torrent->add_subcommand("scrape", "Ask the torrent's trackers how many seeders and leechers its swarm has");
    cmd->add_option("torrent", o->torrent, "The .torrent file")->required()->check(check::non_empty());
    cmd->add_flag("--json", o->json, "One JSON object per tracker, on its own line");
    cmd->callback([o, &run] { run = [o] { return run_scrape(o->torrent, o->json); }; });
  }
  {
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = torrent->add_subcommand("download", "Download a torrent from its swarm (every piece checked on the engine)");
    cmd->add_option("torrent", o->torrent, "The .torrent file or a magnet link (magnet:?xt=urn:btih:...)")
        ->required()
        ->check(check::non_empty());
    cmd->add_option("--save-torrent", o->save_torrent, "A magnet link: write the .torrent here once its metadata is in")
        ->check(check::non_empty());
    cmd->add_option("-o,--output", o->output, "Folder to download into (the torrent's file or folder goes inside)")
        ->check(check::non_empty());
    cmd->add_flag("--seed", o->keep_seeding, "Keep seeding after the download completes, until interrupted");
    cmd->add_flag("--sequential", o->sequential, "Pieces in order (for streaming) rather than rarest first");
    add_common(cmd, o.get());
    cmd->callback([o, &run] { run = [o] { return run_client(*o); }; });
  }
  {
    auto o = std::make_shared<Opts>();
    o->seed_mode = true;
    CLI::App* cmd = torrent->add_subcommand("seed", "Serve a torrent's data to its swarm until interrupted");
    cmd->add_option("torrent", o->torrent, "The .torrent file")->required()->check(check::non_empty());
    cmd->add_option("data", o->data, "The content (a file, or the torrent's folder) or the folder that holds it")
        ->required()
        ->check(check::non_empty());
    add_common(cmd, o.get());
    cmd->callback([o, &run] { run = [o] { return run_client(*o); }; });
  }
}

}  // namespace hf::cli
