// The CPU scheduler for search jobs: one job, N threads, nonce chunks handed out in order.
#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "engine/engine.hpp"

namespace hf {

namespace {

struct Part {
  std::unique_ptr<PreparedSearch> ps;
  NonceRange range;
  std::uint64_t first_chunk;  // global index of this part's first chunk
  std::uint64_t chunks;
};

struct ChunkResult {
  std::uint64_t first = 0, covered = 0;
  std::vector<Hit> hits;
  std::uint64_t dropped = 0;
  std::optional<Hit> best;
};

bool better(const Hit& a, const Hit& b) { return a.key < b.key || (a.key == b.key && a.nonce < b.nonce); }

Bytes with_placeholder(const SearchJob& job, std::size_t width) {
  if (fixed_width(job.nonce) != 0) return job.message;
  // Varying decimal: the digits are inserted at the offset, not written over the message.
  Bytes m(job.message.begin(), job.message.begin() + static_cast<std::ptrdiff_t>(job.nonce.offset));
  m.resize(m.size() + width, '0');
  m.insert(m.end(), job.message.begin() + static_cast<std::ptrdiff_t>(job.nonce.offset), job.message.end());
  return m;
}

}  // namespace

unsigned default_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n ? n : 1;
}

std::string Engine::validate(const SearchJob& job) const {
  if (job.algo == Algo::sha1) return "search supports sha256 and sha256d, not sha1";
  std::vector<FieldPart> parts;
  std::string why = split_range(job.nonce, job.range, job.message.size(), &parts);
  if (!why.empty()) return why;
  if (job.goal == Goal::below_target && job.target.is_zero()) return "target is zero: no hash can meet it";
  return {};
}

SearchResult Engine::search(const SearchJob& job, const RunOptions& opt) const {
  if (std::string why = validate(job); !why.empty()) throw JobError(why);
  Backend& be = resolve(search_op(job.algo), opt.backend);
  const auto t0 = std::chrono::steady_clock::now();

  SearchResult res;
  res.backend = std::string(be.name());
  res.threads = be.is_device() ? 1 : opt.threads ? opt.threads : default_threads();
  if (res.threads > kMaxThreads) throw JobError("at most " + std::to_string(kMaxThreads) + " threads");

  std::vector<FieldPart> fparts;
  split_range(job.nonce, job.range, job.message.size(), &fparts);
  std::uint64_t total = 0;
  for (auto& fp : fparts) total += fp.range.count;
  // Chunks small enough to spread over threads and keep a time budget's tail short, large
  // enough that per-chunk bookkeeping is noise.
  std::uint64_t chunk = total / (std::uint64_t(res.threads) * 16);
  chunk = std::clamp<std::uint64_t>(chunk, 1u << 14, 1u << 22) / 64 * 64;

  std::vector<Part> parts;
  std::uint64_t nchunks = 0;
  for (auto& fp : fparts) {
    Part p;
    p.ps = std::make_unique<PreparedSearch>(job.algo, with_placeholder(job, fp.width), job.nonce, fp.width, job.order);
    p.range = fp.range;
    p.first_chunk = nchunks;
    p.chunks = (fp.range.count - 1) / chunk + 1;
    nchunks += p.chunks;
    parts.push_back(std::move(p));
  }

  std::atomic<std::uint64_t> next{0}, done{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::uint64_t, ChunkResult> finished;  // by chunk index, until delivered in order
  unsigned running = 0;
  // The first exception from a worker, a callback or thread creation: the search stops,
  // the threads are joined, then it propagates.
  std::exception_ptr failure;

  auto worker = [&] {
    std::optional<Hit> thread_best;
    try {
    while (!stop.load(std::memory_order_relaxed)) {
      const std::uint64_t idx = next.fetch_add(1);
      if (idx >= nchunks) break;
      const Part* p = &parts.front();
      for (const Part& q : parts)
        if (idx >= q.first_chunk) p = &q;
      const std::uint64_t off = (idx - p->first_chunk) * chunk;
      const std::uint64_t first = p->range.first + off;
      const std::uint64_t count = std::min(chunk, p->range.count - off);
      SearchSink sink(*p->ps, job.goal, job.target, job.max_hits, &done, thread_best);
      ChunkResult r;
      r.first = first;
      r.covered = be.search(*p->ps, first, count, sink, stop);
      r.hits = std::move(sink.hits);
      r.dropped = sink.dropped;
      r.best = sink.best;
      thread_best = sink.best;
      std::lock_guard lk(mu);
      finished.emplace(idx, std::move(r));
      cv.notify_all();
    }
    } catch (...) {
      std::lock_guard lk(mu);
      if (!failure) failure = std::current_exception();
      stop = true;
    }
    std::lock_guard lk(mu);
    --running;
    cv.notify_all();
  };

  std::vector<std::thread> pool;
  try {
    for (unsigned i = 0; i < res.threads; ++i) {
      {
        std::lock_guard lk(mu);
        ++running;
      }
      try {
        pool.emplace_back(worker);
      } catch (...) {
        std::lock_guard lk(mu);
        --running;
        throw;
      }
    }
  } catch (...) {
    std::lock_guard lk(mu);
    failure = std::current_exception();
    stop = true;
  }

  // Hits leave in nonce order: a chunk's hits go out once every earlier chunk is in.
  std::uint64_t delivered_upto = 0;
  std::size_t kept = 0;
  std::vector<ChunkResult> all;
  auto deliver = [&](bool final_pass) {
    while (true) {
      auto it = finished.find(delivered_upto);
      if (it == finished.end()) {
        if (!final_pass || finished.empty()) return;
        it = finished.begin();  // after a stop, chunks never started leave gaps
      }
      ChunkResult r = std::move(it->second);
      delivered_upto = it->first + 1;
      finished.erase(it);
      for (Hit& h : r.hits) {
        if (kept < job.max_hits) {
          ++kept;
          if (opt.on_hit) opt.on_hit(h);
          res.hits.push_back(h);
        } else {
          ++res.dropped_hits;
        }
      }
      res.dropped_hits += r.dropped;
      r.hits.clear();
      all.push_back(std::move(r));
    }
  };

  // A budget too large to add to now (centuries) is no budget at all; a negative one ends
  // the search at once.
  using Clock = std::chrono::steady_clock;
  const bool has_deadline = job.budget.has_value();
  Clock::time_point deadline = Clock::time_point::max();
  if (has_deadline)
    deadline = job.budget->count() <= 0 ? t0
               : *job.budget < Clock::time_point::max() - t0 ? t0 + *job.budget
                                                             : Clock::time_point::max();
  auto last_progress = t0;
  {
    std::unique_lock lk(mu);
    while (running > 0) {
      auto wake = Clock::now() + opt.progress_interval;
      if (!stop && deadline < wake) wake = deadline;
      cv.wait_until(lk, wake);
      const auto now = Clock::now();
      try {
        if (!failure) deliver(false);
        if (has_deadline && now >= deadline && !stop) { stop = true; res.timed_out = true; }
        if (opt.cancel && opt.cancel->load() && !stop) { stop = true; res.cancelled = true; }
        if (opt.on_progress && now - last_progress >= opt.progress_interval && !failure) {
          last_progress = now;
          const double s = std::chrono::duration<double>(now - t0).count();
          const std::uint64_t d = done.load();
          lk.unlock();
          try {
            opt.on_progress({d, total, s, s > 0 ? d / s : 0});
          } catch (...) {
            lk.lock();
            throw;
          }
          lk.lock();
        }
      } catch (...) {
        if (!failure) failure = std::current_exception();
        stop = true;
      }
    }
    if (!failure) {
      try {
        deliver(true);
      } catch (...) {
        failure = std::current_exception();
      }
    }
  }
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);

  std::sort(all.begin(), all.end(), [](const ChunkResult& a, const ChunkResult& b) { return a.first < b.first; });
  for (const ChunkResult& r : all) {
    res.hashes += r.covered;
    if (r.best && (!res.best || better(*r.best, *res.best))) res.best = r.best;
    if (r.covered == 0) continue;
    if (!res.covered.empty() && res.covered.back().first + res.covered.back().count == r.first)
      res.covered.back().count += r.covered;
    else
      res.covered.push_back({r.first, r.covered});
  }
  // Dropped parts (varying decimal) are contiguous in nonce space, so merging still holds.
  res.complete = res.hashes == total;
  if (res.complete) res.timed_out = res.cancelled = false;
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace hf
