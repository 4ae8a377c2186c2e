#include "gpu/opencl_batch.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <stdexcept>
#include <vector>

#include "gpu/cl_util.hpp"

namespace hf::gpu {

namespace {
template <class T>
T device_value(cl_device_id d, cl_device_info what) {
  T v{};
  clGetDeviceInfo(d, what, sizeof v, &v, nullptr);
  return v;
}
double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

OpenClBatch::OpenClBatch(cl_context ctx, cl_device_id dev, cl_program program, std::string name)
    : ctx_(ctx), dev_(dev), name_(std::move(name)) {
  cl_int err;
  k_sha1_ = clCreateKernel(program, "hf_batch_sha1", &err);
  check(err, "clCreateKernel");
  k_sha256_ = clCreateKernel(program, "hf_batch_sha256", &err);
  check(err, "clCreateKernel");
  k_sha256d_ = clCreateKernel(program, "hf_batch_sha256d", &err);
  check(err, "clCreateKernel");
  k_pairs_ = clCreateKernel(program, "hf_pairs_sha256", &err);
  check(err, "clCreateKernel");
  wg_ = std::min<std::size_t>(64, device_value<std::size_t>(dev, CL_DEVICE_MAX_WORK_GROUP_SIZE));
  // A GPU wants tens of thousands of work-items in flight; a CPU device a few per core.
  // Each launch carries at most piece_bytes of every message, so a staging slot is about
  // max_entries * piece_bytes: 256 MiB on a GPU, 16 MiB on a CPU device, less if the
  // device cannot allocate that much at once.
  const bool gpu = device_value<cl_device_type>(dev, CL_DEVICE_TYPE) & CL_DEVICE_TYPE_GPU;
  geo_.max_entries = gpu ? 65536 : 4096;
  geo_.piece_bytes = 4096;
  const auto max_alloc = device_value<cl_ulong>(dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
  while (geo_.max_entries > 256 && geo_.max_entries * geo_.piece_bytes * 4 > max_alloc) geo_.max_entries /= 2;
}

OpenClBatch::~OpenClBatch() {
  release_buffers();
  for (cl_kernel k : {k_sha1_, k_sha256_, k_sha256d_, k_pairs_})
    if (k) clReleaseKernel(k);
}

void OpenClBatch::check(cl_int err, const char* what) const {
  if (err != CL_SUCCESS) throw std::runtime_error(name_ + ": " + cl_error(what, err));
}

cl_kernel OpenClBatch::kernel_for(Algo algo) const {
  return algo == Algo::sha1 ? k_sha1_ : algo == Algo::sha256 ? k_sha256_ : k_sha256d_;
}

// Staging is allocated at the first batch, not at start-up: a device that only searches
// never holds it. A failed allocation fails this batch; the next one tries again.
void OpenClBatch::allocate() {
  if (allocated_) return;
  try {
    cl_int err;
    const std::size_t data_bytes = geo_.max_entries * geo_.piece_bytes + 64;
    const std::size_t desc_bytes = geo_.max_entries * kDescWords * 4;
    for (Slot& s : slots_) {
      s.queue = clCreateCommandQueue(ctx_, dev_, 0, &err);
      check(err, "clCreateCommandQueue");
      // ALLOC_HOST_PTR + a lasting map is OpenCL's way to get page-locked host memory, which
      // the device copies from by DMA without a bounce buffer.
      s.pinned = clCreateBuffer(ctx_, CL_MEM_READ_ONLY | CL_MEM_ALLOC_HOST_PTR, data_bytes + desc_bytes, nullptr, &err);
      check(err, "clCreateBuffer (pinned staging)");
      s.host = static_cast<std::uint8_t*>(clEnqueueMapBuffer(s.queue, s.pinned, CL_TRUE, CL_MAP_WRITE, 0,
                                                             data_bytes + desc_bytes, 0, nullptr, nullptr, &err));
      check(err, "clEnqueueMapBuffer");
      s.data = clCreateBuffer(ctx_, CL_MEM_READ_ONLY, data_bytes, nullptr, &err);
      check(err, "clCreateBuffer (device staging)");
      s.desc = clCreateBuffer(ctx_, CL_MEM_READ_ONLY, desc_bytes, nullptr, &err);
      check(err, "clCreateBuffer (descriptors)");
    }
    state_ = clCreateBuffer(ctx_, CL_MEM_READ_WRITE, geo_.max_entries * 32, nullptr, &err);
    check(err, "clCreateBuffer (chaining states)");
    pairs_out_ = clCreateBuffer(ctx_, CL_MEM_WRITE_ONLY, geo_.max_entries * 32, nullptr, &err);
    check(err, "clCreateBuffer (digests)");
    allocated_ = true;
  } catch (...) {
    release_buffers();
    throw;
  }
}

void OpenClBatch::release_buffers() {
  for (Slot& s : slots_) {
    if (s.queue) clFinish(s.queue);
    if (s.done) clReleaseEvent(s.done);
    if (s.host) clEnqueueUnmapMemObject(s.queue, s.pinned, s.host, 0, nullptr, nullptr);
    if (s.queue) clFinish(s.queue);
    for (cl_mem m : {s.pinned, s.data, s.desc})
      if (m) clReleaseMemObject(m);
    if (s.queue) clReleaseCommandQueue(s.queue);
    s = Slot{};
  }
  if (state_) clReleaseMemObject(state_);
  state_ = nullptr;
  if (pairs_out_) clReleaseMemObject(pairs_out_);
  pairs_out_ = nullptr;
  allocated_ = false;
}

void OpenClBatch::pairs(const std::uint8_t* in, std::size_t n, std::uint8_t* out) {
  if (n == 0) return;
  allocate();
  // A launch takes as many messages as the chaining-state buffer holds digests (its input
  // goes through a slot's device staging, which is larger). The two slots alternate: one
  // launch's upload runs while the previous one computes; a launch's digests are read back
  // before the slot is used again. Digest k lands at out + 32k, over input the launches
  // before it (or this one, already uploaded) consumed, so out may be in.
  const std::size_t per = geo_.max_entries;
  cl_event pending[2] = {nullptr, nullptr};  // each slot's last readback
  cl_mem outs[2] = {state_, pairs_out_};
  auto cleanup = [&] {
    for (Slot& s : slots_) clFinish(s.queue);
    for (cl_event e : pending)
      if (e) clReleaseEvent(e);
  };
  try {
    int si = 0;
    for (std::size_t first = 0; first < n; first += per, si ^= 1) {
      Slot& s = slots_[si];
      const std::size_t count = std::min(per, n - first);
      if (pending[si]) {  // this slot's previous digests are home
        check(clWaitForEvents(1, &pending[si]), "clWaitForEvents");
        clReleaseEvent(pending[si]);
        pending[si] = nullptr;
      }
      // Blocking: the caller's buffer is read now, before any later readback may write it.
      check(clEnqueueWriteBuffer(s.queue, s.data, CL_TRUE, 0, count * 64, in + 64 * first, 0, nullptr, nullptr),
            "clEnqueueWriteBuffer");
      const cl_uint c = static_cast<cl_uint>(count);
      check(clSetKernelArg(k_pairs_, 0, sizeof s.data, &s.data), "clSetKernelArg");
      check(clSetKernelArg(k_pairs_, 1, sizeof outs[si], &outs[si]), "clSetKernelArg");
      check(clSetKernelArg(k_pairs_, 2, sizeof c, &c), "clSetKernelArg");
      const std::size_t global = (count + wg_ - 1) / wg_ * wg_;
      check(clEnqueueNDRangeKernel(s.queue, k_pairs_, 1, nullptr, &global, &wg_, 0, nullptr, nullptr),
            "clEnqueueNDRangeKernel (pairs)");
      check(clEnqueueReadBuffer(s.queue, outs[si], CL_FALSE, 0, count * 32, out + 32 * first, 0, nullptr,
                                &pending[si]),
            "clEnqueueReadBuffer");
      check(clFlush(s.queue), "clFlush");
    }
    // The last launches' digests: a failed kernel or readback fails the call here.
    for (cl_event& e : pending)
      if (e) {
        check(clWaitForEvents(1, &e), "clWaitForEvents");
        clReleaseEvent(e);
        e = nullptr;
      }
  } catch (...) {
    cleanup();
    throw;
  }
  cleanup();
}

void OpenClBatch::hash(Algo algo, std::span<const ByteView> msgs, Digest* out) {
  if (msgs.empty()) return;
  allocate();
  BatchPlanner plan(msgs, geo_);
  const std::size_t data_bytes = plan.staging_bytes();
  cl_kernel k = kernel_for(algo);
  check(clSetKernelArg(k, 2, sizeof state_, &state_), "clSetKernelArg");

  // Digests of finished waves, read back without blocking the pipeline; at most two waves
  // wait here, so host memory stays bounded too.
  struct PendingWave {
    cl_event read = nullptr;
    std::vector<std::uint32_t> words;
    std::size_t first = 0;
  };
  std::deque<PendingWave> waves;
  cl_event chain = nullptr;  // the last command that the next kernel must follow
  auto finish_wave = [&] {
    PendingWave& w = waves.front();
    check(clWaitForEvents(1, &w.read), "clWaitForEvents");
    clReleaseEvent(w.read);
    for (std::size_t i = 0; i < w.words.size() / 8; ++i)
      out[w.first + i] = BatchPlanner::digest_from_state(algo, &w.words[8 * i]);
    waves.pop_front();
  };
  auto cleanup = [&] {
    for (Slot& s : slots_) clFinish(s.queue);
    for (PendingWave& w : waves) clReleaseEvent(w.read);
    waves.clear();
    if (chain) clReleaseEvent(chain);
    chain = nullptr;
  };
  try {
    for (int si = 0;; si ^= 1) {
      Slot& s = slots_[si];
      if (s.done) {  // this slot's previous launch has read its buffers: safe to refill
        check(clWaitForEvents(1, &s.done), "clWaitForEvents");
        clReleaseEvent(s.done);
        s.done = nullptr;
      }
      std::uint32_t* desc = reinterpret_cast<std::uint32_t*>(s.host + data_bytes);
      const BatchPlanner::Launch l = plan.next(s.host, desc);
      if (l.entries == 0) break;
      check(clEnqueueWriteBuffer(s.queue, s.data, CL_FALSE, 0, l.bytes, s.host, 0, nullptr, nullptr),
            "clEnqueueWriteBuffer");
      check(clEnqueueWriteBuffer(s.queue, s.desc, CL_FALSE, 0, l.entries * kDescWords * 4, desc, 0, nullptr, nullptr),
            "clEnqueueWriteBuffer");
      const cl_uint count = static_cast<cl_uint>(l.entries);
      check(clSetKernelArg(k, 0, sizeof s.data, &s.data), "clSetKernelArg");
      check(clSetKernelArg(k, 1, sizeof s.desc, &s.desc), "clSetKernelArg");
      check(clSetKernelArg(k, 3, sizeof count, &count), "clSetKernelArg");
      const std::size_t global = (l.entries + wg_ - 1) / wg_ * wg_;
      cl_event kev = nullptr;
      // Launches advance shared chaining states, so each follows the previous one even
      // though it sits on the other queue; only the uploads overlap.
      check(
          clEnqueueNDRangeKernel(s.queue, k, 1, nullptr, &global, &wg_, chain ? 1 : 0, chain ? &chain : nullptr, &kev),
          "clEnqueueNDRangeKernel");
      if (chain) clReleaseEvent(chain);
      chain = kev;
      clRetainEvent(kev);
      s.done = kev;
      if (l.wave_end) {
        PendingWave w;
        w.first = l.wave_first;
        w.words.resize(l.wave_count * 8);
        check(
            clEnqueueReadBuffer(s.queue, state_, CL_FALSE, 0, w.words.size() * 4, w.words.data(), 0, nullptr, &w.read),
            "clEnqueueReadBuffer");
        clReleaseEvent(chain);
        chain = w.read;  // the next wave overwrites the states only after they are read
        clRetainEvent(chain);
        waves.push_back(std::move(w));
        if (waves.size() > 1) finish_wave();
      }
      clFlush(s.queue);
    }
    while (!waves.empty()) finish_wave();
  } catch (...) {
    cleanup();
    throw;
  }
  cleanup();
}

DeviceBatchTiming OpenClBatch::time_batch(Algo algo, std::size_t count, std::size_t size) {
  allocate();
  DeviceBatchTiming t;
  cl_int err;
  // Resident: every message already in one device buffer, one launch over all of them.
  const auto max_alloc = device_value<cl_ulong>(dev_, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
  const std::size_t stride = (size + 15) / 16 * 16;
  while (count > 1 && (count * stride + 64 > max_alloc || count * 32 > max_alloc)) count /= 2;
  t.messages = count;
  t.message_bytes = size;
  cl_command_queue q = slots_[0].queue;
  cl_mem data = clCreateBuffer(ctx_, CL_MEM_READ_ONLY, count * stride + 64, nullptr, &err);
  check(err, "clCreateBuffer (resident messages)");
  cl_mem desc = nullptr, state = nullptr;
  try {
    desc = clCreateBuffer(ctx_, CL_MEM_READ_ONLY, count * kDescWords * 4, nullptr, &err);
    check(err, "clCreateBuffer");
    state = clCreateBuffer(ctx_, CL_MEM_READ_WRITE, count * 32, nullptr, &err);
    check(err, "clCreateBuffer");
    const cl_uint pattern = 0x5a5aa5a5u;
    check(clEnqueueFillBuffer(q, data, &pattern, sizeof pattern, 0, count * stride + 64, 0, nullptr, nullptr),
          "clEnqueueFillBuffer");
    const std::vector<std::uint32_t> d = resident_descriptors(count, size, stride);
    check(clEnqueueWriteBuffer(q, desc, CL_TRUE, 0, d.size() * 4, d.data(), 0, nullptr, nullptr), "write");
    cl_kernel k = kernel_for(algo);
    const cl_uint n = static_cast<cl_uint>(count);
    check(clSetKernelArg(k, 0, sizeof data, &data), "clSetKernelArg");
    check(clSetKernelArg(k, 1, sizeof desc, &desc), "clSetKernelArg");
    check(clSetKernelArg(k, 2, sizeof state, &state), "clSetKernelArg");
    check(clSetKernelArg(k, 3, sizeof n, &n), "clSetKernelArg");
    const std::size_t global = (count + wg_ - 1) / wg_ * wg_;
    auto run = [&] {
      check(clEnqueueNDRangeKernel(q, k, 1, nullptr, &global, &wg_, 0, nullptr, nullptr), "clEnqueueNDRangeKernel");
    };
    run();  // warm-up (first launches may compile or page in)
    check(clFinish(q), "clFinish");
    int reps = 0;
    auto t0 = std::chrono::steady_clock::now();
    do {
      run();
      check(clFinish(q), "clFinish");
      ++reps;
    } while (since(t0) < 0.5);
    t.resident = static_cast<double>(count) * size * reps / since(t0);

    // Copies alone: one slot's pinned staging to its device buffer, over and over.
    const std::size_t chunk = geo_.max_entries * geo_.piece_bytes;
    reps = 0;
    t0 = std::chrono::steady_clock::now();
    do {
      check(clEnqueueWriteBuffer(q, slots_[0].data, CL_TRUE, 0, chunk, slots_[0].host, 0, nullptr, nullptr), "write");
      ++reps;
    } while (since(t0) < 0.5);
    t.copy = static_cast<double>(chunk) * reps / since(t0);
  } catch (...) {
    clFinish(q);
    for (cl_mem m : {data, desc, state})
      if (m) clReleaseMemObject(m);
    throw;
  }
  clFinish(q);
  for (cl_mem m : {data, desc, state})
    if (m) clReleaseMemObject(m);

  // Streamed: the real hash_many path (packing into pinned staging, uploads overlapped with
  // kernels).
  t.streamed = time_streamed(count, size, [&](std::span<const ByteView> m, Digest* out) { hash(algo, m, out); });
  return t;
}

}  // namespace hf::gpu
