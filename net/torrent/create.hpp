// Makes a .torrent from a file or a folder: v1 (BEP 3), v2 (BEP 52) or hybrid (both, with
// BEP 47 pad files aligning every file but the last to a piece), hashed in one pass of the
// piece hasher. Files are listed in byte order of their paths (the order a v2 file tree
// has), so a hybrid's two views agree. The result is parsed back before it is returned.
// Pure code: files, no sockets.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/torrent/metainfo.hpp"
#include "net/torrent/piece_hasher.hpp"

namespace hf::torrent {

enum class TorrentFormat : std::uint8_t { v1, v2, hybrid };
std::optional<TorrentFormat> parse_torrent_format(std::string_view s);

struct CreateOptions {
  TorrentFormat format = TorrentFormat::v1;
  std::uint64_t piece_length = 0;  // 0: chosen from the total size
  std::vector<std::vector<std::string>> tracker_tiers;
  std::vector<std::string> web_seeds;
  bool is_private = false;
  std::string name;  // empty: the file's or folder's own name
  std::string comment, source, created_by;
  std::optional<std::int64_t> creation_date;  // none: no date (reproducible output)
  PassOptions pass;
};

struct CreateResult {
  std::string torrent;  // the .torrent's bytes
  Metainfo meta;        // as read back
  PassStats stats;
  std::vector<std::string> warnings;  // things skipped (links to folders, sockets, ...)
};

// A piece length like common clients choose: about 1,000 to 2,000 pieces, from 16 KiB to
// 16 MiB, always a power of two.
std::uint64_t default_piece_length(std::uint64_t total);

// Throws std::runtime_error with one line (nothing to share, an unreadable file, a name a
// torrent cannot hold, a file that changed while it was read).
CreateResult create_torrent(const std::string& path, const CreateOptions& opt);

}  // namespace hf::torrent
