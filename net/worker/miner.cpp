#include "net/worker/miner.hpp"

#include "hashforge/hex.hpp"
#include "net/mining/file_task.hpp"

namespace hf::worker {

Miner::Miner(MinerConfig cfg, std::function<void(const FoundShare&)> on_share,
             std::function<void(const FileReport&)> on_file)
    : cfg_(std::move(cfg)), on_share_(std::move(on_share)), on_file_(std::move(on_file)) {
  thread_ = std::thread([this] { loop(); });
}

Miner::~Miner() { stop(); }

void Miner::set_work(Work w) {
  {
    std::lock_guard lk(mu_);
    work_ = std::move(w);
    // A file range in progress is not interrupted; the new header work waits for it.
    if (!file_busy_) cancel_ = true;
  }
  cv_.notify_all();
}

void Miner::set_file_range(FileRange r) {
  {
    std::lock_guard lk(mu_);
    file_ = std::move(r);
    ++file_gen_;
    cancel_ = true;
  }
  cv_.notify_all();
}

void Miner::stop_file() {
  {
    std::lock_guard lk(mu_);
    if (!file_ && !file_busy_) return;
    file_.reset();
    ++file_gen_;
    if (file_busy_) cancel_ = true;
  }
  cv_.notify_all();
}

void Miner::pause() {
  {
    std::lock_guard lk(mu_);
    work_.reset();
    file_.reset();
    ++file_gen_;
    cancel_ = true;
  }
  cv_.notify_all();
}

Miner::Rates Miner::rates() const {
  std::lock_guard lk(mu_);
  Rates r;
  r.total = meter_.rate();
  r.hashing = meter_.busy_rate();
  double sum = 0;
  for (const auto& [b, m] : backend_meter_) sum += m.rate();
  if (sum > 0)
    for (const auto& [b, m] : backend_meter_) r.per_backend[b] = r.total * m.rate() / sum;
  r.hashes = hashes_;
  return r;
}

std::string Miner::backend_name() const {
  std::lock_guard lk(mu_);
  return backend_name_;
}

void Miner::loop() {
  std::uint64_t en2 = 0;
  for (;;) {
    Work w;
    {
      std::unique_lock lk(mu_);
      // Waiting for work (no pool yet, or a lost one) is not a rest: the rate says what the
      // worker does while it has work.
      if (!work_ && !file_) fed_until_.reset();
      cv_.wait(lk, [&] { return stop_ || work_.has_value() || file_.has_value(); });
      // New work cut the last rest short; the rest is still owed, or frequent jobs would
      // defeat the duty cycle.
      cv_.wait_until(lk, rest_until_, [&] { return stop_; });
      if (stop_) return;
      if (!work_ && !file_) continue;
      if (file_) {
        const FileRange f = *file_;
        const std::uint64_t fgen = file_gen_;
        file_busy_ = true;
        cancel_ = false;
        lk.unlock();
        search_file(f);
        lk.lock();
        file_busy_ = false;
        if (file_gen_ == fgen) file_.reset();  // finished; a newer range stays queued
        continue;
      }
      w = *work_;
      cancel_ = false;
    }
    // extranonce2 only ever counts up: a job re-issued with the same content (same
    // coinbase and ntime) must not get the headers already searched again.
    search_one(w, en2++);
  }
}

namespace {
double seconds_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
}  // namespace

void Miner::note_rest_locked(std::chrono::steady_clock::time_point now) {
  if (fed_until_) {
    const double rest = seconds_between(*fed_until_, now);
    meter_.rest(rest);
    for (auto& [b, m] : backend_meter_) m.rest(rest);
  }
  fed_until_ = now;
  seg_done_ = 0;
}

void Miner::note_progress(std::uint64_t done) {
  std::lock_guard lk(mu_);
  const auto now = std::chrono::steady_clock::now();
  // Wall-clock time, not the engine's: the search's own start-up counts as hashing time.
  meter_.work(static_cast<double>(done) - static_cast<double>(seg_done_),
              fed_until_ ? seconds_between(*fed_until_, now) : 0);
  seg_done_ = std::max(seg_done_, done);
  fed_until_ = now;
}

void Miner::note_segment(const SearchResult& r) {
  std::lock_guard lk(mu_);
  const auto now = std::chrono::steady_clock::now();
  // Every segment counts, however short: a rate that only longer segments may update
  // freezes once the segments, sized from it, shrink below that length.
  meter_.work(static_cast<double>(r.hashes) - static_cast<double>(seg_done_),
              fed_until_ ? seconds_between(*fed_until_, now) : 0);
  std::map<std::string, std::uint64_t> per;
  for (const ChunkRecord& c : r.chunks) per[c.backend] += c.range.count;
  for (auto& [b, m] : backend_meter_) per.try_emplace(b, 0);
  for (auto& [b, n] : per) backend_meter_[b].work(static_cast<double>(n), seconds_between(seg_start_, now));
  hashes_ += r.hashes;
  backend_name_ = r.backend;
  seg_done_ = 0;
  fed_until_ = now;
}

std::vector<NonceRange> Miner::run_segments(SearchJob job, const RunOptions& ro,
                                            const std::function<bool()>& keep_going,
                                            const std::function<void(const SearchResult&)>& on_segment) {
  // Segments of a few seconds each, so per-backend rates show up while a slow CPU works
  // through a big range, and a duty cycle can rest between them.
  // A duty cycle rests after each segment; short segments keep the work (and the shares a
  // coordinator's vardiff sees) smooth rather than in bursts.
  const double seg_seconds = cfg_.duty < 1 ? 0.25 : 5.0;
  const double min_segment = cfg_.duty < 1 ? 1 << 16 : 1 << 20;
  const std::uint64_t end = job.range.first + job.range.count;
  std::uint64_t next = job.range.first;
  std::vector<NonceRange> covered;
  while (next < end && keep_going()) {
    double hashing_rate;
    {
      std::lock_guard lk(mu_);
      note_rest_locked(std::chrono::steady_clock::now());
      seg_start_ = *fed_until_;
      hashing_rate = meter_.busy_rate();
    }
    // Sized from the rate while hashing; the very first segment, with no rate yet, is the
    // smallest, so a throttled worker's first rest is not long.
    const double guess = hashing_rate * seg_seconds;
    const std::uint64_t count = std::min<std::uint64_t>(end - next, std::max<double>(guess, min_segment));
    job.range = {next, count};
    const SearchResult r = Engine::instance().search(job, ro).value();
    note_segment(r);
    for (const NonceRange& c : r.covered) {
      if (!covered.empty() && covered.back().first + covered.back().count == c.first)
        covered.back().count += c.count;
      else
        covered.push_back(c);
    }
    on_segment(r);
    if (!r.complete) break;  // cancelled
    next += count;
    if (cfg_.duty < 1) {  // rest after every segment, the last too: small ranges are throttled as well
      std::unique_lock lk(mu_);
      rest_until_ = std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::chrono::duration<double>(r.seconds * (1 - cfg_.duty) / cfg_.duty));
      cv_.wait_until(lk, rest_until_, [&] { return stop_ || cancel_.load(); });
    }
  }
  return covered;
}

RunOptions Miner::run_options() {
  RunOptions ro;
  ro.backend = cfg_.backend;
  ro.threads = cfg_.threads;
  ro.cancel = &cancel_;
  ro.progress_interval = std::chrono::milliseconds(500);
  ro.on_progress = [this](const Progress& p) { note_progress(p.done); };
  return ro;
}

void Miner::search_one(const Work& w, std::uint64_t extranonce2) {
  const mining::StratumJob& job = *w.job;
  Bytes en2(w.extranonce2_size, 0);
  for (std::size_t i = 0; i < en2.size() && i < 8; ++i)  // big-endian counter in the low bytes
    en2[en2.size() - 1 - i] = static_cast<std::uint8_t>(extranonce2 >> (8 * i));
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - w.received);
  const std::uint32_t ntime =
      job.ntime + static_cast<std::uint32_t>(std::clamp<std::int64_t>(age.count(), 0, cfg_.ntime_roll));
  const Bytes cb = mining::build_coinbase(job, w.extranonce1, en2);
  const mining::Header80 header =
      mining::build_header(job, mining::merkle_root(cb, job.merkle_branch), ntime, 0, job.version);

  SearchJob sj;
  sj.algo = Algo::sha256d;
  sj.message.assign(header.begin(), header.end());
  sj.nonce.offset = 76;
  sj.nonce.encoding = Encoding::u32le;
  sj.range = {0, 1ull << 32};
  sj.order = ByteOrder::bitcoin;
  sj.goal = Goal::below_target;
  if (!target_from_difficulty(w.difficulty, &sj.target).empty()) return;
  sj.max_hits = 1u << 20;  // per chunk: hits stream out through on_hit, none are kept

  RunOptions ro = run_options();
  ro.keep_hits = false;
  const std::string en2_hex = to_hex(en2), ntime_hex = mining::hex_u32(ntime);
  ro.on_hit = [&](const Hit& h) {
    on_share_({job.id, en2_hex, ntime_hex, mining::hex_u32(static_cast<std::uint32_t>(h.nonce)), w.epoch});
  };
  run_segments(
      sj, ro, [this] { return !cancel_.load(); }, [](const SearchResult&) {});
}

void Miner::search_file(const FileRange& f) {
  FileReport rep;
  rep.work = f;
  const auto t0 = std::chrono::steady_clock::now();
  const SearchJob job = mining::file_search_job(*f.input, f.identifier, f.range);
  rep.covered = run_segments(
      job, run_options(), [this] { return !cancel_.load(); },
      [&](const SearchResult& r) {
        if (r.best && (!rep.best || r.best->key < rep.best->key))
          rep.best = r.best;  // segments ascend: ties keep the lower nonce
      });
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (on_file_) on_file_(rep);
}

void Miner::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cancel_ = true;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace hf::worker
