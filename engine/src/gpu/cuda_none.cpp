// The CUDA entry point of a build without the CUDA toolkit.
#include "gpu/cuda_backend.hpp"

namespace hf::gpu {

std::vector<std::unique_ptr<Backend>> make_cuda_backends(std::string* why_none) {
  if (why_none) *why_none = "this hashforge was built without the CUDA toolkit";
  return {};
}

}  // namespace hf::gpu
