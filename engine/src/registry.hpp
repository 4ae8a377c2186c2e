// The engine's backend registry: every backend with its status, device probing, and the
// choice of backend per operation. Engine-internal; the public face is hashforge/engine.hpp.
//
// Thread safety: the lists only grow (CPU backends at start-up, devices once when probed,
// plugins and test doubles when added), under an exclusive lock; lookups take a shared lock.
// Backend objects never move (they are held by unique_ptr), so a Backend* found under the
// lock stays valid after it is released.
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "backend.hpp"
#include "hashforge/engine.hpp"
#include "single_stream.hpp"

namespace hf::cpu {
class CpuBackend;
}

namespace hf {

struct Engine::Impl {
  Impl();
  // Usable backend by name, or nullptr; a device name (with ':') probes devices first.
  Backend* find(std::string_view name);
  // The backend for op: forced (else $HASHFORGE_BACKEND) or the best; throws JobError.
  Backend& resolve(Op op, std::string_view forced);
  std::vector<Backend*> resolve_list(Op op, std::string_view spec);
  std::string best_for(Op op);
  void probe_devices();
  bool add(std::unique_ptr<Backend> be, std::string* why);
  std::vector<BackendStatus> snapshot();
  std::string devices_note();
  const SingleStreamFns& single() const { return *single_; }  // fixed after construction
  // The backend for Engine::hash_pairs, chosen once: the best CPU backend for hash-sha256;
  // nullptr when none is usable (every one disabled), and the reference code runs instead.
  cpu::CpuBackend* pairs_backend();
  // The measured choice (see Engine::backend_choice): loaded or measured once.
  std::shared_ptr<const BackendChoice> choice();
  // Measures again and rewrites the cache; throws JobError when the choice is pinned.
  std::shared_ptr<const BackendChoice> calibrate_now();
  // Tests: drop the loaded choice (and the pair backend chosen from it), so the next need
  // reads the environment, the pin or the cache again.
  void forget_choice() {
    std::lock_guard lk(choice_mu_);
    choice_.reset();
    pairs_chosen_.store(false, std::memory_order_release);
  }
  std::vector<MeasuredRate> whole_machine_rates() {
    std::lock_guard lk(whole_mu_);
    return whole_;
  }

 private:
  BackendStatus status_of(Backend& be, bool run_selftest);
  // The usable CPU backends the choice measures and picks from: not those superseded by
  // another usable one (CpuBackendSpec::superseded_by).
  std::vector<cpu::CpuBackend*> candidate_cpu_backends();
  bool superseded_locked(std::size_t i);  // under mu_ (shared)
  std::shared_ptr<const BackendChoice> measure_and_cache(std::string note);
  // The usable non-device backend supporting op with the highest measured rate on task; else
  // the highest rank (a backend the table lacks), else "".
  std::string best_measured(Op op, std::string_view task);
  // `--backend all`: the faster on the whole machine of the CPU backend and each OpenCL
  // device that runs on the same cores.
  Backend* faster_on_this_cpu(Op op, Backend* cpu, const std::vector<Backend*>& same_cores);
  double whole_machine_rate(Op op, Backend* be);
  Backend* find_locked(std::string_view name);  // under mu_ (shared)
  std::shared_mutex mu_;
  std::vector<std::unique_ptr<Backend>> backends_;
  std::vector<BackendStatus> status_;
  const SingleStreamFns* single_;
  std::once_flag probed_;
  std::atomic<cpu::CpuBackend*> pairs_{nullptr};
  std::atomic<bool> pairs_chosen_{false};
  std::string devices_note_;
  std::mutex choice_mu_;  // held while loading or measuring: one calibration at a time
  std::shared_ptr<const BackendChoice> choice_;
  std::mutex whole_mu_;
  std::vector<MeasuredRate> whole_;  // measured whole-machine rates, for the process
};

// For the engine's own code and white-box tests.
inline Backend* find_backend(std::string_view name) { return Engine::instance().impl().find(name); }

}  // namespace hf
