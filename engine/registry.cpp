// The Engine: the backend registry (priority per operation), forcing, and self-tests.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/cpu/cpu_backend.hpp"
#include "engine/engine.hpp"
#include "engine/gpu/cuda_backend.hpp"
#include "engine/gpu/opencl_backend.hpp"
#include "engine/selftest.hpp"

namespace hf {

namespace {
// Preference per operation, best first, from bench/results (2026-11-21, AVX-512 + SHA-NI
// Xeon): AVX-512's 16 lanes win everything there. Without AVX-512 (most desktop and AMD
// parts), two interleaved SHA-NI streams beat AVX2's 8 lanes for SHA-256 (2.9 vs 1.6 GB/s,
// 20 vs 12.5 M sha256d nonces/s) but AVX2 beats SHA-NI for bulk SHA-1 (3.6 vs 2.7 GB/s),
// whose scalar round is cheap enough for plain vector code to pay.
std::vector<std::string_view> preference(Op op) {
  switch (op) {
    case Op::hash_sha1:
      return {"avx512", "avx2", "shani", "scalar"};
    case Op::search_sha256:
    case Op::search_sha256d:
    case Op::hash_sha256:
    case Op::hash_sha256d:
      return {"avx512", "shani", "avx2", "scalar"};
  }
  return {"scalar"};
}
// HASHFORGE_DISABLE=avx512,shani makes the engine behave as on a CPU without those
// instruction sets, so the choice logic for such machines can be exercised on this one.
bool disabled_by_env(const std::string& name) {
  const char* env = std::getenv("HASHFORGE_DISABLE");
  if (!env) return false;
  std::string list = std::string(",") + env + ",";
  return list.find("," + name + ",") != std::string::npos;
}

}  // namespace

Engine& Engine::instance() {
  static Engine e;
  return e;
}

Engine::Engine() : single_(&reference_fns()) {
  for (auto& cb : cpu::make_cpu_backends()) {
    BackendStatus s;
    s.name = std::string(cb->name());
    s.description = cb->description();
    s.lanes = cb->lanes();
    s.why_unavailable = cb->unavailable_reason();
    if (s.why_unavailable.empty() && disabled_by_env(s.name)) s.why_unavailable = "disabled by HASHFORGE_DISABLE";
    s.available = s.why_unavailable.empty();
    if (s.available) {
      std::string err = selftest_backend(*cb);
      s.selftest_ok = err.empty();
      s.selftest = err.empty() ? "passed" : "FAILED: " + err;
      if (!err.empty())
        std::fprintf(stderr, "hashforge: backend %s disabled: self-test failed: %s\n", s.name.c_str(), err.c_str());
    } else {
      s.selftest = "not run";
    }
    if (s.usable() && cb->kernels().sha256_single && cb->kernels().sha256_single != reference_fns().sha256) {
      static SingleStreamFns fns;
      fns = {cb->kernels().name, cb->kernels().sha256_single, cb->kernels().sha1_single};
      single_ = &fns;
    }
    status_.push_back(std::move(s));
    backends_.push_back(std::move(cb));
  }
}

void Engine::probe_devices() {
  std::call_once(probed_, [this] {
    // CUDA first: on an NVIDIA machine the same GPU may also appear as an OpenCL device.
    std::string why_cuda, why_cl;
    auto devs = gpu::make_cuda_backends(&why_cuda);
    if (devs.empty()) devices_note_ = "CUDA: " + why_cuda;
    auto cl = gpu::make_opencl_backends(&why_cl);
    if (cl.empty()) devices_note_ += (devices_note_.empty() ? "" : "; ") + std::string("OpenCL: ") + why_cl;
    for (auto& d : cl) devs.push_back(std::move(d));
    for (auto& d : devs) {
      BackendStatus s;
      s.name = std::string(d->name());
      s.description = d->description();
      s.lanes = d->lanes();
      s.why_unavailable = d->unavailable_reason();  // builds the kernels
      s.available = s.why_unavailable.empty();
      if (s.available) {
        std::string err = selftest_backend(*d);
        s.selftest_ok = err.empty();
        s.selftest = err.empty() ? "passed" : "FAILED: " + err;
      } else {
        s.selftest = "not run";
      }
      status_.push_back(std::move(s));
      backends_.push_back(std::move(d));
    }
  });
}

std::vector<Backend*> Engine::resolve_list(Op op, const std::string& spec_arg) const {
  std::string spec = spec_arg;
  if (spec.empty())
    if (const char* env = std::getenv("HASHFORGE_BACKEND"); env && *env) spec = env;
  std::vector<Backend*> out;
  if (spec == "all") {
    const_cast<Engine*>(this)->probe_devices();
    out.push_back(&resolve(op, "auto"));
    for (std::size_t i = 0; i < backends_.size(); ++i)
      if (backends_[i]->is_device() && status_[i].usable() && backends_[i]->supports(op))
        out.push_back(backends_[i].get());
    return out;
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = spec.find(',', start);
    const std::string name = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (name.empty() && comma != std::string::npos) throw JobError("--backend " + spec + ": empty name in the list");
    Backend* b = &resolve(op, name);
    for (Backend* seen : out)
      if (seen == b) throw JobError("--backend " + spec + ": " + std::string(b->name()) + " listed twice");
    out.push_back(b);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

bool Engine::add_backend(std::unique_ptr<Backend> be, std::string* why) {
  BackendStatus s;
  s.name = std::string(be->name());
  s.description = be->description();
  s.lanes = be->lanes();
  s.why_unavailable = be->unavailable_reason();
  s.available = s.why_unavailable.empty();
  std::string err = s.available ? selftest_backend(*be) : "not run";
  s.selftest_ok = s.available && err.empty();
  s.selftest = s.selftest_ok ? "passed" : s.available ? "FAILED: " + err : err;
  if (why) *why = s.available ? err : s.why_unavailable;
  const bool ok = s.usable();
  status_.push_back(std::move(s));
  backends_.push_back(std::move(be));
  return ok;
}

Backend* Engine::find(std::string_view name) const {
  if (name.find(':') != std::string_view::npos) const_cast<Engine*>(this)->probe_devices();
  for (std::size_t i = 0; i < backends_.size(); ++i)
    if (status_[i].name == name && status_[i].usable()) return backends_[i].get();
  return nullptr;
}

std::string Engine::best_for(Op op) const {
  for (std::string_view n : preference(op))
    if (Backend* b = find(n); b && b->supports(op)) return std::string(n);
  return "scalar";
}

Backend& Engine::resolve(Op op, const std::string& forced_arg) const {
  std::string forced = forced_arg;
  std::string source = "--backend";
  if (forced.empty()) {
    if (const char* env = std::getenv("HASHFORGE_BACKEND"); env && *env) {
      forced = env;
      source = "HASHFORGE_BACKEND";
    }
  }
  if (forced.find(':') != std::string::npos) const_cast<Engine*>(this)->probe_devices();
  if (forced.empty() || forced == "auto") {
    Backend* b = find(best_for(op));
    if (!b) throw JobError("no usable backend for " + std::string(op_name(op)) + " (every self-test failed)");
    return *b;
  }
  for (std::size_t i = 0; i < backends_.size(); ++i) {
    if (status_[i].name != forced) continue;
    if (!status_[i].available)
      throw JobError(source + " " + forced + ": backend unavailable: " + status_[i].why_unavailable);
    if (!status_[i].selftest_ok) throw JobError(source + " " + forced + ": backend disabled: " + status_[i].selftest);
    if (!backends_[i]->supports(op))
      throw JobError(source + " " + forced + ": backend does not support " + std::string(op_name(op)));
    return *backends_[i];
  }
  std::string names;
  for (auto& s : status_) names += (names.empty() ? "" : ", ") + s.name;
  throw JobError(source + " " + forced + ": unknown backend (known: " + names + ")");
}

}  // namespace hf
