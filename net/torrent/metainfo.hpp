// .torrent files (metainfo): what a creator writes and a verifier, tracker or client reads.
// Pure code. Reads v1 (BEP 3: single and multi-file), v2 (BEP 52: the file tree, pieces
// roots, piece layers checked against their roots) and hybrids (both views, which must agree
// file by file, with BEP 47 pad files aligning every file but the last to a piece boundary),
// with announce-list tiers (BEP 12), url-list web seeds (BEP 19) and private (BEP 27).
//
// Every file path is checked: no "..", ".", empty or over-long components, no separators or
// NUL inside one, no absolute paths, no path twice and no file where another needs a folder.
// The info-hashes are the SHA-1 (v1) and SHA-256 (v2) of the info dictionary's original bytes.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hf::torrent {

using Sha1 = std::array<std::uint8_t, 20>;
using Sha256 = std::array<std::uint8_t, 32>;

struct FileEntry {
  std::vector<std::string> path;  // components under the torrent's name (empty for a single file)
  std::uint64_t length = 0;
  std::uint64_t offset = 0;  // in the v1 byte stream of all files
  bool pad = false;          // BEP 47 pad file: zeros, never read from or written to disk
  bool executable = false, hidden = false, symlink = false;
  std::optional<Sha256> pieces_root;  // v2 (none for an empty file)
  std::string piece_layer;            // v2: 32 bytes a piece, for files longer than a piece
};

struct Metainfo {
  bool has_v1 = false, has_v2 = false;
  bool single_file = false;
  std::string name;
  std::uint64_t piece_length = 0;
  std::vector<FileEntry> files;    // in the v1 order, pad files included
  std::uint64_t total_length = 0;  // of the v1 stream, pads included
  std::string pieces;              // v1: 20-byte SHA-1 per piece
  Sha1 info_hash_v1{};
  std::optional<Sha256> info_hash_v2;
  std::string info_dict;  // the info dictionary's original bytes: what ut_metadata (BEP 9) sends
  bool has_piece_layers = false;  // v2 without them loads like a magnet: files check against roots

  std::vector<std::vector<std::string>> tracker_tiers;  // announce-list, else [[announce]]
  std::vector<std::string> web_seeds;
  bool is_private = false;
  std::optional<std::int64_t> creation_date;
  std::string comment, created_by, source;
  std::vector<std::string> warnings;  // accepted oddities (unsorted keys, unknown tracker forms)

  std::size_t piece_count() const { return pieces.size() / 20; }
  // Piece i's length (the last may be shorter).
  std::uint64_t piece_size(std::size_t i) const;

  // The byte stream peers exchange: the v1 stream for v1 and hybrid torrents; for a v2-only
  // torrent every file at a piece boundary and the last one padded to a whole piece too, as
  // libtorrent (the reference v2 implementation) sends it. The gaps are zeros, never sent.
  std::uint64_t wire_length() const { return total_length; }
  std::uint32_t wire_pieces() const;  // pieces of wire_length()
  // The 20 bytes peers and trackers know the swarm by: the v1 info-hash, or for a v2-only
  // torrent its SHA-256 info-hash cut to 20 bytes (BEP 52).
  Sha1 swarm_hash() const;
  // Stream ranges [begin, end) that are zeros by construction: pad files, v2 gaps.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> zero_ranges() const;
};

struct MetainfoLimits {
  std::size_t max_bytes = 64u << 20;  // the .torrent file
  std::size_t max_files = 1'000'000;
  std::size_t max_component = 255;  // bytes per path component (a common file-system limit)
  std::size_t max_path = 4096;      // bytes of a whole path
};

// Empty with *why set to one line naming the problem.
std::optional<Metainfo> parse_metainfo(std::string_view torrent, std::string* why, const MetainfoLimits& lim = {});

// A .torrent file for an info dictionary fetched by its hash (a magnet link): the info
// dictionary's bytes kept as they are, with these trackers (one tier each, BEP 12) and web
// seeds around it.
// With `piece_layers` (v2: each file's root to its layer, fetched from peers) the file holds
// them too.
std::string torrent_from_info(std::string_view info_dict, const std::vector<std::string>& trackers,
                              const std::vector<std::string>& web_seeds,
                              const std::map<Sha256, std::string>& piece_layers = {});

// A path component a torrent may name: empty when fine, else why not.
std::string check_component(std::string_view c, std::size_t max_len = 255);

}  // namespace hf::torrent
