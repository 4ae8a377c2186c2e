// The CPU scheduler for search jobs: one job, N threads, nonce chunks handed out in order.
#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string_view>
#include <thread>

#include "hashforge/engine.hpp"
#include "jobs.hpp"
#include "registry.hpp"
#include "worker_pool.hpp"

namespace hf {

namespace {

struct Part {
  std::unique_ptr<PreparedSearch> ps;
  NonceRange range;
};

struct ChunkResult {
  std::uint64_t first = 0, covered = 0;
  std::string_view backend;
  std::vector<Hit> hits;
  std::uint64_t dropped = 0;
  std::optional<Hit> best;
};

bool better(const Hit& a, const Hit& b) { return a.key < b.key || (a.key == b.key && a.nonce < b.nonce); }

Bytes with_placeholder(const SearchJob& job, std::size_t width) {
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

SearchResult run_search(Engine::Impl& eng, const SearchJob& job, const RunOptions& opt) {
  if (std::string why = Engine::instance().validate(job); !why.empty()) throw JobError(why);
  const std::vector<Backend*> list = eng.resolve_list(search_op(job.algo), opt.backend);
  const auto t0 = std::chrono::steady_clock::now();

  // Workers: the CPU threads (shared round-robin by the CPU backends listed) and one host
  // thread per device.
  SearchResult res;
  const unsigned cpu_threads = opt.threads ? opt.threads : default_threads();
  if (cpu_threads > kMaxThreads) throw JobError("at most " + std::to_string(kMaxThreads) + " threads");
  std::vector<Backend*> cpus, worker_be;
  for (Backend* b : list) {
    if (!b->is_device()) cpus.push_back(b);
    res.backend += (res.backend.empty() ? "" : "+") + std::string(b->name());
  }
  if (!cpus.empty())
    for (unsigned i = 0; i < cpu_threads; ++i) worker_be.push_back(cpus[i % cpus.size()]);
  for (Backend* b : list)
    if (b->is_device()) worker_be.push_back(b);
  res.threads = static_cast<unsigned>(worker_be.size());

  std::vector<FieldPart> fparts;
  split_range(job.nonce, job.range, job.message.size(), &fparts);
  std::uint64_t total = 0;
  for (auto& fp : fparts) total += fp.range.count;

  std::vector<Part> parts;
  for (auto& fp : fparts) {
    Part p;
    // A fixed-width field is prepared from the job's own message: no copy of a template
    // that may be a whole file.
    p.ps = fixed_width(job.nonce) != 0
               ? std::make_unique<PreparedSearch>(job.algo, job.message, job.nonce, fp.width, job.order, false)
               : std::make_unique<PreparedSearch>(job.algo, with_placeholder(job, fp.width), job.nonce, fp.width,
                                                  job.order, false);
    p.range = fp.range;
    parts.push_back(std::move(p));
  }

  std::atomic<std::uint64_t> done{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::uint64_t, ChunkResult> finished;  // by claim number, until delivered in order
  unsigned running = 0;
  // The first exception from a worker, a callback or thread creation: the search stops,
  // the threads are joined, then it propagates.
  std::exception_ptr failure;

  // Chunks are claimed in nonce order, each sized by its worker's measured rate (about
  // kChunkSeconds of work), so a fast device and a slow CPU thread finish together; near the
  // end no claim takes more than half its worker's share of what is left, shares by rate (by
  // head count, a GPU beside 16 CPU threads got 1/34 of what was left per claim: so many short
  // launches that cuda:0 plus the CPU scanned slower than cuda:0 alone). Claim numbers follow
  // nonce order, so hits still leave in nonce order.
  // Devices get longer chunks: each is several launches, so the short launch that ends a
  // chunk is a small part of it.
  constexpr double kChunkSeconds = 0.05, kDeviceChunkSeconds = 0.2;
  std::mutex claim_mu;
  std::size_t claim_part = 0;
  std::uint64_t claim_off = 0, claim_seq = 0, left = total;
  struct Claim {
    const Part* part;
    std::uint64_t first, count, seq;
  };
  // Chunks a failed backend left: searched again, whole, by the first worker to ask.
  std::deque<Claim> retry;  // guarded by mu
  std::vector<double> claim_rates(worker_be.size(), 1.0);  // each worker's last rate; under claim_mu
  // `measured`: `rate` was timed, not guessed; a guess gets a head-count share.
  auto claim = [&](unsigned wi, double rate, bool measured, std::uint64_t want) -> std::optional<Claim> {
    {
      std::lock_guard lk(mu);
      if (!retry.empty()) {
        const Claim c = retry.front();
        retry.pop_front();
        return c;
      }
    }
    std::lock_guard lk(claim_mu);
    claim_rates[wi] = rate;
    double all = 0;
    for (double r : claim_rates) all += r;
    while (claim_part < parts.size() && claim_off == parts[claim_part].range.count) {
      ++claim_part;
      claim_off = 0;
    }
    if (claim_part == parts.size()) return std::nullopt;
    const Part& p = parts[claim_part];
    const double share = measured ? rate / all : 1.0 / static_cast<double>(claim_rates.size());
    std::uint64_t n = std::min(want, static_cast<std::uint64_t>(static_cast<double>(left) * share / 2) + 1);
    n = std::max<std::uint64_t>(std::min<std::uint64_t>(n, 1u << 30) / 64 * 64, 64);
    n = std::min(n, p.range.count - claim_off);
    Claim c{&p, p.range.first + claim_off, n, claim_seq++};
    claim_off += n;
    left -= n;
    return c;
  };

  // A backend that throws (a lost device, device memory exhausted, a failed kernel) leaves
  // the search while others still run: its chunk goes back to be searched again, whole, and
  // the job carries a warning. Only when no other worker is left does the error end the job.
  // One step searches one chunk; a worker on the CPU then posts its next step to the back of
  // the engine's pool, so concurrent jobs take turns chunk by chunk.
  struct WorkerState {
    Backend* be;
    std::optional<Hit> best;
    double rate;  // nonces per second, a guess until measured
    bool measured = false;
  };
  std::vector<WorkerState> ws;
  for (Backend* be : worker_be) ws.push_back({be, std::nullopt, be->is_device() ? 1e8 : 2e6});
  for (std::size_t i = 0; i < ws.size(); ++i) claim_rates[i] = ws[i].rate;
  // Returns false when the worker is done (no work left, a stop, or it failed).
  auto step = [&](unsigned wi) -> bool {
    WorkerState& w = ws[wi];
    Backend* be = w.be;
    std::optional<Claim> c;
    try {
      while (true) {
        if (stop.load(std::memory_order_relaxed)) return false;
        c = claim(wi, w.rate, w.measured,
                  static_cast<std::uint64_t>(w.rate * (be->is_device() ? kDeviceChunkSeconds : kChunkSeconds)));
        if (c) break;
        std::lock_guard lk(mu);  // a chunk may have come back since: take it before leaving
        if (retry.empty() || stop) return false;
      }
      SearchSink sink(*c->part->ps, job.goal, job.target, job.max_hits, &done, w.best);
      ChunkResult r;
      r.first = c->first;
      r.backend = be->name();
      const auto c0 = std::chrono::steady_clock::now();
      r.covered = be->search(*c->part->ps, c->first, c->count, sink, stop);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
      if (r.covered > 0 && secs > 0) {
        const double now = static_cast<double>(r.covered) / secs;
        w.rate = w.measured ? 0.5 * w.rate + 0.5 * now : now;
        w.measured = true;
      }
      r.hits = std::move(sink.hits);
      r.dropped = sink.dropped;
      r.best = sink.best;
      w.best = sink.best;
      std::lock_guard lk(mu);
      finished.emplace(c->seq, std::move(r));
      cv.notify_all();
      return true;
    } catch (...) {
      {
        std::lock_guard lk(claim_mu);
        claim_rates[wi] = 0;  // gone: its share goes to the others
      }
      std::lock_guard lk(mu);
      if (c && running > 1 && !failure) {
        retry.push_back(*c);
        std::string what = "unknown error";
        try {
          throw;
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        res.warnings.push_back(std::string(be->name()) + " left the search after an error: " + what);
      } else {
        if (!failure) failure = std::current_exception();
        stop = true;
      }
      return false;
    }
  };
  auto finish = [&] {
    std::lock_guard lk(mu);
    --running;
    cv.notify_all();
  };
  std::function<void(unsigned)> cpu_task = [&](unsigned wi) {
    if (step(wi))
      WorkerPool::instance().post([&cpu_task, wi] { cpu_task(wi); });
    else
      finish();
  };

  // A small job runs inline on the caller's thread: handing it to the pool costs more than
  // it saves, and the caller would only wait.
  constexpr std::uint64_t kInlineNonces = 1u << 14;
  const bool inline_job = !opt.threads && total <= kInlineNonces && cpus.size() == worker_be.size();
  std::vector<std::thread> device_threads;
  if (inline_job) {
    ws.resize(1);
    claim_rates.resize(1);
    res.threads = 1;
    running = 1;
    while (step(0)) {
    }
    running = 0;
  } else {
    WorkerPool::instance().reserve(static_cast<unsigned>(
        std::count_if(worker_be.begin(), worker_be.end(), [](Backend* b) { return !b->is_device(); })));
    for (unsigned i = 0; i < res.threads; ++i) {
      {
        std::lock_guard lk(mu);
        ++running;
      }
      try {
        if (worker_be[i]->is_device())  // mostly waits on its device: a host thread of its own
          device_threads.emplace_back([&step, &finish, i] {
            while (step(i)) {
            }
            finish();
          });
        else
          WorkerPool::instance().post([&cpu_task, i] { cpu_task(i); });
      } catch (...) {
        std::lock_guard lk(mu);
        --running;
        if (!failure) failure = std::current_exception();
        stop = true;
        break;
      }
    }
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
        if (!opt.keep_hits && opt.on_hit) {  // streamed: every hit goes out, none is kept
          opt.on_hit(h);
          continue;
        }
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
    deadline = job.budget->count() <= 0                      ? t0
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
        if (has_deadline && now >= deadline && !stop) {
          stop = true;
          res.timed_out = true;
        }
        if (opt.cancel && opt.cancel->load() && !stop) {
          stop = true;
          res.cancelled = true;
        }
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
  for (auto& t : device_threads) t.join();
  if (failure) std::rethrow_exception(failure);

  std::sort(all.begin(), all.end(), [](const ChunkResult& a, const ChunkResult& b) { return a.first < b.first; });
  for (const ChunkResult& r : all) {
    res.chunks.push_back({{r.first, r.covered}, std::string(r.backend)});
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
