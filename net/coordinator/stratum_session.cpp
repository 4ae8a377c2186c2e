#include "net/coordinator/stratum_session.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "hashforge/hex.hpp"
#include "net/stratum/notify.hpp"

namespace hf::coord {

using mining::StratumError;

namespace {

// Stratum sends difficulties as JSON numbers; integers stay integers for old miners.
json::value diff_json(double d) {
  if (d >= 1 && d < 9e15 && d == static_cast<double>(static_cast<std::int64_t>(d))) return static_cast<std::int64_t>(d);
  return d;
}

using stratum::number_of;

bool is_string_param(const json::array& p, std::size_t i) { return i < p.size() && p[i].is_string(); }

}  // namespace

StratumSession::StratumSession(Coordinator& co, std::unique_ptr<netio::Stream> s, bool tls)
    : co_(co),
      conn_(std::make_shared<netio::LineConn>(std::move(s), co.config().limits)),
      tls_(tls),
      auth_timer_(conn_->stream().socket().get_executor()),
      vardiff_(co.config().vardiff_cfg, co.config().start_difficulty, co.now()),
      stats_owner_(co.new_worker_stats()),
      stats_(*stats_owner_),
      next_difficulty_(co.config().vardiff ? vardiff_.difficulty() : co.config().start_difficulty),
      vardiff_timer_(conn_->stream().socket().get_executor()) {
  stats_.address = conn_->peer();
  stats_.difficulty = next_difficulty_;
  st_.extranonce2_size = co.extranonce2_size();
}

// The destructor must not touch the coordinator: when the process stops, the io_context
// destroys suspended sessions after the coordinator is gone. finish() does the bookkeeping.
StratumSession::~StratumSession() = default;

void StratumSession::finish() {
  auth_timer_.cancel();
  vardiff_timer_.cancel();
  stats_.connected = false;
  if (!own_en1_.empty()) co_.release_extranonce1(own_en1_);
  own_en1_.clear();
  if (file_joined_ && co_.file_task()) co_.file_task()->leave(this);
  file_joined_ = false;
  st_.extranonce1.clear();
  // A connection that subscribed but never authorized has no name and no shares: its
  // record goes with it instead of being kept for the dashboard.
  if (listed_ && !authorized_) co_.unlist_worker(stats_.id);
  co_.session_ended(this);
}

void StratumSession::list_worker() {
  if (listed_) return;
  listed_ = true;
  co_.list_worker(stats_owner_);
}

asio::awaitable<void> StratumSession::run() {
  auto self = shared_from_this();
  if (tls_) {
    // The handshake gets the same deadline as authorization: a silent client must not
    // hold the slot.
    asio::steady_timer t(conn_->stream().socket().get_executor());
    t.expires_after(co_.config().auth_timeout);
    t.async_wait([c = conn_](boost::system::error_code ec) {
      if (!ec) c->close("TLS handshake timed out");
    });
    try {
      co_await conn_->stream().handshake();
    } catch (const boost::system::system_error& e) {
      co_.log(conn_->peer() + ": TLS handshake failed: " + e.code().message());
      conn_->close("TLS handshake failed");
      finish();
      co_return;
    }
    t.cancel();
  }
  conn_->start();
  // (The executor comes from the socket, not from co_await inside the call's arguments:
  // GCC 12 destroys temporaries there twice.)
  asio::co_spawn(
      conn_->stream().socket().get_executor(), [self]() { return self->auth_deadline(); }, asio::detached);
  if (co_.config().vardiff)
    asio::co_spawn(
        conn_->stream().socket().get_executor(), [self]() { return self->vardiff_watch(); }, asio::detached);
  while (auto line = co_await conn_->read_line()) {
    if (line->empty()) continue;
    std::string why;
    bool not_json = false;
    auto m = stratum::parse_message(*line, &why, &not_json);
    if (not_json) {
      // Not JSON text at all (binary bytes, another protocol): no Stratum client sends that,
      // so as in ckpool the connection ends at once, after one error line saying why.
      fail(nullptr, StratumError::other, "invalid JSON; closing the connection");
      conn_->close_after_flush("sent a line that is not JSON");
      break;
    }
    if (!m || !m->is_request()) {
      // JSON of the wrong shape: answered, and the connection goes on up to a limit.
      fail(m ? m->id : json::value(nullptr), StratumError::other, m ? "expected a request" : why);
      if (++bad_lines_ > co_.config().max_bad_lines) {
        conn_->close_after_flush("too many malformed requests");
        break;
      }
      continue;
    }
    handle(*m);
  }
  if (conn_->line_too_long()) {
    conn_->send(stratum::encode_error(nullptr, static_cast<int>(StratumError::other), "line longer than 16 KiB"));
    conn_->close_after_flush(conn_->why());
  }
  co_.log(stats_.address + (stats_.name.empty() ? "" : " (" + stats_.name + ")") + " disconnected: " + conn_->why());
  finish();
}

asio::awaitable<void> StratumSession::auth_deadline() {
  auto self = shared_from_this();
  auth_timer_.expires_after(co_.config().auth_timeout);
  boost::system::error_code ec;
  co_await auth_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (!authorized_ && !conn_->closed()) conn_->close("not authorized in time");
}

asio::awaitable<void> StratumSession::vardiff_watch() {
  auto self = shared_from_this();
  // A quiet worker's difficulty comes down within a few target intervals, not at the next
  // job refresh: checked about four times per target interval, at most once a second.
  const double every = std::clamp(co_.config().vardiff_cfg.target_interval / 4, 0.05, 1.0);
  const auto period = std::chrono::milliseconds(static_cast<std::int64_t>(every * 1000));
  while (!conn_->closed()) {
    vardiff_timer_.expires_after(period);
    boost::system::error_code ec;
    co_await vardiff_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || conn_->closed()) break;
    if (!authorized_ || !subscribed_ || !difficulty_sent_) continue;  // no work yet
    if (auto next = vardiff_.on_idle(co_.now())) retarget(*next);
  }
}

void StratumSession::handle(Message& m) {
  const std::string& method = m.method;
  stats_.last_seen = co_.now();
  if (method == "mining.submit") return on_submit(m);
  if (method == "mining.subscribe") return on_subscribe(m);
  if (method == "mining.authorize") return on_authorize(m);
  if (method == "mining.configure") return on_configure(m);
  if (method == "mining.suggest_difficulty") return on_suggest_difficulty(m);
  if (method == "mining.extranonce.subscribe") {
    extranonce_sub_ = true;
    return reply(m.id, true);
  }
  if (method == "hashforge.hello") return on_hello(m);
  if (method.rfind("hashforge.file.", 0) == 0) return on_file(m);
  fail(m.id, StratumError::other, "unknown method '" + method + "'");
}

void StratumSession::on_subscribe(Message& m) {
  if (is_string_param(m.params, 0)) stats_.agent = std::string(m.params[0].as_string()).substr(0, 128);
  if (!subscribed_) {
    std::string why;
    auto own = co_.take_extranonce1(&why);
    if (!own) {
      fail(m.id, StratumError::other, why);
      conn_->close_after_flush(why);
      return;
    }
    own_en1_ = std::move(*own);
    st_.extranonce1 = co_.extranonce1_for(own_en1_);
    st_.extranonce2_size = co_.extranonce2_size();
    subscribed_ = true;
    list_worker();
  }
  const std::string en1 = to_hex(st_.extranonce1);
  // hashforge.hello among the subscriptions tells a hashforge worker it may use the
  // extension (rate reports, the file task); other miners read only what they know.
  json::array subs{json::array{"mining.set_difficulty", en1}, json::array{"mining.notify", en1},
                   json::array{"hashforge.hello", en1}};
  reply(m.id, json::array{subs, en1, st_.extranonce2_size});
  if (authorized_ && !difficulty_sent_) {  // authorized first: its work starts now
    vardiff_.restart(co_.now());
    set_difficulty(next_difficulty_);
    if (auto job = co_.jobs().current()) send_job(*job);
  }
}

void StratumSession::on_authorize(Message& m) {
  if (!is_string_param(m.params, 0) || m.params[0].as_string().empty() || m.params[0].as_string().size() > 128)
    return fail(m.id, StratumError::other, "authorize wants [user, password]");
  const std::string user(m.params[0].as_string());
  for (unsigned char c : user)
    if (c < 0x20 || c == 0x7f) return fail(m.id, StratumError::other, "user name has control characters");
  if (!co_.config().password.empty() &&
      (!is_string_param(m.params, 1) || m.params[1].as_string() != co_.config().password))
    return fail(m.id, StratumError::unauthorized, "wrong password");
  if (users_.size() >= 16 && !users_.count(user))
    return fail(m.id, StratumError::other, "too many users on one connection");
  users_.insert(user);
  if (stats_.name.empty()) stats_.name = user;
  const bool first = !authorized_;
  authorized_ = true;
  list_worker();
  reply(m.id, true);
  if (first) {
    co_.log(stats_.address + " authorized as " + user + (stats_.agent.empty() ? "" : " (" + stats_.agent + ")"));
    // Work starts at once, even for a worker that authorizes before it subscribes:
    // it gets the job when it subscribes.
    if (subscribed_) {
      vardiff_.restart(co_.now());  // the silence before the work started is not the worker's
      set_difficulty(next_difficulty_);
      if (auto job = co_.jobs().current()) send_job(*job);
    }
  }
}

void StratumSession::on_configure(Message& m) {
  if (m.params.empty() || !m.params[0].is_array())
    return fail(m.id, StratumError::other, "configure wants [extensions, parameters]");
  const json::object* opts = m.params.size() > 1 && m.params[1].is_object() ? &m.params[1].as_object() : nullptr;
  json::object out;
  for (const json::value& e : m.params[0].as_array()) {
    if (!e.is_string()) continue;
    const std::string ext(e.as_string());
    if (ext == "version-rolling") {
      std::uint32_t want = 0xffffffff;
      if (opts)
        if (const json::value* v = opts->if_contains("version-rolling.mask"); v && v->is_string()) {
          std::string s(v->as_string());
          if (s.size() < 8) s.insert(0, 8 - s.size(), '0');
          auto parsed = mining::parse_hex_u32(s);
          if (!parsed) return fail(m.id, StratumError::other, "version-rolling.mask must be hex");
          want = *parsed;
        }
      st_.version_mask = want & co_.version_mask();
      if (st_.version_mask == 0) {
        out["version-rolling"] = false;
      } else {
        out["version-rolling"] = true;
        out["version-rolling.mask"] = mining::hex_u32(st_.version_mask);
      }
    } else if (ext == "subscribe-extranonce") {
      extranonce_sub_ = true;
      out[ext] = true;
    } else if (ext == "minimum-difficulty") {
      if (opts)
        if (const json::value* v = opts->if_contains("minimum-difficulty.value"))
          if (auto d = number_of(*v); d && *d > 0) {
            out[ext] = true;
            const double chosen = vardiff_.set(std::max(*d, next_difficulty_), co_.now());
            if (authorized_ && subscribed_)
              set_difficulty(chosen);
            else
              next_difficulty_ = chosen;
            continue;
          }
      out[ext] = false;
    } else {
      out[ext] = false;  // unknown extensions are refused, never an error
    }
  }
  reply(m.id, std::move(out));
}

void StratumSession::on_suggest_difficulty(Message& m) {
  auto d = m.params.empty() ? std::nullopt : number_of(m.params[0]);
  if (!d || !(*d > 0)) return fail(m.id, StratumError::other, "suggest_difficulty wants a positive number");
  const double chosen = vardiff_.set(*d, co_.now());
  reply(m.id, true);
  if (authorized_ && subscribed_)
    retarget(chosen);  // at once, with the current job re-sent
  else
    next_difficulty_ = chosen;
}

void StratumSession::on_hello(Message& m) {
  // hashforge.hello [{"backend": "avx512", "devices": "...", "rate": 1.2e8}]: what a
  // hashforge worker reports about itself, for the statistics. Standard miners never send it.
  if (m.params.empty() || !m.params[0].is_object()) return fail(m.id, StratumError::other, "hello wants an object");
  const json::object& o = m.params[0].as_object();
  auto text = [&](const char* k) -> std::string {
    const json::value* v = o.if_contains(k);
    return v && v->is_string() ? std::string(v->as_string()).substr(0, 256) : std::string();
  };
  stats_.backend = text("backend");
  stats_.devices = text("devices");
  if (const json::value* r = o.if_contains("rate"))
    if (auto d = number_of(*r); d && std::isfinite(*d) && *d >= 0) stats_.reported_rate = *d;
  reply(m.id, true);
  // The first measured rate sets the difficulty at once, for a share about every
  // --share-interval, instead of vardiff finding it from the start difficulty (a fast worker
  // flooding shares, or a slow one finding none for minutes). Vardiff steers from there.
  if (co_.config().vardiff && !rate_difficulty_set_ && stats_.reported_rate > 0) {
    rate_difficulty_set_ = true;
    const double d = vardiff_.set(vardiff_.for_rate(stats_.reported_rate), co_.now());
    if (authorized_ && subscribed_)
      retarget(d);
    else
      next_difficulty_ = d;
  }
}

void StratumSession::on_file(Message& m) {
  FileTaskRunner* ft = co_.file_task();
  if (!authorized_) return fail(m.id, StratumError::unauthorized, "authorize first");
  if (!ft) return fail(m.id, StratumError::other, "this coordinator has no file task");
  std::string why;
  if (m.method == "hashforge.file.subscribe") {
    if (file_joined_) return reply(m.id, true);
    why = ft->join(this);
    if (why.empty()) {
      file_joined_ = true;
      co_.log(stats_.address + " (" + stats_.name + ") joined the file task");
    }
  } else if (!file_joined_) {
    why = "not subscribed to the file task (hashforge.file.subscribe)";
  } else if (m.method == "hashforge.file.ready") {
    why = ft->ready(this, m.params);
  } else if (m.method == "hashforge.file.resend") {
    why = ft->resend(this, m.params);
  } else if (m.method == "hashforge.file.result") {
    why = ft->result(this, m.params);
  } else {
    why = "unknown method '" + m.method + "'";
  }
  // join() has already queued the begin notification, so it reaches the worker before
  // this reply; workers take the file's messages in whatever order they come.
  if (why.empty()) return reply(m.id, true);
  fail(m.id, StratumError::other, why);
}

void StratumSession::send_file_chunks(std::shared_ptr<const Bytes> data, std::string task, unsigned round) {
  const std::uint64_t gen = ++file_send_gen_;
  auto self = shared_from_this();
  asio::co_spawn(
      conn_->stream().socket().get_executor(),
      [self, data, task, round, gen]() { return self->file_sender(data, task, round, gen); }, asio::detached);
}

asio::awaitable<void> StratumSession::file_sender(std::shared_ptr<const Bytes> data, std::string task, unsigned round,
                                                  std::uint64_t gen) {
  auto self = shared_from_this();
  asio::steady_timer pace(conn_->stream().socket().get_executor());
  std::size_t index = 0;
  for (std::size_t off = 0; off < data->size(); off += FileTaskRunner::kChunkBytes, ++index) {
    // Paced by the connection: the write queue holds at most a few chunks, so a big file
    // never trips the slow-reader limit and other messages are not held up behind it.
    while (!conn_->closed() && gen == file_send_gen_ && conn_->queued_bytes() > 128 * 1024) {
      pace.expires_after(std::chrono::milliseconds(5));
      boost::system::error_code ec;
      co_await pace.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (conn_->closed() || gen != file_send_gen_) co_return;
    const std::size_t n = std::min(FileTaskRunner::kChunkBytes, data->size() - off);
    conn_->send(stratum::encode_notification("hashforge.file.chunk",
                                             json::array{task, round, index, to_hex(ByteView(data->data() + off, n))}));
  }
}

void StratumSession::on_submit(Message& m) {
  if (!subscribed_) return fail(m.id, StratumError::not_subscribed, "not subscribed");
  if (!authorized_) return fail(m.id, StratumError::unauthorized, "unauthorized worker");
  const json::array& p = m.params;
  if (p.size() < 5 || p.size() > 6)
    return fail(m.id, StratumError::other, "submit wants [worker, job_id, extranonce2, ntime, nonce(, version_bits)]");
  for (std::size_t i = 0; i < p.size(); ++i)
    if (!p[i].is_string()) return fail(m.id, StratumError::other, "submit parameters must be strings");
  mining::Submit s;
  s.worker = p[0].as_string();
  if (!users_.count(s.worker))
    return fail(m.id, StratumError::unauthorized, "worker '" + s.worker.substr(0, 64) + "' is not authorized");
  s.job_id = p[1].as_string();
  s.extranonce2 = p[2].as_string();
  s.ntime = p[3].as_string();
  s.nonce = p[4].as_string();
  if (p.size() == 6) s.version_bits = std::string(p[5].as_string());

  const double now = co_.now();
  std::string base_id;
  const mining::ShareVerdict v = check_share(find_job(s.job_id, &base_id), s, st_, co_.unix_now());
  std::string shown;
  if (v.accepted || v.error == StratumError::low_difficulty)
    for (int i = 31; i >= 0; --i) shown += to_hex(ByteView(&v.hash[i], 1));
  co_.on_share_result(stats_, v.accepted, v.difficulty, shown, v.block);
  if (!v.accepted) {
    ++stats_.rejected;
    if (v.error == StratumError::job_not_found) ++stats_.stale;
    if (v.error == StratumError::duplicate) ++stats_.duplicate;
    if (v.error == StratumError::low_difficulty) ++stats_.low;
    return fail(m.id, v.error, v.message);
  }
  stats_.on_accepted(v.required, now);
  if (v.difficulty > stats_.best_difficulty) {
    stats_.best_difficulty = v.difficulty;
    stats_.best_hash = shown;
  }
  if (v.block) ++stats_.blocks;
  std::weak_ptr<StratumSession> weak = weak_from_this();
  if (co_.forward_share(base_id, own_en1_, s, v.hash, [weak, id = m.id](const PoolAnswer& a) {
        if (auto self = weak.lock()) self->answer_forwarded(id, a);
      })) {
    ++stats_.forwarded;  // the pool's answer is relayed when it comes
  } else {
    reply(m.id, true);
  }
  co_.log_share({{"worker", s.worker},
                 {"job_id", s.job_id},
                 {"extranonce1", to_hex(st_.extranonce1)},
                 {"extranonce2", s.extranonce2},
                 {"ntime", s.ntime},
                 {"nonce", s.nonce},
                 {"version_bits", s.version_bits ? json::value(*s.version_bits) : json::value(nullptr)},
                 {"header", to_hex(v.header)},
                 {"hash", shown},
                 {"required", v.required},
                 {"difficulty", v.difficulty}});
  if (co_.config().vardiff)
    if (auto next = vardiff_.on_share(now)) retarget(*next);
}

void StratumSession::answer_forwarded(const json::value& id, const PoolAnswer& a) {
  if (conn_->closed()) return;
  if (a.accepted) {
    ++stats_.pool_accepted;
    return reply(id, true);
  }
  ++stats_.pool_rejected;
  conn_->send(stratum::encode_error(id, a.code, a.message));
}

bool StratumSession::set_difficulty(double d) {
  if (d > co_.difficulty_cap()) {
    // Proxy mode: never harder than the pool's difficulty, or shares the pool would take
    // are held back. Vardiff starts over from the cap.
    d = co_.difficulty_cap();
    vardiff_.set(d, co_.now());
  }
  if (difficulty_sent_ && d == next_difficulty_) return false;
  next_difficulty_ = d;
  difficulty_sent_ = true;
  stats_.difficulty = d;
  conn_->send(stratum::encode_notification("mining.set_difficulty", json::array{diff_json(d)}));
  return true;
}

void StratumSession::retarget(double d) {
  if (!set_difficulty(d) || !authorized_ || !subscribed_ || conn_->closed()) return;
  if (auto job = co_.jobs().current()) resend_job(*job);
}

void StratumSession::resend_job(const mining::StratumJob& job) {
  // The same work under a new id, not clean: shares found on the old id are still judged at
  // the difficulty it was sent with, new ones at this one, and none is refused in between.
  auto copy = std::make_shared<mining::StratumJob>(job);
  copy->id = job.id + "." + std::to_string(++resend_count_);
  copy->clean = false;
  if (resent_.size() >= 8) {
    st_.forget_job(resent_.front().job->id);
    resent_.pop_front();
  }
  st_.job_sent(copy->id, next_difficulty_);
  resent_.push_back({job.id, copy});
  conn_->send(stratum::encode_notification("mining.notify", stratum::notify_params(*copy)));
}

const mining::StratumJob* StratumSession::find_job(const std::string& id, std::string* base) const {
  *base = id;
  if (const mining::StratumJob* j = co_.jobs().find(id)) return j;
  for (const Resent& r : resent_)
    if (r.job->id == id) {
      *base = r.base;
      return r.job.get();
    }
  return nullptr;
}

void StratumSession::send_job(const mining::StratumJob& job) {
  st_.job_sent(job.id, next_difficulty_);
  conn_->send(co_.notify_line(job));
}

void StratumSession::forget_jobs(const std::vector<std::string>& dropped) {
  for (const std::string& id : dropped) st_.forget_job(id);
  // A re-sent job goes with the job it copies.
  std::erase_if(resent_, [&](const Resent& r) {
    if (std::find(dropped.begin(), dropped.end(), r.base) == dropped.end()) return false;
    st_.forget_job(r.job->id);
    return true;
  });
}

void StratumSession::on_job(const mining::StratumJob& job, const std::vector<std::string>& dropped) {
  forget_jobs(dropped);
  if (!authorized_ || !subscribed_ || conn_->closed()) return;
  // A worker that has gone quiet gets an easier difficulty, effective with this job.
  if (co_.config().vardiff)
    if (auto next = vardiff_.on_idle(co_.now())) set_difficulty(*next);
  if (next_difficulty_ > co_.difficulty_cap()) set_difficulty(next_difficulty_);
  send_job(job);
}

void StratumSession::on_extranonce_change() {
  st_.extranonce2_size = co_.extranonce2_size();
  if (!subscribed_) return;
  st_.extranonce1 = co_.extranonce1_for(own_en1_);
  if (st_.version_mask & ~co_.version_mask()) {
    // BIP 310: the server may narrow the mask at any time.
    st_.version_mask &= co_.version_mask();
    conn_->send(
        stratum::encode_notification("mining.set_version_mask", json::array{mining::hex_u32(st_.version_mask)}));
  }
  if (extranonce_sub_) {
    conn_->send(stratum::encode_notification("mining.set_extranonce",
                                             json::array{to_hex(st_.extranonce1), st_.extranonce2_size}));
  } else {
    send_reconnect("", "", 0);
    conn_->close_after_flush("extranonce changed; asked to reconnect");
  }
}

void StratumSession::send_reconnect(const std::string& host, const std::string& port, int wait_s) {
  json::array p;
  // Without a usable port the notice names no place: the worker comes back here. (Never
  // throws: this runs while the coordinator shuts down.)
  unsigned port_number = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), port_number);
  if (!host.empty() && ec == std::errc() && end == port.data() + port.size() && port_number >= 1 &&
      port_number <= 65535) {
    p.emplace_back(host);
    p.emplace_back(port_number);
    p.emplace_back(wait_s);
  }
  conn_->send(stratum::encode_notification("client.reconnect", std::move(p)));
}

}  // namespace hf::coord
