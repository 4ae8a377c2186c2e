// The engine's one process-wide pool of CPU worker threads. Every search and batch job on
// the CPU backends runs its work here, so a node mining while it verifies, or a torrent
// client checking pieces while it downloads, shares the cores instead of multiplying threads.
//
// Tasks are short (one search chunk, one batch group: tens of milliseconds) and a job that
// has more work posts its next task to the back of the queue, so concurrent jobs take turns
// at chunk granularity instead of one starving the other. Pool tasks never wait on other
// pool tasks, which is what keeps the pool free of deadlocks.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hf {

class WorkerPool {
 public:
  static WorkerPool& instance();
  // Makes sure at least n threads exist (the default is one per core; a job asking for more
  // parallelism than that grows the pool to its request, never past kMaxThreads).
  void reserve(unsigned n);
  unsigned size() const;
  // Queues a task; it runs on a pool thread. Throws std::system_error if no thread could be
  // started at all.
  void post(std::function<void()> task);
  // Runs one queued task on the calling thread if there is one (a caller waiting on its
  // own tasks helps instead of sleeping). True if it ran one.
  bool run_one();

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  ~WorkerPool();

 private:
  WorkerPool();
  void loop();
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

}  // namespace hf
