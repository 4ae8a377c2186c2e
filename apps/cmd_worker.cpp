// `hashforge worker`: mine for a coordinator or pool over Stratum V1 on any engine backend.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>

#include "apps/cli_checks.hpp"
#include "apps/cli_util.hpp"
#include "apps/commands.hpp"
#include "apps/tls_options.hpp"
#include "net/io/duration.hpp"
#include "net/mining/file_task.hpp"
#include "net/worker/pool_client.hpp"
#include "net/worker/seed_client.hpp"

namespace hf::cli {

namespace {

struct Opts {
  std::vector<std::string> urls;
  std::string user = "hashforge", password = "x", backend, id = "G06";
  unsigned threads = 0;
  double intensity = 100, seconds = 0, stats_interval = 10;
  bool json = false, quiet = false;
  TlsOptions tls;
};

// The effective rate first (nonces per wall-clock second, --intensity rests included: what
// the pool sees and what a coordinator is told), then the rate while hashing when they differ.
std::string rates_text(const worker::Miner::Rates& r, double intensity) {
  std::string s = si_rate(r.total, "H");
  if (intensity < 100)
    s += " effective (" + si_rate(r.hashing, "H") + " while hashing, " + std::to_string(static_cast<int>(intensity)) +
         "% intensity)";
  if (r.per_backend.size() > 1 || (r.per_backend.size() == 1 && r.per_backend.begin()->second > 0)) {
    s += " [";
    bool first = true;
    for (const auto& [b, v] : r.per_backend) {
      s += (first ? "" : ", ") + b + " " + si_rate(v, "H");
      first = false;
    }
    s += "]";
  }
  return s;
}

std::string difficulty_text(double d) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", d);
  return b;
}

// --url seed://HOST:PORT: one exchange of the plain protocol.
int run_seed(const Opts& o) {
  if (o.urls.size() != 1) usage_error("seed:// takes exactly one --url (the protocol has no failover)");
  // The plain protocol is one exchange at full speed over plain TCP: options it cannot honour
  // are refused rather than silently ignored.
  if (o.intensity != 100) usage_error("--intensity does not apply to seed:// (one search at full speed)");
  if (!o.tls.ca.empty() || !o.tls.fingerprints.empty() || o.tls.insecure)
    usage_error("--tls-ca, --tls-fingerprint and --tls-insecure are for stratum+ssl://, not seed://");
  std::string why;
  auto url = worker::parse_seed_url(o.urls[0], &why);
  if (!url) usage_error(why);
  if (!mining::valid_identifier(o.id, &why)) usage_error("--id: " + why);
  if (!(o.seconds > 0 && o.seconds <= 1e7)) usage_error("--seconds must be in (0, 1e7] for seed://");
  if (o.backend == "all" || o.backend.find(':') != std::string::npos) Engine::instance().probe_devices();
  if (auto names = Engine::instance().choose_list(Op::search_sha256, o.backend); !names)
    usage_error(names.error());  // a bad name is a usage error now
  worker::SeedOptions so;
  so.url = *url;
  so.identifier = o.id;
  so.seconds = o.seconds;
  so.backend = o.backend;
  so.threads = o.threads;
  so.log = [&o](const std::string& line) {
    if (!o.quiet) std::fprintf(stderr, "worker: %s\n", line.c_str());
  };
  worker::SeedOutcome r;
  try {
    r = worker::seed_mine(so);
  } catch (const std::runtime_error& e) {
    failure(o.urls[0] + ": " + e.what());
  }
  const std::string line = mining::file_line(r.nonce, o.id);
  const int zeros = mining::leading_zero_hex(r.hash);
  if (o.json) {
    print_json(boost::json::object{{"nonce", mining::nonce_hex8(r.nonce)},
                                   {"line", line},
                                   {"hash", r.hash.hex()},
                                   {"leading_zero_hex", zeros},
                                   {"file_size", r.file.size()},
                                   {"hashes", r.hashes},
                                   {"seconds", r.seconds},
                                   {"rate", r.seconds > 0 ? r.hashes / r.seconds : 0.0},
                                   {"backend", r.backend}});
  } else {
    std::printf("sent %s: line '%s' -> %s (%d zeros), %s on %s\n", mining::nonce_hex8(r.nonce).c_str(), line.c_str(),
                r.hash.hex().c_str(), zeros, si_rate(r.seconds > 0 ? r.hashes / r.seconds : 0, "H").c_str(),
                r.backend.c_str());
  }
  return 0;
}

int run_worker(Opts& o) {
  const bool seed = !o.urls.empty() && o.urls[0].rfind("seed://", 0) == 0;
  if (seed) {
    if (o.seconds == 0) o.seconds = 60;  // the seed system's mining time
    return run_seed(o);
  }
  worker::ClientConfig cc;
  for (const std::string& u : o.urls) {
    std::string why;
    auto pu = worker::parse_pool_url(u, &why);
    if (!pu) usage_error(why);
    cc.urls.push_back(*pu);
  }
  if (cc.urls.empty()) usage_error("worker needs --url stratum+tcp://HOST:PORT");
  if (o.id != "G06") usage_error("--id is for seed:// (a coordinator's file task names its own identifier)");
  if (o.user.empty() || o.user.size() > 128) usage_error("--user must be 1..128 characters");
  if (!(o.intensity >= 1 && o.intensity <= 100)) usage_error("--intensity must be 1..100 percent");
  if (!(o.seconds >= 0 && o.seconds <= check::kYear)) usage_error("--seconds must be 0..31536000 (a year)");
  cc.user = o.user;
  cc.password = o.password;
  cc.tls = tls_verify(o.tls, "worker", "the pool");

  // Resolve the backend now, so a bad name is a usage error rather than a failed search.
  Engine& e = Engine::instance();
  if (o.backend == "all" || o.backend.find(':') != std::string::npos) e.probe_devices();
  auto names = e.choose_list(Op::search_sha256d, o.backend);
  if (!names) usage_error(names.error());
  std::string devices;
  for (const std::string& n : *names) devices += (devices.empty() ? "" : ",") + n;
  cc.hello = {{"backend", o.backend.empty() ? devices : o.backend}, {"devices", devices}};

  boost::asio::io_context io(1);
  worker::MinerConfig mc;
  mc.backend = o.backend;
  mc.threads = o.threads;
  mc.duty = o.intensity / 100;
  std::unique_ptr<worker::PoolClient> client;
  worker::Miner miner(
      mc, [&io, &client](const worker::FoundShare& s) { boost::asio::post(io, [&client, s] { client->submit(s); }); },
      [&io, &client](const worker::FileReport& r) { boost::asio::post(io, [&client, r] { client->file_done(r); }); });
  auto log = [&o](const std::string& line) {
    if (!o.quiet) std::fprintf(stderr, "worker: %s\n", line.c_str());
  };
  try {
    client = std::make_unique<worker::PoolClient>(io, cc, miner, log);
  } catch (const std::runtime_error& e) {
    failure(e.what());  // an unreadable --tls-ca file
  }
  client->start();
  log("mining on " + devices +
      (o.intensity < 100 ? " at " + std::to_string(static_cast<int>(o.intensity)) + "% duty" : ""));

  const auto t0 = std::chrono::steady_clock::now();
  // Stopping (time up or a signal): stop hashing, then give the shares already found up to
  // 2 s to be sent and answered, so none is lost and the counts are final. A second signal
  // stops at once.
  std::optional<std::chrono::steady_clock::time_point> stopped_at;
  boost::asio::steady_timer drain(io);
  std::function<void()> drain_tick = [&] {
    if (client->pending_submits() == 0 || std::chrono::steady_clock::now() > *stopped_at + std::chrono::seconds(2))
      return io.stop();
    drain.expires_after(std::chrono::milliseconds(10));
    drain.async_wait([&](boost::system::error_code ec) {
      if (!ec) drain_tick();
    });
  };
  auto finish = [&] {
    if (stopped_at) return io.stop();
    stopped_at = std::chrono::steady_clock::now();
    miner.stop();
    // Posted after the shares the miner found, which therefore go out first.
    boost::asio::post(io, drain_tick);
  };
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  std::function<void()> on_signal = [&] {
    signals.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      finish();
      on_signal();
    });
  };
  on_signal();
  boost::asio::steady_timer end(io);
  if (o.seconds > 0) {
    end.expires_after(netio::seconds_to(o.seconds));
    end.async_wait([&](boost::system::error_code ec) {
      if (!ec) finish();
    });
  }
  boost::asio::steady_timer status(io);
  std::function<void()> tick = [&] {
    status.expires_after(netio::seconds_to(o.stats_interval));
    status.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      const auto& c = client->counts();
      log(rates_text(miner.rates(), o.intensity) + ", accepted " + std::to_string(c.accepted) + ", rejected " +
          std::to_string(c.rejected) + " (stale " + std::to_string(c.stale) + "), difficulty " +
          difficulty_text(c.difficulty) + (c.pool.empty() ? ", not connected" : ", " + c.pool));
      tick();
    });
  };
  if (o.stats_interval > 0) tick();
  io.run();
  miner.stop();
  // Mining time: to when hashing stopped, not counting the wait for the last answers.
  const double secs = std::chrono::duration<double>(stopped_at.value_or(std::chrono::steady_clock::now()) - t0).count();
  const auto& c = client->counts();
  const worker::Miner::Rates r = miner.rates();
  if (o.json) {
    boost::json::object per;
    for (const auto& [b, v] : r.per_backend) per[b] = v;
    print_json(boost::json::object{{"seconds", secs},
                                   {"hashes", r.hashes},
                                   {"rate", secs > 0 ? r.hashes / secs : 0.0},
                                   {"rate_per_backend", per},
                                   {"backend", devices},
                                   {"accepted", c.accepted},
                                   {"rejected", c.rejected},
                                   {"stale", c.stale},
                                   {"submitted", c.sent},
                                   {"file_ranges", c.file_ranges},
                                   {"file_hashes", c.file_hashes},
                                   {"connects", c.connects}});
  } else {
    std::printf("%.1f s, %s average, %llu accepted, %llu rejected (%llu stale)\n", secs,
                si_rate(secs > 0 ? r.hashes / secs : 0, "H").c_str(), static_cast<unsigned long long>(c.accepted),
                static_cast<unsigned long long>(c.rejected), static_cast<unsigned long long>(c.stale));
  }
  // A run that never reached a pool did nothing it was asked to: say so in the exit status.
  if (c.connects == 0) {
    std::fprintf(stderr, "hashforge: worker: never connected to a pool\n");
    return kExitFailure;
  }
  return 0;
}

}  // namespace

void add_worker(CLI::App& app, Runner& run) {
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("worker", "Mine for a coordinator or pool (Stratum V1)");
  sub->add_option(
         "--url", o->urls,
         "stratum+tcp://HOST:PORT or stratum+ssl://... (port 1..65535); repeat for failover; or seed://HOST:PORT for "
         "the seed system's plain protocol")
      ->required()
      ->check(check::pool_url(true));
  sub->add_option("--user,-u", o->user, "Worker name shown by the coordinator, 1..128 characters (default hashforge)")
      ->check(check::text(1, 128));
  sub->add_option("--password,-p", o->password, "Password, up to 1024 bytes (default x)")->check(check::text(0, 1024));
  sub->add_option("--backend", o->backend, "Engine backend: a name, a list (avx512,opencl:0) or all; default the best")
      ->check(check::non_empty());
  sub->add_option("--threads", o->threads, "CPU threads, 1..1024 (default: all cores)")->check(CLI::Range(1u, 1024u));
  sub->add_option("--intensity", o->intensity, "Percent of the time spent hashing, 1..100 (default 100)")
      ->check(check::number(1, 100));
  sub->add_option(
         "--seconds,-t", o->seconds,
         "Stop after this long, at most 31536000 (a year; default: until interrupted; seed://: 60, at most 1e7)")
      ->check(check::seconds(0, check::kYear));
  sub->add_option("--id", o->id, "seed://: the identifier the server appends after the nonce (default G06)")
      ->check(check::identifier());
  sub->add_option("--stats-interval", o->stats_interval, "Seconds between status lines on stderr, 0.1..86400 (0: none)")
      ->check(check::seconds(0.1, check::kDay, false, true));
  add_tls_options(sub, o->tls, "the pool");
  sub->add_flag("--json", o->json, "Summary at exit as JSON");
  sub->add_flag("--quiet,-q", o->quiet, "No log lines");
  sub->callback([&run, o] { run = [o] { return run_worker(*o); }; });
}

}  // namespace hf::cli
