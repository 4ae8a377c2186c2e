#include "net/coordinator/coordinator.hpp"

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "engine/hex.hpp"
#include "net/coordinator/seed_server.hpp"
#include "net/coordinator/stratum_session.hpp"

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
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

void Coordinator::log(const std::string& line) const {
  if (cfg_.log) return cfg_.log(line);
  std::fprintf(stderr, "coordinator: %s\n", line.c_str());
}

void Coordinator::start() {
  if (cfg_.listen.empty() && cfg_.tls_listen.empty()) throw std::runtime_error("nothing to listen on");
  if (!cfg_.tls_listen.empty()) {
    if (cfg_.cert_file.empty() || cfg_.key_file.empty())
      throw std::runtime_error("--tls-listen needs --cert and --key");
    tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    tls_->use_certificate_chain_file(cfg_.cert_file, ec);
    if (ec) throw std::runtime_error("cannot load certificate " + cfg_.cert_file + ": " + ec.message());
    tls_->use_private_key_file(cfg_.key_file, asio::ssl::context::pem, ec);
    if (ec) throw std::runtime_error("cannot load key " + cfg_.key_file + ": " + ec.message());
  }
  if (cfg_.job_file.empty() && !cfg_.file_task) throw std::runtime_error("no job source: give --header-job FILE or --file-task FILE");
  if (!cfg_.seed_listen.empty() && !cfg_.file_task) throw std::runtime_error("--seed-listen serves the file task: give --file-task FILE");
  if (!cfg_.job_file.empty()) load_jobs();
  if (cfg_.file_task) {
    files_ = std::make_unique<FileTaskRunner>(io_, *cfg_.file_task, [this](const std::string& l) { log(l); });
    files_->on_finished([this] {
      if (file_done_) file_done_();
    });
    for (const std::string& l : cfg_.seed_listen) {
      auto srv = std::make_unique<SeedServer>(io_, *files_, cfg_.seed_clients, [this](const std::string& l) { log(l); });
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
  asio::co_spawn(io_, accept_loop(acc, tls), asio::detached);
}

std::vector<std::string> Coordinator::endpoints() const { return endpoints_; }

asio::awaitable<void> Coordinator::accept_loop(std::shared_ptr<tcp::acceptor> acc, bool tls) {
  while (!stopping_) {
    boost::system::error_code ec;
    tcp::socket sock = co_await acc->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) break;
      // Out of file descriptors and the like: wait a moment instead of spinning.
      log("accept failed: " + ec.message());
      asio::steady_timer t(io_, std::chrono::milliseconds(100));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (sessions_.size() >= cfg_.max_connections) {
      sock.close(ec);  // over the limit: refuse without reading
      continue;
    }
    ++connections_total_;
    auto stream = tls ? netio::make_tls_stream(std::move(sock), *tls_, true) : netio::make_tcp_stream(std::move(sock));
    auto s = std::make_shared<StratumSession>(*this, std::move(stream), tls);
    sessions_.insert(s.get());
    asio::co_spawn(io_, [s]() { return s->run(); }, asio::detached);
  }
}

void Coordinator::session_ended(StratumSession* s) {
  sessions_.erase(s);
}

Bytes Coordinator::take_extranonce1() {
  std::uint32_t v = next_en1_++;
  while (en1_in_use_.count(v)) v = next_en1_++;
  en1_in_use_.insert(v);
  return Bytes{static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 8),
               static_cast<std::uint8_t>(v)};
}

void Coordinator::release_extranonce1(const Bytes& en1) {
  if (en1.size() != 4) return;
  en1_in_use_.erase(std::uint32_t(en1[0]) << 24 | std::uint32_t(en1[1]) << 16 | std::uint32_t(en1[2]) << 8 | en1[3]);
}

mining::WorkerStats& Coordinator::new_worker_stats() {
  const double t = now();
  // Forget disconnected workers after an hour, and the oldest of them beyond 10,000.
  std::size_t gone = 0;
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (!it->second->connected) ++gone;
    if (!it->second->connected && (t - it->second->last_seen > 3600 || gone > 10'000)) {
      it = workers_.erase(it);
      --gone;
    } else {
      ++it;
    }
  }
  auto w = std::make_unique<mining::WorkerStats>(t);
  w->id = next_worker_++;
  mining::WorkerStats& ref = *w;
  workers_.emplace(ref.id, std::move(w));
  return ref;
}

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
  std::ifstream f(cfg_.job_file, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read job file " + cfg_.job_file);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string why;
  auto t = mining::parse_job_file(ss.str(), &why);
  if (!t) throw std::runtime_error(cfg_.job_file + ": " + why);
  for (const auto& j : *t)
    if (j.extranonce2_size != t->front().extranonce2_size)
      throw std::runtime_error(cfg_.job_file + ": every job must have the same extranonce2_size");
  std::error_code ec;
  job_file_mtime_ = std::filesystem::last_write_time(cfg_.job_file, ec);
  const bool size_changed = !templates_.empty() && en2_size_ != t->front().extranonce2_size;
  templates_ = std::move(*t);
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
  if (t.ntime_now) job.ntime = static_cast<std::uint32_t>(unix_now());
  auto cur = book_.current();
  job.clean = !cur || cur->prevhash != job.prevhash || cur->coinb1 != job.coinb1 || cur->coinb2 != job.coinb2;
  std::vector<std::string> dropped;
  auto issued = book_.add(std::move(job), &dropped);
  for (StratumSession* s : std::set<StratumSession*>(sessions_)) s->on_job(*issued, dropped);
}

asio::awaitable<void> Coordinator::job_loop() {
  auto timer = job_timer_;
  while (!stopping_) {
    timer->expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(cfg_.job_interval * 1000)));
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
  if (sample_timer_) sample_timer_->cancel();
  if (files_) files_->stop();
  for (auto& s : seed_servers_) s->stop();
  std::string host, port, why;
  if (!cfg_.reconnect_to.empty()) netio::split_host_port(cfg_.reconnect_to, &host, &port, &why);
  for (StratumSession* s : std::set<StratumSession*>(sessions_)) {
    s->send_reconnect(host, port, 0);
    s->close_after_flush("coordinator shutting down");
  }
}

json::object Coordinator::stats() const {
  const double t = now();
  json::array workers;
  double r1 = 0, r5 = 0, r60 = 0;
  std::size_t connected = 0;
  for (const auto& [id, w] : workers_) {
    if (w->connected) {
      ++connected;
      r1 += w->r1m.rate(t);
      r5 += w->r5m.rate(t);
      r60 += w->r1h.rate(t);
    }
    workers.push_back(json::object{{"id", id},
                                   {"name", w->name},
                                   {"address", w->address},
                                   {"agent", w->agent},
                                   {"backend", w->backend},
                                   {"devices", w->devices},
                                   {"connected", w->connected},
                                   {"difficulty", w->difficulty},
                                   {"hashrate", json::object{{"1m", w->r1m.rate(t)}, {"5m", w->r5m.rate(t)}, {"1h", w->r1h.rate(t)}}},
                                   {"reported_rate", w->reported_rate},
                                   {"accepted", w->accepted},
                                   {"rejected", w->rejected},
                                   {"stale", w->stale},
                                   {"duplicate", w->duplicate},
                                   {"low_difficulty", w->low},
                                   {"blocks", w->blocks},
                                   {"best_difficulty", w->best_difficulty},
                                   {"best_hash", w->best_hash},
                                   {"connected_seconds", t - w->connected_at},
                                   {"last_seen_seconds_ago", t - w->last_seen}});
  }
  json::object job;
  if (auto j = book_.current()) {
    const mining::NotifyFields f = mining::to_notify(*j);
    job = {{"id", f.job_id}, {"prevhash", f.prevhash}, {"version", f.version}, {"nbits", f.nbits}, {"ntime", f.ntime},
           {"clean", f.clean}, {"source", cfg_.job_file}};
  }
  json::array eps;
  for (const auto& e : endpoints_) eps.emplace_back(e);
  json::array history;
  for (const auto& [when, rate] : history_) history.push_back(json::array{when, rate});
  return {{"uptime_seconds", t},
          {"listen", eps},
          {"connections", sessions_.size()},
          {"connections_total", connections_total_},
          {"workers_connected", connected},
          {"hashrate", json::object{{"1m", r1}, {"5m", r5}, {"1h", r60}}},
          {"accepted", accepted_},
          {"rejected", rejected_},
          {"blocks", blocks_},
          {"best", json::object{{"difficulty", best_difficulty_}, {"hash", best_hash_}, {"worker", best_worker_}}},
          {"job", job},
          {"file_task", files_ ? json::value(files_->stats()) : json::value(nullptr)},
          {"history", history},
          {"workers", workers}};
}

}  // namespace hf::coord
