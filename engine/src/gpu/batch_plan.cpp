#include "gpu/batch_plan.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace hf::gpu {

BatchPlanner::BatchPlanner(std::span<const ByteView> msgs, BatchGeometry g) : msgs_(msgs), geo_(g) {
  if (g.max_entries == 0 || g.piece_bytes == 0 || g.piece_bytes % 64 != 0)
    throw std::invalid_argument("batch geometry: entries > 0 and pieces a positive multiple of 64 bytes");
}

BatchPlanner::Launch BatchPlanner::next(std::uint8_t* staging, std::uint32_t* desc) {
  Launch l;
  if (wave_count_ == 0) {  // start the next wave
    if (wave_first_ >= msgs_.size()) return l;
    wave_count_ = std::min(geo_.max_entries, msgs_.size() - wave_first_);
    pos_.assign(wave_count_, 0);
    started_.assign(wave_count_, false);
  }
  l.wave_first = wave_first_;
  l.wave_count = wave_count_;
  bool unfinished = false;
  for (std::size_t k = 0; k < wave_count_; ++k) {
    const ByteView m = msgs_[wave_first_ + k];
    if (started_[k] && pos_[k] >= m.size()) continue;  // finished in an earlier launch
    const std::uint64_t n = std::min<std::uint64_t>(geo_.piece_bytes, m.size() - pos_[k]);
    const bool first = !started_[k], last = pos_[k] + n == m.size();
    if (n) std::memcpy(staging + l.bytes, m.data() + pos_[k], n);
    std::uint32_t* d = desc + kDescWords * l.entries;
    d[0] = static_cast<std::uint32_t>(l.bytes);
    d[1] = static_cast<std::uint32_t>(static_cast<std::uint64_t>(l.bytes) >> 32);
    d[2] = static_cast<std::uint32_t>(n);
    d[3] = (first ? 1u : 0u) | (last ? 2u : 0u);
    d[4] = static_cast<std::uint32_t>(m.size());
    d[5] = static_cast<std::uint32_t>(static_cast<std::uint64_t>(m.size()) >> 32);
    d[6] = static_cast<std::uint32_t>(k);
    d[7] = 0;
    // The next piece starts 16-byte aligned; the spare bytes after a partial word are
    // zeroed so the buffer never carries stale data (the kernel masks them anyway).
    const std::size_t padded = (n + 15) / 16 * 16;
    std::memset(staging + l.bytes + n, 0, padded - n);
    l.bytes += padded;
    ++l.entries;
    started_[k] = true;
    pos_[k] += n;
    if (!last) unfinished = true;
  }
  std::memset(staging + l.bytes, 0, 16);
  l.bytes += 16;
  if (!unfinished) {
    l.wave_end = true;
    wave_first_ += wave_count_;
    wave_count_ = 0;
  }
  return l;
}

Digest BatchPlanner::digest_from_state(Algo algo, const std::uint32_t* words) {
  Digest d;
  d.size = static_cast<std::uint8_t>(digest_size(algo));
  for (std::size_t i = 0; i < d.size / 4; ++i)
    for (int b = 0; b < 4; ++b) d.bytes[4 * i + b] = static_cast<std::uint8_t>(words[i] >> (24 - 8 * b));
  return d;
}

std::vector<std::uint32_t> resident_descriptors(std::size_t count, std::size_t size, std::size_t stride) {
  std::vector<std::uint32_t> d(count * kDescWords, 0);
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint64_t off = i * stride;
    std::uint32_t* e = &d[i * kDescWords];
    e[0] = static_cast<std::uint32_t>(off);
    e[1] = static_cast<std::uint32_t>(off >> 32);
    e[2] = static_cast<std::uint32_t>(size);
    e[3] = 3;  // first and last piece
    e[4] = static_cast<std::uint32_t>(size);
    e[5] = static_cast<std::uint32_t>(static_cast<std::uint64_t>(size) >> 32);
    e[6] = static_cast<std::uint32_t>(i);
  }
  return d;
}

double time_streamed(std::size_t count, std::size_t size,
                     const std::function<void(std::span<const ByteView>, Digest*)>& hash) {
  const std::vector<std::uint8_t> one(size, 0xa5);
  const std::vector<ByteView> views(count, ByteView(one));
  std::vector<Digest> digests(count);
  const auto t0 = std::chrono::steady_clock::now();
  hash(views, digests.data());
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s > 0 ? static_cast<double>(count) * size / s : 0;
}

}  // namespace hf::gpu
