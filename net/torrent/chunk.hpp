// A piece-aligned stretch of a torrent's byte stream, as the piece hasher sees it: segments
// that point into file mappings, into a buffer the chunk owns (the "arena", where small or
// read() ranges land at their natural position), or at zeros (pads, gaps, missing data).
// A piece or block that lies in one segment is hashed where it is, with no copy; one that
// spans segments is gathered into the arena first.
//
// Mappings of files that shrink while mapped would raise SIGBUS on access. The guard here
// catches it for our own mappings only: the page is replaced by zeros, the fault is noted,
// and the reader reports the file as changed; any other SIGBUS goes to the previous handler.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace hf::torrent {

struct Segment {
  std::uint64_t offset = 0, length = 0;  // in the stream
  const std::uint8_t* data = nullptr;
  bool in_arena = false;
};

class Chunk {
 public:
  explicit Chunk(std::size_t capacity);
  ~Chunk();
  Chunk(const Chunk&) = delete;
  Chunk& operator=(const Chunk&) = delete;

  std::uint64_t offset() const { return offset_; }
  std::uint64_t length() const { return length_; }
  std::size_t capacity() const { return capacity_; }

  // Bytes [off, off + len) of the stream, inside the chunk, contiguous. Not thread-safe
  // (it may gather into the arena): build every view before hashing starts.
  std::span<const std::uint8_t> view(std::uint64_t off, std::size_t len);

  // For the reader: start over at `offset`, then add segments in stream order.
  void reset(std::uint64_t offset, std::uint64_t length);
  std::uint8_t* arena_at(std::uint64_t stream_off) { return arena_.get() + (stream_off - offset_); }
  void add(const Segment& s);
  void add_zeros(std::uint64_t offset, std::uint64_t length);

  struct Mapping {
    void* addr = nullptr;
    std::size_t length = 0;
    std::size_t file = 0;
    std::uint64_t from = 0, to = 0;  // the stream range it serves
    int guard = -1;
  };
  std::vector<Mapping>& mappings() { return maps_; }

 private:
  std::unique_ptr<std::uint8_t[]> arena_;
  std::size_t capacity_ = 0;
  std::uint64_t offset_ = 0, length_ = 0;
  std::vector<Segment> segs_;
  std::vector<Mapping> maps_;
};

namespace bus_guard {
// Watches [addr, addr + len) for SIGBUS; the slot to release, or -1 when the table is full.
int watch(const void* addr, std::size_t len);
// Stops watching; true when a fault in the range was absorbed (the file shrank).
bool release(int slot);
}  // namespace bus_guard

}  // namespace hf::torrent
