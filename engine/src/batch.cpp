// The batch scheduler: one reader (the calling thread) pulls messages into groups, worker
// threads hash whole groups across lanes, and digests go out in message order. Reading
// pauses while half the memory budget is in flight, so memory stays bounded whatever the
// total input size.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "hashforge/engine.hpp"
#include "jobs.hpp"
#include "registry.hpp"
#include "worker_pool.hpp"

namespace hf {

std::optional<ByteView> ReaderSource::next(Bytes& storage) {
  storage.resize(piece_);
  in_.read(reinterpret_cast<char*>(storage.data()), static_cast<std::streamsize>(piece_));
  const auto got = static_cast<std::size_t>(in_.gcount());
  if (in_.bad()) throw std::runtime_error("read error");
  if (got == 0) return std::nullopt;
  storage.resize(got);
  return ByteView(storage);
}

namespace {
struct Group {
  std::uint64_t first_index = 0;
  std::vector<Bytes> storage;
  std::vector<ByteView> views;
  std::vector<Digest> out;
  std::size_t owned = 0;
  bool done = false;
};
}  // namespace

BatchStats run_hash_batch(Engine::Impl& eng, Algo algo, MessageSource& src, const DigestSink& out,
                          const BatchOptions& opt) {
  Backend& be = eng.resolve(hash_op(algo), opt.backend);
  const auto t0 = std::chrono::steady_clock::now();
  BatchStats st;
  st.backend = std::string(be.name());
  st.threads = be.is_device() ? 1 : opt.threads ? opt.threads : default_threads();
  if (st.threads > kMaxThreads) throw JobError("at most " + std::to_string(kMaxThreads) + " threads");
  const std::size_t half_budget = std::max<std::size_t>(opt.memory_budget / 2, 1);
  // Groups of about group_bytes, so several threads share the work.
  // A device wants far more messages at once (tens of thousands of work-items): its groups
  // take half of what may be in flight, so one is read while the other is hashed.
  // A group holds whole rounds of lanes: equal-size messages (torrent pieces) then fill
  // every lane to the end, where a group of 25 would leave 7 of 16 lanes idle in its
  // second round.
  const std::size_t lanes = std::max<std::size_t>(be.lanes(), 1);
  const std::size_t group_bytes =
      be.is_device() ? half_budget / 2 + 1 : std::min<std::size_t>(half_budget / (st.threads * 2 + 1) + 1, 32u << 20);
  const std::size_t group_max_msgs = be.is_device() ? std::size_t(1) << 20 : 16384;
  const std::size_t max_groups_in_flight = st.threads * 3;

  std::mutex mu;
  std::condition_variable done_cv;
  const unsigned threads_for_groups = be.is_device() ? 2 : st.threads;
  // inflight and owned_in_flight are changed only by the calling thread (dispatch and drain
  // run there), so it reads them without the lock; workers take groups through queue.
  std::deque<std::unique_ptr<Group>> inflight;  // in message order
  std::deque<Group*> queue;                     // waiting for a worker
  std::size_t owned_in_flight = 0;
  // Groups hashed so far: the reader takes the lock to emit digests only when this moved, not
  // for every message (at 64 bytes a message, three lock round trips a message cost more
  // than the hashing).
  std::atomic<std::size_t> groups_hashed{0};
  std::size_t groups_seen = 0;
  bool closing = false;
  std::exception_ptr failure, worker_failure;

  // Each dispatched group posts one task to the engine's pool; a task hashes whichever group
  // waits first. The caller, when it has to wait, hashes a waiting group itself, so a batch
  // makes progress even while the pool is busy with another job.
  std::size_t tasks_out = 0;  // posted tasks that have not finished
  std::mutex device_mu;       // a device serialises its own work: one group at a time
  auto hash_group = [&](Group* g) {
    std::exception_ptr err;
    try {
      std::unique_lock dlk(device_mu, std::defer_lock);
      if (be.is_device()) dlk.lock();
      g->out.resize(g->views.size());
      be.hash_many(algo, g->views, g->out.data());
    } catch (...) {
      err = std::current_exception();
    }
    std::lock_guard lk(mu);
    if (err && !worker_failure) worker_failure = err;
    g->done = true;
    groups_hashed.fetch_add(1, std::memory_order_release);
    done_cv.notify_all();
  };
  auto pop_waiting = [&]() -> Group* {  // under mu
    if (closing || queue.empty()) return nullptr;
    Group* g = queue.front();
    queue.pop_front();
    return g;
  };
  auto task = [&] {
    Group* g;
    {
      std::lock_guard lk(mu);
      g = pop_waiting();
    }
    if (g) hash_group(g);
    std::lock_guard lk(mu);
    --tasks_out;
    done_cv.notify_all();
  };
  auto stop_pool = [&] {
    std::unique_lock lk(mu);
    closing = true;
    queue.clear();
    done_cv.wait(lk, [&] { return tasks_out == 0; });
  };
  if (!be.is_device()) WorkerPool::instance().reserve(st.threads);

  // Emits finished groups at the front; with `wait`, blocks until at least one is emitted.
  auto drain = [&](std::unique_lock<std::mutex>& lk, bool wait) {
    while (true) {
      groups_seen = groups_hashed.load(std::memory_order_acquire);
      bool emitted = false;
      if (worker_failure) std::rethrow_exception(worker_failure);
      while (!inflight.empty() && inflight.front()->done) {
        std::unique_ptr<Group> g = std::move(inflight.front());
        inflight.pop_front();
        owned_in_flight -= g->owned;
        lk.unlock();
        for (std::size_t i = 0; i < g->out.size(); ++i) out(g->first_index + i, g->out[i]);
        lk.lock();
        emitted = true;
      }
      if (emitted || !wait || inflight.empty()) return;
      if (Group* g = pop_waiting()) {
        lk.unlock();
        hash_group(g);
        lk.lock();
        continue;
      }
      done_cv.wait(lk);
    }
  };

  auto dispatch = [&](std::unique_ptr<Group> g) {
    std::unique_lock lk(mu);
    queue.push_back(g.get());
    inflight.push_back(std::move(g));
    if (threads_for_groups <= 1) return;  // one thread: the caller hashes every group itself
    ++tasks_out;
    lk.unlock();
    try {
      WorkerPool::instance().post(task);
    } catch (...) {
      lk.lock();
      --tasks_out;
      throw;
    }
  };

  try {
    std::uint64_t index = 0;
    auto g = std::make_unique<Group>();
    std::size_t gbytes = 0;
    while (true) {
      // Digests of groups hashed meanwhile go out now; the lock is taken only when there are some,
      // or when the memory budget or the group count says to wait for one.
      if (groups_hashed.load(std::memory_order_acquire) != groups_seen || owned_in_flight + g->owned >= half_budget ||
          inflight.size() >= max_groups_in_flight) {
        std::unique_lock lk(mu);
        drain(lk, false);
        while (owned_in_flight + g->owned >= half_budget || inflight.size() >= max_groups_in_flight) {
          if (inflight.empty()) break;
          drain(lk, true);
        }
      }
      Bytes storage;
      std::optional<ByteView> m = src.next(storage);
      if (!m) break;
      // A view anywhere inside storage (say, a record minus its header) is the engine's to
      // keep alive and counts against the budget; anything else is memory the source keeps
      // valid itself.
      const bool owned =
          !storage.empty() && m->data() >= storage.data() && m->data() + m->size() <= storage.data() + storage.size();
      if (owned && storage.size() > half_budget)
        throw JobError("message " + std::to_string(index) + " is " + std::to_string(storage.size()) +
                       " bytes, over half the batch memory budget (" + std::to_string(opt.memory_budget) + ")");
      if (owned) {
        g->owned += storage.size();
        const std::size_t off = static_cast<std::size_t>(m->data() - storage.data());
        g->storage.push_back(std::move(storage));
        g->views.push_back(ByteView(g->storage.back()).subspan(off, m->size()));
      } else {
        g->views.push_back(*m);
      }
      st.peak_bytes_in_flight = std::max(st.peak_bytes_in_flight, owned_in_flight + g->owned);
      gbytes += m->size();
      st.bytes += m->size();
      ++index;
      const bool full = (g->views.size() % lanes == 0 && gbytes >= group_bytes) || g->views.size() >= group_max_msgs ||
                        owned_in_flight + g->owned >= half_budget;
      if (full) {
        owned_in_flight += g->owned;
        dispatch(std::move(g));
        g = std::make_unique<Group>();
        g->first_index = index;
        gbytes = 0;
      }
    }
    if (!g->views.empty()) {
      owned_in_flight += g->owned;
      const bool sole = inflight.empty() && g->first_index == 0;
      if (sole) {  // the whole batch is one group: hash it here, the pool would only add a hop
        hash_group(g.get());
        std::lock_guard lk(mu);
        inflight.push_back(std::move(g));
      } else {
        dispatch(std::move(g));
      }
    }
    st.messages = index;
    std::unique_lock lk(mu);
    while (!inflight.empty()) drain(lk, true);
  } catch (...) {
    failure = std::current_exception();
  }
  stop_pool();
  if (failure) std::rethrow_exception(failure);
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return st;
}

}  // namespace hf
