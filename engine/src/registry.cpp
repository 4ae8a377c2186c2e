// The Engine: the backend registry (preference per operation), forcing, and self-tests.
#include "registry.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "calibrate.hpp"
#include "choice.hpp"
#include "cpu/catalog.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu_features.hpp"
#include "gpu/cuda_backend.hpp"
#include "gpu/opencl_backend.hpp"
#include "jobs.hpp"
#include "selftest.hpp"

namespace hf {

namespace {
// HASHFORGE_DISABLE=avx512,shani makes the engine behave as on a CPU without those
// instruction sets, so the choice logic for such machines can be exercised on this one. A name
// also disables its variants (shani: shani-sse too), since those are the same instruction set.
std::vector<std::string> disabled_names() {
  std::vector<std::string> names;
  const char* env = std::getenv("HASHFORGE_DISABLE");
  if (!env) return names;
  const std::string list = env;
  for (std::size_t start = 0; start <= list.size();) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    if (comma > start) names.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return names;
}

// A name disables its backend and the backends it supersedes (`shani` takes `shani-sse`, the
// same kernels in another encoding, with it), from the catalog rather than by spelling.
bool disabled_by_env(const std::string& name) {
  std::string_view original;
  for (const auto& spec : cpu::cpu_backend_catalog())
    if (spec.name == name) original = spec.superseded_by;
  for (const std::string& n : disabled_names())
    if (name == n || (!original.empty() && original == n)) return true;
  return false;
}

// A device backend's name: opencl:N or cuda:N.
bool is_device_name(const std::string& name) {
  for (const std::string prefix : {"opencl:", "cuda:"})
    if (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
        name.find_first_not_of("0123456789", prefix.size()) == std::string::npos)
      return true;
  return false;
}

// A name in HASHFORGE_DISABLE that matches no backend disables nothing: say so, since a typo
// would otherwise measure the wrong machine without a word.
void warn_unknown_disabled() {
  std::string known_list;
  for (const auto& spec : cpu::cpu_backend_catalog()) known_list += std::string(spec.name) + ", ";
  for (const std::string& name : disabled_names()) {
    bool known = is_device_name(name);
    for (const auto& spec : cpu::cpu_backend_catalog()) known = known || name == spec.name;
    if (!known)
      std::fprintf(stderr, "hashforge: HASHFORGE_DISABLE names no backend '%s' (backends: %sopencl:N, cuda:N)\n",
                   name.c_str(), known_list.c_str());
  }
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
  // After the self-test: a CPU backend's description names kernel picks its first use measured.
  s.description = be.description();
  return s;
}

Engine::Impl::Impl() : single_(&reference_fns()) {
  warn_unknown_disabled();
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
  std::string best = best_measured(op, op_name(op));
  return best.empty() ? "scalar" : best;
}

std::string Engine::Impl::best_measured(Op op, std::string_view task) {
  const std::shared_ptr<const BackendChoice> c = choice();
  std::shared_lock lk(mu_);
  std::string best, by_rank;
  double best_rate = 0;
  int best_rank = 0;
  for (std::size_t i = 0; i < backends_.size(); ++i) {
    Backend& b = *backends_[i];
    if (!status_[i].usable() || b.is_device() || !b.supports(op) || superseded_locked(i)) continue;
    double r = 0;
    for (const MeasuredRate& m : c->rates)
      if (m.task == task && m.backend == status_[i].name) r = m.rate;
    if (r > best_rate) {
      best_rate = r;
      best = status_[i].name;
    }
    // Ranks only order what the table lacks (a pinned file naming some backends, or no
    // measurement at all); rank 0 is never chosen.
    if (b.rank(op) > best_rank) {
      best_rank = b.rank(op);
      by_rank = status_[i].name;
    }
  }
  return best.empty() ? by_rank : best;
}

bool Engine::Impl::superseded_locked(std::size_t i) {
  const auto* cb = dynamic_cast<const cpu::CpuBackend*>(backends_[i].get());
  return cb && !cb->superseded_by().empty() && find_locked(cb->superseded_by()) != nullptr;
}

std::vector<cpu::CpuBackend*> Engine::Impl::candidate_cpu_backends() {
  std::shared_lock lk(mu_);
  std::vector<cpu::CpuBackend*> v;
  for (std::size_t i = 0; i < backends_.size(); ++i)
    if (status_[i].usable() && !superseded_locked(i))
      if (auto* cb = dynamic_cast<cpu::CpuBackend*>(backends_[i].get())) v.push_back(cb);
  return v;
}

namespace {
std::chrono::milliseconds calibration_budget() {
  // HASHFORGE_CALIBRATE_MS shortens it (tests) or lengthens it (a quieter measurement).
  if (const char* env = std::getenv("HASHFORGE_CALIBRATE_MS"); env && *env) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (*end == 0 && v >= 1 && v <= 60000) return std::chrono::milliseconds(v);
    static std::once_flag said;  // once a process, however often it calibrates
    std::call_once(said, [env] {
      std::fprintf(stderr, "hashforge: HASHFORGE_CALIBRATE_MS=%s is not a whole number from 1 to 60000; using 300\n",
                   env);
    });
  }
  return std::chrono::milliseconds(300);
}
}  // namespace

std::shared_ptr<const BackendChoice> Engine::Impl::measure_and_cache(std::string note) {
  auto c = std::make_shared<BackendChoice>();
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<cpu::CpuBackend*> bes = candidate_cpu_backends();
  c->rates = measure_cpu_backends(bes, calibration_budget());
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  c->source = "measured now (" + std::to_string(static_cast<long>(ms + 0.5)) + " ms)";
  c->key = choice::machine_key();
  const std::string path = choice::cache_path();
  if (path.empty()) {
    note = "no cache folder (neither XDG_CACHE_HOME nor HOME is set)";
  } else {
    std::string why;
    if (!choice::write_file_atomically(path, choice::format({c->key, c->rates}), &why))
      note = "not cached: " + why;
    else
      c->source += ", cached in " + path;
  }
  c->cache_note = note;
  return c;
}

std::shared_ptr<const BackendChoice> Engine::Impl::choice() {
  std::lock_guard lk(choice_mu_);
  if (choice_) return choice_;
  if (const char* pin = std::getenv("HASHFORGE_CHOICE_FILE"); pin && *pin) {
    auto c = std::make_shared<BackendChoice>();
    std::string why;
    auto table = choice::load(pin, &why);
    if (table) {
      c->source = std::string("pinned by HASHFORGE_CHOICE_FILE=") + pin;
      c->key = table->key;
      c->rates = std::move(table->rates);
    } else {
      // A pin that cannot be read is the caller's mistake: say so once, and choose by the
      // fixed ranks rather than by a measurement the pin was set to avoid.
      c->source = std::string("fixed ranks: HASHFORGE_CHOICE_FILE=") + pin + ": " + why;
      std::fprintf(stderr, "hashforge: HASHFORGE_CHOICE_FILE=%s: %s; choosing backends by fixed ranks\n", pin,
                   why.c_str());
    }
    return choice_ = std::move(c);
  }
  std::string note;
  if (const std::string path = choice::cache_path(); !path.empty()) {
    std::string why;
    bool unreadable = false;
    auto table = choice::load(path, &why, &unreadable);
    if (table && table->key == choice::machine_key()) {
      // Every usable CPU backend must have every task: one enabled since (HASHFORGE_DISABLE
      // lifted, a new kernel set) is measured with the rest.
      bool covers = true;
      for (cpu::CpuBackend* b : candidate_cpu_backends())
        for (const std::string& t : choice::all_tasks()) covers = covers && table->rate(t, b->name()) > 0;
      if (covers) {
        auto c = std::make_shared<BackendChoice>();
        c->source = "cached in " + path;
        c->key = table->key;
        c->rates = std::move(table->rates);
        return choice_ = std::move(c);
      }
      note = "the cache lacked a usable backend; measured again";
    } else if (table) {
      note = "the cache was measured on another CPU or version; measured again";
    } else if (!unreadable) {
      note = "the cache was unreadable (" + why + "); measured again";
    }
  }
  return choice_ = measure_and_cache(note);
}

std::shared_ptr<const BackendChoice> Engine::Impl::calibrate_now() {
  if (const char* pin = std::getenv("HASHFORGE_CHOICE_FILE"); pin && *pin)
    throw JobError(std::string("the choice is pinned by HASHFORGE_CHOICE_FILE=") + pin + "; unset it to calibrate");
  // Under choice_mu_: one calibration at a time in a process (choice() waits for it).
  std::lock_guard lk(choice_mu_);
  choice_ = measure_and_cache({});
  pairs_chosen_.store(false, std::memory_order_release);  // chosen again from the new rates
  return choice_;
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
  // Devices are looked for only when a device name is asked for; say how they are named.
  const char* devices =
      forced.find(':') == std::string::npos ? "; devices: opencl:N, cuda:N, as `hashforge backends` lists them" : "";
  throw JobError(source + " " + forced + ": unknown backend (known: " + names + devices + ")");
}

cpu::CpuBackend* Engine::Impl::pairs_backend() {
  if (pairs_chosen_.load(std::memory_order_acquire)) return pairs_.load(std::memory_order_relaxed);
  // The CPU backend measured fastest on tree layers: a tree layer is small work on the caller's thread,
  // not worth a device's queue or its lock, and $HASHFORGE_BACKEND does not move it, as it
  // does not move Engine::digest.
  auto* b = dynamic_cast<cpu::CpuBackend*>(find(best_measured(Op::hash_sha256, choice::kPairsTask)));
  pairs_.store(b, std::memory_order_relaxed);
  pairs_chosen_.store(true, std::memory_order_release);
  return b;
}

std::vector<Backend*> Engine::Impl::resolve_list(Op op, std::string_view spec_arg) {
  std::string source;
  const std::string spec = forced_from_env(spec_arg, &source);
  std::vector<Backend*> out;
  // HASHFORGE_DEVICES=auto lets devices be chosen without naming them: "auto" is then "all".
  const char* dev_env = std::getenv("HASHFORGE_DEVICES");
  const bool auto_devices = (spec.empty() || spec == "auto") && dev_env && std::string_view(dev_env) == "auto";
  if (spec == "all" || auto_devices) {
    probe_devices();
    Backend* cpu = &resolve(op, "auto");
    std::vector<Backend*> devices, same_cores;
    {
      std::shared_lock lk(mu_);
      for (std::size_t i = 0; i < backends_.size(); ++i)
        if (backends_[i]->is_device() && status_[i].usable() && backends_[i]->supports(op))
          (backends_[i]->shares_host_cores() ? same_cores : devices).push_back(backends_[i].get());
    }
    out.push_back(same_cores.empty() ? cpu : faster_on_this_cpu(op, cpu, same_cores));
    for (Backend* d : devices) out.push_back(d);
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

double Engine::Impl::whole_machine_rate(Op op, Backend* be) {
  // A short search of a Bitcoin header (the shape miners run), target never met, on every
  // thread or on the device; two runs, the faster kept (the first may include warm-up).
  SearchJob job;
  job.algo = op == Op::search_sha256 ? Algo::sha256 : Algo::sha256d;
  job.message.assign(80, 0x5a);
  job.nonce = {76, Encoding::u32le, 4};
  job.range = {0, 1ull << 32};
  job.target = Key{};
  job.target.w[7] = 1;
  job.budget = std::chrono::milliseconds(150);
  RunOptions opt;
  opt.backend = std::string(be->name());
  double best = 0;
  for (int i = 0; i < 2; ++i) best = std::max(best, run_search(*this, job, opt).rate());
  return best;
}

Backend* Engine::Impl::faster_on_this_cpu(Op op, Backend* cpu, const std::vector<Backend*>& same_cores) {
  // Searches only: a device batch job takes one backend, chosen by name.
  if (op != Op::search_sha256 && op != Op::search_sha256d) return cpu;
  std::lock_guard lk(whole_mu_);
  const std::string task(op_name(op));
  auto rate_of = [&](Backend* b) {
    for (const MeasuredRate& m : whole_)
      if (m.task == task && m.backend == b->name()) return m.rate;
    const double r = whole_machine_rate(op, b);
    whole_.push_back({task, std::string(b->name()), r, "nonces/s"});
    return r;
  };
  Backend* best = cpu;
  double best_rate = rate_of(cpu);
  for (Backend* d : same_cores)
    if (const double r = rate_of(d); r > best_rate) {
      best = d;
      best_rate = r;
    }
  return best;
}

}  // namespace hf
