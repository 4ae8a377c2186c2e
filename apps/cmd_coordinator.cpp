// `hashforge coordinator`: the mining coordinator (Stratum V1 over TCP and TLS, header jobs
// from a file, vardiff, statistics, the web dashboard). Parses options and runs net/coordinator.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <memory>

#include "apps/cli_checks.hpp"
#include "apps/cli_util.hpp"
#include "apps/commands.hpp"
#include "apps/tls_options.hpp"
#include "hashforge/target.hpp"
#include "net/coordinator/coordinator.hpp"
#include "net/coordinator/dashboard_routes.hpp"
#include "net/http/server.hpp"
#include "net/io/accept.hpp"
#include "net/io/duration.hpp"
#include "net/mining/file_task.hpp"

namespace hf::cli {

namespace {

struct Opts {
  coord::CoordinatorConfig cfg;
  coord::FileTaskConfig file;
  std::string file_nonces;
  std::string http;
  std::size_t http_max_connections = 128;
  std::string version_mask = "1fffe000";
  double idle_timeout = 900, auth_timeout = 60, line_timeout = 30, stats_interval = 30;
  bool quiet = false;
  TlsOptions upstream_tls;  // proxy mode: the pool's certificate
};

int run_coordinator(Opts& o) {
  coord::CoordinatorConfig& c = o.cfg;
  if (c.listen.empty() && c.tls_listen.empty()) c.listen.emplace_back("0.0.0.0:3333");
  if (!o.file.file.empty()) {
    if (!o.file_nonces.empty()) o.file.nonces = parse_u64(o.file_nonces, "--file-nonces");
    if (o.file.nonces < 1 || o.file.nonces > mining::kFileNonceSpace)
      usage_error("--file-nonces must be 1..4294967296 (8 hex digits)");
    c.file_task = o.file;
  }
  if (c.job_file.empty() && !c.file_task && c.upstream.empty())
    usage_error("coordinator needs a job: --header-job FILE (see examples/jobs/), --upstream URL or --file-task FILE");
  if (!c.job_file.empty() && !c.upstream.empty())
    usage_error("--header-job and --upstream are two job sources: give one");
  if (c.proxy_prefix_bytes < 1 || c.proxy_prefix_bytes > 4) usage_error("--proxy-prefix-bytes must be 1..4");
  if (!c.tls_listen.empty() && (c.cert_file.empty() || c.key_file.empty()))
    usage_error("--tls-listen needs --cert and --key");
  if (!c.seed_listen.empty() && !c.file_task) usage_error("--seed-listen serves the file task: give --file-task FILE");
  if (!c.seed_listen.empty() && !c.password.empty())
    std::fprintf(stderr,
                 "coordinator: note: --password guards Stratum only; the plain protocol on --seed-listen has no "
                 "authentication\n");
  if (c.seed_clients < 1 || c.seed_clients > 10000) usage_error("--seed-clients must be 1..10000");
  if (!(c.job_interval >= 0.2 && c.job_interval <= 86400)) usage_error("--job-interval must be 0.2..86400 seconds");
  Key probe;
  for (double d : {c.start_difficulty, c.vardiff_cfg.min_difficulty, c.vardiff_cfg.max_difficulty})
    if (!target_from_difficulty(d, &probe).empty() || !(d > 0))
      usage_error("difficulties must be positive numbers a target can be made from");
  if (c.vardiff_cfg.min_difficulty > c.vardiff_cfg.max_difficulty)
    usage_error("--min-difficulty is above --max-difficulty");
  if (!(c.vardiff_cfg.target_interval >= 0.05 && c.vardiff_cfg.target_interval <= 3600))
    usage_error("--share-interval must be 0.05..3600 seconds");
  if (o.version_mask.size() > 8 || o.version_mask.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
    usage_error("--version-mask must be up to 8 hex digits");
  c.version_mask = o.version_mask.empty() ? 0 : static_cast<std::uint32_t>(std::stoul(o.version_mask, nullptr, 16));
  // (Their ranges were checked while parsing; the conversion saturates all the same.)
  c.limits.line_timeout = netio::seconds_to(o.line_timeout);
  c.limits.idle_timeout = netio::seconds_to(o.idle_timeout);
  c.auth_timeout = netio::seconds_to(o.auth_timeout);
  if (o.quiet) c.log = [](const std::string&) {};
  // --tls-ca and the like check the upstream pool; the listeners' TLS is --cert and --key.
  if ((o.upstream_tls.insecure || !o.upstream_tls.ca.empty() || !o.upstream_tls.fingerprints.empty()) &&
      c.upstream.empty())
    usage_error("--tls-ca, --tls-fingerprint and --tls-insecure check the upstream pool: give --upstream URL");
  c.upstream_tls = tls_verify(o.upstream_tls, "coordinator", "the upstream pool");

  // Each connection is a descriptor: lift the soft limit toward the hard one (often 1024 of
  // 4096 or more), enough for both connection limits plus listeners and files; then fit the
  // limits under what we got, so that accept() never runs out of descriptors (it would leave
  // new clients unanswered in the backlog) and a refusal can always be sent.
  std::size_t http_max = o.http_max_connections;
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    const rlim_t want = std::min<rlim_t>(rl.rlim_max, static_cast<rlim_t>(c.max_connections + http_max) + 256);
    if (want > rl.rlim_cur) {
      rl.rlim_cur = want;
      setrlimit(RLIMIT_NOFILE, &rl);
      getrlimit(RLIMIT_NOFILE, &rl);
    }
    const netio::DescriptorPlan plan = netio::plan_descriptors(rl.rlim_cur, c.max_connections, http_max);
    if (!plan.note.empty() && !o.quiet) std::fprintf(stderr, "coordinator: %s\n", plan.note.c_str());
    c.max_connections = plan.stratum;
    http_max = plan.http;
  }
  boost::asio::io_context io(1);
  coord::Coordinator co(io, c);
  http::Settings web_settings;
  web_settings.max_connections = http_max;
  // /api/stats is megabytes with thousands of workers: a client that does not take its reply
  // within a few seconds is dropped, so slow readers hold neither connections nor memory long.
  web_settings.write_timeout = std::chrono::seconds(5);
  web_settings.send_buffer_bytes = 256 * 1024;  // and the kernel holds at most this for each
  web_settings.log = [&co](const std::string& l) { co.log(l); };
  http::Server web(io, coord::dashboard_routes([&co] {
                     const auto s = co.stats_body();
                     return coord::StatsDoc{s.doc, s.age};
                   }),
                   web_settings);
  try {
    co.start();
    for (const std::string& e : co.endpoints()) std::printf("listening %s\n", e.c_str());
    for (const std::string& e : co.seed_endpoints()) std::printf("listening %s\n", e.c_str());
    if (!o.http.empty()) std::printf("dashboard %s/\n", web.listen(o.http).c_str());
  } catch (const std::runtime_error& e) {
    failure(e.what());
  }
  std::fflush(stdout);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  boost::asio::steady_timer grace(io);
  // A coordinator that only runs a file task exits once the result is written (1 if it
  // could not be).
  int exit_code = 0;
  co.on_file_task_finished([&] {
    if (!c.job_file.empty() || !c.upstream.empty()) return;
    if (co.file_task() && !co.file_task()->outputs_written()) exit_code = 1;
    std::fprintf(
        stderr, exit_code ? "coordinator: file task done, its outputs not written\n" : "coordinator: file task done\n");
    co.shutdown();
    web.stop();
    grace.expires_after(std::chrono::milliseconds(300));
    grace.async_wait([&](boost::system::error_code) { io.stop(); });
  });
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    std::fprintf(stderr, "coordinator: shutting down (workers told to reconnect)\n");
    co.shutdown();
    web.stop();
    // Give the reconnect notices a moment to leave, then stop.
    grace.expires_after(std::chrono::milliseconds(300));
    grace.async_wait([&](boost::system::error_code) { io.stop(); });
  });
  boost::asio::steady_timer summary(io);
  std::function<void()> tick = [&] {
    summary.expires_after(netio::seconds_to(o.stats_interval));
    summary.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      const auto s = co.summary();
      std::fprintf(
          stderr, "coordinator: %lld workers, %s (1 min), %llu accepted, %llu rejected, best difficulty %.4g\n",
          static_cast<long long>(s.at("workers_connected").as_uint64()),
          si_rate(s.at("hashrate").at("1m").as_double(), "H").c_str(),
          static_cast<unsigned long long>(s.at("accepted").as_uint64()),
          static_cast<unsigned long long>(s.at("rejected").as_uint64()), s.at("best").at("difficulty").as_double());
      tick();
    });
  };
  if (!o.quiet && o.stats_interval > 0) tick();
  io.run();
  return exit_code;
}

}  // namespace

void add_coordinator(CLI::App& app, Runner& run) {
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("coordinator", "Run a mining coordinator: Stratum V1 for workers and miners");
  coord::CoordinatorConfig& c = o->cfg;
  sub->add_option("--listen", c.listen,
                  "Stratum over TCP on ADDRESS:PORT, port 0..65535 (repeatable; default 0.0.0.0:3333)")
      ->check(check::listen_address());
  sub->add_option("--tls-listen", c.tls_listen, "Stratum over TLS on ADDRESS:PORT (repeatable; needs --cert and --key)")
      ->check(check::listen_address());
  sub->add_option("--cert", c.cert_file, "TLS certificate chain (PEM)")->check(check::non_empty());
  sub->add_option("--key", c.key_file, "TLS private key (PEM)")->check(check::non_empty());
  sub->add_option("--header-job", c.job_file,
                  "Header work: a JSON file with mining.notify fields (examples/jobs/), at most 4 MiB")
      ->check(check::non_empty());
  sub->add_option("--upstream", c.upstream,
                  "Proxy mode: mine for this Stratum pool (stratum+tcp:// or stratum+ssl://); repeat for backups, "
                  "tried in order")
      ->check(check::pool_url());
  sub->add_option("--upstream-user", c.upstream_user,
                  "Proxy mode: the user (wallet.worker) given to the pool, 1..128 characters (default hashforge)")
      ->check(check::text(1, 128));
  sub->add_option("--upstream-password", c.upstream_password, "Proxy mode: the password given to the pool (default x)")
      ->check(check::text(0, 128));
  add_tls_options(sub, o->upstream_tls, "the upstream pool");
  sub->add_option("--proxy-prefix-bytes", c.proxy_prefix_bytes,
                  "Proxy mode: extranonce1 bytes each worker adds to the pool's, 1..4 (default 2: 65536 workers)")
      ->check(check::whole(1, 4));
  sub->add_option("--job-interval", c.job_interval, "Seconds between job refreshes, 0.2..86400 (default 30)")
      ->check(check::seconds(0.2, check::kDay));
  coord::FileTaskConfig& f = o->file;
  sub->add_option("--file-task", f.file,
                  "The file task: find the best '<8 hex> <id>' line to append to FILE (at most 64 MiB)")
      ->check(check::non_empty());
  sub->add_option("--file-id", f.identifier,
                  "File task: the identifier after the nonce, 1..64 printable ASCII characters (default G06)")
      ->check(check::identifier());
  sub->add_option("--file-seconds", f.seconds,
                  "File task: mining time per round, counted while workers mine, at most 1e7 (default 60; 0: until "
                  "searched)")
      ->check(check::seconds(0, check::kFileSeconds));
  sub->add_option("--file-rounds", f.rounds,
                  "File task: rounds, each appending one line to the last round's result, 1..1000 (default 1)")
      ->check(check::whole(1, 1000));
  sub->add_option("--file-nonces", o->file_nonces,
                  "File task: nonces 0..N-1 per round, N 1..4294967296 (default 4294967296, all of 8 hex digits)")
      ->check(check::non_empty());
  sub->add_option("--range-seconds", f.range_seconds,
                  "File task: a worker's range should take about this long, 0.05..3600 (default 5)")
      ->check(check::seconds(0.05, 3600));
  sub->add_option("--file-result", f.result_file, "File task: result file (default FILE.result)")
      ->check(check::non_empty());
  sub->add_option("--file-record", f.record_file, "File task: JSON record of the run (default RESULT.json)")
      ->check(check::non_empty());
  sub->add_option("--file-state", f.state_file, "File task: saved state for resuming (default RESULT.state.json)")
      ->check(check::non_empty());
  sub->add_option("--seed-listen", c.seed_listen,
                  "Serve the file task over the plain protocol on [HOST:]PORT (e.g. 0.0.0.0:50010)")
      ->check(check::seed_listen_address());
  sub->add_option("--seed-clients", c.seed_clients,
                  "Plain protocol: clients to wait for before sending the file, 1..10000 (default 1)")
      ->check(check::whole(1, 10000));
  sub->add_option("--difficulty", c.start_difficulty, "Starting share difficulty (default 1; below 1 allowed)")
      ->check(check::positive());
  sub->add_option("--min-difficulty", c.vardiff_cfg.min_difficulty, "Vardiff floor (default 1/65536)")
      ->check(check::positive());
  sub->add_option("--max-difficulty", c.vardiff_cfg.max_difficulty, "Vardiff ceiling (default 1e15)")
      ->check(check::positive());
  sub->add_option("--share-interval", c.vardiff_cfg.target_interval,
                  "Vardiff: seconds per share wanted, 0.05..3600 (default 4)")
      ->check(check::seconds(0.05, 3600));
  sub->add_flag("!--no-vardiff", c.vardiff,
                "No automatic retargeting: workers stay at --difficulty unless a miner suggests another");
  sub->add_option("--version-mask", o->version_mask,
                  "BIP 310 version bits workers may roll, hex (default 1fffe000; empty or 0 refuses rolling)");
  sub->add_option("--password", c.password, "Password mining.authorize must give, up to 1024 bytes (default: any)")
      ->check(check::text(0, 1024));
  sub->add_option("--idle-timeout", o->idle_timeout,
                  "Close a worker silent this many seconds, at most 604800 (a week; default 900)")
      ->check(check::seconds(0, check::kWeek, true));
  sub->add_option("--line-timeout", o->line_timeout,
                  "Close a connection that takes longer to finish a line, at most 604800 (default 30)")
      ->check(check::seconds(0, check::kWeek, true));
  sub->add_option("--auth-timeout", o->auth_timeout,
                  "Close a connection not authorized within this, at most 604800 (default 60)")
      ->check(check::seconds(0, check::kWeek, true));
  sub->add_option("--max-connections", c.max_connections,
                  "Stratum and plain-protocol connections held at once, 1..1000000 (default 20000; fitted under "
                  "ulimit -n)")
      ->check(check::whole(1, 1'000'000));
  sub->add_option("--reconnect-to", c.reconnect_to, "HOST:PORT (port 1..65535) sent with client.reconnect on shutdown")
      ->check(check::connect_address());
  sub->add_option("--share-log", c.share_log, "Append every accepted share to this file as a JSON line")
      ->check(check::non_empty());
  sub->add_option("--http", o->http, "Serve the dashboard and /api/stats on ADDRESS:PORT")
      ->check(check::listen_address());
  sub->add_option("--http-max-connections", o->http_max_connections,
                  "Dashboard connections held at once, 1..100000 (default 128; the newest over it gets 503)")
      ->check(check::whole(1, 100'000));
  sub->add_option("--stats-interval", o->stats_interval,
                  "Seconds between summary lines on stderr, 0.1..86400 (0: none)")
      ->check(check::seconds(0.1, check::kDay, false, true));
  sub->add_flag("--quiet,-q", o->quiet, "No log lines");
  sub->callback([&run, o] { run = [o] { return run_coordinator(*o); }; });
}

}  // namespace hf::cli
