// The auction ledger's load generator (issue 16; bench/ledger_vs_seed.sh drives it). One
// mode per run, printing one JSON object:
//   setup        makes --accounts keys (written to --accounts-file) and funds each from the
//                administrator's key, waiting until every funding is committed
//   write        --threads writers send signed transfers among those accounts to the nodes
//                (writer t to node t mod n) at --rate operations/s in all (0: as fast as they
//                are acknowledged) for --duration seconds: acknowledgement latency, committed
//                operations/s on the first node, and submission-to-k-confirmations latency of
//                every --confirm-every-th operation
//   read-proof   one warm client reads random balances, each checked against a merkle proof
//   read-quorum  the same, each agreed by f+1 nodes
// (reads at --rate a second when given, else one after another)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "hashforge/hex.hpp"
#include "net/node/ledger_client.hpp"
#include "net/node/ledger_json.hpp"
#include "net/node/spec.hpp"

namespace {

using namespace hf;
using namespace hf::node;
using namespace hf::node::ledger;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string mode, spec_file, admin_key, accounts_file, ca;
  std::vector<std::string> nodes;
  std::size_t accounts = 64, threads = 4, confirm_every = 50;
  double rate = 0, duration = 10;
  std::int64_t k = 6;
};

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "ledger_load: %s\n", why.c_str());
  std::exit(1);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) die(f + " needs a value");
      return argv[++i];
    };
    if (f == "--mode") a.mode = val();
    else if (f == "--chain-spec") a.spec_file = val();
    else if (f == "--admin-key") a.admin_key = val();
    else if (f == "--accounts-file") a.accounts_file = val();
    else if (f == "--tls-ca") a.ca = val();
    else if (f == "--node") a.nodes.push_back(val());
    else if (f == "--accounts") a.accounts = std::stoul(val());
    else if (f == "--threads") a.threads = std::stoul(val());
    else if (f == "--confirm-every") a.confirm_every = std::stoul(val());
    else if (f == "--rate") a.rate = std::stod(val());
    else if (f == "--duration") a.duration = std::stod(val());
    else if (f == "--k") a.k = std::stoll(val());
    else die("unknown option " + f);
  }
  if (a.mode.empty() || a.spec_file.empty() || a.nodes.empty() || a.accounts_file.empty())
    die("needs --mode, --chain-spec, --node and --accounts-file");
  return a;
}

KeyPair key_of_hex(const std::string& hex) {
  auto raw = from_hex(hex);
  if (!raw || raw->size() != 32) die("a key is 64 hex digits");
  std::array<std::uint8_t, 32> seed{};
  std::copy(raw->begin(), raw->end(), seed.begin());
  return *keypair_from_seed(seed);
}

std::string read_line(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

std::vector<KeyPair> read_accounts(const std::string& path) {
  std::ifstream f(path);
  std::vector<KeyPair> out;
  for (std::string line; std::getline(f, line);)
    if (!line.empty()) out.push_back(key_of_hex(line));
  if (out.empty()) die("no accounts in " + path + " (run --mode setup first)");
  return out;
}

netio::TlsVerify tls_of(const Args& a) {
  netio::TlsVerify v;
  v.ca_file = a.ca;
  return v;
}

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

struct Stats {
  std::vector<double> v;
  double pct(double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p / 100 * static_cast<double>(v.size())))];
  }
  double mean() const {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0 : s / static_cast<double>(v.size());
  }
};

std::int64_t status_int(netio::HttpSession& s, const char* section, const char* field) {
  auto r = s.get("/api/status");
  ParseResult pr = parse_json(r.body, {.max_depth = 16, .max_bytes = r.body.size() + 1});
  const Json* sec = pr.value && pr.value->is_object() ? pr.value->find(section) : nullptr;
  const Json* f = sec && sec->is_object() ? sec->find(field) : nullptr;
  return f && f->is_int() ? *f->as_int64() : -1;
}

int setup(const Args& a, const ChainSpec& spec) {
  const KeyPair admin = key_of_hex(read_line(a.admin_key));
  ClientConfig cfg;
  cfg.nodes = a.nodes;
  cfg.tls = tls_of(a);
  LedgerClient client(spec, cfg);
  std::ofstream out(a.accounts_file);
  std::uint64_t seq = client.next_seq(admin.pub);
  std::string last;
  for (std::size_t i = 0; i < a.accounts; ++i) {
    KeyPair k = *generate_keypair();
    out << to_hex(ByteView(k.seed.data(), 32)) << "\n";
    Operation op;
    op.kind = OpKind::create_money;
    op.to = k.pub;
    op.amount = 1'000'000'000;
    op.seq = seq++;
    sign_op(op, admin, spec.id);
    SubmitResult r = client.submit(op);
    if (r.status != 202) die("funding refused: HTTP " + std::to_string(r.status) + " " + dump_python(r.body));
    last = hex_of(op_id(op, spec.id));
  }
  out.close();
  if (!client.wait_confirmed(last, 1, std::chrono::seconds(120))) die("the fundings were not committed in 120 s");
  std::printf("{\"mode\": \"setup\", \"accounts\": %zu}\n", a.accounts);
  return 0;
}

int write(const Args& a, const ChainSpec& spec) {
  const std::vector<KeyPair> accounts = read_accounts(a.accounts_file);
  const std::size_t threads = std::min(a.threads, accounts.size());
  // Each account's next sequence number, from the pool.
  std::vector<std::uint64_t> seqs(accounts.size());
  {
    ClientConfig cfg;
    cfg.nodes = a.nodes;
    cfg.tls = tls_of(a);
    LedgerClient client(spec, cfg);
    for (std::size_t i = 0; i < accounts.size(); ++i) seqs[i] = client.next_seq(accounts[i].pub);
  }
  netio::HttpSession watch(a.nodes[0], tls_of(a));
  const std::int64_t committed0 = status_int(watch, "ledger", "committed");

  struct Sample {
    std::string id;
    Clock::time_point sent;
  };
  std::mutex mu;
  std::vector<Sample> samples;
  std::vector<Stats> acks(threads);
  std::atomic<std::uint64_t> refused{0}, errors{0}, busy{0};
  std::atomic<bool> writing{true};
  const auto start = Clock::now();
  const auto stop_at = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(a.duration));

  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      netio::HttpSession s(a.nodes[t % a.nodes.size()], tls_of(a));
      std::mt19937_64 rng(t + 1);
      const double per_thread = a.rate > 0 ? a.rate / static_cast<double>(threads) : 0;
      std::uint64_t n = 0;
      for (std::size_t i = t;; i += threads) {
        if (i >= accounts.size()) i = t;
        if (per_thread > 0) {
          auto due = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(static_cast<double>(n) / per_thread));
          if (due > Clock::now()) std::this_thread::sleep_until(due);
        }
        if (Clock::now() >= stop_at) break;
        Operation op;
        op.kind = OpKind::transfer;
        op.account = accounts[i].pub;
        op.seq = seqs[i];
        std::size_t to = rng() % accounts.size();
        if (to == i) to = (to + 1) % accounts.size();
        op.to = accounts[to].pub;
        op.amount = 1;
        sign_op(op, accounts[i], spec.id);
        const std::string body = dump_python(op_to_json(op));
        const auto sent = Clock::now();
        try {
          netio::HttpResult r = s.post("/api/ops", body);
          const auto got = Clock::now();
          if (r.status == 202) {
            ++seqs[i];
            acks[t].v.push_back(micros(got - sent));
            if (a.confirm_every && n % a.confirm_every == 0) {
              std::lock_guard lk(mu);
              samples.push_back({hex_of(op_id(op, spec.id)), sent});
            }
          } else if (r.status == 503) {
            // The node's pending pool is full: the same operation again shortly (the pool
            // drains with each block), as a client told to retry does.
            ++busy;
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
            i -= threads;  // the loop's step brings it back to this account
            continue;
          } else {
            ++refused;
            if (refused < 5) std::fprintf(stderr, "ledger_load: refused: %d %s\n", r.status, r.body.c_str());
          }
        } catch (const std::runtime_error& e) {
          ++errors;
          if (errors < 5) std::fprintf(stderr, "ledger_load: %s\n", e.what());
        }
        ++n;
      }
    });
  }
  // Confirmation tracking: every sample polled on the first node until k confirmations.
  Stats confirm;
  std::size_t unconfirmed = 0;
  std::thread tracker([&] {
    netio::HttpSession s(a.nodes[0], tls_of(a));
    std::vector<Sample> open;
    const auto give_up = stop_at + std::chrono::seconds(120);
    for (;;) {
      {
        std::lock_guard lk(mu);
        open.insert(open.end(), samples.begin(), samples.end());
        samples.clear();
      }
      if (open.empty() && !writing) break;
      if (Clock::now() > give_up) {
        unconfirmed = open.size();
        break;
      }
      std::vector<Sample> still;
      for (auto& smp : open) {
        auto r = s.get("/api/ops/" + smp.id);
        ParseResult pr = parse_json(r.body, {.max_depth = 8, .max_bytes = r.body.size() + 1});
        const Json* c = pr.value && pr.value->is_object() ? pr.value->find("confirmations") : nullptr;
        if (c && c->is_int() && *c->as_int64() >= a.k)
          confirm.v.push_back(micros(Clock::now() - smp.sent) / 1000);
        else
          still.push_back(std::move(smp));
      }
      open.swap(still);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  for (auto& th : pool) th.join();
  const auto wrote_until = Clock::now();
  const std::int64_t committed_mid = status_int(watch, "ledger", "committed");
  writing = false;
  tracker.join();
  const std::int64_t committed1 = status_int(watch, "ledger", "committed");
  Stats all;
  for (auto& s : acks) all.v.insert(all.v.end(), s.v.begin(), s.v.end());
  const double secs = std::chrono::duration<double>(wrote_until - start).count();
  std::printf(
      "{\"mode\": \"write\", \"threads\": %zu, \"rate_asked\": %.0f, \"seconds\": %.2f, \"acknowledged\": %zu, "
      "\"acknowledged_per_s\": %.1f, \"refused\": %llu, \"errors\": %llu, \"busy\": %llu, \"ack_mean_ms\": %.3f, "
      "\"ack_p50_ms\": %.3f, "
      "\"ack_p99_ms\": %.3f, \"committed_during\": %lld, \"committed_per_s\": %.1f, \"committed_after\": %lld, "
      "\"confirm_k\": %lld, \"confirm_samples\": %zu, \"confirm_unreached\": %zu, \"confirm_p50_ms\": %.1f, "
      "\"confirm_p99_ms\": %.1f}\n",
      threads, a.rate, secs, all.v.size(), static_cast<double>(all.v.size()) / secs,
      static_cast<unsigned long long>(refused.load()), static_cast<unsigned long long>(errors.load()),
      static_cast<unsigned long long>(busy.load()), all.mean() / 1000,
      all.pct(50) / 1000, all.pct(99) / 1000, static_cast<long long>(committed_mid - committed0),
      static_cast<double>(committed_mid - committed0) / secs, static_cast<long long>(committed1 - committed0),
      static_cast<long long>(a.k), confirm.v.size(), unconfirmed, confirm.pct(50), confirm.pct(99));
  return 0;
}

int read(const Args& a, const ChainSpec& spec, bool quorum) {
  const std::vector<KeyPair> accounts = read_accounts(a.accounts_file);
  ClientConfig cfg;
  cfg.nodes = a.nodes;
  cfg.tls = tls_of(a);
  cfg.rules.k = a.k;
  cfg.rules.max_tip_age_seconds = 120;
  std::uint64_t warned = 0;
  cfg.warn = [&](const std::string& l) {
    if (++warned < 5) std::fprintf(stderr, "ledger_load: %s\n", l.c_str());
  };
  LedgerClient client(spec, cfg);
  client.sync_headers();  // warm: the header chain is held before the clock starts
  std::mt19937_64 rng(7);
  Stats lat;
  std::uint64_t failed = 0;
  const auto start = Clock::now();
  const auto stop_at = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(a.duration));
  std::uint64_t n = 0;
  while (Clock::now() < stop_at) {
    if (a.rate > 0) {  // paced: this process's reads a second
      auto due = start + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(static_cast<double>(n) / a.rate));
      if (due > Clock::now()) std::this_thread::sleep_until(due);
    }
    ++n;
    const KeyPair& k = accounts[rng() % accounts.size()];
    const std::string path = "/api/account/" + hex_of(k.pub);
    const auto t0 = Clock::now();
    bool ok;
    if (quorum)
      ok = client.read_quorum(path, EntryKind::account).ok;
    else
      ok = client.read_proven(path, account_key(k.pub), EntryKind::account).ok;
    lat.v.push_back(micros(Clock::now() - t0));
    if (!ok) ++failed;
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(
      "{\"mode\": \"%s\", \"reads\": %zu, \"failed\": %llu, \"seconds\": %.2f, \"mean_ms\": %.3f, \"p50_ms\": %.3f, "
      "\"p99_ms\": %.3f}\n",
      quorum ? "read-quorum" : "read-proof", lat.v.size(), static_cast<unsigned long long>(failed), secs,
      lat.mean() / 1000, lat.pct(50) / 1000, lat.pct(99) / 1000);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  std::ifstream f(a.spec_file);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::string why;
  auto spec = parse_spec(text, &why);
  if (!spec) die("chain spec: " + why);
  try {
    if (a.mode == "setup") return setup(a, *spec);
    if (a.mode == "write") return write(a, *spec);
    if (a.mode == "read-proof") return read(a, *spec, false);
    if (a.mode == "read-quorum") return read(a, *spec, true);
  } catch (const std::exception& e) {
    die(e.what());
  }
  die("--mode is setup, write, read-proof or read-quorum");
}
