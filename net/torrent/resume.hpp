// Resume data: what a client restarting on a torrent may trust without hashing it again.
// Bencoded (it is written next to the data and read back, so its parser takes anything):
//
//   d 4:have  <bitfield: pieces verified and synced to disk>
//     9:info hash 20:<v1 info-hash, or v2's truncated>
//     7:partial d <piece index as decimal text> <bitfield of its blocks on disk> ... e
//     5:files l l <size> <mtime in ns> e ... e      (each file as it was when this was written)
//     7:version i1e e
//
// A file whose size or mtime differs from the record makes every piece touching it unknown
// (rechecked); a record for another torrent or of the wrong shape is refused whole.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/torrent/tracker_types.hpp"  // InfoHash

namespace hf::torrent {

struct FileStamp {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  friend bool operator==(const FileStamp&, const FileStamp&) = default;
};

struct ResumeData {
  tracker::InfoHash info_hash{};
  std::vector<bool> have;  // one per piece
  std::map<std::uint32_t, std::vector<bool>> partial;  // piece -> one per block
  std::vector<FileStamp> files;
};

std::string encode_resume(const ResumeData& r);
// Checks the shape against the torrent: its info-hash, piece count, blocks per piece
// (blocks_in(piece)), and file count. nullopt with *why (one line) otherwise.
std::optional<ResumeData> decode_resume(std::string_view bytes, const tracker::InfoHash& info_hash,
                                        std::uint32_t pieces,
                                        const std::function<std::uint32_t(std::uint32_t)>& blocks_in,
                                        std::size_t file_count, std::string* why);
// Pieces the files on disk no longer vouch for: those touching a file whose stamp changed.
// `file_ranges[i]` is file i's [first piece, last piece]; `now` the stamps found on disk.
std::vector<std::uint32_t> pieces_to_recheck(const ResumeData& r, const std::vector<FileStamp>& now,
                                             const std::vector<std::pair<std::uint32_t, std::uint32_t>>& file_ranges);

}  // namespace hf::torrent
