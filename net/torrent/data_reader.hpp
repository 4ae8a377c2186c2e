// Reads a torrent's data as one byte stream: its files one after another at the offsets the
// metainfo gives them, with pad files (BEP 47) and the gaps that align v2 files to pieces
// read as zeros without touching the disk. Files are opened as the stream reaches them, one
// at a time, and read with large sequential preads (the kernel's readahead is told the access
// is sequential). A missing, short or unreadable file reads as zeros and is recorded as a
// problem, so a check goes on and can name every piece it spoils. Pure code: files, no sockets.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "net/torrent/chunk.hpp"

namespace hf::torrent {

struct DataFile {
  std::string disk_path;  // empty for a pad file
  std::uint64_t offset = 0, length = 0;
  bool pad = false;
};

enum class FileIssue : std::uint8_t { missing, not_regular, unreadable, short_file, long_file, changed };
std::string_view file_issue_name(FileIssue k);

struct FileProblem {
  std::size_t file = 0;  // index into the reader's files
  FileIssue kind = FileIssue::missing;
  std::uint64_t on_disk = 0;  // the size found (short_file, long_file, changed)
  std::string detail;         // one line: the OS's reason, when there is one
  // The stream range that could not be read (empty for long_file).
  std::uint64_t bad_from = 0, bad_to = 0;
};

class DataReader {
 public:
  // `files` sorted by offset, not overlapping; `total` the stream's length.
  DataReader(std::vector<DataFile> files, std::uint64_t total);
  ~DataReader();
  DataReader(const DataReader&) = delete;
  DataReader& operator=(const DataReader&) = delete;

  // Fills `out` with the stream's bytes from `offset`. Reads must go forward (each one
  // starting where the last one ended, or later); anything unreadable becomes zeros and a
  // problem.
  void read(std::uint64_t offset, std::span<std::uint8_t> out);
  // The stream's bytes [offset, offset + length) into `c` (whose capacity must hold them),
  // forward only like read(). With `map`, ranges of a file of 256 KiB or more are mapped
  // (and faulted in here, on the reader's thread) rather than copied; the rest is read
  // into the chunk's arena. Then, once the chunk is hashed, unload() it on the same thread.
  void load(std::uint64_t offset, std::uint64_t length, Chunk& c, bool map);
  void unload(Chunk& c);
  // After the last read: checks the empty files no read reached.
  void finish();
  // With `strict` (a creator), a file whose size differs from `length` is a problem
  // (`changed`) when it is opened: someone wrote to it since the scan.
  void set_strict(bool strict) { strict_ = strict; }

  const std::vector<DataFile>& files() const { return files_; }
  const std::vector<FileProblem>& problems() const { return problems_; }
  std::uint64_t total() const { return total_; }
  std::uint64_t bytes_from_disk() const { return disk_bytes_; }

 private:
  void open_file(std::size_t i);
  // Reads file bytes [at, at + n) of the open file to dst; the count read (the rest is a
  // problem recorded here). `stream_pos` is where `at` lies in the stream.
  std::size_t pread_file(std::uint64_t at, std::uint8_t* dst, std::size_t n, std::uint64_t stream_pos);
  bool map_range(Chunk& c, std::uint64_t at, std::uint64_t n, std::uint64_t stream_pos);
  void advance(std::uint64_t pos);
  void close_file();
  void problem(std::size_t i, FileIssue kind, std::uint64_t on_disk, std::string detail, std::uint64_t from,
               std::uint64_t to);

  std::vector<DataFile> files_;
  std::uint64_t total_ = 0;
  std::size_t cursor_ = 0;      // the first file that may still be read
  std::size_t open_index_ = 0;  // which file fd_ belongs to
  int fd_ = -1;
  bool open_failed_ = false;   // the file at open_index_ could not be opened
  std::uint64_t open_size_ = 0;  // its size on disk
  bool strict_ = false;
  std::uint64_t disk_bytes_ = 0;
  std::vector<FileProblem> problems_;
};

}  // namespace hf::torrent
