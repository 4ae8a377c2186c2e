// hf_stratum_load: a Stratum V1 load generator for the coordinator. It opens many worker
// connections, subscribes and authorizes each, and then submits fresh, valid shares at a
// fixed total rate spread evenly over all of them (open loop: the schedule does not wait
// for replies), measuring each submit-to-reply latency at the client.
//
// The coordinator under test must pin a tiny difficulty (--no-vardiff --difficulty 2.3e-10,
// where nearly every hash is a share), so finding a share costs one SHA-256d here. Each
// connection counts its nonce up and never repeats a header, so every share is new to the
// coordinator's duplicate check. With --pid it samples the coordinator's resident memory.
//
//   hf_stratum_load --connect 127.0.0.1:3333 --connections 2000 --rate 20000 --seconds 30 --pid PID
#include <sys/resource.h>

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hashforge/hex.hpp"
#include "net/mining/share_check.hpp"
#include "net/mining/stratum_job.hpp"
#include "net/stratum/json_rpc.hpp"
#include "net/stratum/notify.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace hf;

namespace {

struct Options {
  std::string host = "127.0.0.1", port = "3333";
  int connections = 2000;
  double rate = 20000;  // shares per second, all connections together
  double warmup = 5, seconds = 30;
  int pid = 0;  // the coordinator, for its memory
  std::string json_out;
};

struct Totals {
  int connected = 0, ready = 0, failed = 0, closed = 0;
  std::uint64_t sent = 0, answered = 0, accepted = 0, unfound = 0;
  std::map<int, std::uint64_t> rejected;  // by error code
  std::vector<float> latency_us;          // submits sent inside the measured window
};

struct Run {
  Options o;
  Totals t;
  Clock::time_point measure_from, measure_to;
  bool stopping = false;
  bool in_window(Clock::time_point p) const { return p >= measure_from && p < measure_to; }
  // Every connection gets the same notify line: parse it once, so the generator's own
  // work at a job change does not show up as coordinator latency.
  std::string last_notify;
  std::shared_ptr<const mining::StratumJob> last_job;
  std::shared_ptr<const mining::StratumJob> job_of(std::string_view line, const json::array& params) {
    if (line != last_notify || !last_job) {
      std::string why;
      auto j = stratum::job_from_notify(params, &why);
      if (!j) return nullptr;
      last_notify = line;
      last_job = std::make_shared<const mining::StratumJob>(std::move(*j));
    }
    return last_job;
  }
};

class LoadConn : public std::enable_shared_from_this<LoadConn> {
 public:
  LoadConn(asio::io_context& io, Run& run, int index) : sock_(io), tick_(io), run_(run), index_(index) {}

  asio::awaitable<void> start(tcp::endpoint ep, Clock::time_point first_submit) {
    auto self = shared_from_this();
    try {
      co_await sock_.async_connect(ep, asio::use_awaitable);
      sock_.set_option(tcp::no_delay(true));
    } catch (const std::exception&) {
      ++run_.t.failed;
      co_return;
    }
    ++run_.t.connected;
    asio::co_spawn(
        sock_.get_executor(), [self] { return self->reader(); }, asio::detached);
    write(stratum::encode_request(1, "mining.subscribe", json::array{"hf_stratum_load/1"}));
    write(stratum::encode_request(2, "mining.authorize", json::array{"load" + std::to_string(index_), "x"}));
    // Evenly spread: connection i starts at i/N of a period after the common start.
    next_ = first_submit;
    co_await sender();
  }

 private:
  void write(std::string line) {
    out_ += line;
    if (!writing_) flush();
  }
  void flush() {
    writing_ = true;
    pending_.swap(out_);
    out_.clear();
    auto self = shared_from_this();
    asio::async_write(sock_, asio::buffer(pending_), [self](boost::system::error_code ec, std::size_t) {
      self->writing_ = false;
      self->pending_.clear();
      if (ec) return self->close();
      if (!self->out_.empty()) self->flush();
    });
  }
  void close() {
    if (closed_) return;
    closed_ = true;
    ++run_.t.closed;
    boost::system::error_code ec;
    sock_.close(ec);
    tick_.cancel();
  }

  asio::awaitable<void> reader() {
    auto self = shared_from_this();
    std::string buf;
    try {
      for (;;) {
        std::size_t n =
            co_await asio::async_read_until(sock_, asio::dynamic_buffer(buf, 64 * 1024), '\n', asio::use_awaitable);
        std::string_view line(buf.data(), n - 1);
        on_line(line);
        buf.erase(0, n);
      }
    } catch (const std::exception&) {
    }
    close();
  }

  void on_line(std::string_view line) {
    if (line == run_.last_notify && run_.last_job) return take_job(run_.last_job);  // seen: skip the parse
    std::string why;
    auto m = stratum::parse_message(line, &why);
    if (!m) return;
    if (m->is_request()) {
      if (m->method == "mining.set_difficulty" && !m->params.empty() && m->params[0].is_number())
        next_difficulty_ = m->params[0].to_number<double>();
      if (m->method == "mining.notify")
        if (auto j = run_.job_of(line, m->params)) take_job(std::move(j));
      return;
    }
    if (!m->id.is_int64()) return;
    const std::int64_t id = m->id.as_int64();
    if (id == 1) {  // subscribe
      const json::array* r = m->result.if_array();
      if (r && r->size() >= 3 && (*r)[1].is_string() && (*r)[2].is_int64()) {
        en1_ = from_hex((*r)[1].as_string()).value_or(Bytes{});
        en2_size_ = static_cast<std::size_t>((*r)[2].as_int64());
      }
      return;
    }
    if (id == 2) return;
    auto it = inflight_.find(id);
    if (it == inflight_.end()) return;
    const Clock::time_point sent = it->second;
    inflight_.erase(it);
    const auto now = Clock::now();
    if (!run_.in_window(sent)) return;
    ++run_.t.answered;
    run_.t.latency_us.push_back(static_cast<float>(std::chrono::duration<double, std::micro>(now - sent).count()));
    if (auto err = stratum::reply_error(*m))
      ++run_.t.rejected[err->code];
    else
      ++run_.t.accepted;
  }

  void take_job(std::shared_ptr<const mining::StratumJob> j) {
    const bool same_coinbase =
        job_ && job_->coinb1 == j->coinb1 && job_->coinb2 == j->coinb2 && job_->merkle_branch == j->merkle_branch;
    job_ = std::move(j);
    difficulty_ = next_difficulty_;
    // One extranonce2 per connection: the nonce alone keeps headers apart, so a share
    // costs a single SHA-256d of the header.
    if (!same_coinbase)
      root_ = mining::merkle_root(mining::build_coinbase(*job_, en1_, Bytes(en2_size_, 0)), job_->merkle_branch);
    if (!ready_) {
      ready_ = true;
      ++run_.t.ready;
    }
  }

  asio::awaitable<void> sender() {
    auto self = shared_from_this();
    const auto period =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(run_.o.connections / run_.o.rate));
    while (!closed_ && !run_.stopping) {
      tick_.expires_at(next_);
      boost::system::error_code ec;
      co_await tick_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (closed_ || run_.stopping) break;
      const auto now = Clock::now();
      next_ += period;
      if (next_ < now - period) next_ = now;  // fell far behind: do not burst to catch up
      if (!job_) continue;
      submit(now);
    }
  }

  void submit(Clock::time_point now) {
    // At the benchmark's difficulty nearly every nonce is a share; at a real one this is
    // the wrong tool, and the shares not found are reported.
    bool found = false;
    for (int tries = 0; tries < 64 && !found; ++tries) {
      const mining::Header80 header = mining::build_header(*job_, root_, job_->ntime, nonce_++, job_->version);
      found = mining::meets_difficulty(mining::header_hash(header), difficulty_);
    }
    if (!found) {
      ++run_.t.unfound;
      return;
    }
    const std::uint32_t nonce = nonce_ - 1;
    const std::int64_t id = next_id_++;
    inflight_.emplace(id, now);
    if (run_.in_window(now)) ++run_.t.sent;
    write(stratum::encode_request(id, "mining.submit",
                                  json::array{"load" + std::to_string(index_), job_->id, to_hex(Bytes(en2_size_, 0)),
                                              mining::hex_u32(job_->ntime), mining::hex_u32(nonce)}));
  }

  tcp::socket sock_;
  asio::steady_timer tick_;
  Run& run_;
  int index_;
  std::string out_, pending_;
  bool writing_ = false, closed_ = false, ready_ = false;
  Bytes en1_;
  std::size_t en2_size_ = 4;
  double difficulty_ = 1, next_difficulty_ = 1;
  std::shared_ptr<const mining::StratumJob> job_;
  mining::Hash32 root_{};
  std::uint32_t nonce_ = 0;
  std::int64_t next_id_ = 10;
  std::map<std::int64_t, Clock::time_point> inflight_;
  Clock::time_point next_;
};

long rss_kib(int pid, const char* field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::string(field).size()));
  return -1;
}

double percentile(std::vector<float>& v, double p) {
  if (v.empty()) return 0;
  const std::size_t k = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "hf_stratum_load: %s\n", why.c_str());
  std::fprintf(stderr,
               "usage: hf_stratum_load [--connect HOST:PORT] [--connections N] [--rate SHARES_PER_S] [--warmup S] "
               "[--seconds S] [--pid COORDINATOR_PID] [--json FILE]\n");
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage("missing value after " + a);
    const std::string v = argv[++i];
    try {
      if (a == "--connect") {
        const auto colon = v.rfind(':');
        if (colon == std::string::npos) usage("--connect wants HOST:PORT");
        o.host = v.substr(0, colon);
        o.port = v.substr(colon + 1);
      } else if (a == "--connections") {
        o.connections = std::stoi(v);
      } else if (a == "--rate") {
        o.rate = std::stod(v);
      } else if (a == "--warmup") {
        o.warmup = std::stod(v);
      } else if (a == "--seconds") {
        o.seconds = std::stod(v);
      } else if (a == "--pid") {
        o.pid = std::stoi(v);
      } else if (a == "--json") {
        o.json_out = v;
      } else {
        usage("unknown option " + a);
      }
    } catch (const std::logic_error&) {
      usage("bad value for " + a + ": " + v);
    }
  }
  if (o.connections < 1 || o.connections > 60000) usage("--connections must be 1..60000");
  if (!(o.rate > 0) || !(o.seconds > 0) || !(o.warmup >= 0)) usage("--rate and --seconds must be positive");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Run run;
  run.o = parse(argc, argv);
  const Options& o = run.o;
  // Each connection is a descriptor: lift the soft limit to the hard one.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  asio::io_context io(1);
  tcp::resolver res(io);
  boost::system::error_code ec;
  auto eps = res.resolve(o.host, o.port, ec);
  if (ec || eps.empty()) usage("cannot resolve " + o.host + ":" + o.port);
  const tcp::endpoint ep = *eps.begin();

  // Connect in batches (the listen backlog is finite), then give everyone time to get a job.
  const double connect_seconds = std::max(1.0, o.connections / 1000.0);
  const auto t0 = Clock::now();
  const auto start = t0 + std::chrono::milliseconds(static_cast<int>(connect_seconds * 1000) + 1000);
  const auto period = std::chrono::duration<double>(o.connections / o.rate);
  std::vector<std::shared_ptr<LoadConn>> conns;
  for (int i = 0; i < o.connections; ++i) {
    auto c = std::make_shared<LoadConn>(io, run, i);
    conns.push_back(c);
    const auto when = t0 + std::chrono::microseconds(static_cast<long>(connect_seconds * 1e6 * i / o.connections));
    const auto first =
        start + std::chrono::duration_cast<Clock::duration>(period * (static_cast<double>(i) / o.connections));
    auto timer = std::make_shared<asio::steady_timer>(io, when);
    timer->async_wait([c, timer, ep, first](boost::system::error_code) {
      asio::co_spawn(timer->get_executor(), c->start(ep, first), asio::detached);
    });
  }
  run.measure_from = start + std::chrono::milliseconds(static_cast<long>(o.warmup * 1000));
  run.measure_to = run.measure_from + std::chrono::milliseconds(static_cast<long>(o.seconds * 1000));

  long rss_max = 0;
  asio::steady_timer sampler(io);
  std::function<void()> sample = [&] {
    sampler.expires_after(std::chrono::milliseconds(500));
    sampler.async_wait([&](boost::system::error_code e) {
      if (e) return;
      if (o.pid) rss_max = std::max(rss_max, rss_kib(o.pid, "VmRSS:"));
      if (Clock::now() >= run.measure_to + std::chrono::seconds(2)) {
        run.stopping = true;
        io.stop();
        return;
      }
      sample();
    });
  };
  sample();
  io.run();

  Totals& t = run.t;
  const double p50 = percentile(t.latency_us, 0.50), p90 = percentile(t.latency_us, 0.90),
               p99 = percentile(t.latency_us, 0.99), p999 = percentile(t.latency_us, 0.999);
  const double max = t.latency_us.empty() ? 0 : *std::max_element(t.latency_us.begin(), t.latency_us.end());
  std::uint64_t rejected = 0;
  for (const auto& [code, n] : t.rejected) rejected += n;
  const long hwm = o.pid ? rss_kib(o.pid, "VmHWM:") : -1;
  std::printf("connections: %d asked, %d connected, %d got a job, %d failed, %d closed by the coordinator\n",
              o.connections, t.connected, t.ready, t.failed, t.closed);
  std::printf("window %.0f s: %llu shares sent (%.0f/s), %llu answered (%.0f/s): %llu accepted, %llu rejected\n",
              o.seconds, static_cast<unsigned long long>(t.sent), t.sent / o.seconds,
              static_cast<unsigned long long>(t.answered), t.answered / o.seconds,
              static_cast<unsigned long long>(t.accepted), static_cast<unsigned long long>(rejected));
  for (const auto& [code, n] : t.rejected)
    std::printf("  rejected with code %d: %llu\n", code, static_cast<unsigned long long>(n));
  if (t.unfound)
    std::printf("warning: %llu submits skipped, no share in 64 nonces: run the coordinator with --difficulty 2.3e-10\n",
                static_cast<unsigned long long>(t.unfound));
  std::printf("submit-to-reply latency: p50 %.0f us, p90 %.0f us, p99 %.0f us, p99.9 %.0f us, max %.0f us\n", p50, p90,
              p99, p999, max);
  if (o.pid)
    std::printf("coordinator memory: max RSS sampled %.1f MiB, peak (VmHWM) %.1f MiB\n", rss_max / 1024.0,
                hwm / 1024.0);
  if (!o.json_out.empty()) {
    json::object rej;
    for (const auto& [code, n] : t.rejected) rej[std::to_string(code)] = n;
    json::object r{{"connections", o.connections},
                   {"connected", t.connected},
                   {"ready", t.ready},
                   {"failed", t.failed},
                   {"closed", t.closed},
                   {"rate_asked", o.rate},
                   {"seconds", o.seconds},
                   {"sent", t.sent},
                   {"answered", t.answered},
                   {"accepted", t.accepted},
                   {"rejected", rej},
                   {"answered_per_s", t.answered / o.seconds},
                   {"p50_us", p50},
                   {"p90_us", p90},
                   {"p99_us", p99},
                   {"p999_us", p999},
                   {"max_us", max},
                   {"rss_max_kib", rss_max},
                   {"rss_hwm_kib", hwm}};
    std::ofstream(o.json_out) << json::serialize(r) << "\n";
  }
  // A clean run: every connection mined, and every share sent was answered and accepted.
  const bool clean = t.connected == o.connections && t.ready == o.connections && t.sent > 0 && t.answered == t.sent &&
                     rejected == 0 && t.unfound == 0;
  if (!clean) std::printf("NOT CLEAN: some connections, replies or acceptances are missing\n");
  return clean ? 0 : 1;
}
