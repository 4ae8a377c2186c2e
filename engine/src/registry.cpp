// The Engine: the backend registry (preference per operation), forcing, and self-tests.
#include "registry.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "cpu/cpu_backend.hpp"
#include "cpu_features.hpp"
#include "gpu/cuda_backend.hpp"
#include "gpu/opencl_backend.hpp"
#include "selftest.hpp"

namespace hf {

namespace {
// HASHFORGE_DISABLE=avx512,shani makes the engine behave as on a CPU without those
// instruction sets, so the choice logic for such machines can be exercised on this one.
bool disabled_by_env(const std::string& name) {
  const char* env = std::getenv("HASHFORGE_DISABLE");
  if (!env) return false;
  std::string list = std::string(",") + env + ",";
  return list.find("," + name + ",") != std::string::npos;
}

std::string forced_from_env(std::string_view forced, std::string* source) {
  *source = "--backend";
  if (!forced.empty()) return std::string(forced);
  if (const char* env = std::getenv("HASHFORGE_BACKEND"); env && *env) {
    *source = "HASHFORGE_BACKEND";
    return env;
  }
  return {};
}
}  // namespace

bool BackendStatus::supports(Op op) const {
  for (Op o : ops)
    if (o == op) return true;
  return false;
}

BackendStatus Engine::Impl::status_of(Backend& be, bool run_selftest) {
  BackendStatus s;
  s.name = std::string(be.name());
  s.description = be.description();
  s.lanes = be.lanes();
  s.device = be.is_device();
  for (Op op : kAllOps)
    if (be.supports(op)) s.ops.push_back(op);
  s.why_unavailable = be.unavailable_reason();  // a device builds its kernels here
  if (s.why_unavailable.empty() && disabled_by_env(s.name)) s.why_unavailable = "disabled by HASHFORGE_DISABLE";
  s.available = s.why_unavailable.empty();
  if (s.available && run_selftest) {
    const std::string err = selftest_backend(be);
    s.selftest_ok = err.empty();
    s.selftest = err.empty() ? "passed" : "FAILED: " + err;
  } else {
    s.selftest = "not run";
  }
  return s;
}

Engine::Impl::Impl() : single_(&reference_fns()) {
  int single_rank = 0;
  for (auto& cb : cpu::make_cpu_backends()) {
    BackendStatus s = status_of(*cb, true);
    if (s.available && !s.selftest_ok)
      std::fprintf(stderr, "hashforge: backend %s disabled: %s\n", s.name.c_str(), s.selftest.c_str());
    // The fastest single-stream code: the best-ranked usable backend that has one.
    if (s.usable() && cb->single_stream() && cb->rank(Op::hash_sha256) > single_rank) {
      single_ = cb->single_stream();
      single_rank = cb->rank(Op::hash_sha256);
    }
    status_.push_back(std::move(s));
    backends_.push_back(std::move(cb));
  }
}

void Engine::Impl::probe_devices() {
  std::call_once(probed_, [this] {
    // Built and self-tested without the lock (a kernel build takes seconds): other threads
    // keep resolving CPU backends meanwhile; the devices appear all at once.
    // CUDA first: on an NVIDIA machine the same GPU may also appear as an OpenCL device.
    std::string why_cuda, why_cl, note;
    auto devs = gpu::make_cuda_backends(&why_cuda);
    if (devs.empty()) note = "CUDA: " + why_cuda;
    auto cl = gpu::make_opencl_backends(&why_cl);
    if (cl.empty()) note += (note.empty() ? "" : "; ") + std::string("OpenCL: ") + why_cl;
    for (auto& d : cl) devs.push_back(std::move(d));
    std::vector<BackendStatus> st;
    for (auto& d : devs) st.push_back(status_of(*d, true));
    std::unique_lock lk(mu_);
    devices_note_ = note;
    for (std::size_t i = 0; i < devs.size(); ++i) {
      status_.push_back(std::move(st[i]));
      backends_.push_back(std::move(devs[i]));
    }
  });
}

std::vector<BackendStatus> Engine::Impl::snapshot() {
  std::shared_lock lk(mu_);
  return status_;
}

std::string Engine::Impl::devices_note() {
  std::shared_lock lk(mu_);
  return devices_note_;
}

bool Engine::Impl::add(std::unique_ptr<Backend> be, std::string* why) {
  BackendStatus s = status_of(*be, true);
  if (why) *why = !s.available ? s.why_unavailable : s.selftest_ok ? "" : s.selftest;
  const bool ok = s.usable();
  std::unique_lock lk(mu_);
  status_.push_back(std::move(s));
  backends_.push_back(std::move(be));
  return ok;
}

Backend* Engine::Impl::find_locked(std::string_view name) {
  for (std::size_t i = 0; i < backends_.size(); ++i)
    if (status_[i].name == name && status_[i].usable()) return backends_[i].get();
  return nullptr;
}

Backend* Engine::Impl::find(std::string_view name) {
  if (name.find(':') != std::string_view::npos) probe_devices();
  std::shared_lock lk(mu_);
  return find_locked(name);
}

std::string Engine::Impl::best_for(Op op) {
  std::shared_lock lk(mu_);
  std::string best = "scalar";
  int best_rank = 0;
  for (std::size_t i = 0; i < backends_.size(); ++i) {
    const int r = backends_[i]->rank(op);
    if (status_[i].usable() && backends_[i]->supports(op) && r > best_rank) {
      best_rank = r;
      best = status_[i].name;
    }
  }
  return best;
}

Backend& Engine::Impl::resolve(Op op, std::string_view forced_arg) {
  std::string source;
  const std::string forced = forced_from_env(forced_arg, &source);
  if (forced.find(':') != std::string::npos) probe_devices();
  if (forced.empty() || forced == "auto") {
    Backend* b = find(best_for(op));
    if (!b) throw JobError("no usable backend for " + std::string(op_name(op)) + " (every self-test failed)");
    return *b;
  }
  std::shared_lock lk(mu_);
  for (std::size_t i = 0; i < backends_.size(); ++i) {
    const BackendStatus& s = status_[i];
    if (s.name != forced) continue;
    if (!s.available) throw JobError(source + " " + forced + ": backend unavailable: " + s.why_unavailable);
    if (!s.selftest_ok) throw JobError(source + " " + forced + ": backend disabled: " + s.selftest);
    if (!backends_[i]->supports(op))
      throw JobError(source + " " + forced + ": backend does not support " + std::string(op_name(op)));
    return *backends_[i];
  }
  std::string names;
  for (auto& s : status_) names += (names.empty() ? "" : ", ") + s.name;
  throw JobError(source + " " + forced + ": unknown backend (known: " + names + ")");
}

cpu::CpuBackend* Engine::Impl::pairs_backend() {
  if (pairs_chosen_.load(std::memory_order_acquire)) return pairs_.load(std::memory_order_relaxed);
  // The best CPU backend (devices rank 0): a tree layer is small work on the caller's thread,
  // not worth a device's queue or its lock, and $HASHFORGE_BACKEND does not move it, as it
  // does not move Engine::digest.
  auto* b = dynamic_cast<cpu::CpuBackend*>(find(best_for(Op::hash_sha256)));
  pairs_.store(b, std::memory_order_relaxed);
  pairs_chosen_.store(true, std::memory_order_release);
  return b;
}

std::vector<Backend*> Engine::Impl::resolve_list(Op op, std::string_view spec_arg) {
  std::string source;
  const std::string spec = forced_from_env(spec_arg, &source);
  std::vector<Backend*> out;
  if (spec == "all") {
    probe_devices();
    out.push_back(&resolve(op, "auto"));
    std::shared_lock lk(mu_);
    for (std::size_t i = 0; i < backends_.size(); ++i)
      if (backends_[i]->is_device() && status_[i].usable() && backends_[i]->supports(op))
        out.push_back(backends_[i].get());
    return out;
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = spec.find(',', start);
    const std::string name = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (name.empty() && comma != std::string::npos) throw JobError(source + " " + spec + ": empty name in the list");
    Backend* b = &resolve(op, name);
    for (Backend* seen : out)
      if (seen == b) throw JobError(source + " " + spec + ": " + std::string(b->name()) + " listed twice");
    out.push_back(b);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace hf
