#include "net/coordinator/file_task_runner.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <stdexcept>

#include "hashforge/hex.hpp"
#include "net/io/atomic_file.hpp"
#include "net/stratum/json_rpc.hpp"

namespace hf::coord {

namespace {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

std::string seconds_text(double s) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3g s", s);
  return b;
}

std::optional<std::uint64_t> as_u64(const json::value* v) {
  if (!v) return std::nullopt;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) return static_cast<std::uint64_t>(v->as_int64());
  return std::nullopt;
}

}  // namespace

FileTaskRunner::FileTaskRunner(asio::io_context& io, FileTaskConfig cfg, std::function<void(const std::string&)> log)
    : io_(io), cfg_(std::move(cfg)), log_(std::move(log)), t0_(std::chrono::steady_clock::now()) {}

double FileTaskRunner::now() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
}

void FileTaskRunner::start() {
  std::string why;
  auto input = netio::read_file(cfg_.file, kMaxFile, &why);
  if (!input) throw std::runtime_error("file task: " + why);
  if (input->empty()) throw std::runtime_error("file task: " + cfg_.file + " is empty");
  if (!mining::valid_identifier(cfg_.identifier, &why)) throw std::runtime_error("--file-id: " + why);
  if (cfg_.rounds < 1 || cfg_.rounds > 1000) throw std::runtime_error("--file-rounds must be 1..1000");
  if (!(cfg_.seconds >= 0 && cfg_.seconds <= 1e7)) throw std::runtime_error("--file-seconds must be 0..1e7");
  if (cfg_.nonces < 1 || cfg_.nonces > mining::kFileNonceSpace)
    throw std::runtime_error("--file-nonces must be 1..4294967296 (8 hex digits)");
  if (!(cfg_.range_seconds >= 0.05 && cfg_.range_seconds <= 3600))
    throw std::runtime_error("--range-seconds must be 0.05..3600");
  if (cfg_.result_file.empty()) cfg_.result_file = cfg_.file + ".result";
  if (cfg_.record_file.empty()) cfg_.record_file = cfg_.result_file + ".json";
  if (cfg_.state_file.empty()) cfg_.state_file = cfg_.result_file + ".state.json";

  mining::FileTaskSpec spec{std::move(*input), cfg_.identifier, cfg_.rounds, cfg_.seconds, cfg_.nonces};
  std::error_code ec;
  if (std::filesystem::exists(cfg_.state_file, ec)) {
    auto text = netio::read_file(cfg_.state_file, 256u << 20, &why);
    if (!text) throw std::runtime_error("file task state: " + why);
    boost::system::error_code jec;
    const json::value v = json::parse(std::string_view(reinterpret_cast<const char*>(text->data()), text->size()), jec);
    if (jec) throw std::runtime_error("file task state " + cfg_.state_file + ": not JSON (remove it to start over)");
    task_ = mining::FileTask::from_json(spec, v, &why);
    if (!task_)
      throw std::runtime_error("file task state " + cfg_.state_file + ": " + why + " (remove it to start over)");
    if (const json::object* o = v.if_object())
      if (const json::value* s = o->if_contains("started_at"); s && s->is_string()) started_at_ = s->as_string();
    resumed_ = true;
    log_("file task " + task_->id() + " resumed from " + cfg_.state_file + ": round " + std::to_string(task_->round()) +
         ", " + std::to_string(task_->finished() ? 0 : task_->rounds().back().book.done_count()) +
         " nonces already searched");
  } else {
    task_.emplace(std::move(spec));
    started_at_ = utc_now();
    log_("file task " + task_->id() + ": " + cfg_.file + ", id " + cfg_.identifier + ", " +
         std::to_string(cfg_.rounds) + " round(s)" + (cfg_.seconds > 0 ? " of " + seconds_text(cfg_.seconds) : ""));
  }
  save_state();
  last_tick_ = now();
  timer_ = std::make_shared<asio::steady_timer>(io_);
  if (task_->finished()) {
    asio::post(io_, [this] { finish_task(); });
    return;
  }
  asio::co_spawn(io_, tick_loop(), asio::detached);
}

asio::awaitable<void> FileTaskRunner::tick_loop() {
  auto timer = timer_;
  while (!task_->finished()) {
    timer->expires_after(std::chrono::milliseconds(250));
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    tick();
  }
}

void FileTaskRunner::stop() {
  if (timer_) timer_->cancel();
}

std::shared_ptr<const Bytes> FileTaskRunner::round_input() const {
  if (!input_cache_ || input_cache_round_ != task_->round()) {
    input_cache_ = std::make_shared<const Bytes>(task_->input());
    input_cache_round_ = task_->round();
  }
  return input_cache_;
}

std::string FileTaskRunner::join(FilePeer* p) {
  if (task_->finished()) return "the file task has finished";
  peers_[p];
  send_begin(p);
  return {};
}

void FileTaskRunner::send_begin(FilePeer* p) {
  PeerState& st = peers_[p];
  const auto input = round_input();
  st.round = task_->round();
  st.ready = false;
  const std::size_t chunks = (input->size() + kChunkBytes - 1) / kChunkBytes;
  json::object begin{{"task", task_->id()},   {"round", task_->round()},         {"rounds", cfg_.rounds},
                     {"size", input->size()}, {"sha256", task_->input_sha256()}, {"identifier", cfg_.identifier},
                     {"format", "%08x %s"},   {"chunk_bytes", kChunkBytes},      {"chunks", chunks},
                     {"nonces", cfg_.nonces}, {"seconds", cfg_.seconds}};
  p->send_line(stratum::encode_notification("hashforge.file.begin", json::array{begin}));
  p->send_file_chunks(input, task_->id(), task_->round());
}

void FileTaskRunner::leave(FilePeer* p) {
  auto it = peers_.find(p);
  if (it == peers_.end()) return;
  if (it->second.range) {
    const NonceRange r = *it->second.range;
    task_->current().book.give_back(r);
    log_("file task: " + p->peer_name() + " left; nonces " + std::to_string(r.first) + "+" + std::to_string(r.count) +
         " go to the next worker");
  }
  peers_.erase(it);
  hand_ranges();
}

std::string FileTaskRunner::ready(FilePeer* p, const json::array& params) {
  auto it = peers_.find(p);
  if (it == peers_.end()) return "not subscribed to the file task (hashforge.file.subscribe)";
  if (params.size() < 3 || !params[0].is_string() || !params[2].is_string()) return "ready wants [task, round, sha256]";
  const auto round = as_u64(&params[1]);
  if (params[0].as_string() != task_->id() || !round || *round != task_->round() || it->second.round != task_->round())
    return "stale task or round";
  if (params[2].as_string() != task_->input_sha256()) return "sha256 does not match the file";
  it->second.ready = true;
  hand_range(p, it->second);
  return {};
}

std::string FileTaskRunner::resend(FilePeer* p, const json::array& params) {
  if (!peers_.count(p)) return "not subscribed to the file task (hashforge.file.subscribe)";
  if (params.size() < 1 || !params[0].is_string() || params[0].as_string() != task_->id()) return "stale task";
  send_begin(p);
  return {};
}

void FileTaskRunner::hand_range(FilePeer* p, PeerState& st) {
  if (task_->finished() || stopping_round_ || !st.ready || st.range || st.round != task_->round()) return;
  double rate = st.rate > 0 ? st.rate : p->peer_reported_rate();
  if (!(rate > 0)) rate = 4e6;  // a first guess; the first result measures it
  double count = rate * cfg_.range_seconds;
  if (cfg_.seconds > 0) count = std::min(count, rate * std::max(cfg_.seconds - task_->current().elapsed, 0.5));
  count = std::clamp(count, 65536.0, static_cast<double>(mining::kFileNonceSpace));
  auto r = task_->current().book.take(static_cast<std::uint64_t>(count));
  if (!r) return;
  st.range = r;
  st.range_id = next_range_id_++;
  st.sent_at = now();
  p->send_line(stratum::encode_notification("hashforge.file.range", json::array{json::object{{"task", task_->id()},
                                                                                             {"round", task_->round()},
                                                                                             {"range", st.range_id},
                                                                                             {"first", r->first},
                                                                                             {"count", r->count}}}));
}

void FileTaskRunner::hand_ranges() {
  for (auto& [p, st] : peers_) hand_range(p, st);
}

std::string FileTaskRunner::result(FilePeer* p, const json::array& params) {
  auto it = peers_.find(p);
  if (it == peers_.end()) return "not subscribed to the file task (hashforge.file.subscribe)";
  PeerState& st = it->second;
  if (params.empty() || !params[0].is_object()) return "result wants [{task, round, range, covered, best_nonce}]";
  const json::object& o = params[0].as_object();
  const json::value* task = o.if_contains("task");
  const auto round = as_u64(o.if_contains("round"));
  const auto range = as_u64(o.if_contains("range"));
  if (!task || !task->is_string() || task->as_string() != task_->id() || !round || *round != task_->round())
    return "stale task or round";
  if (!range || !st.range || *range != st.range_id) return "not the range this worker holds";
  const NonceRange r = *st.range;
  // What was searched: disjoint ranges inside the assigned one.
  std::vector<NonceRange> covered;
  std::uint64_t hashes = 0;
  const json::value* cv = o.if_contains("covered");
  auto bad = [&](const std::string& why) {
    task_->current().book.give_back(r);
    st.range.reset();
    st.ready = false;  // a worker that reports nonsense gets no more ranges this round
    log_("file task: " + p->peer_name() + ": " + why + "; its range is free again");
    return why;
  };
  if (!cv || !cv->is_array() || cv->as_array().size() > 4096) return bad("covered must be a list of [first, count]");
  for (const json::value& e : cv->as_array()) {
    const json::array* a = e.if_array();
    const auto f = a && a->size() == 2 ? as_u64(&(*a)[0]) : std::nullopt;
    const auto n = a && a->size() == 2 ? as_u64(&(*a)[1]) : std::nullopt;
    if (!f || !n || *n == 0 || *f < r.first || *n > r.first + r.count - *f)
      return bad("covered ranges outside the assigned range");
    if (!covered.empty() && *f < covered.back().first + covered.back().count)
      return bad("covered ranges overlap or are out of order");
    covered.push_back({*f, *n});
    hashes += *n;
  }
  std::optional<std::uint32_t> nonce;
  if (!covered.empty()) {
    const json::value* bn = o.if_contains("best_nonce");
    nonce = bn && bn->is_string() ? mining::parse_nonce_hex8(bn->as_string()) : std::nullopt;
    if (!nonce) return bad("best_nonce must be 8 lowercase hex digits");
    const bool inside = std::any_of(covered.begin(), covered.end(), [&](const NonceRange& c) {
      return *nonce >= c.first && *nonce - c.first < c.count;
    });
    if (!inside) return bad("best_nonce is outside the searched ranges");
  }
  auto& cur = task_->current();
  cur.book.finish(r, covered);
  const double took = now() - st.sent_at;
  if (hashes > 0 && took > 0.05) st.rate = hashes / took;
  st.range.reset();
  mining::FileWorkerRecord& rec = cur.workers[p->peer_name()];
  rec.name = p->peer_name();
  rec.address = p->peer_address();
  rec.backend = p->peer_backend();
  rec.hashes += hashes;
  rec.ranges.insert(rec.ranges.end(), covered.begin(), covered.end());
  if (nonce) {
    const auto before = cur.best ? std::optional<std::uint32_t>(cur.best->nonce) : std::nullopt;
    task_->offer(*nonce, p->peer_name());
    if (!before || *before != cur.best->nonce)
      log_("file task: best so far " + mining::file_line(cur.best->nonce, cfg_.identifier) + " -> " +
           cur.best->hash.hex() + " (" + std::to_string(mining::leading_zero_hex(cur.best->hash)) + " zeros) by " +
           cur.best->finder);
  }
  save_state();
  maybe_end_round();
  if (!task_->finished()) hand_range(p, st);
  return {};
}

void FileTaskRunner::seed_answer(std::optional<std::uint32_t> nonce, const std::string& who) {
  if (seed_pending_ > 0) --seed_pending_;
  if (nonce && task_->round() == 1 && !task_->finished()) {
    task_->offer(*nonce, who);
    auto& rec = task_->current().workers[who];
    rec.name = who;
    rec.address = who;
    rec.backend = "plain protocol";
    save_state();
  }
  maybe_end_round();
}

void FileTaskRunner::tick() {
  const double t = now();
  const double dt = t - last_tick_;
  last_tick_ = t;
  if (task_->finished()) return;
  const bool mining =
      (seed_started_ && task_->round() == 1) ||
      std::any_of(peers_.begin(), peers_.end(), [](const auto& kv) { return kv.second.range.has_value(); });
  // The round's clock runs only while someone mines, so a coordinator started before its
  // workers does not spend the round waiting for them. Plain-protocol clients mine on
  // their own clock once they have the file.
  if (mining && !stopping_round_) task_->current().elapsed += dt;
  maybe_end_round();
  if (task_->finished()) return;
  hand_ranges();
  if (t - last_save_ >= 2) save_state();
}

void FileTaskRunner::maybe_end_round() {
  if (task_->finished()) return;
  auto& cur = task_->current();
  const bool time_up = cfg_.seconds > 0 && cur.elapsed >= cfg_.seconds;
  const bool searched = cur.book.all_done();
  // Time alone does not end a round that has no answer yet.
  if (!stopping_round_ && (searched || (time_up && cur.best))) {
    stopping_round_ = true;
    stop_sent_at_ = now();
    for (auto& [p, st] : peers_)
      if (st.range)
        p->send_line(stratum::encode_notification("hashforge.file.stop", json::array{task_->id(), task_->round()}));
  }
  if (!stopping_round_) return;
  const bool outstanding =
      std::any_of(peers_.begin(), peers_.end(), [](const auto& kv) { return kv.second.range.has_value(); });
  // Workers answer a stop within one engine chunk; one that does not is not waited for.
  if (outstanding && now() - stop_sent_at_ < 10 + cfg_.range_seconds) return;
  if (task_->round() == 1 && seed_pending_ > 0) return;  // plain-protocol clients still mining
  for (auto& [p, st] : peers_)
    if (st.range) {
      cur.book.give_back(*st.range);
      st.range.reset();
    }
  if (!cur.best) {  // everything given back unanswered: keep going
    stopping_round_ = false;
    return;
  }
  end_round();
}

void FileTaskRunner::end_round() {
  const auto& cur = task_->current();
  const std::string line = mining::file_line(cur.best->nonce, cfg_.identifier);
  log_("file task: round " + std::to_string(task_->round()) + " of " + std::to_string(cfg_.rounds) + " done: '" + line +
       "' -> " + cur.best->hash.hex() + " (" + std::to_string(mining::leading_zero_hex(cur.best->hash)) +
       " zeros, by " + cur.best->finder + ", " + std::to_string(cur.book.done_count()) + " nonces in " +
       seconds_text(cur.elapsed) + ")");
  task_->end_round();
  stopping_round_ = false;
  save_state();
  if (task_->finished()) return finish_task();
  for (auto& [p, st] : peers_) send_begin(p);
}

void FileTaskRunner::finish_task() {
  write_outputs();
  const auto& last = task_->rounds().back();
  for (auto& [p, st] : peers_)
    p->send_line(
        stratum::encode_notification("hashforge.file.end", json::array{json::object{{"task", task_->id()},
                                                                                    {"line", last.line},
                                                                                    {"hash", last.best->hash.hex()},
                                                                                    {"finder", last.best->finder},
                                                                                    {"final", true}}}));
  stop();
  if (finished_cb_) finished_cb_();
}

json::object FileTaskRunner::record() const {
  json::object r = task_->to_json();
  r["file"] = cfg_.file;
  r["result_file"] = cfg_.result_file;
  r["started_at"] = started_at_;
  r["resumed"] = resumed_;
  if (task_->finished()) {
    const auto& last = task_->rounds().back();
    r["finished_at"] = utc_now();
    r["best_line"] = last.line;
    r["hash"] = last.best->hash.hex();
    r["leading_zero_hex"] = mining::leading_zero_hex(last.best->hash);
    r["finder"] = last.best->finder;
  }
  return r;
}

void FileTaskRunner::save_state() {
  last_save_ = now();
  std::string why;
  if (!netio::write_file_atomic(cfg_.state_file, json::serialize(record()) + "\n", &why))
    log_("file task state not saved: " + why);
}

void FileTaskRunner::write_outputs() {
  std::string why;
  const Bytes out = task_->result();
  if (!netio::write_file_atomic(cfg_.result_file, ByteView(out), &why)) log_("file task: result not written: " + why);
  if (!netio::write_file_atomic(cfg_.record_file, json::serialize(record()) + "\n", &why))
    log_("file task: record not written: " + why);
  save_state();
  log_("file task finished: result " + cfg_.result_file + ", record " + cfg_.record_file);
}

json::object FileTaskRunner::stats() const {
  const auto& cur = task_->rounds().back();
  std::size_t mining = 0;
  for (const auto& [p, st] : peers_) mining += st.range.has_value();
  json::object s{{"task", task_->id()},
                 {"file", cfg_.file},
                 {"identifier", cfg_.identifier},
                 {"round", std::min(task_->round(), cfg_.rounds)},
                 {"rounds", cfg_.rounds},
                 {"finished", task_->finished()},
                 {"elapsed", cur.elapsed},
                 {"seconds", cfg_.seconds},
                 {"searched", cur.book.done_count()},
                 {"nonces", cfg_.nonces},
                 {"workers", peers_.size()},
                 {"mining", mining}};
  if (cur.best) {
    s["best_line"] = mining::file_line(cur.best->nonce, cfg_.identifier);
    s["best_hash"] = cur.best->hash.hex();
    s["leading_zero_hex"] = mining::leading_zero_hex(cur.best->hash);
    s["finder"] = cur.best->finder;
  }
  return s;
}

}  // namespace hf::coord
