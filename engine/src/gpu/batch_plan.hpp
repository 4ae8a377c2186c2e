// How a device hashes a batch: messages go in waves of at most `max_entries` (one
// work-item each, chaining state kept on the device), and each wave in launches that carry
// at most `piece_bytes` of every unfinished message. Long messages thus take several
// launches while every launch still has a whole wave of messages to spread over the
// work-items, and each launch's staging buffer has a fixed size. Pure host code, shared by
// the OpenCL and CUDA backends and tested with the kernels compiled for the host.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "hashforge/types.hpp"

namespace hf::gpu {

struct BatchGeometry {
  std::size_t max_entries = 4096;  // messages per wave = work-items per launch, at most
  std::size_t piece_bytes = 4096;  // per message per launch; a multiple of 64
};

// Descriptor words per launch entry (layout in kernels/batch_hash.h).
inline constexpr std::size_t kDescWords = 8;

class BatchPlanner {
 public:
  BatchPlanner(std::span<const ByteView> msgs, BatchGeometry g);

  // Bytes a staging buffer needs for any launch (pieces 16-byte aligned, plus the spare
  // bytes the kernel may read past a message's last partial word).
  std::size_t staging_bytes() const { return geo_.max_entries * geo_.piece_bytes + 64; }

  struct Launch {
    std::size_t entries = 0;     // 0: the batch is done
    std::size_t bytes = 0;       // staging bytes used
    bool wave_end = false;       // after this launch, the wave's digests are in state slots
    std::size_t wave_first = 0;  // first message of the wave (state slot 0)
    std::size_t wave_count = 0;
  };
  // Packs the next launch: message bytes into staging, kDescWords words per entry into desc.
  Launch next(std::uint8_t* staging, std::uint32_t* desc);

  // Message wave_first + k's digest, from its state slot's eight words.
  static Digest digest_from_state(Algo algo, const std::uint32_t* words);

 private:
  std::span<const ByteView> msgs_;
  BatchGeometry geo_;
  std::size_t wave_first_ = 0, wave_count_ = 0;
  std::vector<std::uint64_t> pos_;  // bytes of each wave message already sent
  std::vector<bool> started_;
};

// For the devices' batch timing: descriptors of `count` whole messages of `size` bytes laid
// out every `stride` bytes in one buffer, each in state slot i.
std::vector<std::uint32_t> resident_descriptors(std::size_t count, std::size_t size, std::size_t stride);

// Bytes per second of `hash` (a device's hash_many) over `count` messages of `size` bytes,
// all views of one host buffer so that host memory stays small.
double time_streamed(std::size_t count, std::size_t size,
                     const std::function<void(std::span<const ByteView>, Digest*)>& hash);

}  // namespace hf::gpu
