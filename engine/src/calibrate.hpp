// The calibration behind the automatic backend choice: every task timed on every given CPU
// backend, on the calling thread, within a time budget.
#pragma once
#include <chrono>
#include <span>
#include <vector>

#include "hashforge/engine.hpp"

namespace hf {
namespace cpu {
class CpuBackend;
}

// Rates (items a second, one thread) for every task of choice::all_tasks() on every backend.
// The budget is split evenly over (task, backend) pairs and two interleaved rounds, the best
// round kept: a noisy moment (another process, a VM neighbour) then costs one round of one
// pair, not the choice.
std::vector<MeasuredRate> measure_cpu_backends(std::span<cpu::CpuBackend* const> backends,
                                               std::chrono::milliseconds budget);

}  // namespace hf
