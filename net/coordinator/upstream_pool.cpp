#include "net/coordinator/upstream_pool.hpp"

#include <cmath>
#include <cstdio>
#include <random>

#include "hashforge/hex.hpp"
#include "net/stratum/extranonce.hpp"
#include "net/stratum/notify.hpp"

namespace hf::coord {

UpstreamPool::UpstreamPool(asio::io_context& io, UpstreamConfig cfg, Events ev,
                           std::function<void(const std::string&)> log)
    : io_(io), cfg_(std::move(cfg)), ev_(std::move(ev)), log_(std::move(log)) {
  // As for workers: the pool's certificate is checked (netio::TlsVerify). Throws for an
  // unreadable --tls-ca file.
  tls_ = netio::make_client_tls(cfg_.tls);
}

void UpstreamPool::start() {
  watch_timer_ = std::make_shared<asio::steady_timer>(io_);
  asio::co_spawn(io_, run(), asio::detached);
  asio::co_spawn(io_, answer_watch(), asio::detached);
}

void UpstreamPool::stop() {
  stopping_ = true;
  if (watch_timer_) watch_timer_->cancel();
  if (conn_) conn_->close("stopping");
}

void UpstreamPool::send(std::string_view method, json::array params, const std::string& tag) {
  if (!conn_ || conn_->closed()) return;
  const std::int64_t id = next_id_++;
  pending_[id] = tag;
  conn_->send(stratum::encode_request(id, method, std::move(params)));
}

void UpstreamPool::submit(const std::string& job_id, const std::string& extranonce2, const std::string& ntime,
                          const std::string& nonce, const std::optional<std::string>& version_bits,
                          std::function<void(PoolAnswer)> done) {
  if (!ready_ || !conn_ || conn_->closed()) {
    done(PoolAnswer{false, 20, "not connected to the upstream pool"});
    return;
  }
  json::array p{cfg_.user, job_id, extranonce2, ntime, nonce};
  if (version_bits) p.emplace_back(*version_bits);
  const std::int64_t id = next_id_++;
  submits_[id] = Submitted{std::move(done), std::chrono::steady_clock::now()};
  ++submitted_;
  conn_->send(stratum::encode_request(id, "mining.submit", std::move(p)));
}

void UpstreamPool::fail_pending(const std::string& why) {
  // Each callback may submit again; take the map first so it is not changed under us.
  auto gone = std::move(submits_);
  submits_.clear();
  for (auto& [id, s] : gone) {
    ++unanswered_;
    s.done(PoolAnswer{false, 20, why});
  }
}

asio::awaitable<void> UpstreamPool::answer_watch() {
  auto timer = watch_timer_;
  while (!stopping_) {
    timer->expires_after(std::chrono::seconds(1));
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_) break;
    const auto limit = std::chrono::steady_clock::now() - cfg_.answer_timeout;
    std::vector<std::function<void(PoolAnswer)>> late;
    for (auto it = submits_.begin(); it != submits_.end();) {
      if (it->second.sent < limit) {
        late.push_back(std::move(it->second.done));
        it = submits_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& done : late) {
      ++unanswered_;
      done(PoolAnswer{false, 20, "the upstream pool did not answer in time"});
    }
  }
}

asio::awaitable<void> UpstreamPool::run() {
  std::mt19937 rng(std::random_device{}());
  netio::Failover failover(cfg_.urls.size(), cfg_.backoff_min, cfg_.backoff_max);
  while (!stopping_) {
    const netio::PoolUrl url = redirect_ ? *redirect_ : cfg_.urls[failover.current()];
    const bool redirected = redirect_.has_value();
    redirect_.reset();
    bool was_up = false;
    try {
      co_await session(url);
    } catch (const std::exception& e) {
      last_error_ = e.what();
      log_("upstream " + url.text + ": " + e.what());
    }
    was_up = ready_;
    if (ready_) {
      ready_ = false;
      const std::string why = conn_ && !conn_->why().empty() ? conn_->why() : "closed";
      fail_pending("upstream pool connection lost before it answered");
      if (ev_.lost) ev_.lost(why);
    } else {
      fail_pending("upstream pool connection lost before it answered");
    }
    if (stopping_) break;
    std::chrono::milliseconds wait = failover.next((was_up && !refused_) || redirected);
    if (redirect_) wait = redirect_wait_;
    wait = netio::with_jitter(wait, rng);
    if (wait.count() > 0) log_("upstream: next try in " + std::to_string(wait.count()) + " ms");
    asio::steady_timer t(io_, wait);
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> UpstreamPool::session(const netio::PoolUrl& url) {
  auto stream = co_await netio::connect_stream(url, *tls_, cfg_.tls, cfg_.connect_timeout);
  netio::LineLimits lim;
  lim.idle_timeout = cfg_.idle_timeout;
  lim.max_line = stratum::kMaxPoolLine;
  conn_ = std::make_shared<netio::LineConn>(std::move(stream), lim);
  conn_->start();
  ++connects_;
  next_id_ = 1;
  pending_.clear();
  subscribed_ = authorized_ = ready_ = refused_ = false;
  link_ = UpstreamLink{};
  link_.url = url.text;
  difficulty_ = 1;
  held_job_.reset();
  log_("upstream: connected to " + url.text);
  if (cfg_.version_mask)
    send("mining.configure",
         json::array{json::array{"version-rolling"},
                     json::object{{"version-rolling.mask", mining::hex_u32(cfg_.version_mask)},
                                  {"version-rolling.min-bit-count", 2}}},
         "configure");
  send("mining.subscribe", json::array{cfg_.agent}, "subscribe");
  send("mining.authorize", json::array{cfg_.user, cfg_.password}, "authorize");
  while (auto line = co_await conn_->read_line()) {
    if (line->empty()) continue;
    std::string why;
    auto m = stratum::parse_message(*line, &why, nullptr, stratum::kMaxPoolLine);
    if (!m) {
      log_("upstream " + url.text + ": ignoring a bad line: " + why);
      continue;
    }
    handle(*m);
  }
  const std::string why = conn_->why().empty() ? "closed" : conn_->why();
  if (!refused_) last_error_ = why;
  log_("upstream: disconnected from " + url.text + ": " + why);
  conn_->close("done");
}

void UpstreamPool::become_ready() {
  if (!subscribed_ || !authorized_ || !conn_ || conn_->closed()) return;
  if (const std::string why = ev_.ready ? ev_.ready(link_) : std::string(); !why.empty()) {
    refused_ = true;
    last_error_ = why;
    log_("upstream " + link_.url + " refused: " + why);
    ready_ = false;
    conn_->close(why);
    return;
  }
  if (!ready_)
    log_("upstream: ready on " + link_.url + ", extranonce1 " + to_hex(link_.extranonce1) + " + " +
         std::to_string(link_.extranonce2_size) + " bytes");
  ready_ = true;
  if (held_job_) {
    mining::StratumJob j = std::move(*held_job_);
    held_job_.reset();
    j.clean = true;
    ++jobs_;
    if (ev_.job) ev_.job(std::move(j), difficulty_);
  }
}

void UpstreamPool::handle(const stratum::Message& m) {
  if (!m.is_request()) return on_reply(m);
  const json::array& p = m.params;
  if (m.method == "mining.notify") {
    std::string why;
    auto job = stratum::job_from_notify(p, &why);
    if (!job) {
      log_("upstream: ignoring a bad mining.notify: " + why);
      return;
    }
    if (!ready_) {
      // Before subscribe and authorize are answered: keep the newest; it is sent as clean.
      held_job_ = std::move(*job);
      return;
    }
    ++jobs_;
    if (ev_.job) ev_.job(std::move(*job), difficulty_);
    return;
  }
  if (m.method == "mining.set_difficulty") {
    const double d = !p.empty() && p[0].is_number() ? p[0].to_number<double>() : NAN;
    if (!(std::isfinite(d) && d > 0)) {
      log_("upstream: ignoring a mining.set_difficulty that is not a positive number");
      return;
    }
    if (d < cfg_.min_difficulty && !(difficulty_ < cfg_.min_difficulty)) {
      char b[160];
      std::snprintf(b, sizeof b,
                    "upstream: pool difficulty %.6g is below --min-difficulty %.6g: workers get %.6g, and every "
                    "share is forwarded",
                    d, cfg_.min_difficulty, cfg_.min_difficulty);
      log_(b);
    }
    difficulty_ = d;
    return;
  }
  if (m.method == "mining.set_extranonce") {
    std::string why;
    auto en = stratum::extranonce_of(p, 0, &why);
    if (!en) {
      log_("upstream: ignoring a bad mining.set_extranonce: " + why);
      return;
    }
    // The pool takes the old extranonce until its next job (NiceHash's extension); the
    // coordinator drops its jobs now instead and waits for that job, so no share is sent
    // on work either side could doubt.
    link_.extranonce1 = std::move(en->extranonce1);
    link_.extranonce2_size = en->extranonce2_size;
    log_("upstream: extranonce now " + to_hex(link_.extranonce1) + " + " + std::to_string(link_.extranonce2_size) +
         " bytes");
    if (ready_) become_ready();
    return;
  }
  if (m.method == "mining.set_version_mask") {
    if (!p.empty() && p[0].is_string())
      if (auto mask = mining::parse_hex_u32(p[0].as_string())) {
        link_.version_mask = *mask & cfg_.version_mask;
        if (ready_) become_ready();
      }
    return;
  }
  if (m.method == "client.reconnect") {
    netio::Reconnect r = netio::parse_reconnect(p, link_.url.rfind("stratum+tcp://", 0) != 0);
    redirect_ = std::move(r.url);
    redirect_wait_ = r.wait;
    log_("upstream: the pool asked us to reconnect" + (redirect_ ? " to " + redirect_->text : std::string()));
    conn_->close("client.reconnect");
    return;
  }
  if (m.method == "client.show_message" && !p.empty() && p[0].is_string()) {
    log_("upstream pool says: " + std::string(p[0].as_string()).substr(0, 200));
    return;
  }
  if (m.method == "client.get_version" && !m.id.is_null()) {
    conn_->send(stratum::encode_result(m.id, json::value(cfg_.agent)));
    return;
  }
  if (!m.id.is_null()) conn_->send(stratum::encode_error(m.id, 20, "not supported"));
}

void UpstreamPool::on_reply(const stratum::Message& m) {
  if (!m.id.is_int64()) return;
  const std::int64_t id = m.id.as_int64();
  if (auto s = submits_.find(id); s != submits_.end()) {
    auto done = std::move(s->second.done);
    submits_.erase(s);
    const stratum::SubmitAnswer sa = stratum::submit_answer(m);
    PoolAnswer a;
    a.accepted = sa.accepted;
    if (a.accepted) {
      ++accepted_;
    } else {
      ++rejected_;
      a.code = sa.code;
      a.message = !sa.reason.empty() ? sa.reason : "rejected by the upstream pool";
    }
    done(std::move(a));
    return;
  }
  const auto err = stratum::reply_error(m);
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  const std::string what = it->second;
  pending_.erase(it);
  if (what == "configure") {
    // The pool's mask, if it agreed; anything else (an error, false) means no rolling.
    link_.version_mask = 0;
    if (const json::object* r = m.result.if_object(); r && !err)
      if (const json::value* on = r->if_contains("version-rolling"); on && on->is_bool() && on->as_bool())
        if (const json::value* mask = r->if_contains("version-rolling.mask"); mask && mask->is_string())
          if (auto v = mining::parse_hex_u32(mask->as_string())) link_.version_mask = *v & cfg_.version_mask;
    if (ready_) become_ready();
  } else if (what == "subscribe") {
    const json::array* r = m.result.if_array();
    std::string why = err ? err->message : "unexpected reply";
    auto en = !err && r ? stratum::extranonce_of(*r, 1, &why) : std::nullopt;
    if (!en) {
      last_error_ = "subscribe failed: " + why;
      log_("upstream " + link_.url + ": " + last_error_);
      conn_->close("subscribe failed");
      return;
    }
    link_.extranonce1 = std::move(en->extranonce1);
    link_.extranonce2_size = en->extranonce2_size;
    subscribed_ = true;
    // Asked once subscribed, as the extension's description says; a pool that does not
    // know it answers with an error, and then reconnects us when its extranonce changes.
    send("mining.extranonce.subscribe", json::array{}, "extranonce");
    become_ready();
  } else if (what == "authorize") {
    if (err || !m.result.is_bool() || !m.result.as_bool()) {
      last_error_ = "authorization refused" + (err ? ": " + err->message : std::string());
      log_("upstream " + link_.url + ": " + last_error_);
      conn_->close("authorization refused");
      return;
    }
    authorized_ = true;
    become_ready();
  }
}

json::object UpstreamPool::stats() const {
  json::array urls;
  for (const auto& u : cfg_.urls) urls.emplace_back(u.text);
  return {{"urls", urls},
          {"url", ready_ ? json::value(link_.url) : json::value(nullptr)},
          {"connected", ready_},
          {"extranonce1", ready_ ? to_hex(link_.extranonce1) : std::string()},
          {"extranonce2_size", ready_ ? link_.extranonce2_size : 0},
          {"version_mask", mining::hex_u32(link_.version_mask)},
          {"difficulty", difficulty_},
          {"user", cfg_.user},
          {"connects", connects_},
          {"jobs", jobs_},
          {"submitted", submitted_},
          {"accepted", accepted_},
          {"rejected", rejected_},
          {"unanswered", unanswered_},
          {"waiting", submits_.size()},
          {"last_error", last_error_}};
}

}  // namespace hf::coord
