// CUDA devices: the kernels of kernels/ compiled by nvcc, driven like the OpenCL ones (the
// search loop is DeviceSearch; batches use BatchPlanner with pinned staging on two streams).
#include "gpu/cuda_backend.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <mutex>
#include <stdexcept>

#include "gpu/batch_plan.hpp"
#include "gpu/device_backend.hpp"
#include "kernels/batch_kernel.h"
#include "kernels/pairs_kernel.h"
#include "kernels/search_kernel.h"

namespace hf::gpu {

namespace {

constexpr unsigned kBlock = HF_WG;  // threads per block; the search kernels' shared arrays use it

std::string cuda_error(const char* what, cudaError_t err) {
  std::string s = std::string(what) + " failed (CUDA error " + std::to_string(static_cast<int>(err)) + ": " +
                  cudaGetErrorString(err) + ")";
  return s;
}

using SearchKernel = void (*)(const u32*, u32, u32, u32, u32, u32*, u32);
using BatchKernel = void (*)(const u32*, const u32*, u32*, u32);

class CudaBackend final : public DeviceBackend {
 public:
  CudaBackend(int index, const cudaDeviceProp& p) : DeviceBackend("cuda:" + std::to_string(index)), dev_(index) {
    sms_ = static_cast<unsigned>(p.multiProcessorCount);
    description_ = std::string(p.name) + " (GPU, compute " + std::to_string(p.major) + "." + std::to_string(p.minor) +
                   ", " + std::to_string(sms_) + " SMs, " + std::to_string(p.totalGlobalMem >> 20) + " MiB)";
    total_mem_ = p.totalGlobalMem;
  }
  ~CudaBackend() override {
    if (!ready_ok_) return;
    cudaSetDevice(dev_);
    for (auto& s : slots_) {
      if (s.stream) cudaStreamSynchronize(s.stream);
      if (s.done) cudaEventDestroy(s.done);
      if (s.host) cudaFreeHost(s.host);
      if (s.data) cudaFree(s.data);
      if (s.desc) cudaFree(s.desc);
      if (s.stream) cudaStreamDestroy(s.stream);
    }
    if (state_) cudaFree(state_);
    for (u32* h : state_host_)
      if (h) cudaFreeHost(h);
    if (params_) cudaFree(params_);
    if (out_) cudaFree(out_);
    if (head_) cudaFreeHost(head_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  bool supports(Op) const override { return true; }

  std::optional<DeviceBatchTiming> time_device_batch(Algo algo, std::size_t count, std::size_t size) override;

 private:
  struct Slot {
    cudaStream_t stream = nullptr;
    std::uint8_t* host = nullptr;  // pinned staging: data, then descriptors
    void* data = nullptr;
    void* desc = nullptr;
    cudaEvent_t done = nullptr;    // the last kernel that read this slot's buffers
  };

  void check(cudaError_t err, const char* what) const {
    if (err != cudaSuccess) throw std::runtime_error(name_ + ": " + cuda_error(what, err));
  }
  // Each device's jobs run on their own host thread, which must select the device first.
  void bind_thread() override { check(cudaSetDevice(dev_), "cudaSetDevice"); }
  std::string setup() override {
    ready_ok_ = true;  // from here on the destructor frees whatever was allocated
    try {
      build();
    } catch (const std::exception& e) {
      return e.what();
    }
    return {};
  }

  void build() {
    check(cudaSetDevice(dev_), "cudaSetDevice");
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    params_words_ = HFP_CONSTS(4) + 64;
    check(cudaMalloc(&params_, params_words_ * 4), "cudaMalloc");
    check(cudaMalloc(&out_, (2 + kCandidateSlots) * 4), "cudaMalloc");
    check(cudaHostAlloc(reinterpret_cast<void**>(&head_), 4 * sizeof(u32), cudaHostAllocDefault), "cudaHostAlloc");
    // A launch of min_launch_ threads puts one block of kBlock on every SM; launches grow
    // from 16 of those to whatever takes 10-40 ms.
    min_launch_ = std::uint64_t(kBlock) * sms_;
    launch_size_ = 16 * min_launch_;
    max_launch_ = 1u << 30;
    geo_.max_entries = 65536;
    geo_.piece_bytes = 4096;
    while (geo_.max_entries > 1024 && geo_.max_entries * geo_.piece_bytes * 8 > total_mem_) geo_.max_entries /= 2;
  }

  void set_params(const std::vector<std::uint32_t>& p, KernelKind kind) override {
    switch (kind) {
      case KernelKind::header80: active_ = hf_search_header80; break;
      case KernelKind::u32le: active_ = hf_search_u32le; break;
      case KernelKind::generic: active_ = hf_search; break;
    }
    if (p.size() > params_words_) {
      check(cudaFree(params_), "cudaFree");
      params_ = nullptr;
      params_words_ = 0;  // a failed allocation below leaves none, and the next job retries
      check(cudaMalloc(&params_, p.size() * 4), "cudaMalloc (search parameters)");
      params_words_ = p.size();
    }
    check(cudaMemcpy(params_, p.data(), p.size() * 4, cudaMemcpyHostToDevice), "cudaMemcpy");
  }

  void launch(std::uint64_t base, std::uint32_t n, std::uint32_t threshold, std::uint32_t head[2]) override {
    head_[2] = 0;
    head_[3] = 0xffffffffu;
    check(cudaMemcpyAsync(out_, head_ + 2, 2 * sizeof(u32), cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync");
    const unsigned blocks = (n + kBlock - 1) / kBlock;
    active_<<<blocks, kBlock, 0, stream_>>>(static_cast<const u32*>(params_), static_cast<u32>(base),
                                            static_cast<u32>(base >> 32), n, threshold, static_cast<u32*>(out_),
                                            kCandidateSlots);
    check(cudaGetLastError(), "kernel launch");
    check(cudaMemcpyAsync(head_, out_, 2 * sizeof(u32), cudaMemcpyDeviceToHost, stream_), "cudaMemcpyAsync");
    check(cudaStreamSynchronize(stream_), "search kernel");
    head[0] = head_[0];
    head[1] = head_[1];
  }

  void read_candidates(std::uint32_t found, std::uint32_t* ids) override {
    check(cudaMemcpy(ids, static_cast<u32*>(out_) + 2, found * sizeof(u32), cudaMemcpyDeviceToHost), "cudaMemcpy");
  }

  static BatchKernel batch_kernel(Algo a) {
    return a == Algo::sha1 ? hf_batch_sha1 : a == Algo::sha256 ? hf_batch_sha256 : hf_batch_sha256d;
  }

  // Staging is allocated at the first batch: a device that only searches never holds it.
  void allocate_batch() {
    if (state_) return;
    const std::size_t data_bytes = geo_.max_entries * geo_.piece_bytes + 64;
    const std::size_t desc_bytes = geo_.max_entries * kDescWords * 4;
    for (Slot& s : slots_) {
      if (!s.stream) check(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking), "cudaStreamCreate");
      if (!s.done) check(cudaEventCreateWithFlags(&s.done, cudaEventDisableTiming), "cudaEventCreate");
      if (!s.host) check(cudaHostAlloc(reinterpret_cast<void**>(&s.host), data_bytes + desc_bytes, cudaHostAllocDefault),
                         "cudaHostAlloc (pinned staging)");
      if (!s.data) check(cudaMalloc(&s.data, data_bytes), "cudaMalloc (device staging)");
      if (!s.desc) check(cudaMalloc(&s.desc, desc_bytes), "cudaMalloc (descriptors)");
    }
    for (u32*& h : state_host_)
      if (!h) check(cudaHostAlloc(reinterpret_cast<void**>(&h), geo_.max_entries * 32, cudaHostAllocDefault), "cudaHostAlloc");
    check(cudaMalloc(&state_, geo_.max_entries * 32), "cudaMalloc (chaining states)");
  }

  void hash_locked(Algo algo, std::span<const ByteView> msgs, Digest* out) override {
    if (msgs.empty()) return;
    allocate_batch();
    BatchPlanner plan(msgs, geo_);
    const std::size_t data_bytes = plan.staging_bytes();
    const BatchKernel k = batch_kernel(algo);
    // At most two waves wait to be read (each in its own pinned buffer), so the pipeline
    // never blocks on a readback and host memory stays bounded.
    struct PendingWave {
      u32* words = nullptr;
      std::size_t first = 0, count = 0;
      cudaEvent_t read = nullptr;
    };
    std::size_t wave_no = 0;
    std::deque<PendingWave> waves;
    cudaEvent_t chain = nullptr;  // the event the next kernel waits for (shared chaining states)
    std::vector<cudaEvent_t> events;
    auto event = [&] {
      cudaEvent_t e;
      check(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreate");
      events.push_back(e);
      return e;
    };
    auto finish_wave = [&] {
      PendingWave& w = waves.front();
      check(cudaEventSynchronize(w.read), "batch kernel");
      for (std::size_t i = 0; i < w.count; ++i) out[w.first + i] = BatchPlanner::digest_from_state(algo, &w.words[8 * i]);
      waves.pop_front();
    };
    auto cleanup = [&] {
      for (Slot& s : slots_) cudaStreamSynchronize(s.stream);
      for (cudaEvent_t e : events) cudaEventDestroy(e);
    };
    try {
      for (int si = 0;; si ^= 1) {
        Slot& s = slots_[si];
        check(cudaEventSynchronize(s.done), "batch kernel");  // the slot's buffers are free again
        u32* desc = reinterpret_cast<u32*>(s.host + data_bytes);
        const BatchPlanner::Launch l = plan.next(s.host, desc);
        if (l.entries == 0) break;
        check(cudaMemcpyAsync(s.data, s.host, l.bytes, cudaMemcpyHostToDevice, s.stream), "cudaMemcpyAsync");
        check(cudaMemcpyAsync(s.desc, desc, l.entries * kDescWords * 4, cudaMemcpyHostToDevice, s.stream),
              "cudaMemcpyAsync");
        // Launches advance shared chaining states, so each follows the previous one although
        // it sits on the other stream; only the uploads overlap.
        if (chain) check(cudaStreamWaitEvent(s.stream, chain, 0), "cudaStreamWaitEvent");
        const unsigned blocks = static_cast<unsigned>((l.entries + 127) / 128);
        k<<<blocks, 128, 0, s.stream>>>(static_cast<const u32*>(s.data), static_cast<const u32*>(s.desc),
                                        static_cast<u32*>(state_), static_cast<u32>(l.entries));
        check(cudaGetLastError(), "batch kernel launch");
        check(cudaEventRecord(s.done, s.stream), "cudaEventRecord");
        chain = s.done;
        if (l.wave_end) {
          PendingWave w;
          w.first = l.wave_first;
          w.count = l.wave_count;
          w.words = state_host_[wave_no++ % 2];
          check(cudaMemcpyAsync(w.words, state_, w.count * 32, cudaMemcpyDeviceToHost, s.stream), "cudaMemcpyAsync");
          w.read = event();
          check(cudaEventRecord(w.read, s.stream), "cudaEventRecord");
          chain = w.read;  // the next wave overwrites the states only after they are read
          waves.push_back(std::move(w));
          if (waves.size() > 1) finish_wave();
        }
      }
      while (!waves.empty()) finish_wave();
    } catch (...) {
      cleanup();
      throw;
    }
    cleanup();
  }

  // A Merkle tree layer in chunks of up to max_entries messages, alternating between the two
  // slots so that the host's copy of one chunk into pinned staging overlaps the device's
  // upload, kernel and readback of the previous one (each slot's digests go through its
  // descriptor buffer and its own pinned readback). A chunk's digests are copied out two
  // chunks later, after every message before them has been staged, so out may be in.
  void pairs_locked(const std::uint8_t* in, std::size_t n, std::uint8_t* out) override {
    if (n == 0) return;
    allocate_batch();
    struct Pending {
      std::size_t first = 0, count = 0;
    } pending[2];
    auto collect = [&](int si) {
      Slot& s = slots_[si];
      check(cudaEventSynchronize(s.done), "pairs kernel");
      if (pending[si].count) std::memcpy(out + 32 * pending[si].first, state_host_[si], pending[si].count * 32);
      pending[si].count = 0;
    };
    try {
      int si = 0;
      for (std::size_t first = 0; first < n; first += geo_.max_entries, si ^= 1) {
        collect(si);
        Slot& s = slots_[si];
        const std::size_t count = std::min(geo_.max_entries, n - first);
        std::memcpy(s.host, in + 64 * first, count * 64);
        check(cudaMemcpyAsync(s.data, s.host, count * 64, cudaMemcpyHostToDevice, s.stream), "cudaMemcpyAsync");
        const unsigned blocks = static_cast<unsigned>((count + 127) / 128);
        hf_pairs_sha256<<<blocks, 128, 0, s.stream>>>(static_cast<const u32*>(s.data), static_cast<u32*>(s.desc),
                                                      static_cast<u32>(count));
        check(cudaGetLastError(), "pairs kernel launch");
        check(cudaMemcpyAsync(state_host_[si], s.desc, count * 32, cudaMemcpyDeviceToHost, s.stream),
              "cudaMemcpyAsync");
        check(cudaEventRecord(s.done, s.stream), "cudaEventRecord");
        pending[si] = {first, count};
      }
      collect(si);  // the older of the two chunks in flight first
      collect(si ^ 1);
    } catch (...) {
      for (Slot& s : slots_) cudaStreamSynchronize(s.stream);
      throw;
    }
  }

  int dev_;
  unsigned sms_ = 1;
  std::size_t total_mem_ = 0;
  bool ready_ok_ = false;
  cudaStream_t stream_ = nullptr;
  void* params_ = nullptr;
  void* out_ = nullptr;
  u32* head_ = nullptr;  // pinned: head words read back, then the reset values
  std::size_t params_words_ = 0;
  SearchKernel active_ = hf_search;
  BatchGeometry geo_;
  Slot slots_[2];
  void* state_ = nullptr;
  u32* state_host_[2] = {nullptr, nullptr};
};

std::optional<DeviceBatchTiming> CudaBackend::time_device_batch(Algo algo, std::size_t count, std::size_t size) {
  std::lock_guard lk(mu_);
  enter();
  allocate_batch();
  DeviceBatchTiming t;
  const std::size_t stride = (size + 15) / 16 * 16;
  std::size_t free_mem = 0, total = 0;
  check(cudaMemGetInfo(&free_mem, &total), "cudaMemGetInfo");
  while (count > 1 && count * (stride + 64) + 64 > free_mem * 9 / 10) count /= 2;
  t.messages = count;
  t.message_bytes = size;
  void *data = nullptr, *desc = nullptr, *state = nullptr;
  cudaEvent_t e0 = nullptr, e1 = nullptr;
  auto release = [&] {
    cudaStreamSynchronize(stream_);
    for (void* p : {data, desc, state})
      if (p) cudaFree(p);
    if (e0) cudaEventDestroy(e0);
    if (e1) cudaEventDestroy(e1);
  };
  try {
    // Resident: every message in device memory, one launch over all of them, kernel time
    // from events.
    check(cudaMalloc(&data, count * stride + 64), "cudaMalloc (resident messages)");
    check(cudaMalloc(&desc, count * kDescWords * 4), "cudaMalloc");
    check(cudaMalloc(&state, count * 32), "cudaMalloc");
    check(cudaMemsetAsync(data, 0x5a, count * stride + 64, stream_), "cudaMemset");
    const std::vector<u32> d = resident_descriptors(count, size, stride);
    check(cudaMemcpy(desc, d.data(), d.size() * 4, cudaMemcpyHostToDevice), "cudaMemcpy");
    check(cudaEventCreate(&e0), "cudaEventCreate");
    check(cudaEventCreate(&e1), "cudaEventCreate");
    const BatchKernel k = batch_kernel(algo);
    const unsigned blocks = static_cast<unsigned>((count + 127) / 128);
    auto run = [&] {
      k<<<blocks, 128, 0, stream_>>>(static_cast<const u32*>(data), static_cast<const u32*>(desc),
                                     static_cast<u32*>(state), static_cast<u32>(count));
      check(cudaGetLastError(), "batch kernel launch");
    };
    // Milliseconds per call of `op` on stream_, from events, over at least half a second.
    auto per_call_ms = [&](const auto& op, int max_reps) {
      float ms = 0;
      int reps = 0;
      do {
        check(cudaEventRecord(e0, stream_), "cudaEventRecord");
        op();
        check(cudaEventRecord(e1, stream_), "cudaEventRecord");
        check(cudaEventSynchronize(e1), "batch timing");
        float one = 0;
        check(cudaEventElapsedTime(&one, e0, e1), "cudaEventElapsedTime");
        ms += one;
        ++reps;
      } while (ms < 500 && reps < max_reps);
      return ms / reps;
    };
    run();  // warm-up
    check(cudaStreamSynchronize(stream_), "batch kernel");
    t.resident = static_cast<double>(count) * size / (per_call_ms(run, 100) / 1e3);

    // Copies alone: pinned staging to device, over and over.
    const std::size_t chunk = geo_.max_entries * geo_.piece_bytes;
    const double copy_ms = per_call_ms(
        [&] {
          check(cudaMemcpyAsync(slots_[0].data, slots_[0].host, chunk, cudaMemcpyHostToDevice, stream_),
                "cudaMemcpyAsync");
        },
        1000);
    t.copy = static_cast<double>(chunk) / (copy_ms / 1e3);
  } catch (...) {
    release();
    throw;
  }
  release();

  // Streamed: the whole hash_many path.
  t.streamed = time_streamed(count, size, [&](std::span<const ByteView> m, Digest* out) { hash_locked(algo, m, out); });
  return t;
}

}  // namespace

std::vector<std::unique_ptr<Backend>> make_cuda_backends(std::string* why_none) {
  std::vector<std::unique_ptr<Backend>> out;
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess || n == 0) {
    if (why_none) {
      if (err == cudaErrorNoDevice || (err == cudaSuccess && n == 0)) *why_none = "no CUDA device";
      else if (err == cudaErrorInsufficientDriver) *why_none = "no NVIDIA driver, or one older than this CUDA runtime";
      else *why_none = cuda_error("cudaGetDeviceCount", err);
    }
    cudaGetLastError();  // clear the error so it does not surface elsewhere
    return out;
  }
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    out.push_back(std::make_unique<CudaBackend>(i, p));
  }
  return out;
}

}  // namespace hf::gpu
