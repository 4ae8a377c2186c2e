#include "net/torrent/data_reader.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace hf::torrent {

std::string_view file_issue_name(FileIssue k) {
  switch (k) {
    case FileIssue::missing: return "missing";
    case FileIssue::not_regular: return "not a regular file";
    case FileIssue::unreadable: return "unreadable";
    case FileIssue::short_file: return "shorter than the torrent says";
    case FileIssue::long_file: return "longer than the torrent says";
    case FileIssue::changed: return "changed while being read";
  }
  return "?";
}

DataReader::DataReader(std::vector<DataFile> files, std::uint64_t total) : files_(std::move(files)), total_(total) {}

DataReader::~DataReader() { close_file(); }

void DataReader::close_file() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void DataReader::problem(std::size_t i, FileIssue kind, std::uint64_t on_disk, std::string detail,
                         std::uint64_t from, std::uint64_t to) {
  problems_.push_back(FileProblem{i, kind, on_disk, std::move(detail), from, to});
}

void DataReader::open_file(std::size_t i) {
  close_file();
  open_index_ = i;
  open_failed_ = true;
  open_size_ = 0;
  const DataFile& f = files_[i];
  const std::uint64_t end = f.offset + f.length;
  int fd = ::open(f.disk_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    const int e = errno;
    problem(i, e == ENOENT || e == ENOTDIR ? FileIssue::missing : FileIssue::unreadable, 0, std::strerror(e),
            f.offset, end);
    return;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    problem(i, FileIssue::not_regular, 0, "", f.offset, end);
    return;
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (strict_ && size != f.length) {
    ::close(fd);
    problem(i, FileIssue::changed, size, "its size is now " + std::to_string(size), f.offset, end);
    return;
  }
  if (size < f.length) problem(i, FileIssue::short_file, size, "", f.offset + size, end);
  if (size > f.length) problem(i, FileIssue::long_file, size, "", 0, 0);
  // Sequential: the kernel doubles its readahead window, which matters on a cold cache.
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  fd_ = fd;
  open_failed_ = false;
  open_size_ = size;
}

void DataReader::advance(std::uint64_t pos) {
  while (cursor_ < files_.size() && files_[cursor_].offset + files_[cursor_].length <= pos) {
    // An empty file is never read, but it should be there.
    if (files_[cursor_].length == 0 && !files_[cursor_].pad) {
      open_file(cursor_);
      close_file();
    }
    ++cursor_;
  }
}

std::size_t DataReader::pread_file(std::uint64_t at, std::uint8_t* dst, std::size_t n, std::uint64_t stream_pos) {
  const DataFile& f = files_[cursor_];
  std::size_t got = 0;
  while (got < n && at + got < open_size_) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(n - got, open_size_ - at - got));
    const ssize_t r = ::pread(fd_, dst + got, want, static_cast<off_t>(at + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      // Shrunk under us, or an I/O error: the rest of the file is unreadable.
      problem(cursor_, r < 0 ? FileIssue::unreadable : FileIssue::changed, at + got,
              r < 0 ? std::strerror(errno) : "it shrank while being read", stream_pos + got, f.offset + f.length);
      open_size_ = at + got;
      break;
    }
    got += static_cast<std::size_t>(r);
  }
  disk_bytes_ += got;
  return got;
}

void DataReader::read(std::uint64_t offset, std::span<std::uint8_t> out) {
  std::uint64_t pos = offset;
  std::uint8_t* dst = out.data();
  std::size_t left = out.size();
  while (left > 0) {
    advance(pos);
    if (cursor_ == files_.size() || files_[cursor_].offset > pos) {
      // A gap (v2 alignment) or past the last file: zeros.
      const std::uint64_t next = cursor_ == files_.size() ? total_ : files_[cursor_].offset;
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, std::max(next, pos + 1) - pos));
      std::memset(dst, 0, n);
      dst += n, pos += n, left -= n;
      continue;
    }
    const DataFile& f = files_[cursor_];
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, f.offset + f.length - pos));
    std::size_t got = 0;
    if (!f.pad) {
      if (open_index_ != cursor_ || (fd_ < 0 && !open_failed_)) open_file(cursor_);
      if (!open_failed_) got = pread_file(pos - f.offset, dst, n, pos);
    }
    if (got < n) std::memset(dst + got, 0, n - got);
    dst += n, pos += n, left -= n;
    if (pos == f.offset + f.length && open_index_ == cursor_) close_file();
  }
}

bool DataReader::map_range(Chunk& c, std::uint64_t at, std::uint64_t n, std::uint64_t stream_pos) {
  static const std::uint64_t page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  const std::uint64_t a0 = at & ~(page - 1);
  const std::size_t len = static_cast<std::size_t>(at - a0 + n);
  void* p = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd_, static_cast<off_t>(a0));
  if (p == MAP_FAILED) return false;
  const int guard = bus_guard::watch(p, len);
  if (guard < 0) {
    ::munmap(p, len);
    return false;
  }
  // Start the reads for the whole range at once, then wait for them here, on the reader's
  // thread, so the hashing threads never stall on a page fault.
  ::madvise(p, len, MADV_WILLNEED);
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
  ::madvise(p, len, MADV_POPULATE_READ);
  c.mappings().push_back({p, len, cursor_, stream_pos, stream_pos + n, guard});
  c.add({stream_pos, n, static_cast<const std::uint8_t*>(p) + (at - a0), false});
  disk_bytes_ += n;
  return true;
}

void DataReader::load(std::uint64_t offset, std::uint64_t length, Chunk& c, bool map) {
  c.reset(offset, length);
  if (!map) {
    read(offset, {c.arena_at(offset), static_cast<std::size_t>(length)});
    c.add({offset, length, c.arena_at(offset), true});
    return;
  }
  constexpr std::uint64_t kMapAtLeast = 256 * 1024;
  std::uint64_t pos = offset;
  const std::uint64_t end = offset + length;
  while (pos < end) {
    advance(pos);
    if (cursor_ == files_.size() || files_[cursor_].offset > pos) {
      const std::uint64_t next = cursor_ == files_.size() ? total_ : files_[cursor_].offset;
      const std::uint64_t n = std::min(end, std::max(next, pos + 1)) - pos;
      c.add_zeros(pos, n);
      pos += n;
      continue;
    }
    const DataFile& f = files_[cursor_];
    const std::uint64_t n = std::min(end, f.offset + f.length) - pos;
    std::uint64_t got = 0;
    if (!f.pad) {
      if (open_index_ != cursor_ || (fd_ < 0 && !open_failed_)) open_file(cursor_);
      const std::uint64_t at = pos - f.offset;
      const std::uint64_t avail = !open_failed_ && open_size_ > at ? std::min(n, open_size_ - at) : 0;
      if (avail >= kMapAtLeast && map_range(c, at, avail, pos)) {
        got = avail;
      } else if (avail > 0) {
        got = pread_file(at, c.arena_at(pos), static_cast<std::size_t>(avail), pos);
        c.add({pos, got, c.arena_at(pos), true});
      }
    }
    if (got < n) c.add_zeros(pos + got, n - got);
    pos += n;
    if (pos == f.offset + f.length && open_index_ == cursor_) close_file();
  }
}

void DataReader::unload(Chunk& c) {
  for (const Chunk::Mapping& m : c.mappings()) {
    if (bus_guard::release(m.guard))
      problem(m.file, FileIssue::changed, 0, "it shrank while being read", m.from, m.to);
    ::munmap(m.addr, m.length);
  }
  c.mappings().clear();
}

void DataReader::finish() {
  for (; cursor_ < files_.size(); ++cursor_) {
    if (files_[cursor_].length == 0 && !files_[cursor_].pad) {
      open_file(cursor_);
      close_file();
    }
  }
  close_file();
}

}  // namespace hf::torrent
