// Batch hashing on one OpenCL device. Messages are packed (engine/gpu/batch_plan.hpp) into
// pinned staging buffers; two slots on two queues let one launch's upload run while the
// previous launch computes, and memory in flight is the two slots plus the chaining states.
#pragma once
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <memory>
#include <span>
#include <string>

#include "backend.hpp"
#include "gpu/batch_plan.hpp"

namespace hf::gpu {

class OpenClBatch {
 public:
  // The program must contain the kernels of kernels/batch_kernel.h and pairs_kernel.h.
  OpenClBatch(cl_context ctx, cl_device_id dev, cl_program program, std::string name);
  ~OpenClBatch();
  OpenClBatch(const OpenClBatch&) = delete;
  OpenClBatch& operator=(const OpenClBatch&) = delete;

  void hash(Algo algo, std::span<const ByteView> msgs, Digest* out);
  // SHA-256 of n 64-byte messages back to back (a Merkle tree layer), 32-byte digests to out,
  // which may be in (kernels/pairs_kernel.h).
  void pairs(const std::uint8_t* in, std::size_t n, std::uint8_t* out);
  DeviceBatchTiming time_batch(Algo algo, std::size_t count, std::size_t size);
  const BatchGeometry& geometry() const { return geo_; }

 private:
  struct Slot {
    cl_command_queue queue = nullptr;
    cl_mem pinned = nullptr;       // host-visible staging: data, then descriptors
    std::uint8_t* host = nullptr;  // pinned, mapped for the object's life
    cl_mem data = nullptr, desc = nullptr;
    cl_event done = nullptr;  // the last kernel that read this slot's buffers
  };
  void allocate();
  void release_buffers();
  cl_kernel kernel_for(Algo algo) const;
  void check(cl_int err, const char* what) const;

  cl_context ctx_;
  cl_device_id dev_;
  std::string name_;
  cl_kernel k_sha1_ = nullptr, k_sha256_ = nullptr, k_sha256d_ = nullptr, k_pairs_ = nullptr;
  BatchGeometry geo_;
  std::size_t wg_ = 64;
  Slot slots_[2];
  cl_mem state_ = nullptr;
  cl_mem pairs_out_ = nullptr;  // the second slot's digests in pairs() (the first uses state_)
  bool allocated_ = false;
};

}  // namespace hf::gpu
