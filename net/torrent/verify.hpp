// Checks a torrent's data on disk: every v1 piece against its SHA-1, every v2 piece against
// its piece-layer entry (or, with no piece layers, every v2 file against its root), from one
// pass of the piece hasher. Missing, short and unreadable files are reported, and every piece
// they touch is counted bad even when its zeros happen to match. Pure code: files, no sockets.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "net/torrent/data_reader.hpp"
#include "net/torrent/metainfo.hpp"
#include "net/torrent/piece_hasher.hpp"

namespace hf::torrent {

struct BadPiece {
  bool v2 = false;
  std::size_t file = 0;        // v2: the file (an index into Metainfo::files)
  std::uint64_t index = 0;     // v1: the piece in the torrent; v2: the piece in the file
  std::uint64_t offset = 0;    // v1: in the stream of all files; v2: in the file
  std::uint64_t length = 0;
  bool whole_file = false;     // v2 without a piece layer: the file did not match its root
};

struct VerifyReport {
  std::vector<BadPiece> bad;  // v1 pieces in order, then v2 ones by file and piece
  std::vector<FileProblem> problems;
  std::uint64_t v1_pieces = 0;  // checked
  std::uint64_t v2_pieces = 0;  // piece-layer entries checked
  std::uint64_t v2_roots = 0;   // files checked against their root alone
  PassStats stats;
  // No bad piece and no problem but files longer than the torrent says.
  bool ok() const;
};

// Where each of m's files is: `data` is the file itself for a single-file torrent, the
// torrent's folder otherwise. Pad files have no disk path.
std::vector<DataFile> data_files(const Metainfo& m, const std::string& data);

// The files (non-pad) a stream range touches: index, offset in the file, length.
struct FileSpan {
  std::size_t file = 0;
  std::uint64_t offset = 0, length = 0;
};
std::vector<FileSpan> files_in_range(const Metainfo& m, std::uint64_t from, std::uint64_t to);

// Throws std::runtime_error with one line when the engine cannot run the pass.
VerifyReport verify_data(const Metainfo& m, const std::string& data, const PassOptions& opt);

}  // namespace hf::torrent
