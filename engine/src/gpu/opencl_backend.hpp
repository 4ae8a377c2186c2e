// OpenCL devices as engine backends ("opencl:0", "opencl:1", ...). The kernel source is
// embedded in the binary and built at run time for each device, on first use.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "backend.hpp"

namespace hf::gpu {

// One backend per OpenCL device; `why_none` says why there are none (no ICD loader, no
// platform, no device). Finding devices builds nothing.
std::vector<std::unique_ptr<Backend>> make_opencl_backends(std::string* why_none);

}  // namespace hf::gpu
