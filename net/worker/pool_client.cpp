#include "net/worker/pool_client.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "hashforge/hasher.hpp"
#include "hashforge/hex.hpp"
#include "net/io/printable.hpp"
#include "net/mining/file_task.hpp"
#include "net/stratum/extranonce.hpp"
#include "net/stratum/notify.hpp"

namespace hf::worker {

PoolClient::PoolClient(asio::io_context& io, ClientConfig cfg, Miner& miner,
                       std::function<void(const std::string&)> log)
    : io_(io), cfg_(std::move(cfg)), miner_(miner), log_(std::move(log)) {
  // The pool's certificate is checked (netio::TlsVerify): a worker that talks to an
  // impostor gives its work away. Throws for an unreadable --tls-ca file.
  tls_ = netio::make_client_tls(cfg_.tls);
}

void PoolClient::start() { asio::co_spawn(io_, run(), asio::detached); }

void PoolClient::stop() {
  stopping_ = true;
  if (conn_) conn_->close("stopping");
}

void PoolClient::send(std::string_view method, json::array params, const char* tag) {
  if (!conn_ || conn_->closed()) return;
  const std::int64_t id = next_id_++;
  pending_[id] = tag;
  conn_->send(stratum::encode_request(id, method, std::move(params)));
}

void PoolClient::submit(const FoundShare& s) {
  if (!authorized_ || !job_ || s.epoch != epoch_) return;  // found on work the pool no longer takes
  ++counts_.sent;
  send("mining.submit", json::array{cfg_.user, s.job_id, s.extranonce2, s.ntime, s.nonce}, "submit");
}

std::size_t PoolClient::pending_submits() const {
  if (!conn_ || conn_->closed()) return 0;
  return static_cast<std::size_t>(
      std::count_if(pending_.begin(), pending_.end(), [](const auto& p) { return p.second == "submit"; }));
}

void PoolClient::report_rate(double rate) {
  if (!authorized_ || !hello_ok_ || cfg_.hello.empty()) return;
  json::object h = cfg_.hello;
  h["rate"] = rate;
  send("hashforge.hello", json::array{h}, "hello");
}

asio::awaitable<void> PoolClient::rate_reports(std::shared_ptr<netio::LineConn> c) {
  // The first report waits for about a second of mining, so the figure is a measurement
  // rather than the first segment's start-up; later ones follow every rate_interval.
  asio::steady_timer t(io_);
  std::chrono::steady_clock::time_point last{};
  bool sent = false;
  auto wait = std::chrono::milliseconds(1000);
  while (!stopping_ && conn_ == c && !c->closed()) {
    t.expires_after(wait);
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    wait = std::chrono::milliseconds(500);
    if (stopping_ || conn_ != c || c->closed()) break;
    const auto now = std::chrono::steady_clock::now();
    if (sent && now - last < cfg_.rate_interval) continue;
    const double rate = miner_.rates().total;
    if (!(rate > 0)) continue;
    report_rate(rate);
    sent = true;
    last = now;
  }
}

asio::awaitable<void> PoolClient::run() {
  std::mt19937 rng(std::random_device{}());
  netio::Failover failover(cfg_.urls.size(), cfg_.backoff_min, cfg_.backoff_max);
  while (!stopping_) {
    PoolUrl url = redirect_ ? *redirect_ : cfg_.urls[failover.current()];
    const bool redirected = redirect_.has_value();
    redirect_.reset();
    bool was_up = false;
    try {
      was_up = co_await session(url);
    } catch (const std::exception& e) {
      log_(url.text + ": " + e.what());
    }
    miner_.pause();
    counts_.pool.clear();
    if (stopping_) break;
    std::chrono::milliseconds wait = failover.next(was_up || redirected);
    if (redirect_) wait = redirect_wait_;
    wait = netio::with_jitter(wait, rng);
    asio::steady_timer t(io_, wait);
    co_await t.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<bool> PoolClient::session(const PoolUrl& url) {
  auto stream = co_await netio::connect_stream(url, *tls_, cfg_.tls, cfg_.connect_timeout);
  netio::LineLimits lim;
  lim.idle_timeout = cfg_.idle_timeout;
  lim.max_line = stratum::kMaxPoolLine;
  conn_ = std::make_shared<netio::LineConn>(std::move(stream), lim);
  conn_->start();
  ++counts_.connects;
  next_id_ = 1;
  pending_.clear();
  en1_.clear();
  next_en1_.reset();
  subscribed_ = authorized_ = hello_ok_ = hashforge_ = false;
  job_.reset();
  incoming_.reset();
  file_.reset();
  file_resends_ = 0;
  ++epoch_;
  pending_difficulty_ = difficulty_ = 1;
  log_("connected to " + url.text);
  counts_.pool = url.text;
  current_tls_ = url.tls;
  current_url_ = url;
  send("mining.subscribe", json::array{cfg_.agent}, "subscribe");
  send("mining.authorize", json::array{cfg_.user, cfg_.password}, "authorize");
  bool was_up = false;
  while (auto line = co_await conn_->read_line()) {
    if (line->empty()) continue;
    std::string why;
    auto m = stratum::parse_message(*line, &why, nullptr, stratum::kMaxPoolLine);
    if (!m) {
      log_(url.text + ": ignoring a bad line from the pool: " + why);
      continue;
    }
    handle(*m);
    was_up = was_up || authorized_;
  }
  if (conn_->line_too_long())
    log_(url.text + " sent a line longer than the " + std::to_string(lim.max_line) +
         "-byte Stratum line cap (a job too large to mine); reconnecting");
  log_("disconnected from " + url.text + ": " + (conn_->why().empty() ? "closed" : conn_->why()));
  conn_->close("done");
  co_return was_up;
}

void PoolClient::handle(const stratum::Message& m) {
  if (!m.is_request()) return on_reply(m);
  const json::array& p = m.params;
  if (m.method == "mining.notify") return on_notify(p);
  if (m.method.rfind("hashforge.file.", 0) == 0) return on_file(m);
  if (m.method == "mining.set_difficulty") {
    // A number, or a string holding one (some pools send "16384").
    if (auto d = p.empty() ? std::nullopt : stratum::number_of(p[0]); d && std::isfinite(*d) && *d > 0)
      pending_difficulty_ = *d;
    return;
  }
  if (m.method == "mining.set_extranonce") {
    // The pool's new extranonce holds from its next mining.notify (NiceHash's extension):
    // shares on the job in hand still carry the old one.
    std::string why;
    if (auto en = stratum::extranonce_of(p, 0, &why)) {
      next_en1_ = std::move(*en);
      log_("extranonce " + to_hex(next_en1_->extranonce1) + " + " + std::to_string(next_en1_->extranonce2_size) +
           " bytes from the next job");
    } else {
      log_("ignoring a bad mining.set_extranonce: " + why);
    }
    return;
  }
  if (m.method == "client.reconnect") {
    netio::Reconnect r = netio::parse_reconnect(p, current_tls_);
    // Without a place, the pool means itself: come back here (not to the first URL) after its wait.
    const bool elsewhere = r.url.has_value();
    redirect_ = elsewhere ? std::move(r.url) : current_url_;
    redirect_wait_ = r.wait;
    log_("pool asked to reconnect" + (elsewhere ? " to " + netio::printable(redirect_->text) : std::string()) +
         (r.wait.count() ? " in " + std::to_string(r.wait.count() / 1000) + " s" : std::string()));
    conn_->close("client.reconnect");
    return;
  }
  if (m.method == "mining.ping" && !m.id.is_null()) {
    conn_->send(stratum::encode_result(m.id, "pong"));
    return;
  }
  if (m.method == "client.get_version" && !m.id.is_null()) {
    conn_->send(stratum::encode_result(m.id, json::value(cfg_.agent)));
    return;
  }
  if (m.method == "client.show_message" && !p.empty() && p[0].is_string()) {
    log_("pool says: " + netio::printable(p[0].as_string(), 200));
    return;
  }
  if (!m.id.is_null())  // a request we do not serve (client.get_version, ...)
    conn_->send(stratum::encode_error(m.id, 20, "not supported"));
}

void PoolClient::on_reply(const stratum::Message& m) {
  if (!m.id.is_int64()) return;
  auto it = pending_.find(m.id.as_int64());
  if (it == pending_.end()) return;
  const std::string what = it->second;
  pending_.erase(it);
  if (what == "submit") {
    const stratum::SubmitAnswer a = stratum::submit_answer(m);
    if (a.accepted) {
      ++counts_.accepted;
    } else {
      ++counts_.rejected;
      if (a.stale) ++counts_.stale;
      log_("share rejected: " + (a.reason.empty() ? std::string("false") : netio::printable(a.reason)) +
           (a.coded ? " (" + std::to_string(a.code) + ")" : std::string()));
    }
    return;
  }
  const auto err = stratum::reply_error(m);
  if (what == "subscribe") {
    const json::array* r = m.result.if_array();
    std::string why = err ? netio::printable(err->message) : "unexpected reply";
    std::optional<stratum::Extranonce> en = !err && r ? stratum::extranonce_of(*r, 1, &why) : std::nullopt;
    if (!en) {
      log_("subscribe failed: " + why);
      conn_->close("subscribe failed");
      return;
    }
    en1_ = std::move(en->extranonce1);
    en2_size_ = en->extranonce2_size;
    subscribed_ = true;
    // A hashforge coordinator lists hashforge.hello among its subscriptions; other pools
    // never get the extension's requests.
    if (const json::array* subs = (*r)[0].if_array())
      for (const json::value& s : *subs)
        if (const json::array* t = s.if_array(); t && !t->empty() && t->front() == "hashforge.hello") hashforge_ = true;
    // Asked once subscribed, as the extension's description says; a pool that does not know
    // it answers with an error, which changes nothing.
    send("mining.extranonce.subscribe", json::array{}, "extranonce");
    if (authorized_) say_hello();
    hand_work();
  } else if (what == "authorize") {
    if (err || !m.result.is_bool() || !m.result.as_bool()) {
      log_("authorization refused" + (err ? ": " + netio::printable(err->message) : std::string()));
      conn_->close("authorization refused");
      return;
    }
    authorized_ = true;
    if (subscribed_) say_hello();
    hand_work();
  } else if (what == "hello") {
    // A hashforge coordinator: offer to take part in its file task, if it has one, and
    // report the rate as soon as there is one.
    if (!hello_ok_ && !err) {
      send("hashforge.file.subscribe", json::array{}, "file");
      asio::co_spawn(io_, rate_reports(conn_), asio::detached);
    }
    hello_ok_ = !err;
  } else if (what == "file") {
    if (err && err->message.find("no file task") == std::string::npos)
      log_("file task: " + netio::printable(err->message));
  }
}

void PoolClient::on_notify(const json::array& p) {
  std::string why;
  std::optional<mining::StratumJob> job = stratum::job_from_notify(p, &why);
  if (!job) {
    log_("ignoring a bad mining.notify: " + why);
    return;
  }
  difficulty_ = pending_difficulty_;  // set_difficulty takes effect with the next job
  if (job->clean) ++epoch_;
  if (next_en1_) {
    // The extranonce set since the last job starts here; work on the old one is void.
    if (next_en1_->extranonce1 != en1_ || next_en1_->extranonce2_size != en2_size_) ++epoch_;
    en1_ = std::move(next_en1_->extranonce1);
    en2_size_ = next_en1_->extranonce2_size;
    next_en1_.reset();
  }
  counts_.difficulty = difficulty_;
  job_ = std::make_shared<const mining::StratumJob>(std::move(*job));
  hand_work();
}

namespace {
std::uint64_t u64_of(const json::object& o, const char* k, bool* ok) {
  const json::value* v = o.if_contains(k);
  if (v && v->is_uint64()) return v->as_uint64();
  if (v && v->is_int64() && v->as_int64() >= 0) return static_cast<std::uint64_t>(v->as_int64());
  *ok = false;
  return 0;
}
std::string str_of(const json::object& o, const char* k, bool* ok) {
  const json::value* v = o.if_contains(k);
  if (v && v->is_string()) return std::string(v->as_string());
  *ok = false;
  return {};
}
}  // namespace

void PoolClient::on_file(const stratum::Message& m) {
  const json::array& p = m.params;
  const json::object* o = !p.empty() && p[0].is_object() ? &p[0].as_object() : nullptr;
  bool ok = true;
  if (m.method == "hashforge.file.begin" && o) {
    Incoming in;
    in.task = str_of(*o, "task", &ok);
    in.round = static_cast<unsigned>(u64_of(*o, "round", &ok));
    in.size = u64_of(*o, "size", &ok);
    in.chunks = u64_of(*o, "chunks", &ok);
    in.sha256 = str_of(*o, "sha256", &ok);
    in.identifier = str_of(*o, "identifier", &ok);
    const std::string fmt = str_of(*o, "format", &ok);
    std::string why;
    if (!ok || fmt != "%08x %s" || in.size == 0 || in.size > (64u << 20) || in.chunks == 0 || in.chunks > in.size ||
        !mining::valid_identifier(in.identifier, &why)) {
      log_("file task: ignoring a bad hashforge.file.begin");
      return;
    }
    miner_.stop_file();  // a new round: the old range is worth nothing now
    file_.reset();
    in.data.reserve(in.size);
    incoming_ = std::move(in);
    return;
  }
  if (m.method == "hashforge.file.chunk") return file_chunk(p);
  if (m.method == "hashforge.file.range" && o) {
    FileRange r;
    r.task = str_of(*o, "task", &ok);
    r.round = static_cast<unsigned>(u64_of(*o, "round", &ok));
    r.range_id = u64_of(*o, "range", &ok);
    r.range.first = u64_of(*o, "first", &ok);
    r.range.count = u64_of(*o, "count", &ok);
    if (!ok || !file_ || r.task != file_task_ || r.round != file_round_ || r.range.count == 0 ||
        r.range.first >= mining::kFileNonceSpace || r.range.count > mining::kFileNonceSpace - r.range.first) {
      log_("file task: ignoring a range for another file or out of bounds");
      return;
    }
    r.input = file_;
    r.identifier = file_id_;
    miner_.set_file_range(std::move(r));
    return;
  }
  if (m.method == "hashforge.file.stop") return miner_.stop_file();
  if (m.method == "hashforge.file.end" && o) {
    miner_.stop_file();
    file_.reset();
    log_("file task over: best line '" + netio::printable(str_of(*o, "line", &ok)) + "' -> " +
         netio::printable(str_of(*o, "hash", &ok)) + " by " + netio::printable(str_of(*o, "finder", &ok)));
    return;
  }
}

void PoolClient::file_chunk(const json::array& p) {
  if (!incoming_) return;
  Incoming& in = *incoming_;
  const bool shape = p.size() == 4 && p[0].is_string() && (p[1].is_int64() || p[1].is_uint64()) &&
                     (p[2].is_int64() || p[2].is_uint64()) && p[3].is_string();
  if (!shape || p[0].as_string() != in.task || p[1].to_number<std::uint64_t>() != in.round) return;  // another transfer
  std::optional<Bytes> data = p[2].to_number<std::uint64_t>() == in.next ? from_hex(p[3].as_string()) : std::nullopt;
  bool good = data && in.data.size() + data->size() <= in.size;
  if (good) {
    in.data.insert(in.data.end(), data->begin(), data->end());
    if (++in.next < in.chunks) return;
    good = in.data.size() == in.size && hash_once(Algo::sha256, in.data).hex() == in.sha256;
  }
  if (!good) {
    // A short, reordered or corrupt transfer is never mined: ask for the file again.
    const std::string task = in.task;
    const unsigned round = in.round;
    incoming_.reset();
    if (++file_resends_ > 3) {
      log_("file task: the file arrived damaged four times; giving up on it");
      return;
    }
    log_("file task: the file arrived short or corrupt; asking for it again");
    send("hashforge.file.resend", json::array{task, round}, "file");
    return;
  }
  file_ = std::make_shared<const Bytes>(std::move(in.data));
  file_task_ = in.task;
  file_round_ = in.round;
  file_id_ = in.identifier;
  log_("file task " + file_task_ + " round " + std::to_string(file_round_) + ": got " + std::to_string(file_->size()) +
       " bytes, SHA-256 checked");
  send("hashforge.file.ready", json::array{file_task_, file_round_, in.sha256}, "file");
  incoming_.reset();
}

void PoolClient::file_done(const FileReport& r) {
  if (!authorized_ || !file_ || r.work.task != file_task_ || r.work.round != file_round_) return;  // stale
  json::array covered;
  std::uint64_t n = 0;
  for (const NonceRange& c : r.covered) {
    covered.push_back(json::array{c.first, c.count});
    n += c.count;
  }
  json::object o{{"task", r.work.task}, {"round", r.work.round}, {"range", r.work.range_id}, {"covered", covered}};
  if (r.best) {
    o["best_nonce"] = mining::nonce_hex8(static_cast<std::uint32_t>(r.best->nonce));
    o["best_hash"] = r.best->digest.hex();
  }
  ++counts_.file_ranges;
  counts_.file_hashes += n;
  send("hashforge.file.result", json::array{o}, "file");
}

void PoolClient::say_hello() {
  if (hashforge_ && !cfg_.hello.empty()) send("hashforge.hello", json::array{cfg_.hello}, "hello");
}

void PoolClient::hand_work() {
  if (!subscribed_ || !authorized_ || !job_) return;
  Work w;
  w.job = job_;
  w.extranonce1 = en1_;
  w.extranonce2_size = en2_size_;
  w.difficulty = difficulty_;
  w.received = std::chrono::steady_clock::now();
  w.epoch = epoch_;
  miner_.set_work(std::move(w));
}

}  // namespace hf::worker
