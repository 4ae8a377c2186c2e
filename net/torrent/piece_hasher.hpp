// One pass over a torrent's data that computes what both a creator and a verifier need: the
// SHA-1 of every v1 piece and, per v2 file, the SHA-256 of every 16 KiB block reduced to the
// file's piece layer (or straight to its root, for a file of one piece or less). A hybrid's
// two hashes of each byte come from the same read.
//
// A reader thread fills large piece-aligned chunks while the engine's batch jobs hash the
// previous one on every core, on the chosen backend; memory is two chunks, whatever the
// torrent's size. Pure code: files and threads, no sockets.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "net/torrent/data_reader.hpp"
#include "net/torrent/metainfo.hpp"

namespace hf::torrent {

struct PassPlan {
  std::uint64_t piece_length = 0;  // a power of two, at least 16 KiB when v2
  bool v1 = false, v2 = false;
};

struct PassSink {
  std::function<void(std::uint64_t piece, const Sha1&)> v1_piece;
  // Files longer than one piece: their piece layer, in order.
  std::function<void(std::size_t file, std::uint64_t piece, const Sha256&)> v2_piece;
  // Files of one piece or less: their root.
  std::function<void(std::size_t file, const Sha256&)> v2_root;
};

struct PassProgress {
  std::uint64_t done = 0, total = 0;  // stream bytes hashed
  double seconds = 0;
};

struct PassOptions {
  std::string backend;                 // empty: the best for each hash
  unsigned threads = 0;                // 0: every core
  std::uint64_t rate_limit = 0;        // bytes a second read at most; 0: no limit
  std::size_t chunk_bytes = 64u << 20;  // rounded to whole pieces (at least one)
  bool use_mmap = true;                 // map large file ranges (no copy) rather than read() them
  std::function<void(const PassProgress&)> on_progress;  // after each chunk, on the caller's thread
  const std::atomic<bool>* cancel = nullptr;
};

struct PassStats {
  std::uint64_t bytes = 0;            // stream bytes hashed
  std::uint64_t bytes_from_disk = 0;  // of those, read from files (not pads or gaps)
  double seconds = 0;
  std::string backend_v1, backend_v2;
  bool cancelled = false;
};

// Throws std::runtime_error with one line (an unusable backend; the engine's own errors).
PassStats run_hash_pass(const PassPlan& plan, DataReader& reader, const PassSink& sink, const PassOptions& opt);

}  // namespace hf::torrent
