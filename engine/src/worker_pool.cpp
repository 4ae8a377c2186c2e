#include "worker_pool.hpp"

#include "hashforge/engine.hpp"
#include "hashforge/thread_name.hpp"

namespace hf {

WorkerPool& WorkerPool::instance() {
  static WorkerPool pool;
  return pool;
}

WorkerPool::WorkerPool() = default;

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void WorkerPool::reserve(unsigned n) {
  if (n > kMaxThreads) n = kMaxThreads;
  std::lock_guard lk(mu_);
  while (threads_.size() < n) threads_.emplace_back([this] {
    name_this_thread("hf-engine");
    loop();
  });
}

unsigned WorkerPool::size() const {
  std::lock_guard lk(mu_);
  return static_cast<unsigned>(threads_.size());
}

void WorkerPool::post(std::function<void()> task) {
  bool empty;
  {
    std::lock_guard lk(mu_);
    tasks_.push_back(std::move(task));
    empty = threads_.empty();
  }
  if (empty) reserve(default_threads());
  cv_.notify_one();
}

bool WorkerPool::run_one() {
  std::function<void()> task;
  {
    std::lock_guard lk(mu_);
    if (tasks_.empty()) return false;
    task = std::move(tasks_.front());
    tasks_.pop_front();
  }
  task();
  return true;
}

void WorkerPool::loop() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping, nothing left
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();  // tasks catch their own errors and report them to their job
  }
}

}  // namespace hf
