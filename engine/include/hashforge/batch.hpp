// Batch hashing: messages pulled from a source, digests out in order, memory bounded.
#pragma once
#include <cstdint>
#include <functional>
#include <istream>
#include <optional>
#include <span>
#include <string>

#include "hashforge/types.hpp"

namespace hf {

// Pulls messages one at a time. A source either returns a view of memory it keeps valid for
// the whole batch (an in-memory list), or reads the message into `storage` and returns a view
// of that; the engine counts only `storage` against the memory budget.
class MessageSource {
 public:
  virtual ~MessageSource() = default;
  virtual std::optional<ByteView> next(Bytes& storage) = 0;
};

// An in-memory list.
class SpanSource final : public MessageSource {
 public:
  explicit SpanSource(std::span<const ByteView> msgs) : msgs_(msgs) {}
  std::optional<ByteView> next(Bytes&) override {
    if (i_ >= msgs_.size()) return std::nullopt;
    return msgs_[i_++];
  }

 private:
  std::span<const ByteView> msgs_;
  std::size_t i_ = 0;
};

// A callback: fill `storage` and return true, or return false at the end.
class CallbackSource final : public MessageSource {
 public:
  explicit CallbackSource(std::function<bool(Bytes&)> fn) : fn_(std::move(fn)) {}
  std::optional<ByteView> next(Bytes& storage) override {
    if (!fn_(storage)) return std::nullopt;
    return ByteView(storage);
  }

 private:
  std::function<bool(Bytes&)> fn_;
};

// A stream cut into fixed-size pieces (the last one may be shorter), as torrents are.
// Throws std::runtime_error if the stream fails for a reason other than its end.
class ReaderSource final : public MessageSource {
 public:
  ReaderSource(std::istream& in, std::size_t piece_size) : in_(in), piece_(piece_size) {}
  std::optional<ByteView> next(Bytes& storage) override;

 private:
  std::istream& in_;
  std::size_t piece_;
};

using DigestSink = std::function<void(std::uint64_t index, const Digest& digest)>;

struct BatchOptions {
  std::string backend;                     // forced; empty: $HASHFORGE_BACKEND, else the best
  unsigned threads = 0;                    // 0: every core
  std::size_t memory_budget = 256u << 20;  // bytes of read messages in flight, at most
};

struct BatchStats {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::uint64_t failed = 0;  // verify form: mismatches
  double seconds = 0;
  std::size_t peak_bytes_in_flight = 0;
  std::string backend;
  unsigned threads = 0;
};

}  // namespace hf
