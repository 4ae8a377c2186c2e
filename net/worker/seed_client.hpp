// The worker's side of the plain protocol (`hashforge worker --url seed://HOST:PORT`):
// connect, receive "START", the file and "END" (no framing: the file has ended when the
// stream ends in "END" and nothing more comes), mine for the configured time on any engine
// backend, send back the best nonce as exactly 8 lowercase hex characters, and close.
#pragma once
#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "hashforge/engine.hpp"

namespace hf::worker {

struct SeedUrl {
  std::string host, port;
};
// seed://host:port (port 50010 when left out).
std::optional<SeedUrl> parse_seed_url(const std::string& url, std::string* why);

struct SeedOptions {
  SeedUrl url;
  std::string identifier = "G06";  // the server appends "<nonce> <identifier>"
  double seconds = 60;
  std::string backend;
  unsigned threads = 0;
  double connect_timeout = 10;
  double receive_timeout = 3600;  // the server may wait for other clients before sending
  std::size_t max_file = 64u << 20;
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(const std::string&)> log;
};

struct SeedOutcome {
  Bytes file;
  std::uint32_t nonce = 0;
  Digest hash;
  std::uint64_t hashes = 0;
  double seconds = 0;
  std::string backend;
};

// The whole exchange; throws std::runtime_error with a one-line reason.
SeedOutcome seed_mine(const SeedOptions& o);

}  // namespace hf::worker
