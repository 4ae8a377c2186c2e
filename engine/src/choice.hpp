// The measured backend choice: rates per task and backend, the machine key they were measured
// under, and the file that caches them. Pure (no engine state): the registry decides when to
// measure, this reads, writes and checks the record.
//
// The file is text, one fact a line, so a person can read and pin it:
//   hashforge-choice 1
//   key vendor=AuthenticAMD family=0x1a model=0x2 stepping=0x0 features=... version=0.1.0
//   rate search-sha256d avx512 3.41e+07
// Lines starting with '#' are comments. It is outside input (a stale or hand-edited file, or
// one another version wrote), so the parser checks every field and names the bad line.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hashforge/engine.hpp"

namespace hf::choice {

// The tasks measured: every Op by its name, and the Merkle pair path (Engine::hash_pairs).
inline constexpr std::string_view kPairsTask = "sha256-pairs";
std::vector<std::string> all_tasks();
// "nonces/s", "bytes/s" or "messages/s".
std::string_view unit_of(std::string_view task);

struct Table {
  std::string key;
  std::vector<MeasuredRate> rates;
  // The rate of backend on task, or 0 when not measured.
  double rate(std::string_view task, std::string_view backend) const;
};

// This machine and build: cpuid vendor, family, model, stepping, the raw feature words and
// the hashforge version. A cached table under another key is measured again.
std::string machine_key();

std::string format(const Table& t);
std::optional<Table> parse(std::string_view text, std::string* why);

// The cache file: $XDG_CACHE_HOME/hashforge/backend-choice, else ~/.cache/hashforge/...;
// empty when neither folder is known.
std::string cache_path();
// Reads and parses a choice file; nullopt and why (unreadable, or the parser's reason).
// `unreadable` tells the two apart: true when the file itself could not be read.
std::optional<Table> load(const std::string& path, std::string* why, bool* unreadable = nullptr);
// Reads at most max_bytes of a file; nullopt and why on failure.
std::optional<std::string> read_small_file(const std::string& path, std::size_t max_bytes, std::string* why);
// Writes through a temporary file and a rename, so readers see the old or the new file whole
// (processes calibrating at once each write a complete file; the last one stays).
bool write_file_atomically(const std::string& path, const std::string& text, std::string* why);

}  // namespace hf::choice
