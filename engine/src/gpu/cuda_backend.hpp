// NVIDIA GPUs through CUDA as engine backends ("cuda:0", "cuda:1", ...). Built when the
// CUDA toolkit is found at configure time; otherwise (and on machines without an NVIDIA
// driver or GPU) there are simply no CUDA devices, with the reason in `why_none`.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "backend.hpp"

namespace hf::gpu {

std::vector<std::unique_ptr<Backend>> make_cuda_backends(std::string* why_none);

}  // namespace hf::gpu
