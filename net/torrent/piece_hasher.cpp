#include "net/torrent/piece_hasher.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "hashforge/batch.hpp"
#include "hashforge/engine.hpp"
#include "net/torrent/merkle.hpp"

namespace hf::torrent {
namespace {

using Clock = std::chrono::steady_clock;

struct Slot {
  std::unique_ptr<Chunk> chunk;
  bool ready = false;
  bool loaded = false;  // holds mappings to unload before reuse
};

// The stream's reads, a chunk ahead of the hashing: a reader thread loads one buffer while
// the engine hashes the other. Every DataReader call happens on the reader thread.
class ChunkPipe {
 public:
  ChunkPipe(DataReader& reader, std::uint64_t chunk, const PassOptions& opt)
      : reader_(reader), chunk_(chunk), opt_(opt) {
    for (auto& s : slots_) s.chunk = std::make_unique<Chunk>(static_cast<std::size_t>(chunk));
    thread_ = std::thread([this] { run(); });
  }
  ~ChunkPipe() {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    for (auto& s : slots_)
      if (s.loaded) reader_.unload(*s.chunk);
  }

  // The next chunk in stream order, or nullptr at the end (or when cancelled).
  Chunk* next() {
    std::unique_lock lk(mu_);
    Slot& s = slots_[taken_ % 2];
    cv_.wait(lk, [&] { return s.ready || finished_; });
    if (failure_) std::rethrow_exception(failure_);
    if (!s.ready) return nullptr;
    ++taken_;
    return s.chunk.get();
  }
  void release(Chunk* c) {
    {
      std::lock_guard lk(mu_);
      for (auto& s : slots_)
        if (s.chunk.get() == c) s.ready = false;
    }
    cv_.notify_all();
  }

 private:
  void run() {
    try {
      const std::uint64_t total = reader_.total();
      const auto t0 = Clock::now();
      std::uint64_t read = 0;
      for (std::uint64_t at = 0, k = 0; at < total; at += chunk_, ++k) {
        Slot& s = slots_[k % 2];
        {
          std::unique_lock lk(mu_);
          cv_.wait(lk, [&] { return !s.ready || stop_; });
          if (stop_) break;
        }
        if (s.loaded) reader_.unload(*s.chunk);
        s.loaded = false;
        if (opt_.cancel && opt_.cancel->load(std::memory_order_relaxed)) break;
        const std::uint64_t len = std::min(chunk_, total - at);
        if (opt_.rate_limit == 0) {
          reader_.load(at, len, *s.chunk, opt_.use_mmap);
          s.loaded = true;
          read += len;
        } else {
          // Paced: loaded in slices, each after its time has come. (A mapped slice is read
          // when it is faulted in, inside load.)
          constexpr std::uint64_t kSlice = 4u << 20;
          for (std::uint64_t sl = 0; sl < len; sl += kSlice) {
            const std::uint64_t n = std::min(kSlice, len - sl);
            const auto due = t0 + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(double(read) / double(opt_.rate_limit)));
            std::unique_lock lk(mu_);
            if (cv_.wait_until(lk, due, [&] { return stop_; })) return finish_thread();
            lk.unlock();
            if (sl == 0) s.chunk->reset(at, len);
            load_slice(*s.chunk, at + sl, n);
            s.loaded = true;
            read += n;
          }
        }
        std::lock_guard lk(mu_);
        s.ready = true;
        cv_.notify_all();
      }
      reader_.finish();
    } catch (...) {
      std::lock_guard lk(mu_);
      failure_ = std::current_exception();
    }
    finish_thread();
  }
  void finish_thread() {
    std::lock_guard lk(mu_);
    finished_ = true;
    cv_.notify_all();
  }
  // A slice of a paced chunk: read() into the arena, so the pace is the real read rate.
  void load_slice(Chunk& c, std::uint64_t at, std::uint64_t n) {
    reader_.read(at, {c.arena_at(at), static_cast<std::size_t>(n)});
    c.add({at, n, c.arena_at(at), true});
  }

  DataReader& reader_;
  const std::uint64_t chunk_;
  const PassOptions& opt_;
  Slot slots_[2];
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t taken_ = 0;
  bool stop_ = false, finished_ = false;
  std::exception_ptr failure_;
  std::thread thread_;
};

template <class Out>
void copy_digest(const Digest& d, Out& out) {
  std::copy_n(d.bytes.begin(), out.size(), out.begin());
}

// One piece of one v2 file (or a whole file of one piece or less): its leaves, padded with
// zero hashes to `width`, reduce to one node.
struct Subtree {
  std::size_t file = 0;
  std::uint64_t piece = 0;
  bool whole_file = false;  // the node is the file's root, not a piece-layer entry
  std::size_t first = 0;    // into the flat node list
  std::size_t width = 0;    // a power of two
  std::size_t leaf_first = 0, leaf_count = 0;  // into the chunk's block views
};

std::size_t pow2_at_least(std::uint64_t n) {
  std::size_t w = 1;
  while (w < n) w *= 2;
  return w;
}

class PassRunner {
 public:
  PassRunner(const PassPlan& plan, DataReader& reader, const PassSink& sink, const PassOptions& opt)
      : plan_(plan), reader_(reader), sink_(sink), opt_(opt), eng_(Engine::instance()) {}

  PassStats run() {
    const std::uint64_t P = plan_.piece_length;
    if (P == 0) throw std::runtime_error("piece length 0");
    if (plan_.v2 && (P < kBlockSize || (P & (P - 1)) != 0))
      throw std::runtime_error("a v2 piece length must be a power of two of at least 16 KiB");
    const std::uint64_t total = reader_.total();
    std::uint64_t chunk = std::max<std::uint64_t>(P, opt_.chunk_bytes / P * P);
    const unsigned threads = opt_.threads ? opt_.threads : std::max(1u, std::thread::hardware_concurrency());
    if (plan_.v1 && opt_.use_mmap && opt_.rate_limit == 0) {
      // Each SHA-1 piece is one lane's work: big pieces need a chunk of lanes x threads of
      // them, or most lanes idle. Mapped chunks cost address space, not memory, so they may
      // grow (to 512 MiB) where a copied one could not.
      std::uint64_t lanes = 1;
      if (Result<std::string> name = eng_.choose(Op::hash_sha1, opt_.backend))
        if (auto b = eng_.backend(*name)) lanes = std::max(1u, b->lanes);
      const std::uint64_t cap = std::max<std::uint64_t>(P, (std::uint64_t{512} << 20) / P * P);
      chunk = std::max(chunk, std::min(cap, P * lanes * threads));
    }
    bopt_.backend = opt_.backend;
    bopt_.threads = opt_.threads;
    // Groups of about chunk / (2 * threads) bytes: two for each thread in every chunk.
    bopt_.memory_budget = static_cast<std::size_t>(2 * chunk + chunk / threads);
    const auto t0 = Clock::now();
    {
      ChunkPipe pipe(reader_, chunk, opt_);
      while (Chunk* c = pipe.next()) {
        hash_chunk(*c);
        st_.bytes += c->length();
        pipe.release(c);
        if (opt_.on_progress)
          opt_.on_progress({st_.bytes, total, std::chrono::duration<double>(Clock::now() - t0).count()});
        if (opt_.cancel && opt_.cancel->load()) break;
      }
    }
    st_.cancelled = st_.bytes < total;
    st_.bytes_from_disk = reader_.bytes_from_disk();
    st_.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return st_;
  }

 private:
  void batch(Algo algo, std::span<const ByteView> msgs, const DigestSink& out, std::string* backend) {
    SpanSource src(msgs);
    Result<BatchStats> r = eng_.hash_batch(algo, src, out, bopt_);
    if (!r) throw std::runtime_error(r.error());
    if (backend->empty()) *backend = r->backend;
  }

  void hash_chunk(Chunk& c) {
    const std::uint64_t P = plan_.piece_length;
    if (plan_.v1) {
      views_.clear();
      const std::uint64_t first = c.offset() / P;
      for (std::uint64_t at = 0; at < c.length(); at += P)
        views_.push_back(c.view(c.offset() + at, static_cast<std::size_t>(std::min(P, c.length() - at))));
      batch(Algo::sha1, views_, [&](std::uint64_t i, const Digest& d) {
        Sha1 h;
        copy_digest(d, h);
        sink_.v1_piece(first + i, h);
      }, &st_.backend_v1);
    }
    if (plan_.v2) hash_chunk_v2(c);
  }

  void hash_chunk_v2(Chunk& c) {
    const std::uint64_t P = plan_.piece_length;
    const std::uint64_t end = c.offset() + c.length();
    const auto& files = reader_.files();
    views_.clear();
    trees_.clear();
    std::size_t nodes = 0;
    // Files are piece-aligned in the stream, and so are chunks: each piece lies in one chunk.
    while (file_ < files.size() && files_done(files[file_], c.offset())) ++file_;
    for (std::size_t i = file_; i < files.size() && files[i].offset < end; ++i) {
      const DataFile& f = files[i];
      if (f.pad || f.length == 0) continue;
      const std::uint64_t from = std::max(f.offset, c.offset()), to = std::min(f.offset + f.length, end);
      for (std::uint64_t at = from; at < to; at += P) {
        const std::uint64_t piece_end = std::min(at + P, to);
        const std::uint64_t leaves = (piece_end - at + kBlockSize - 1) / kBlockSize;
        Subtree t;
        t.file = i;
        t.piece = (at - f.offset) / P;
        t.whole_file = f.length <= P;
        t.first = nodes;
        t.width = t.whole_file ? pow2_at_least(leaves) : static_cast<std::size_t>(P / kBlockSize);
        t.leaf_first = views_.size();
        t.leaf_count = static_cast<std::size_t>(leaves);
        for (std::uint64_t b = at; b < piece_end; b += kBlockSize)
          views_.push_back(c.view(b, static_cast<std::size_t>(std::min(kBlockSize, piece_end - b))));
        trees_.push_back(t);
        nodes += t.width;
      }
    }
    if (trees_.empty()) return;
    // Leaves, then zero hashes up to each subtree's width.
    level_.assign(nodes, Sha256{});
    std::vector<std::size_t> slot(views_.size());
    for (const Subtree& t : trees_)
      for (std::size_t j = 0; j < t.leaf_count; ++j) slot[t.leaf_first + j] = t.first + j;
    batch(Algo::sha256, views_, [&](std::uint64_t i, const Digest& d) { copy_digest(d, level_[slot[i]]); },
          &st_.backend_v2);
    // Up the trees, every subtree of the chunk one level per batch.
    std::vector<std::size_t> width(trees_.size());
    for (std::size_t k = 0; k < trees_.size(); ++k) width[k] = trees_[k].width;
    while (true) {
      pairs_.clear();
      pair_views_.clear();
      std::vector<std::size_t> dest;
      for (std::size_t k = 0; k < trees_.size(); ++k) {
        if (width[k] <= 1) continue;
        for (std::size_t j = 0; j < width[k] / 2; ++j) {
          std::array<std::uint8_t, 64> pair;
          std::memcpy(pair.data(), level_[trees_[k].first + 2 * j].data(), 32);
          std::memcpy(pair.data() + 32, level_[trees_[k].first + 2 * j + 1].data(), 32);
          pairs_.push_back(pair);
          dest.push_back(trees_[k].first + j);
        }
        width[k] /= 2;
      }
      if (pairs_.empty()) break;
      for (const auto& p : pairs_) pair_views_.push_back(ByteView(p.data(), 64));
      batch(Algo::sha256, pair_views_, [&](std::uint64_t i, const Digest& d) { copy_digest(d, level_[dest[i]]); },
            &st_.backend_v2);
    }
    for (const Subtree& t : trees_) {
      if (t.whole_file)
        sink_.v2_root(t.file, level_[t.first]);
      else
        sink_.v2_piece(t.file, t.piece, level_[t.first]);
    }
  }

  static bool files_done(const DataFile& f, std::uint64_t at) { return f.offset + f.length <= at; }

  const PassPlan& plan_;
  DataReader& reader_;
  const PassSink& sink_;
  const PassOptions& opt_;
  const Engine& eng_;
  BatchOptions bopt_;
  PassStats st_;
  std::size_t file_ = 0;
  std::vector<ByteView> views_, pair_views_;
  std::vector<Subtree> trees_;
  std::vector<Sha256> level_;
  std::vector<std::array<std::uint8_t, 64>> pairs_;
};

}  // namespace

PassStats run_hash_pass(const PassPlan& plan, DataReader& reader, const PassSink& sink, const PassOptions& opt) {
  return PassRunner(plan, reader, sink, opt).run();
}

}  // namespace hf::torrent
