// A downloading torrent's files: bytes written and read at offsets of the torrent's stream
// (its files one after another, as DataReader sees them), split over the files they fall in.
// Pad files (BEP 47) and v2 alignment gaps are never created, written or read from disk: they
// read as zeros. Files are created sparse at their full size, folders as needed; a bounded
// number stay open. Pure code in the project's sense: files, no sockets.
#pragma once
#include <cstdint>
#include <list>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/torrent/data_reader.hpp"  // DataFile

namespace hf::torrent {

class Storage {
 public:
  // `files` sorted by offset and not overlapping, as for DataReader; `total` the stream's
  // length. Nothing is touched on disk until allocate() or the first write.
  Storage(std::vector<DataFile> files, std::uint64_t total, std::size_t max_open = 64);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  // Creates every file (and its folders) at its full size without writing data: holes, so a
  // 4 GiB torrent takes no disk until its pieces arrive. Files already there are kept (their
  // data may be resumed); a longer one is left as it is. False with *why (one line).
  bool allocate(std::string* why);
  // The stream's bytes [offset, offset + data.size()) to disk: each file's part with one
  // pwrite (the parts falling in pads are dropped). False with *why: out of range, a file that
  // cannot be opened or written (disk full), a short write.
  bool write(std::uint64_t offset, std::span<const std::uint8_t> data, std::string* why);
  // Reads them back (pads and gaps as zeros; a file shorter than expected reads as zeros too,
  // so a recheck marks its pieces bad rather than failing).
  bool read(std::uint64_t offset, std::span<std::uint8_t> out, std::string* why);
  // fdatasync on every file written since the last sync (resume data must not claim pieces
  // the disk may lose).
  bool sync(std::string* why);

  // Writes whose file offset is 4 KiB-aligned go around the page cache (O_DIRECT), their
  // unaligned head and tail through it. A download writes each byte once and, as a rule,
  // reads little of it back soon: the page cache's copy and its later writeback cost more
  // than the disk itself (measured on the development VM: buffered + fdatasync 396 MB/s,
  // O_DIRECT 2.1 GB/s). A file system that refuses O_DIRECT gets buffered writes.
  void set_direct_writes(bool on) { direct_ = on; }
  std::uint64_t direct_bytes() const { return direct_bytes_; }  // written around the cache

  const std::vector<DataFile>& files() const { return files_; }
  std::uint64_t total() const { return total_; }

 private:
  int fd(std::size_t file, std::string* why);  // opened (created) on demand, O_RDWR
  int direct_fd(std::size_t file);             // O_DIRECT beside it; -1 where refused
  bool put(int f, std::size_t file, const std::uint8_t* p, std::uint64_t n, std::uint64_t at, std::string* why);
  template <class Fn>
  bool each_part(std::uint64_t offset, std::uint64_t length, std::string* why, Fn fn);

  std::vector<DataFile> files_;
  std::uint64_t total_ = 0;
  std::size_t max_open_;
  std::list<std::size_t> lru_;  // open files, most recent first
  std::unordered_map<std::size_t, std::pair<int, std::list<std::size_t>::iterator>> open_;
  std::vector<bool> dirty_;
  bool direct_ = false;
  std::unordered_map<std::size_t, int> direct_fds_;  // file -> O_DIRECT fd (-1: refused)
  std::uint8_t* bounce_ = nullptr;                    // 4 KiB-aligned copy for direct writes
  std::size_t bounce_size_ = 0;
  std::uint64_t direct_bytes_ = 0;
};

}  // namespace hf::torrent
