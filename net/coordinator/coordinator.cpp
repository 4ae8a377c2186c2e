#include "net/coordinator/coordinator.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "hashforge/hex.hpp"
#include "net/coordinator/seed_server.hpp"
#include "net/coordinator/stratum_session.hpp"
#include "net/io/atomic_file.hpp"
#include "net/io/duration.hpp"
#include "net/io/printable.hpp"
#include "net/stratum/notify.hpp"

namespace hf::coord {

Coordinator::Coordinator(asio::io_context& io, CoordinatorConfig cfg)
    : io_(io), cfg_(std::move(cfg)), t0_(std::chrono::steady_clock::now()), book_(4, std::random_device{}()) {
  // Extranonce1 values start at a random point so a restarted coordinator does not hand
  // a reconnecting worker the value it had before (its old shares would look fresh).
  next_en1_ = std::random_device{}();
}

Coordinator::~Coordinator() {
  if (share_log_) std::fclose(share_log_);
}

std::vector<std::string> Coordinator::seed_endpoints() const {
  std::vector<std::string> v;
  for (const auto& s : seed_servers_) v.push_back(s->endpoint());
  return v;
}

void Coordinator::log_share(const json::object& record) {
  if (!share_log_) return;
  const std::string line = json::serialize(record) + "\n";
  std::fwrite(line.data(), 1, line.size(), share_log_);
  std::fflush(share_log_);  // a crash must not lose accepted shares from the audit trail
}

double Coordinator::now() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
}

std::uint64_t Coordinator::unix_now() const {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

void Coordinator::log(const std::string& line) const {
  // Names, user agents, close reasons and pool messages in these lines come from peers:
  // control characters are escaped here, for every line, so that no peer can forge a line
  // or send escape sequences to the terminal of whoever reads the log.
  const std::string safe = netio::printable(line, 4096);
  if (cfg_.log) return cfg_.log(safe);
  std::fprintf(stderr, "coordinator: %s\n", safe.c_str());
}

void Coordinator::start() {
  if (cfg_.listen.empty() && cfg_.tls_listen.empty()) throw std::runtime_error("nothing to listen on");
  if (!cfg_.tls_listen.empty()) {
    if (cfg_.cert_file.empty() || cfg_.key_file.empty())
      throw std::runtime_error("--tls-listen needs --cert and --key");
    tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    // Read here with a cap, not by OpenSSL from the path: a pipe that never ends would hold
    // its reader forever.
    std::string why;
    const auto cert = netio::read_file(cfg_.cert_file, kMaxPemFile, &why);
    if (!cert) throw std::runtime_error("cannot load certificate " + why);
    const auto key = netio::read_file(cfg_.key_file, kMaxPemFile, &why);
    if (!key) throw std::runtime_error("cannot load key " + why);
    boost::system::error_code ec;
    tls_->use_certificate_chain(asio::buffer(*cert), ec);
    if (ec) throw std::runtime_error("cannot load certificate " + cfg_.cert_file + ": " + ec.message());
    tls_->use_private_key(asio::buffer(*key), asio::ssl::context::pem, ec);
    if (ec) throw std::runtime_error("cannot load key " + cfg_.key_file + ": " + ec.message());
  }
  if (cfg_.job_file.empty() && !cfg_.file_task && cfg_.upstream.empty())
    throw std::runtime_error("no job source: give --header-job FILE, --upstream URL or --file-task FILE");
  if (!cfg_.job_file.empty() && !cfg_.upstream.empty())
    throw std::runtime_error("--header-job and --upstream are two job sources: give one");
  if (!cfg_.seed_listen.empty() && !cfg_.file_task)
    throw std::runtime_error("--seed-listen serves the file task: give --file-task FILE");
  if (!cfg_.job_file.empty()) load_jobs();
  std::vector<netio::PoolUrl> pools;
  for (const std::string& u : cfg_.upstream) {
    std::string why;
    auto pu = netio::parse_pool_url(u, &why);
    if (!pu) throw std::runtime_error("--upstream: " + why);
    pools.push_back(*pu);
  }
  if (!pools.empty()) {
    if (cfg_.proxy_prefix_bytes < 1 || cfg_.proxy_prefix_bytes > 4)
      throw std::runtime_error("--proxy-prefix-bytes must be 1..4");
    own_en1_size_ = cfg_.proxy_prefix_bytes;
    UpstreamConfig uc;
    uc.urls = std::move(pools);
    uc.user = cfg_.upstream_user;
    uc.password = cfg_.upstream_password;
    uc.version_mask = cfg_.version_mask;
    uc.min_difficulty = cfg_.vardiff_cfg.min_difficulty;
    uc.tls = cfg_.upstream_tls;
    UpstreamPool::Events ev;
    ev.ready = [this](const UpstreamLink& l) { return on_upstream_ready(l); };
    ev.job = [this](mining::StratumJob j, double d) { on_upstream_job(std::move(j), d); };
    ev.lost = [this](const std::string& why) {
      log("upstream pool lost (" + why + "): workers wait for the next pool");
      up_link_.reset();
      drop_all_jobs();
      pool_job_since_ready_ = false;  // the next pool's first job replaces all work
    };
    upstream_ =
        std::make_unique<UpstreamPool>(io_, std::move(uc), std::move(ev), [this](const std::string& l) { log(l); });
  }
  gate_ = std::make_shared<netio::ConnGate>(cfg_.max_connections);
  if (cfg_.file_task) {
    files_ = std::make_unique<FileTaskRunner>(io_, *cfg_.file_task, [this](const std::string& l) { log(l); });
    files_->on_finished([this] {
      if (file_done_) file_done_();
    });
    for (const std::string& l : cfg_.seed_listen) {
      auto srv =
          std::make_unique<SeedServer>(io_, *files_, cfg_.seed_clients, [this](const std::string& l) { log(l); });
      srv->share_gate(gate_);
      srv->listen(l);
      seed_servers_.push_back(std::move(srv));
    }
  }
  if (!cfg_.share_log.empty()) {
    share_log_ = std::fopen(cfg_.share_log.c_str(), "a");
    if (!share_log_) throw std::runtime_error("cannot open share log " + cfg_.share_log);
  }
  for (const std::string& l : cfg_.listen) listen_on(l, false);
  for (const std::string& l : cfg_.tls_listen) listen_on(l, true);
  // Last: it writes its state file, which a start that fails on a bad address must not leave.
  if (files_) files_->start();
  if (upstream_) upstream_->start();
  job_timer_ = std::make_shared<asio::steady_timer>(io_);
  if (!templates_.empty()) {
    issue_job();
    asio::co_spawn(io_, job_loop(), asio::detached);
  }
  sample_timer_ = std::make_shared<asio::steady_timer>(io_);
  asio::co_spawn(io_, sample_loop(), asio::detached);
}

asio::awaitable<void> Coordinator::sample_loop() {
  auto timer = sample_timer_;
  while (!stopping_) {
    timer->expires_after(std::chrono::milliseconds(static_cast<int>(kSampleSeconds * 1000)));
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_) break;
    const double t = now();
    double total = 0;
    for (const auto& [id, w] : workers_)
      if (w->connected) total += w->r1m.rate(t);
    history_.emplace_back(t, total);
    while (history_.size() > static_cast<std::size_t>(3600 / kSampleSeconds)) history_.pop_front();
  }
}

void Coordinator::listen_on(const std::string& where, bool tls) {
  std::string bound;
  auto acc = netio::listen_on(io_, where, &bound);
  endpoints_.push_back(std::string(tls ? "stratum+ssl://" : "stratum+tcp://") + bound);
  acceptors_.push_back(acc);
  netio::AcceptOptions opt;
  opt.what = tls ? "stratum (TLS)" : "stratum";
  // A miner refused over plain TCP reads one Stratum error line saying why before the close;
  // over TLS nothing can be said before a handshake, so it gets the close alone.
  if (!tls)
    opt.refusal = stratum::encode_error(nullptr, static_cast<int>(mining::StratumError::other),
                                        "too many connections; try later");
  opt.log = [this](const std::string& l) { log(l); };
  asio::co_spawn(io_,
                 netio::accept_loop(acc, gate_, std::move(opt),
                                    [this, tls](tcp::socket sock, netio::ConnSlot slot) {
                                      on_accept(std::move(sock), std::move(slot), tls);
                                    }),
                 asio::detached);
}

std::vector<std::string> Coordinator::endpoints() const { return endpoints_; }

void Coordinator::on_accept(tcp::socket sock, netio::ConnSlot slot, bool tls) {
  if (stopping_) return;
  ++connections_total_;
  auto stream = tls ? netio::make_tls_stream(std::move(sock), *tls_, true) : netio::make_tcp_stream(std::move(sock));
  auto s = std::make_shared<StratumSession>(*this, std::move(stream), tls);
  sessions_.insert(s.get());
  slots_.emplace(s.get(), std::move(slot));
  asio::co_spawn(
      io_, [s]() { return s->run(); }, asio::detached);
}

std::shared_ptr<const std::string> Coordinator::notify_line(const mining::StratumJob& job) {
  if (job.id != notify_id_ || !notify_line_) {
    notify_id_ = job.id;
    notify_line_ =
        std::make_shared<const std::string>(stratum::encode_notification("mining.notify", stratum::notify_params(job)));
  }
  return notify_line_;
}

void Coordinator::session_ended(StratumSession* s) {
  sessions_.erase(s);
  slots_.erase(s);  // its place in the gate is free
}

std::optional<Bytes> Coordinator::take_extranonce1(std::string* why) {
  if (upstream_ && !up_link_) {
    *why = "the upstream pool is not connected yet; try again shortly";
    return std::nullopt;
  }
  const std::uint64_t space = std::uint64_t{1} << (8 * own_en1_size_);
  if (en1_in_use_.size() >= space) {
    *why = "every extranonce1 value is in use (" + std::to_string(space) + " connections)";
    return std::nullopt;
  }
  std::uint32_t v;
  do v = static_cast<std::uint32_t>(next_en1_++ % space);
  while (en1_in_use_.count(v));
  en1_in_use_.insert(v);
  Bytes own(own_en1_size_);
  for (std::size_t i = 0; i < own_en1_size_; ++i)
    own[i] = static_cast<std::uint8_t>(v >> (8 * (own_en1_size_ - 1 - i)));
  return own;
}

void Coordinator::release_extranonce1(const Bytes& own) {
  if (own.size() != own_en1_size_) return;
  std::uint32_t v = 0;
  for (std::uint8_t b : own) v = v << 8 | b;
  en1_in_use_.erase(v);
}

Bytes Coordinator::extranonce1_for(const Bytes& own) const {
  if (!up_link_) return own;
  Bytes en1 = up_link_->extranonce1;
  en1.insert(en1.end(), own.begin(), own.end());
  return en1;
}

std::uint32_t Coordinator::version_mask() const {
  if (!upstream_) return cfg_.version_mask;
  return up_link_ ? cfg_.version_mask & up_link_->version_mask : 0;
}

double Coordinator::difficulty_cap() const {
  // A pool may ask for a difficulty below any target a worker can take (5e-324): workers are
  // then held at --min-difficulty, and every share is still forwarded (it meets the pool's).
  return upstream_ && up_link_ ? std::max(upstream_->difficulty(), cfg_.vardiff_cfg.min_difficulty) : INFINITY;
}

std::string Coordinator::on_upstream_ready(const UpstreamLink& link) {
  if (link.extranonce2_size < own_en1_size_ + 2)
    return "its extranonce2 is " + std::to_string(link.extranonce2_size) + " bytes: too small for " +
           std::to_string(own_en1_size_) + " bytes of worker prefix and 2 for the workers (see --proxy-prefix-bytes)";
  const bool changed = !up_link_ || up_link_->extranonce1 != link.extranonce1 ||
                       up_link_->extranonce2_size != link.extranonce2_size ||
                       up_link_->version_mask != link.version_mask;
  up_link_ = link;
  en2_size_ = link.extranonce2_size - own_en1_size_;
  if (changed) {
    // Work built on the old extranonce is worth nothing to this pool.
    drop_all_jobs();
    pool_job_since_ready_ = false;
    log("proxying " + link.url + ": workers get extranonce1 " + to_hex(link.extranonce1) + " + " +
        std::to_string(own_en1_size_) + " bytes of their own and " + std::to_string(en2_size_) +
        " bytes of extranonce2");
    for (StratumSession* s : std::set<StratumSession*>(sessions_)) s->on_extranonce_change();
  }
  return {};
}

void Coordinator::on_upstream_job(mining::StratumJob job, double difficulty) {
  PoolJob pj{job.id, difficulty};
  if (!pool_job_since_ready_) job.clean = true;  // the first job on a new link ends the old work
  pool_job_since_ready_ = true;
  std::vector<std::string> dropped;
  auto issued = book_.add(std::move(job), &dropped);
  for (const std::string& id : dropped) pool_jobs_.erase(id);
  pool_jobs_[issued->id] = pj;
  for (StratumSession* s : std::set<StratumSession*>(sessions_)) s->on_job(*issued, dropped);
}

void Coordinator::drop_all_jobs() {
  std::vector<std::string> dropped;
  book_.clear(&dropped);
  pool_jobs_.clear();
  for (StratumSession* s : std::set<StratumSession*>(sessions_)) s->forget_jobs(dropped);
}

bool Coordinator::forward_share(const std::string& job_id, const Bytes& own_en1, const mining::Submit& s,
                                const mining::Hash32& hash, std::function<void(PoolAnswer)> done) {
  auto it = pool_jobs_.find(job_id);
  if (!upstream_ || !up_link_ || it == pool_jobs_.end()) return false;
  // Pools differ on when a set_difficulty applies; forwarding at the lower of the two
  // loses nothing, and a share the pool then finds too easy is answered by the pool.
  if (!mining::meets_difficulty(hash, std::min(it->second.difficulty, upstream_->difficulty()))) return false;
  // The share was checked, so its fields are valid hex; the pool gets them in lowercase.
  auto hex = [](const std::string& h) { return to_hex(*from_hex(h)); };
  upstream_->submit(it->second.id, to_hex(own_en1) + hex(s.extranonce2), hex(s.ntime), hex(s.nonce),
                    s.version_bits ? std::optional<std::string>(hex(*s.version_bits)) : std::nullopt, std::move(done));
  return true;
}

std::shared_ptr<mining::WorkerStats> Coordinator::new_worker_stats() {
  return std::make_shared<mining::WorkerStats>(now());
}

void Coordinator::list_worker(const std::shared_ptr<mining::WorkerStats>& w) {
  const double t = now();
  // Forget disconnected workers after an hour, and the oldest of them beyond 10,000.
  std::size_t gone = 0;
  for (const auto& [id, rec] : workers_) gone += !rec->connected;
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (!it->second->connected && (gone > 10'000 || t - it->second->last_seen > 3600)) {
      it = workers_.erase(it);
      --gone;
    } else {
      ++it;
    }
  }
  w->id = next_worker_++;
  workers_.emplace(w->id, w);
}

void Coordinator::unlist_worker(std::uint64_t id) { workers_.erase(id); }

void Coordinator::on_share_result(const mining::WorkerStats& w, bool accepted, double difficulty,
                                  const std::string& hash_shown, bool block) {
  if (!accepted) {
    ++rejected_;
    return;
  }
  ++accepted_;
  if (difficulty > best_difficulty_) {
    best_difficulty_ = difficulty;
    best_hash_ = hash_shown;
    best_worker_ = w.name;
  }
  if (block) {
    ++blocks_;
    log("block found by " + w.name + ": " + hash_shown);
  }
}

void Coordinator::load_jobs() {
  if (cfg_.job_file.empty()) throw std::runtime_error("no job source: give --header-job FILE");
  std::string why;
  const auto text = netio::read_file(cfg_.job_file, kMaxJobFile, &why);
  if (!text) throw std::runtime_error("job file " + why);
  auto t = mining::parse_job_file(std::string_view(reinterpret_cast<const char*>(text->data()), text->size()), &why);
  if (!t) throw std::runtime_error(cfg_.job_file + ": " + why);
  for (const auto& j : *t)
    if (j.extranonce2_size != t->front().extranonce2_size)
      throw std::runtime_error(cfg_.job_file + ": every job must have the same extranonce2_size");
  std::error_code ec;
  job_file_mtime_ = std::filesystem::last_write_time(cfg_.job_file, ec);
  const bool size_changed = !templates_.empty() && en2_size_ != t->front().extranonce2_size;
  templates_ = std::move(*t);
  issued_.clear();
  next_template_ = 0;
  en2_size_ = templates_.front().extranonce2_size;
  if (size_changed) {
    log("extranonce2_size is now " + std::to_string(en2_size_));
    for (StratumSession* s : std::set<StratumSession*>(sessions_)) s->on_extranonce_change();
  }
}

void Coordinator::issue_job() {
  mining::JobTemplate& t = templates_[next_template_];
  next_template_ = (next_template_ + 1) % templates_.size();
  mining::StratumJob job = t.job;
  const std::uint64_t now = unix_now();
  if (t.ntime_now) {
    job.ntime = static_cast<std::uint32_t>(now);
  } else {
    // A fixed ntime is the file's at the template's first issue and then follows the clock,
    // and each issue differs from the last: a refresh must never hand out the same work
    // again (miners that restart their nonces on a new job would find only duplicates).
    auto [it, first] = issued_.try_emplace(&t, Issued{now, t.job.ntime});
    if (!first) {
      const std::uint64_t by_clock = std::uint64_t{t.job.ntime} + (now > it->second.first ? now - it->second.first : 0);
      const std::uint64_t next = std::max<std::uint64_t>(by_clock, std::uint64_t{it->second.ntime} + 1);
      it->second.ntime = static_cast<std::uint32_t>(std::min<std::uint64_t>(next, 0xffffffffu));
    }
    job.ntime = it->second.ntime;
  }
  auto cur = book_.current();
  job.clean = !cur || cur->prevhash != job.prevhash || cur->coinb1 != job.coinb1 || cur->coinb2 != job.coinb2;
  std::vector<std::string> dropped;
  auto issued = book_.add(std::move(job), &dropped);
  for (StratumSession* s : std::set<StratumSession*>(sessions_)) s->on_job(*issued, dropped);
}

asio::awaitable<void> Coordinator::job_loop() {
  auto timer = job_timer_;
  while (!stopping_) {
    timer->expires_after(netio::seconds_to(cfg_.job_interval));
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_) break;
    // A rewritten job file takes effect at the next refresh; a broken one is reported and
    // the old jobs go on.
    std::error_code fec;
    const auto mtime = std::filesystem::last_write_time(cfg_.job_file, fec);
    if (!fec && mtime != job_file_mtime_) {
      try {
        load_jobs();
        log("reloaded " + cfg_.job_file);
      } catch (const std::exception& e) {
        job_file_mtime_ = mtime;
        log(std::string("job file not reloaded: ") + e.what());
      }
    }
    issue_job();
  }
}

void Coordinator::shutdown() {
  stopping_ = true;
  for (auto& a : acceptors_) {
    boost::system::error_code ec;
    a->close(ec);
  }
  if (job_timer_) job_timer_->cancel();
  if (upstream_) upstream_->stop();
  if (sample_timer_) sample_timer_->cancel();
  if (files_) files_->stop();
  for (auto& s : seed_servers_) s->stop();
  // An address that does not parse (the command line checks it; a config might not) sends
  // workers back to this address: shutting down must not fail half way.
  std::string host, port, why;
  if (cfg_.reconnect_to.empty() || !netio::split_host_port(cfg_.reconnect_to, &host, &port, &why)) host.clear();
  for (StratumSession* s : std::set<StratumSession*>(sessions_)) {
    s->send_reconnect(host, port, 0);
    s->close_after_flush("coordinator shutting down");
  }
}

void Coordinator::Totals::add(const mining::WorkerStats& w, double t) {
  if (!w.connected) return;
  ++connected;
  r1 += w.r1m.rate(t);
  r5 += w.r5m.rate(t);
  r60 += w.r1h.rate(t);
  reported += w.reported_rate;
}

json::object Coordinator::worker_json(const mining::WorkerStats& w, double t) const {
  return json::object{{"id", w.id},
                      {"name", w.name},
                      {"address", w.address},
                      {"agent", w.agent},
                      {"backend", w.backend},
                      {"devices", w.devices},
                      {"connected", w.connected},
                      {"difficulty", w.difficulty},
                      {"hashrate", json::object{{"1m", w.r1m.rate(t)}, {"5m", w.r5m.rate(t)}, {"1h", w.r1h.rate(t)}}},
                      {"reported_rate", w.reported_rate},
                      {"accepted", w.accepted},
                      {"rejected", w.rejected},
                      {"stale", w.stale},
                      {"duplicate", w.duplicate},
                      {"low_difficulty", w.low},
                      {"blocks", w.blocks},
                      {"forwarded", w.forwarded},
                      {"pool_accepted", w.pool_accepted},
                      {"pool_rejected", w.pool_rejected},
                      {"best_difficulty", w.best_difficulty},
                      {"best_hash", w.best_hash},
                      {"connected_seconds", t - w.connected_at},
                      {"last_seen_seconds_ago", t - w.last_seen}};
}

json::object Coordinator::stats_head(double t, const Totals& tot, bool with_history) const {
  json::object job;
  if (auto j = book_.current()) {
    const mining::NotifyFields f = mining::to_notify(*j);
    job = {{"id", f.job_id},
           {"prevhash", f.prevhash},
           {"version", f.version},
           {"nbits", f.nbits},
           {"ntime", f.ntime},
           {"clean", f.clean},
           {"source", upstream_ ? "proxy " + (up_link_ ? up_link_->url : std::string()) : cfg_.job_file}};
    if (auto pj = pool_jobs_.find(f.job_id); pj != pool_jobs_.end()) {
      job["pool_job_id"] = pj->second.id;
      job["pool_difficulty"] = pj->second.difficulty;
    }
  }
  json::array eps;
  for (const auto& e : endpoints_) eps.emplace_back(e);
  json::object o{
      {"uptime_seconds", t},
      {"listen", eps},
      {"connections", sessions_.size()},
      {"connections_total", connections_total_},
      {"connections_refused", gate_ ? gate_->refused() : 0},
      {"workers_connected", tot.connected},
      {"hashrate", json::object{{"1m", tot.r1}, {"5m", tot.r5}, {"1h", tot.r60}}},
      {"reported_rate", tot.reported},
      {"accepted", accepted_},
      {"rejected", rejected_},
      {"blocks", blocks_},
      {"best", json::object{{"difficulty", best_difficulty_}, {"hash", best_hash_}, {"worker", best_worker_}}},
      {"job", job},
      {"upstream", upstream_ ? json::value(upstream_->stats()) : json::value(nullptr)},
      {"file_task", files_ ? json::value(files_->stats()) : json::value(nullptr)}};
  if (with_history) {
    json::array history;
    for (const auto& [when, rate] : history_) history.push_back(json::array{when, rate});
    o["history"] = std::move(history);
  }
  return o;
}

json::object Coordinator::stats() const {
  const double t = now();
  Totals tot;
  json::array workers;
  for (const auto& [id, w] : workers_) {
    tot.add(*w, t);
    workers.push_back(worker_json(*w, t));
  }
  json::object o = stats_head(t, tot, true);
  o["workers"] = std::move(workers);
  return o;
}

json::object Coordinator::summary() const {
  const double t = now();
  Totals tot;
  for (const auto& [id, w] : workers_) tot.add(*w, t);
  return stats_head(t, tot, false);
}

std::shared_ptr<const std::string> Coordinator::build_stats_body() const {
  std::string doc = json::serialize(stats());
  doc += '\n';
  return std::make_shared<const std::string>(std::move(doc));
}

namespace {
// Earlier /api/stats documents that slow readers may still hold before a rebuild waits: with
// 10,000 workers a document is about 5 MB, so at most this many more are pinned at once.
constexpr std::size_t kStatsPinned = 4;
// Workers serialized between two turns of the event loop: about a millisecond's work.
constexpr std::size_t kStatsSlice = 256;
}  // namespace

Coordinator::StatsBody Coordinator::stats_body() {
  const double t = now();
  std::erase_if(stats_pinned_, [](const std::weak_ptr<const std::string>& w) { return w.expired(); });
  // While earlier documents are still being sent to slow readers, the current one is served
  // (however old) rather than piling up more of them.
  const bool room = stats_pinned_.size() < kStatsPinned;
  auto publish = [this](std::shared_ptr<const std::string> doc, double built) {
    if (stats_doc_) stats_pinned_.push_back(stats_doc_);
    stats_doc_ = std::move(doc);
    stats_built_ = built;
  };
  if (!stats_doc_ || (room && t - stats_built_ > kStatsStale)) {
    // Nobody has asked for a while: build it now, so the answer is not an old one.
    publish(build_stats_body(), t);
  } else if (room && t - stats_built_ >= kStatsFresh && !stats_building_) {
    // Asked for steadily: serve this one and build the next between other work.
    stats_building_ = true;
    asio::co_spawn(
        io_,
        [this, publish]() -> asio::awaitable<void> {
          const double built = now();
          std::shared_ptr<const std::string> doc;
          try {
            doc = co_await rebuild_stats_body();
          } catch (const std::exception&) {
            // Out of memory and the like: the next request tries again.
          }
          stats_building_ = false;
          if (doc && built > stats_built_) publish(std::move(doc), built);
        },
        asio::detached);
  }
  return {stats_doc_, std::max(0.0, t - stats_built_)};
}

asio::awaitable<std::shared_ptr<const std::string>> Coordinator::rebuild_stats_body() {
  // The same document as stats() gives, written a slice of workers at a time with a turn of
  // the event loop between slices: 10,000 workers take tens of milliseconds to serialize,
  // which Stratum replies must not wait behind. Workers are visited by id, so records added
  // or pruned meanwhile are simply seen or not.
  const double t = now();
  Totals tot;
  std::string list = "[";
  std::uint64_t next = 0;
  std::size_t n = 0;
  for (auto it = workers_.lower_bound(next); it != workers_.end(); it = workers_.lower_bound(next)) {
    const mining::WorkerStats& w = *it->second;
    next = it->first + 1;
    tot.add(w, t);
    if (list.size() > 1) list += ',';
    list += json::serialize(worker_json(w, t));
    if (++n % kStatsSlice == 0) {
      co_await asio::post(io_, asio::use_awaitable);
      if (stopping_) co_return nullptr;
    }
  }
  list += ']';
  std::string doc = json::serialize(stats_head(t, tot, true));
  doc.pop_back();  // its closing brace: the workers go last, as in stats()
  doc += ",\"workers\":";
  doc += list;
  doc += "}\n";
  co_return std::make_shared<const std::string>(std::move(doc));
}

}  // namespace hf::coord
