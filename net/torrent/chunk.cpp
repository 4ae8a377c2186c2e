#include "net/torrent/chunk.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>

namespace hf::torrent {
namespace {

// Zeros to point at: a large read-only anonymous mapping costs no memory (every page is the
// kernel's shared zero page).
constexpr std::size_t kZeroSpan = std::size_t(1) << 30;
const std::uint8_t* zero_region() {
  static const std::uint8_t* z = [] {
    void* p = ::mmap(nullptr, kZeroSpan, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? nullptr : static_cast<const std::uint8_t*>(p);
  }();
  return z;
}

}  // namespace

Chunk::Chunk(std::size_t capacity) : arena_(new std::uint8_t[capacity]), capacity_(capacity) {}
Chunk::~Chunk() = default;

void Chunk::reset(std::uint64_t offset, std::uint64_t length) {
  offset_ = offset;
  length_ = length;
  segs_.clear();
}

void Chunk::add(const Segment& s) {
  if (s.length > 0) segs_.push_back(s);
}

void Chunk::add_zeros(std::uint64_t offset, std::uint64_t length) {
  const std::uint8_t* z = zero_region();
  while (length > 0) {
    const std::uint64_t n = std::min<std::uint64_t>(length, kZeroSpan);
    if (z) {
      add({offset, n, z, false});
    } else {
      std::memset(arena_at(offset), 0, n);
      add({offset, n, arena_at(offset), true});
    }
    offset += n, length -= n;
  }
}

std::span<const std::uint8_t> Chunk::view(std::uint64_t off, std::size_t len) {
  auto it = std::upper_bound(segs_.begin(), segs_.end(), off,
                             [](std::uint64_t o, const Segment& s) { return o < s.offset; });
  if (it != segs_.begin()) --it;
  if (it != segs_.end() && off >= it->offset && off + len <= it->offset + it->length)
    return {it->data + (off - it->offset), len};
  // Spans segments: gather the parts not already in place into the arena.
  const std::uint64_t end = off + len;
  for (; it != segs_.end() && it->offset < end; ++it) {
    if (it->in_arena) continue;
    const std::uint64_t a = std::max(off, it->offset), b = std::min(end, it->offset + it->length);
    if (a < b) std::memcpy(arena_at(a), it->data + (a - it->offset), b - a);
  }
  return {arena_at(off), len};
}

namespace bus_guard {
namespace {

struct Slot {
  std::atomic<std::uintptr_t> begin{0}, end{0};
  std::atomic<bool> hit{false};
  std::atomic<bool> used{false};
};
constexpr int kSlots = 2048;
Slot g_slots[kSlots];
struct sigaction g_previous {};
std::uintptr_t g_page = 4096;

void on_bus(int sig, siginfo_t* si, void* ctx) {
  const auto a = reinterpret_cast<std::uintptr_t>(si->si_addr);
  for (Slot& s : g_slots) {
    const std::uintptr_t b = s.begin.load(std::memory_order_acquire), e = s.end.load(std::memory_order_acquire);
    if (b == 0 || a < b || a >= e) continue;
    // Zeros over the page that is gone; the access is retried and reads them.
    void* page = reinterpret_cast<void*>(a & ~(g_page - 1));
    if (::mmap(page, g_page, PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED) {
      s.hit.store(true, std::memory_order_release);
      return;
    }
  }
  if ((g_previous.sa_flags & SA_SIGINFO) && g_previous.sa_sigaction) {
    g_previous.sa_sigaction(sig, si, ctx);
    return;
  }
  if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN && g_previous.sa_handler != nullptr) {
    g_previous.sa_handler(sig);
    return;
  }
  // Not ours: the default action, when the access is retried.
  ::signal(SIGBUS, SIG_DFL);
}

void install() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    struct sigaction sa {};
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, &g_previous);
  });
}

}  // namespace

int watch(const void* addr, std::size_t len) {
  install();
  for (int i = 0; i < kSlots; ++i) {
    bool expected = false;
    if (!g_slots[i].used.compare_exchange_strong(expected, true)) continue;
    g_slots[i].hit.store(false);
    g_slots[i].end.store(reinterpret_cast<std::uintptr_t>(addr) + len, std::memory_order_release);
    g_slots[i].begin.store(reinterpret_cast<std::uintptr_t>(addr), std::memory_order_release);
    return i;
  }
  return -1;
}

bool release(int slot) {
  if (slot < 0 || slot >= kSlots) return false;
  Slot& s = g_slots[slot];
  s.begin.store(0, std::memory_order_release);
  s.end.store(0, std::memory_order_release);
  const bool hit = s.hit.exchange(false);
  s.used.store(false, std::memory_order_release);
  return hit;
}

}  // namespace bus_guard
}  // namespace hf::torrent
