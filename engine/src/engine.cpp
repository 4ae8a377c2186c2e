// The Engine's public face: each call goes to the registry or a scheduler, and every failure
// a caller can cause or expect comes back as a Result with one line.
#include "hashforge/engine.hpp"

#include <cstring>
#include <stdexcept>

#include "cpu/cpu_backend.hpp"
#include "cpu_features.hpp"
#include "jobs.hpp"
#include "registry.hpp"
#include "sha_core.hpp"

namespace hf {

namespace {
template <typename F>
auto as_result(F&& f) -> Result<decltype(f())> {
  try {
    return f();
  } catch (const JobError& e) {
    return Error{e.what()};
  } catch (const std::bad_alloc&) {
    return Error{"out of memory"};
  }
}
}  // namespace

Engine& Engine::instance() {
  static Engine e;
  return e;
}

Engine::Engine() : impl_(std::make_unique<Impl>()) {}
Engine::~Engine() = default;

std::vector<BackendStatus> Engine::backends() const { return impl_->snapshot(); }

std::optional<BackendStatus> Engine::backend(std::string_view name) const {
  if (name.find(':') != std::string_view::npos) impl_->probe_devices();
  for (BackendStatus& s : impl_->snapshot())
    if (s.name == name) return std::move(s);
  return std::nullopt;
}

void Engine::probe_devices() const { impl_->probe_devices(); }
std::string Engine::devices_note() const { return impl_->devices_note(); }
std::string Engine::cpu_model() const { return cpu_features().brand; }

Result<std::string> Engine::choose(Op op, std::string_view forced) const {
  return as_result([&] { return std::string(impl_->resolve(op, forced).name()); });
}

Result<std::vector<std::string>> Engine::choose_list(Op op, std::string_view spec) const {
  return as_result([&] {
    std::vector<std::string> names;
    for (Backend* b : impl_->resolve_list(op, spec)) names.emplace_back(b->name());
    return names;
  });
}

std::string Engine::best_for(Op op) const { return impl_->best_for(op); }

BackendChoice Engine::backend_choice() const {
  BackendChoice c = *impl_->choice();
  c.whole_machine = impl_->whole_machine_rates();
  return c;
}

Result<BackendChoice> Engine::calibrate() const {
  return as_result([&] { return BackendChoice(*impl_->calibrate_now()); });
}

Result<SearchResult> Engine::search(const SearchJob& job, const RunOptions& opt) const {
  return as_result([&] { return run_search(*impl_, job, opt); });
}

Result<BatchStats> Engine::hash_batch(Algo algo, MessageSource& src, const DigestSink& out,
                                      const BatchOptions& opt) const {
  return as_result([&] { return run_hash_batch(*impl_, algo, src, out, opt); });
}

Result<BatchStats> Engine::verify_batch(Algo algo, MessageSource& src,
                                        const std::function<Digest(std::uint64_t)>& expected,
                                        const std::function<void(std::uint64_t, bool, const Digest&)>& result,
                                        const BatchOptions& opt) const {
  std::uint64_t failed = 0;
  Result<BatchStats> st = hash_batch(
      algo, src,
      [&](std::uint64_t i, const Digest& d) {
        const bool ok = expected(i) == d;
        if (!ok) ++failed;
        result(i, ok, d);
      },
      opt);
  if (st) st->failed = failed;
  return st;
}

Result<Hasher> Engine::hasher(Algo algo, std::string_view backend) const {
  return as_result([&] {
    if (backend.empty()) return Hasher(algo, &impl_->single());
    Backend& be = impl_->resolve(hash_op(algo), backend);
    // A multi-buffer backend has no single-stream form: it gets the fastest one there is.
    const SingleStreamFns* fns = be.single_stream();
    return Hasher(algo, fns ? fns : &impl_->single());
  });
}

Digest Engine::digest(Algo algo, ByteView data) const { return hash_once(algo, data, &impl_->single()); }

void Engine::hash_pairs(const std::uint8_t* in, std::size_t n, std::uint8_t* out) const {
  if (!n) return;
  if (cpu::CpuBackend* b = impl_->pairs_backend()) return b->sha256_64(in, n, out);
  // No CPU backend is usable: the reference compression, message then padding block.
  std::uint8_t pad[64] = {0x80};
  pad[62] = 0x02;  // 512 bits, big-endian
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t h[8];
    std::memcpy(h, sha::IV256, sizeof h);
    sha::sha256_compress_ref(h, in + 64 * i, 1);
    sha::sha256_compress_ref(h, pad, 1);
    for (int j = 0; j < 8; ++j) sha::store_be32(out + 32 * i + 4 * j, h[j]);
  }
}

Result<void> Engine::hash_pairs_on(std::string_view backend, const std::uint8_t* in, std::size_t n,
                                   std::uint8_t* out) const {
  Backend* b = impl_->find(backend);
  if (!b) return Error{std::string(backend) + ": not a usable backend"};
  if (!b->has_pairs()) return Error{std::string(backend) + ": has no 64-byte message path"};
  try {
    b->sha256_pairs(in, n, out);
  } catch (const std::bad_alloc&) {
    return Error{"out of memory"};
  } catch (const std::runtime_error& e) {  // a device's failure, naming the device
    return Error{e.what()};
  }
  return {};
}

Result<DeviceBatchTiming> Engine::time_device_batch(std::string_view device, Algo algo, std::size_t count,
                                                    std::size_t size) const {
  return as_result([&]() -> DeviceBatchTiming {
    Backend* b = impl_->find(device);
    if (!b || !b->is_device()) throw JobError(std::string(device) + ": not a usable device");
    auto t = b->time_device_batch(algo, count, size);
    if (!t) throw JobError(std::string(device) + ": cannot time batch hashing");
    return *t;
  });
}

Result<void> Engine::add_backend(std::unique_ptr<Backend> be) {
  std::string why;
  if (impl_->add(std::move(be), &why)) return {};
  return Error{why};
}

}  // namespace hf
