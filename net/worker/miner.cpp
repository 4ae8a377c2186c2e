#include "net/worker/miner.hpp"

#include "engine/hex.hpp"

namespace hf::worker {

Miner::Miner(MinerConfig cfg, std::function<void(const FoundShare&)> on_share)
    : cfg_(std::move(cfg)), on_share_(std::move(on_share)) {
  thread_ = std::thread([this] { loop(); });
}

Miner::~Miner() { stop(); }

void Miner::set_work(Work w) {
  {
    std::lock_guard lk(mu_);
    work_ = std::move(w);
    ++gen_;
  }
  cancel_ = true;
  cv_.notify_all();
}

void Miner::pause() {
  {
    std::lock_guard lk(mu_);
    work_.reset();
    ++gen_;
  }
  cancel_ = true;
  cv_.notify_all();
}

Miner::Rates Miner::rates() const {
  std::lock_guard lk(mu_);
  Rates r;
  r.total = live_rate_;
  r.per_backend = backend_rate_;
  r.hashes = hashes_;
  return r;
}

std::string Miner::backend_name() const {
  std::lock_guard lk(mu_);
  return backend_name_;
}

void Miner::loop() {
  std::uint64_t en2 = 0, en2_gen = ~0ull;
  for (;;) {
    Work w;
    std::uint64_t gen;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stop_ || work_.has_value(); });
      if (stop_) return;
      w = *work_;
      gen = gen_.load();
      cancel_ = false;
    }
    // A new job or extranonce starts extranonce2 from 0; a search cut short by new work
    // for the same job does not matter, since the job id changes with the work.
    if (gen != en2_gen) {
      en2 = 0;
      en2_gen = gen;
    }
    search_one(w, gen, en2++);
  }
}

void Miner::search_one(const Work& w, std::uint64_t gen, std::uint64_t extranonce2) {
  const mining::StratumJob& job = *w.job;
  Bytes en2(w.extranonce2_size, 0);
  for (std::size_t i = 0; i < en2.size() && i < 8; ++i)  // big-endian counter in the low bytes
    en2[en2.size() - 1 - i] = static_cast<std::uint8_t>(extranonce2 >> (8 * i));
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - w.received);
  const std::uint32_t ntime = job.ntime + static_cast<std::uint32_t>(std::clamp<std::int64_t>(age.count(), 0, cfg_.ntime_roll));
  const Bytes cb = mining::build_coinbase(job, w.extranonce1, en2);
  const mining::Header80 header = mining::build_header(job, mining::merkle_root(cb, job.merkle_branch), ntime, 0, job.version);

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

  RunOptions ro;
  ro.backend = cfg_.backend;
  ro.threads = cfg_.threads;
  ro.cancel = &cancel_;
  ro.progress_interval = std::chrono::milliseconds(500);
  ro.keep_hits = false;
  ro.on_progress = [this](const Progress& p) {
    std::lock_guard lk(mu_);
    live_rate_ = p.rate;
  };
  const std::string en2_hex = to_hex(en2), ntime_hex = mining::hex_u32(ntime);
  ro.on_hit = [&](const Hit& h) {
    on_share_({job.id, en2_hex, ntime_hex, mining::hex_u32(static_cast<std::uint32_t>(h.nonce)), w.epoch});
  };
  // The 2^32 nonces go in segments of a few seconds each, so per-backend rates show up
  // while a slow CPU works through one extranonce2, and a duty cycle can rest between them.
  const double seg_seconds = cfg_.duty < 1 ? 1.0 : 5.0;
  std::uint64_t next = 0;
  while (next < (1ull << 32) && !cancel_.load()) {
    const double guess = seg_rate_ > 0 ? seg_rate_ * seg_seconds : 1 << 24;
    const std::uint64_t count = std::min<std::uint64_t>((1ull << 32) - next, std::max<double>(guess, 1 << 20));
    sj.range = {next, count};
    const SearchResult r = Engine::instance().search(sj, ro);
    {
      std::lock_guard lk(mu_);
      hashes_ += r.hashes;
      backend_name_ = r.backend;
      if (r.seconds > 0.2) {
        std::map<std::string, std::uint64_t> per;
        for (const ChunkRecord& c : r.chunks) per[c.backend] += c.range.count;
        backend_rate_.clear();
        for (auto& [b, n] : per) backend_rate_[b] = n / r.seconds;
        live_rate_ = r.rate();
        seg_rate_ = r.rate();
      }
    }
    if (!r.complete) break;  // cancelled: new work is waiting
    next += count;
    if (cfg_.duty < 1) {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, std::chrono::duration<double>(r.seconds * (1 - cfg_.duty) / cfg_.duty),
                   [&] { return stop_ || gen_.load() != gen; });
      if (stop_ || gen_.load() != gen) break;
    }
  }
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
