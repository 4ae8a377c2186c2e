// Shared helpers for the subcommands: errors and exit codes, JSON output, progress display,
// atomic file writes. Parsing and printing only; all hashing goes through the engine.
#pragma once
#include <boost/json/fwd.hpp>

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "hashforge/engine.hpp"
#include "net/io/atomic_file.hpp"

namespace hf::cli {

// Exit codes: 0 success, 1 failure (I/O, nothing found when required), 2 usage (bad input).
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Thrown by subcommands; main prints "hashforge: <what>" on one line and exits with code.
struct CliError : std::runtime_error {
  int code;
  CliError(int c, const std::string& msg) : std::runtime_error(msg), code(c) {}
};
[[noreturn]] inline void usage_error(const std::string& m) { throw CliError(kExitUsage, m); }
[[noreturn]] inline void failure(const std::string& m) { throw CliError(kExitFailure, m); }

// The whole file, at most max_bytes (checked while reading, so /dev/zero or an endless pipe
// fails at the cap), with room for `spare` more bytes appended without a copy; failure()
// with one line naming the file and the cap otherwise.
Bytes read_file(const std::string& path, std::size_t max_bytes, std::size_t spare = 0);
// Writes the parts, one after another, to path through a temporary file in the same
// directory and a rename, so the path holds either the old content or all of the new,
// never a partial file. netio::kPrivateFile as the mode for a secret (0600 from the start).
void write_file_atomic(const std::string& path, std::initializer_list<ByteView> parts,
                       unsigned mode = netio::kSharedFile);

std::uint64_t parse_u64(const std::string& s, const char* what);  // decimal or 0x hex
double parse_double(const std::string& s, const char* what);

// JSON text of v, every string made valid UTF-8 (names from .torrent files and peers need
// not be; JSON text must be).
std::string json_text(const boost::json::value& v);
void print_json(const boost::json::value& v);              // pretty enough: one object, newline
std::string si_rate(double per_second, const char* unit);  // "12.3 M" + unit + "/s"

// Progress on stderr: a redrawn bar on a terminal, a plain line every few seconds otherwise.
class ProgressPrinter {
 public:
  explicit ProgressPrinter(bool enabled, const char* unit = "H");
  void update(const Progress& p, const std::string& extra = {});
  void finish();

 private:
  bool enabled_, tty_;
  const char* unit_;
  double last_plain_ = -1;
  bool drawn_ = false;
};

}  // namespace hf::cli
