// Small helpers shared by the OpenCL host files.
#pragma once
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <string>

namespace hf::gpu {

// "clFoo failed (OpenCL error -4: out of device memory)": names the errors users can act on.
inline std::string cl_error(const char* what, cl_int err) {
  const char* meaning = "";
  switch (err) {
    case CL_MEM_OBJECT_ALLOCATION_FAILURE:
      meaning = ": out of device memory";
      break;
    case CL_OUT_OF_RESOURCES:
      meaning = ": out of device resources";
      break;
    case CL_OUT_OF_HOST_MEMORY:
      meaning = ": out of host memory";
      break;
    case CL_DEVICE_NOT_AVAILABLE:
      meaning = ": device not available";
      break;
    case CL_INVALID_BUFFER_SIZE:
      meaning = ": buffer too large for the device";
      break;
    case CL_BUILD_PROGRAM_FAILURE:
      meaning = ": kernel build failed";
      break;
    default:
      break;
  }
  return std::string(what) + " failed (OpenCL error " + std::to_string(err) + meaning + ")";
}

}  // namespace hf::gpu
