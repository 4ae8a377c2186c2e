#include "net/coordinator/file_task_runner.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <stdexcept>

#include "hashforge/hex.hpp"
#include "hashforge/target.hpp"
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
  if (!(cfg_.max_rate >= 1e6 && cfg_.max_rate <= 1e15))
    throw std::runtime_error("file task: max rate must be 1e6..1e15");
  if (cfg_.result_file.empty()) cfg_.result_file = cfg_.file + ".result";
  if (cfg_.record_file.empty()) cfg_.record_file = cfg_.result_file + ".json";
  if (cfg_.state_file.empty()) cfg_.state_file = cfg_.result_file + ".state.json";
  // A result that cannot be written is found out now, not after the whole search.
  for (const std::string* f : {&cfg_.result_file, &cfg_.record_file, &cfg_.state_file})
    if (!netio::check_writable(*f, &why)) throw std::runtime_error("file task: " + why);

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
  st.late_range_id = 0;
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
  if (it->second.refused_round == task_->round()) return "a result of this worker was refused: no ranges this round";
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

double FileTaskRunner::range_rate(const FilePeer* p, const PeerState& st) const {
  if (st.rate > 0) return st.rate;  // measured from its own results
  // Unmeasured: a claimed rate is believed only up to a few times the best rate any worker
  // has shown, so a client claiming 1e15 nonces/s cannot take the whole space at once.
  const double claimed = p->peer_reported_rate();
  const double cap = std::max(kFirstRate, kClaimedRateCap * best_rate_);
  return std::isfinite(claimed) && claimed > 0 ? std::min(claimed, cap) : kFirstRate;
}

void FileTaskRunner::hand_range(FilePeer* p, PeerState& st) {
  if (task_->finished() || stopping_round_ || !st.ready || st.range || st.late_range_id || st.round != task_->round() ||
      st.refused_round == task_->round())
    return;
  const double rate = std::max(range_rate(p, st), kMinRate);
  double count = rate * cfg_.range_seconds;
  if (cfg_.seconds > 0) count = std::min(count, rate * std::max(cfg_.seconds - task_->current().elapsed, 0.5));
  count = std::clamp(count, 1.0, static_cast<double>(mining::kFileNonceSpace));
  auto r = task_->current().book.take(static_cast<std::uint64_t>(count));
  if (!r) return;
  st.range = r;
  st.range_id = next_range_id_++;
  st.sent_at = now();
  // Unanswered past a few times its expected time, the range goes to the others.
  st.deadline = st.sent_at + kDeadlineFactor * static_cast<double>(r->count) / rate + kDeadlineSlack;
  p->send_line(stratum::encode_notification("hashforge.file.range", json::array{json::object{{"task", task_->id()},
                                                                                             {"round", task_->round()},
                                                                                             {"range", st.range_id},
                                                                                             {"first", r->first},
                                                                                             {"count", r->count}}}));
}

void FileTaskRunner::hand_ranges() {
  for (auto& [p, st] : peers_) hand_range(p, st);
}

void FileTaskRunner::expire_ranges() {
  const double t = now();
  for (auto& [p, st] : peers_) {
    if (!st.range || t < st.deadline) continue;
    const NonceRange r = *st.range;
    task_->current().book.give_back(r);
    st.late_range_id = st.range_id;
    st.range.reset();
    log_("file task: " + p->peer_name() + " missed its range deadline; nonces " + std::to_string(r.first) + "+" +
         std::to_string(r.count) + " go to the next worker");
    // It reports what it has now; that answer is refused, and it gets a range sized by it.
    p->send_line(stratum::encode_notification("hashforge.file.stop", json::array{task_->id(), task_->round()}));
  }
}

std::string FileTaskRunner::late_result(FilePeer* p, PeerState& st, const json::object& o) {
  // Its nonces went to another worker, so none of it counts; what it covered in the time it
  // took still tells how fast it really is, and its next range is sized by that.
  std::uint64_t covered = 0;
  if (const json::value* cv = o.if_contains("covered"); cv && cv->is_array())
    for (const json::value& e : cv->as_array())
      if (const json::array* a = e.if_array(); a && a->size() == 2)
        if (auto n = as_u64(&(*a)[1])) covered += std::min<std::uint64_t>(*n, mining::kFileNonceSpace);
  const double took = std::max(now() - st.sent_at, 0.05);
  const double seen = static_cast<double>(covered) / took;
  st.rate = std::max(kMinRate, std::min(range_rate(p, st), seen > 0 ? seen : range_rate(p, st) / 4));
  st.late_range_id = 0;
  hand_range(p, st);
  return "the range was taken back at its deadline and went to another worker";
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
  if (range && st.late_range_id && *range == st.late_range_id) return late_result(p, st, o);
  if (!range || !st.range || *range != st.range_id) return "not the range this worker holds";
  const NonceRange r = *st.range;
  // What was searched: disjoint ranges inside the assigned one.
  std::vector<NonceRange> covered;
  std::uint64_t claimed = 0;
  const json::value* cv = o.if_contains("covered");
  auto bad = [&](const std::string& why) {
    task_->current().book.give_back(r);
    st.range.reset();
    st.ready = false;  // a worker that reports nonsense gets no more ranges this round
    st.refused_round = task_->round();
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
    claimed += *n;
  }
  // Only the run of covered nonces from the range's start counts (in whole grains, unless
  // the whole range): scattered claims would cut the free nonces into slivers.
  std::uint64_t prefix = 0;
  for (const NonceRange& c : covered) {
    if (c.first != r.first + prefix) break;
    prefix += c.count;
  }
  const double took = now() - st.sent_at;
  // No worker searches faster than max_rate: a claim beyond that for the time it held the
  // range counts only up to it.
  const double allowed = std::min(took * cfg_.max_rate, static_cast<double>(mining::kFileNonceSpace));
  auto& cur = task_->current();
  const std::uint64_t counted = cur.book.countable(r, std::min(prefix, static_cast<std::uint64_t>(allowed)));
  std::optional<std::uint32_t> nonce;
  std::uint64_t verified = 0;
  if (!covered.empty()) {
    const json::value* bn = o.if_contains("best_nonce");
    nonce = bn && bn->is_string() ? mining::parse_nonce_hex8(bn->as_string()) : std::nullopt;
    if (!nonce) return bad("best_nonce must be 8 lowercase hex digits");
    const bool inside = std::any_of(covered.begin(), covered.end(), [&](const NonceRange& c) {
      return *nonce >= c.first && *nonce - c.first < c.count;
    });
    if (!inside) return bad("best_nonce is outside the searched ranges");
    // The claim cannot be checked in full, but it can be refuted: the best of n hashes is
    // about 1/n of the hash space, and no claimed nonce may hash lower than the best.
    const Digest best_hash = task_->hash_of(*nonce);
    const Key best = key_of(best_hash, ByteOrder::digest);
    if (!mining::claim_fits_best(claimed, best_hash))
      return bad("claimed " + std::to_string(claimed) +
                 " nonces, but its best hash is too high for a search of that many");
    verified += *nonce >= r.first && *nonce - r.first < counted;
    for (unsigned k = 0; counted > 0 && k < kSpotChecks; ++k) {
      const auto n = static_cast<std::uint32_t>(r.first + spot_rng_() % counted);
      if (key_of(task_->hash_of(n), ByteOrder::digest) < best)
        return bad("nonce " + mining::nonce_hex8(n) + " of the claimed range hashes lower than the reported best");
      ++verified;
    }
  }
  cur.book.finish(r, counted);
  if (counted > 0) {
    st.rate = static_cast<double>(counted) / std::max(took, 0.05);
    best_rate_ = std::max(best_rate_, st.rate);
  }
  st.range.reset();
  mining::FileWorkerRecord& rec = cur.workers[p->peer_name()];
  rec.name = p->peer_name();
  rec.address = p->peer_address();
  rec.backend = p->peer_backend();
  rec.claimed += counted;
  rec.verified += std::min(verified, counted);
  if (counted > 0) rec.ranges.push_back({r.first, counted});
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
  if (nonce && !seed_round_open()) log_("plain protocol: " + who + " answered after round 1 ended; not counted");
  if (nonce && seed_round_open()) {
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
  expire_ranges();
  maybe_end_round();
  if (task_->finished()) return;
  hand_ranges();
  if (t - last_save_ >= 2) save_state();
}

void FileTaskRunner::maybe_end_round() {
  if (task_->finished()) return;
  auto& cur = task_->current();
  const bool time_up = cfg_.seconds > 0 && cur.elapsed >= cfg_.seconds;
  if (!stopping_round_ && (cur.book.all_done() || time_up)) {
    stopping_round_ = true;
    stop_sent_at_ = now();
    for (auto& [p, st] : peers_)
      if (st.range)
        p->send_line(stratum::encode_notification("hashforge.file.stop", json::array{task_->id(), task_->round()}));
  }
  if (!stopping_round_) return;
  // Workers answer a stop within one engine chunk. None is waited for past its range's
  // deadline (tick takes the range back) or kStopGrace, so whatever clients do, the round
  // ends within its time budget plus one range deadline.
  const double waited = now() - stop_sent_at_;
  const bool outstanding =
      std::any_of(peers_.begin(), peers_.end(), [](const auto& kv) { return kv.second.range.has_value(); });
  if (outstanding && waited < kStopGrace) return;
  // Plain-protocol clients mine on their own clock; their answers are waited for a little.
  if (task_->round() == 1 && seed_pending_ > 0 && waited < kSeedGrace) return;
  for (auto& [p, st] : peers_)
    if (st.range) {
      cur.book.give_back(*st.range);
      st.range.reset();
    }
  if (!cur.best) own_search();
  end_round();
}

void FileTaskRunner::own_search() {
  // No worker answered this round in time: the coordinator searches one grain of the lowest
  // free nonces itself (a few milliseconds from the round's midstate), so the round has a
  // line and the next one can begin.
  auto& cur = task_->current();
  const auto taken = cur.book.take(mining::kFileRangeGrain);
  const NonceRange r = taken ? *taken : NonceRange{0, std::min(mining::kFileRangeGrain, cfg_.nonces)};
  std::uint32_t best = static_cast<std::uint32_t>(r.first);
  Key best_key = key_of(task_->hash_of(best), ByteOrder::digest);
  for (std::uint64_t n = r.first + 1; n < r.first + r.count; ++n) {
    const Key k = key_of(task_->hash_of(static_cast<std::uint32_t>(n)), ByteOrder::digest);
    if (k < best_key) best_key = k, best = static_cast<std::uint32_t>(n);
  }
  task_->offer(best, "coordinator");
  mining::FileWorkerRecord& rec = cur.workers["coordinator"];
  rec.name = rec.backend = "coordinator";
  if (taken) {
    cur.book.finish(r, r.count);
    rec.claimed += r.count;
    rec.verified += r.count;
    rec.ranges.push_back(r);
  }
  log_("file task: no answer in round " + std::to_string(task_->round()) + "'s time; the coordinator searched nonces " +
       std::to_string(r.first) + "+" + std::to_string(r.count) + " itself");
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
  outputs_written_ = true;
  if (!netio::write_file_atomic(cfg_.result_file, ByteView(out), &why)) {
    log_("file task: result not written: " + why);
    outputs_written_ = false;
  }
  if (!netio::write_file_atomic(cfg_.record_file, json::serialize(record()) + "\n", &why)) {
    log_("file task: record not written: " + why);
    outputs_written_ = false;
  }
  save_state();
  if (outputs_written_) log_("file task finished: result " + cfg_.result_file + ", record " + cfg_.record_file);
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
                 {"searched", cur.book.done_count()},  // claimed, as the dashboard shows it
                 {"claimed", cur.book.done_count()},
                 {"verified", cur.verified()},
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
