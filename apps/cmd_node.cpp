// `hashforge node`: the proof-of-work node (docs/node.md). Parses options and runs net/node.
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "apps/cli_checks.hpp"
#include "apps/cli_util.hpp"
#include "apps/commands.hpp"
#include "net/http/server.hpp"
#include "net/node/node.hpp"
#include "net/node/node_api.hpp"
#include "net/node/wire_peers.hpp"

namespace hf::cli {

namespace {

struct Opts {
  std::string listen = "127.0.0.1:8000";
  std::string data = "hashforge-node";
  std::string public_url;
  std::string chain_spec;
  int difficulty = 2;
  std::string mine = "off";
  double block_interval = 0;
  std::string backend;
  unsigned threads = 0;
  double mining_share = 1;
  std::vector<std::string> allow;
  std::size_t max_body = 1024 * 1024;
  unsigned http_threads = 2;
  double rate_limit = 0;
  std::size_t max_pending = 20'000;
  bool reindex = false;
  bool quiet = false;
  node::WireConfig wire;
  bool print_key_id = false;
  std::string tls_cert, tls_key;
  std::vector<std::string> byzantine;
};

int run_node(Opts& o) {
  if (o.print_key_id) {
    if (o.wire.cert_file.empty()) usage_error("--print-key-id needs --node-cert FILE");
    try {
      std::printf("%s\n", node::key_id_of_cert_file(o.wire.cert_file).c_str());
    } catch (const std::runtime_error& e) {
      usage_error(std::string("--node-cert: ") + e.what());
    }
    return 0;
  }
  bool links = !o.wire.listen.empty() || !o.wire.connect.empty();
  if (links && (o.wire.cert_file.empty() || o.wire.key_file.empty()))
    usage_error("--peer-listen and --connect need --node-cert and --node-key");
  node::NodeConfig cfg;
  if (!o.chain_spec.empty()) {
    Bytes text = read_file(o.chain_spec, 1024 * 1024);
    std::string why;
    auto spec = node::parse_spec(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()), &why);
    if (!spec) usage_error("chain spec " + o.chain_spec + ": " + why);
    cfg.spec = std::move(*spec);
  } else {
    cfg.spec = node::default_spec(o.difficulty);
  }
  if (o.mine != "off" && o.mine != "auto" && o.mine != "always") usage_error("--mine must be off, auto or always");
  cfg.mine_auto = o.mine == "auto" || o.mine == "always";
  cfg.mine_always = o.mine == "always";
  cfg.block_interval = o.block_interval;
  cfg.backend = o.backend;
  cfg.threads = o.threads;
  cfg.mining_share = o.mining_share;
  cfg.reindex = o.reindex;
  cfg.rate_limit = o.rate_limit;
  cfg.max_pending = o.max_pending;
  for (const auto& m : o.byzantine)
    if (!node::set_byzantine_mode(&cfg.byzantine, m))
      usage_error("--byzantine: unknown mode " + m +
                  " (wrong-reads, empty-blocks, forge-ops, withhold, equivocate, private, slow-disk[=SECONDS])");
  if (cfg.byzantine.any()) std::fprintf(stderr, "node: WARNING: Byzantine test mode: this node misbehaves on purpose\n");
  if (!o.backend.empty()) {
    auto chosen = Engine::instance().choose(Op::search_sha256, o.backend);
    if (!chosen) usage_error(chosen.error());
  }
  if (!o.allow.empty()) {
    std::vector<node::Cidr> nets;
    for (const auto& a : o.allow) {
      std::string why;
      auto c = node::parse_cidr(a, &why);
      if (!c) usage_error("--allow-peer: " + why);
      nets.push_back(*c);
    }
    cfg.allow = node::Allowlist(std::move(nets));
  }
  const bool made_dir = ::mkdir(o.data.c_str(), 0755) == 0;
  if (!made_dir && errno != EEXIST) failure("cannot create --data " + o.data + ": " + std::strerror(errno));
  cfg.db_path = o.data + "/node.db";
  // A node that fails to start leaves no database behind that it made (node.db, and pool.db
  // on a ledger network: those absent now are this run's). An empty one would tie the folder
  // to this run's network, refusing the next start with another chain spec, for a run that
  // never happened.
  std::vector<std::string> fresh;
  for (const std::string& db : {cfg.db_path, o.data + "/pool.db"}) {
    struct stat st {};
    if (::lstat(db.c_str(), &st) != 0) fresh.push_back(db);
  }
  if (!o.quiet) cfg.log = [](const std::string& l) { std::fprintf(stderr, "node: %s\n", l.c_str()); };

  boost::asio::io_context io;
  http::Settings hs;
  hs.limits.max_body = o.max_body;
  hs.io_threads = o.http_threads;
  hs.max_connections = 1024;
  if (o.tls_cert.empty() != o.tls_key.empty()) usage_error("--tls-cert and --tls-key go together");
  hs.tls_cert_file = o.tls_cert;
  hs.tls_key_file = o.tls_key;

  std::unique_ptr<node::Node> n;
  std::unique_ptr<http::Server> web;
  auto abandon = [&](const std::string& why, bool usage) {
    web.reset();
    n.reset();  // the database closed before its files go
    for (const std::string& db : fresh)
      for (const char* end : {"", "-wal", "-shm", "-journal"}) ::unlink((db + end).c_str());
    if (made_dir) ::rmdir(o.data.c_str());
    if (usage) usage_error(why);
    failure(why);
  };
  try {
    n = std::make_unique<node::Node>(cfg);
  } catch (const node::StoreError& e) {
    abandon(e.what(), false);
  }
  std::string url;
  try {
    web = std::make_unique<http::Server>(io, node::make_node_router(*n), hs);
    url = web->listen(o.listen);
  } catch (const std::runtime_error& e) {
    abandon(e.what(), false);
  }
  // The URL peers are told; by default the one listened on.
  std::string pub = o.public_url.empty() ? url : o.public_url;
  if (pub.empty() || pub.back() != '/') pub += '/';
  // Seed peers speak plain HTTP: an HTTPS node has no seed-peer URL unless one is given.
  if (!o.public_url.empty() || o.tls_cert.empty()) {
    std::string why;
    if (!node::parse_peer_url(pub, &why)) abandon("--public-url: " + why, true);
  }
  n->set_public_url(pub);
  std::unique_ptr<node::WirePeers> wire;
  std::string wire_at;
  if (links) {
    if (cfg.spec.nodes.empty()) abandon("peer links need a chain spec listing the network's nodes (\"nodes\")", true);
    o.wire.log = cfg.log;
    try {
      wire = std::make_unique<node::WirePeers>(io, *n, o.wire);
      wire_at = wire->start();
    } catch (const std::runtime_error& e) {
      abandon(e.what(), false);
    }
  }
  // Signals are caught before anyone is told the node is up: a SIGTERM right after the
  // listening line is a clean stop, not a kill.
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  n->start();
  std::printf("node listening on %s/\n", url.c_str());
  if (!wire_at.empty()) std::printf("links listening on %s as %s\n", wire_at.c_str(), wire->name().c_str());
  std::fflush(stdout);

  signals.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    if (!o.quiet) std::fprintf(stderr, "node: shutting down\n");
    web->stop();
    if (wire) wire->stop();
    io.stop();
  });
  io.run();
  web.reset();  // joins the HTTP threads: no handler runs past this
  n->stop();
  wire.reset();
  return 0;
}

}  // namespace

void add_node(CLI::App& app, Runner& run) {
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("node", "Run a proof-of-work blockchain node (the tutorial node's HTTP API)");
  sub->add_option("--listen", o->listen, "HTTP API and web page on ADDRESS:PORT (default 127.0.0.1:8000; port 0: any)")
      ->check(check::listen_address());
  sub->add_option("--data", o->data, "Directory of the node's database node.db (default ./hashforge-node)")
      ->check(check::non_empty());
  sub->add_option("--public-url", o->public_url, "The URL peers reach this node at (default: the listening URL)");
  sub->add_option("--chain-spec", o->chain_spec,
                  "The network's chain spec (JSON: genesis, difficulty or target, scheme)")
      ->check(check::non_empty());
  sub->add_option("--difficulty", o->difficulty,
                  "Without a chain spec: leading hex zeros of a block hash, 1..64 (default 2)")
      ->check(check::whole(1, 64));
  sub->add_option("--mine", o->mine,
                  "off: mine on GET /mine only; auto: whenever transactions are pending; always: without pause, "
                  "empty blocks too (a retargeting network keeps the interval) (default off)");
  sub->add_option("--block-interval", o->block_interval,
                  "With --mine auto: also mine an empty block after this many quiet seconds (0: never)")
      ->check(check::seconds(0, check::kDay, false, true));
  sub->add_option("--backend", o->backend, "Engine backend for mining (default: the best)");
  sub->add_option("--threads", o->threads, "Mining threads (default: every core)")->check(check::whole(0, kMaxThreads));
  sub->add_option("--mining-share", o->mining_share,
                  "Fraction of the mining threads' time spent mining, over 0 up to 1 (default 1): a node's share "
                  "of the machine's hash power")
      ->check(check::number(0, 1, true));
  sub->add_option("--allow-peer", o->allow,
                  "Addresses (CIDR) that may act as peers and that the node may contact; repeatable "
                  "(default 127.0.0.0/8 and ::1)");
  sub->add_option("--max-body", o->max_body, "Largest request body in bytes, 1024..67108864 (default 1 MiB)")
      ->check(check::whole(1024, 64 * 1024 * 1024));
  sub->add_option("--http-threads", o->http_threads, "HTTP server threads, 1..256 (default 2)")
      ->check(check::whole(1, 256));
  sub->add_option("--rate-limit", o->rate_limit, "Write requests per second per client address, 0 for none (default 0)")
      ->check(check::number(0, 1e9));
  sub->add_option("--max-pending", o->max_pending,
                  "Ledger operations pending at most; past it clients get 503 and retry (default 20000)")
      ->check(check::whole(1, 10'000'000));
  sub->add_option("--peer-listen", o->wire.listen,
                  "Peer links from other hashforge nodes (mutual TLS 1.3) on ADDRESS:PORT")
      ->check(check::listen_address());
  sub->add_option("--connect", o->wire.connect, "A hashforge peer's link address HOST:PORT to dial; repeatable")
      ->check(check::connect_address());
  sub->add_option("--node-cert", o->wire.cert_file,
                  "This node's TLS certificate (PEM); its public key must be in the chain spec's nodes")
      ->check(check::non_empty());
  sub->add_option("--node-key", o->wire.key_file, "This node's TLS private key (PEM)")->check(check::non_empty());
  sub->add_option("--tls-cert", o->tls_cert, "Serve the API over HTTPS with this certificate (PEM; with --tls-key)")
      ->check(check::non_empty());
  sub->add_option("--tls-key", o->tls_key, "The HTTPS certificate's private key (PEM)")->check(check::non_empty());
  sub->add_option(
      "--byzantine", o->byzantine,
      "TEST MODE: misbehave on purpose (wrong-reads, empty-blocks, forge-ops, withhold, equivocate, private, "
      "slow-disk[=SECONDS]); repeatable");
  sub->add_flag("--print-key-id", o->print_key_id,
                "Print the key id of --node-cert (for the chain spec's nodes) and exit");
  sub->add_flag("--reindex", o->reindex, "Rebuild every index from the stored blocks, checking every hash");
  sub->add_flag("--quiet", o->quiet, "No log lines on stderr");
  sub->callback([o, &run] { run = [o] { return run_node(*o); }; });
}

}  // namespace hf::cli
