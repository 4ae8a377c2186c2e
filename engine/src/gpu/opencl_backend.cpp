#include "gpu/opencl_backend.hpp"

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "gpu/cl_util.hpp"
#include "gpu/device_backend.hpp"
#include "gpu/device_params.hpp"
#include "gpu/opencl_batch.hpp"
#include "kernels/sha256_search.h"

namespace hf::gpu {

extern const char* const kOpenClSource;  // generated from kernels/ at configure time

namespace {

std::string device_string(cl_device_id d, cl_device_info what) {
  std::size_t n = 0;
  clGetDeviceInfo(d, what, 0, nullptr, &n);
  std::string s(n, '\0');
  clGetDeviceInfo(d, what, n, s.data(), nullptr);
  while (!s.empty() && (s.back() == '\0' || s.back() == ' ')) s.pop_back();
  return s;
}

template <class T>
T device_value(cl_device_id d, cl_device_info what) {
  T v{};
  clGetDeviceInfo(d, what, sizeof v, &v, nullptr);
  return v;
}

class OpenClBackend final : public DeviceBackend {
 public:
  OpenClBackend(int index, cl_device_id dev) : DeviceBackend("opencl:" + std::to_string(index)), dev_(dev) {
    const auto cus = device_value<cl_uint>(dev, CL_DEVICE_MAX_COMPUTE_UNITS);
    const auto mem = device_value<cl_ulong>(dev, CL_DEVICE_GLOBAL_MEM_SIZE);
    const auto type = device_value<cl_device_type>(dev, CL_DEVICE_TYPE);
    little_endian_ = device_value<cl_bool>(dev, CL_DEVICE_ENDIAN_LITTLE) == CL_TRUE;
    host_cores_ = (type & CL_DEVICE_TYPE_CPU) != 0;
    description_ = device_string(dev, CL_DEVICE_NAME) + " (" + (type & CL_DEVICE_TYPE_GPU ? "GPU" : "CPU") + ", " +
                   std::to_string(cus) + " compute units, " + std::to_string(mem >> 20) + " MiB)";
  }
  bool shares_host_cores() const override { return host_cores_; }
  ~OpenClBackend() override {
    batch_.reset();
    if (out_) clReleaseMemObject(out_);
    if (params_) clReleaseMemObject(params_);
    if (kernel_) clReleaseKernel(kernel_);
    if (kernel_u32_) clReleaseKernel(kernel_u32_);
    if (kernel_header_) clReleaseKernel(kernel_header_);
    if (program_) clReleaseProgram(program_);
    if (queue_) clReleaseCommandQueue(queue_);
    if (ctx_) clReleaseContext(ctx_);
  }

  bool supports(Op op) const override {
    // Batch kernels read message words with native loads: little-endian devices only.
    return op == Op::search_sha256 || op == Op::search_sha256d || little_endian_;
  }

  void hash_locked(Algo algo, std::span<const ByteView> msgs, Digest* out) override {
    if (!little_endian_) throw std::runtime_error(name_ + ": batch hashing needs a little-endian device");
    batch_->hash(algo, msgs, out);
  }

  void pairs_locked(const std::uint8_t* in, std::size_t n, std::uint8_t* out) override {
    if (!little_endian_) throw std::runtime_error(name_ + ": batch hashing needs a little-endian device");
    batch_->pairs(in, n, out);
  }

  std::optional<DeviceBatchTiming> time_device_batch(Algo algo, std::size_t count, std::size_t size) override {
    std::lock_guard lk(mu_);
    enter();
    return batch_->time_batch(algo, count, size);
  }

 private:
  void check(cl_int err, const char* what) {
    if (err != CL_SUCCESS) throw std::runtime_error(name_ + ": " + cl_error(what, err));
  }

  void set_params(const std::vector<std::uint32_t>& p, KernelKind kind) override {
    switch (kind) {
      case KernelKind::header80:
        active_ = kernel_header_;
        break;
      case KernelKind::u32le:
        active_ = kernel_u32_;
        break;
      case KernelKind::generic:
        active_ = kernel_;
        break;
    }
    if (p.size() > params_words_) {  // a long message after the nonce: grow the buffer
      cl_int err;
      cl_mem bigger = clCreateBuffer(ctx_, CL_MEM_READ_ONLY, p.size() * 4, nullptr, &err);
      check(err, "clCreateBuffer");
      clReleaseMemObject(params_);
      params_ = bigger;
      params_words_ = p.size();
      for (cl_kernel k : {kernel_, kernel_u32_, kernel_header_})
        check(clSetKernelArg(k, 0, sizeof params_, &params_), "clSetKernelArg");
    }
    check(clEnqueueWriteBuffer(queue_, params_, CL_TRUE, 0, p.size() * 4, p.data(), 0, nullptr, nullptr),
          "clEnqueueWriteBuffer");
  }

  void launch(std::uint64_t base, std::uint32_t n, std::uint32_t threshold, std::uint32_t head[2]) override {
    const std::uint32_t init[2] = {0, 0xffffffffu};
    check(clEnqueueWriteBuffer(queue_, out_, CL_FALSE, 0, sizeof init, init, 0, nullptr, nullptr), "write");
    const cl_uint lo = static_cast<cl_uint>(base), hi = static_cast<cl_uint>(base >> 32), cap = kCandidateSlots;
    check(clSetKernelArg(active_, 1, sizeof lo, &lo), "clSetKernelArg");
    check(clSetKernelArg(active_, 2, sizeof hi, &hi), "clSetKernelArg");
    check(clSetKernelArg(active_, 3, sizeof n, &n), "clSetKernelArg");
    check(clSetKernelArg(active_, 4, sizeof threshold, &threshold), "clSetKernelArg");
    check(clSetKernelArg(active_, 6, sizeof cap, &cap), "clSetKernelArg");
    // Whole work-groups (work-items past n do nothing). The work-group size never changes,
    // which is what PoCL specialises its compiled kernels on; a short launch (the end of a
    // chunk) runs only the groups it needs.
    const std::size_t per_group = wg_ * vw_;
    const std::size_t local = wg_, global = (n + per_group - 1) / per_group * per_group / vw_;
    check(clEnqueueNDRangeKernel(queue_, active_, 1, nullptr, &global, &local, 0, nullptr, nullptr),
          "clEnqueueNDRangeKernel");
    check(clEnqueueReadBuffer(queue_, out_, CL_TRUE, 0, 2 * sizeof(std::uint32_t), head, 0, nullptr, nullptr), "read");
  }

  void read_candidates(std::uint32_t found, std::uint32_t* ids) override {
    check(clEnqueueReadBuffer(queue_, out_, CL_TRUE, 2 * sizeof(std::uint32_t), found * sizeof(std::uint32_t), ids, 0,
                              nullptr, nullptr),
          "read");
  }

  std::string setup() override {
    cl_int err;
    ctx_ = clCreateContext(nullptr, 1, &dev_, nullptr, nullptr, &err);
    if (!ctx_) return cl_error("clCreateContext", err);
    queue_ = clCreateCommandQueue(ctx_, dev_, 0, &err);
    if (!queue_) return cl_error("clCreateCommandQueue", err);
    const auto max_wg = device_value<std::size_t>(dev_, CL_DEVICE_MAX_WORK_GROUP_SIZE);
    wg_ = 256;
    while (wg_ > max_wg) wg_ /= 2;
    const char* src = kOpenClSource;
    program_ = clCreateProgramWithSource(ctx_, 1, &src, nullptr, &err);
    if (!program_) return cl_error("clCreateProgramWithSource", err);
    // CPU devices get HF_VW nonces per work-item in vector types (see kernels/hf_device.h).
    vw_ = 1;
    if (device_value<cl_device_type>(dev_, CL_DEVICE_TYPE) & CL_DEVICE_TYPE_CPU) {
      const auto pref = device_value<cl_uint>(dev_, CL_DEVICE_PREFERRED_VECTOR_WIDTH_INT);
      while (vw_ * 2 <= pref && vw_ < 16) vw_ *= 2;
    }
    std::string opts = "-cl-std=CL1.2 -D HF_WG=" + std::to_string(wg_) + " -D HF_VW=" + std::to_string(vw_);
    // CPU devices: the search kernels without barriers (see kernels/search_kernel.h), 12%
    // faster on PoCL; HASHFORGE_OPENCL_BARRIERS=1 keeps the group reduction, to compare.
    if (vw_ > 1 && !std::getenv("HASHFORGE_OPENCL_BARRIERS")) opts += " -D HF_DIRECT=1";
    // Extra build options for experiments (and for the tests, which break the build on purpose).
    if (const char* extra = std::getenv("HASHFORGE_OPENCL_OPTIONS"); extra && *extra) opts += std::string(" ") + extra;
    err = clBuildProgram(program_, 1, &dev_, opts.c_str(), nullptr, nullptr);
    if (err != CL_SUCCESS) {
      std::string log = "kernel build failed: " + build_log();
      for (char& c : log)
        if (c == '\n') c = ' ';
      return log;
    }
    kernel_ = clCreateKernel(program_, "hf_search", &err);
    if (!kernel_) return cl_error("clCreateKernel", err);
    kernel_u32_ = clCreateKernel(program_, "hf_search_u32le", &err);
    if (!kernel_u32_) return cl_error("clCreateKernel", err);
    kernel_header_ = clCreateKernel(program_, "hf_search_header80", &err);
    if (!kernel_header_) return cl_error("clCreateKernel", err);
    params_words_ = HFP_CONSTS(4) + 64;
    params_ = clCreateBuffer(ctx_, CL_MEM_READ_ONLY, params_words_ * sizeof(std::uint32_t), nullptr, &err);
    if (!params_) return cl_error("clCreateBuffer", err);
    out_ = clCreateBuffer(ctx_, CL_MEM_READ_WRITE, (2 + kCandidateSlots) * sizeof(std::uint32_t), nullptr, &err);
    if (!out_) return cl_error("clCreateBuffer", err);
    for (cl_kernel k : {kernel_, kernel_u32_, kernel_header_})
      if (clSetKernelArg(k, 0, sizeof params_, &params_) != CL_SUCCESS ||
          clSetKernelArg(k, 5, sizeof out_, &out_) != CL_SUCCESS)
        return "clSetKernelArg failed";
    min_launch_ = wg_ * vw_;
    launch_size_ = 16 * min_launch_;
    try {
      batch_ = std::make_unique<OpenClBatch>(ctx_, dev_, program_, name_);
    } catch (const std::exception& e) {
      return e.what();
    }
    return {};
  }

  std::string build_log() {
    std::size_t n = 0;
    clGetProgramBuildInfo(program_, dev_, CL_PROGRAM_BUILD_LOG, 0, nullptr, &n);
    std::string log(n, '\0');
    clGetProgramBuildInfo(program_, dev_, CL_PROGRAM_BUILD_LOG, n, log.data(), nullptr);
    return log.substr(0, 2000);
  }

  cl_device_id dev_;
  cl_context ctx_ = nullptr;
  cl_command_queue queue_ = nullptr;
  cl_program program_ = nullptr;
  cl_kernel kernel_ = nullptr;         // any field layout
  cl_kernel kernel_u32_ = nullptr;     // a u32le nonce filling one word
  cl_kernel kernel_header_ = nullptr;  // Bitcoin's 80-byte header
  cl_kernel active_ = nullptr;
  cl_mem params_ = nullptr, out_ = nullptr;
  std::size_t params_words_ = 0;
  std::size_t wg_ = 256;
  std::size_t vw_ = 1;  // nonces per work-item
  bool little_endian_ = true;
  bool host_cores_ = false;  // a CPU device: it runs on the cores the CPU backends use
  std::unique_ptr<OpenClBatch> batch_;
};

}  // namespace

std::vector<std::unique_ptr<Backend>> make_opencl_backends(std::string* why_none) {
  std::vector<std::unique_ptr<Backend>> out;
  cl_uint np = 0;
  cl_int err = clGetPlatformIDs(0, nullptr, &np);
  if (err != CL_SUCCESS || np == 0) {
    if (why_none)
      *why_none = np == 0 && (err == CL_SUCCESS || err == -1001) ? "no OpenCL platform (no ICD installed)"
                                                                 : cl_error("clGetPlatformIDs", err);
    return out;
  }
  std::vector<cl_platform_id> plats(np);
  clGetPlatformIDs(np, plats.data(), nullptr);
  int index = 0;
  for (cl_platform_id p : plats) {
    cl_uint nd = 0;
    if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, nullptr, &nd) != CL_SUCCESS || nd == 0) continue;
    std::vector<cl_device_id> devs(nd);
    clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, nd, devs.data(), nullptr);
    for (cl_device_id d : devs) out.push_back(std::make_unique<OpenClBackend>(index++, d));
  }
  if (out.empty() && why_none) *why_none = "OpenCL platforms found but no devices";
  return out;
}

}  // namespace hf::gpu
