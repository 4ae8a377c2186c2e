// What the `hashforge torrent` subcommands share: reading a .torrent, sizes and rates in
// options and output, the pass options every hashing subcommand takes, and progress.
#pragma once
#include <CLI/CLI.hpp>
#include <boost/json/fwd.hpp>

#include <cstdint>
#include <functional>
#include <string>

#include "net/torrent/metainfo.hpp"
#include "net/torrent/piece_hasher.hpp"

namespace hf::cli {

using Runner = std::function<int()>;
// The subcommands of `hashforge torrent`, one file each.
void add_torrent_info(CLI::App* torrent, Runner& run);
void add_torrent_create(CLI::App* torrent, Runner& run);
void add_torrent_verify(CLI::App* torrent, Runner& run);
void add_torrent_client(CLI::App* torrent, Runner& run);  // download and seed
void add_torrent_dht(CLI::App* torrent, Runner& run);
void add_torrent_daemon(CLI::App* torrent, Runner& run);

// Backend, threads, rate limit and progress: the options of a pass over a torrent's data.
struct PassFlags {
  std::string backend;
  unsigned threads = 0;
  std::string limit_rate;  // "100M": bytes a second
  bool quiet = false;
  std::string io = "mmap";
  void add_to(CLI::App* cmd);
  torrent::PassOptions options() const;  // usage_error on a bad rate or backend name
};

// A --backend given to a torrent command: usage_error unless the engine knows it and can use
// it for piece hashing (an empty name is the default).
void check_torrent_backend(const std::string& name);

// "16K", "1M", "1MiB", "4 GiB", "65536": powers of 1024 for K/M/G/T (a rate's "100M" too).
std::uint64_t parse_size(const std::string& s, const char* what);
std::string human_size(std::uint64_t bytes);  // "1.50 GiB"

// Reads and parses a .torrent (at most 64 MiB); failure() with the reason in one line.
torrent::Metainfo load_torrent(const std::string& path);

// DATA may be the content itself (a file, or the torrent's folder) or the folder holding it,
// as a client's download folder: the content's path.
std::string resolve_data(const torrent::Metainfo& m, const std::string& data);

// "v1", "v2" or "hybrid".
const char* torrent_kind(const torrent::Metainfo& m);
// A file's path as clients show it: the torrent's name, then the components.
std::string file_display_path(const torrent::Metainfo& m, std::size_t file);
std::string magnet_of(const torrent::Metainfo& m);

// A progress line on stderr: bar, read rate, ETA (on a terminal; plain lines otherwise).
class PassProgressPrinter {
 public:
  explicit PassProgressPrinter(bool enabled);
  void update(const torrent::PassProgress& p);
  void finish();

 private:
  bool enabled_, tty_;
  double last_ = -1;
  bool drawn_ = false;
};

}  // namespace hf::cli
