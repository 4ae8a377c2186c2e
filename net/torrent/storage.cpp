#include "net/torrent/storage.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <filesystem>

namespace hf::torrent {

namespace {

std::string os_error(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

}  // namespace

Storage::Storage(std::vector<DataFile> files, std::uint64_t total, std::size_t max_open)
    : files_(std::move(files)), total_(total), max_open_(std::max<std::size_t>(1, max_open)), dirty_(files_.size()) {}

Storage::~Storage() {
  for (auto& [i, entry] : open_) ::close(entry.first);
  for (auto& [i, f] : direct_fds_)
    if (f >= 0) ::close(f);
  std::free(bounce_);
}

int Storage::direct_fd(std::size_t file) {
  if (auto it = direct_fds_.find(file); it != direct_fds_.end()) return it->second;
  // Opened once the buffered fd exists (so the file and its folders do); kept open beside
  // it (at most one per file written).
  const int f = ::open(files_[file].disk_path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
  direct_fds_[file] = f;  // -1: this file system refuses O_DIRECT; buffered from now on
  return f;
}

bool Storage::put(int f, std::size_t file, const std::uint8_t* p, std::uint64_t n, std::uint64_t at, std::string* why) {
  for (std::uint64_t done = 0; done < n;) {
    const ssize_t w = ::pwrite(f, p + done, n - done, static_cast<off_t>(at + done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      *why = os_error("write", files_[file].disk_path);
      return false;
    }
    done += static_cast<std::uint64_t>(w);
  }
  return true;
}

int Storage::fd(std::size_t file, std::string* why) {
  if (auto it = open_.find(file); it != open_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.second);
    return it->second.first;
  }
  const std::string& path = files_[file].disk_path;
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) {
    *why = "create the folder " + parent.string() + ": " + ec.message();
    return -1;
  }
  int f = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (f < 0) {
    *why = os_error("open", path);
    return -1;
  }
  if (open_.size() >= max_open_) {
    const std::size_t old = lru_.back();
    lru_.pop_back();
    ::close(open_[old].first);  // written data stays in the page cache; sync() reopens it
    open_.erase(old);
    if (auto d = direct_fds_.find(old); d != direct_fds_.end() && d->second >= 0) {
      ::close(d->second);
      direct_fds_.erase(d);
    }
  }
  lru_.push_front(file);
  open_[file] = {f, lru_.begin()};
  return f;
}

// fn(file index, offset in the file, offset in the caller's span, length) for each file part
// of stream range [offset, offset + length); pads and gaps are skipped.
template <class Fn>
bool Storage::each_part(std::uint64_t offset, std::uint64_t length, std::string* why, Fn fn) {
  if (offset > total_ || length > total_ - offset) {
    *why = "bytes " + std::to_string(offset) + "+" + std::to_string(length) + " past the torrent's " +
           std::to_string(total_);
    return false;
  }
  const std::uint64_t end = offset + length;
  auto it = std::upper_bound(files_.begin(), files_.end(), offset,
                             [](std::uint64_t o, const DataFile& f) { return o < f.offset + f.length; });
  for (; it != files_.end() && it->offset < end; ++it) {
    if (it->pad || it->length == 0) continue;
    const std::uint64_t from = std::max(offset, it->offset), to = std::min(end, it->offset + it->length);
    if (from >= to) continue;
    if (!fn(static_cast<std::size_t>(it - files_.begin()), from - it->offset, from - offset, to - from)) return false;
  }
  return true;
}

bool Storage::allocate(std::string* why) {
  for (std::size_t i = 0; i < files_.size(); ++i) {
    if (files_[i].pad) continue;
    const int f = fd(i, why);
    if (f < 0) return false;
    struct stat st {};
    if (::fstat(f, &st) != 0) {
      *why = os_error("stat", files_[i].disk_path);
      return false;
    }
    if (!S_ISREG(st.st_mode)) {
      *why = files_[i].disk_path + " is not a regular file";
      return false;
    }
    if (static_cast<std::uint64_t>(st.st_size) < files_[i].length &&
        ::ftruncate(f, static_cast<off_t>(files_[i].length)) != 0) {
      *why = os_error("size", files_[i].disk_path);
      return false;
    }
  }
  return true;
}

bool Storage::write(std::uint64_t offset, std::span<const std::uint8_t> data, std::string* why) {
  constexpr std::uint64_t kAlign = 4096;
  return each_part(offset, data.size(), why, [&](std::size_t i, std::uint64_t at, std::uint64_t from, std::uint64_t n) {
    const int f = fd(i, why);
    if (f < 0) return false;
    dirty_[i] = true;
    const std::uint8_t* p = data.data() + from;
    // The aligned middle of the part (file offsets), around the page cache when allowed.
    const std::uint64_t head = std::min(n, (kAlign - at % kAlign) % kAlign);
    const std::uint64_t body = (n - head) / kAlign * kAlign;
    const int d = direct_ && body >= kAlign ? direct_fd(i) : -1;
    if (d < 0) return put(f, i, p, n, at, why);
    if (head && !put(f, i, p, head, at, why)) return false;
    const std::uint8_t* src = p + head;
    if (reinterpret_cast<std::uintptr_t>(src) % kAlign != 0) {
      if (bounce_size_ < body) {
        std::free(bounce_);
        bounce_ = static_cast<std::uint8_t*>(std::aligned_alloc(kAlign, body));
        bounce_size_ = bounce_ ? body : 0;
      }
      if (!bounce_) return put(f, i, p + head, n - head, at + head, why);
      std::memcpy(bounce_, src, body);
      src = bounce_;
    }
    const ssize_t w = ::pwrite(d, src, body, static_cast<off_t>(at + head));
    if (w != static_cast<ssize_t>(body)) {
      // EINVAL and the like (a file system that takes the open but not the write): this
      // file goes buffered from now on, and this write is done that way.
      ::close(d);
      direct_fds_[i] = -1;
      if (!put(f, i, p + head, body, at + head, why)) return false;
    } else {
      direct_bytes_ += body;
    }
    const std::uint64_t tail = n - head - body;
    return tail == 0 || put(f, i, p + head + body, tail, at + head + body, why);
  });
}

bool Storage::read(std::uint64_t offset, std::span<std::uint8_t> out, std::string* why) {
  std::fill(out.begin(), out.end(), std::uint8_t{0});
  return each_part(offset, out.size(), why, [&](std::size_t i, std::uint64_t at, std::uint64_t from, std::uint64_t n) {
    const int f = fd(i, why);
    if (f < 0) return false;
    for (std::uint64_t done = 0; done < n;) {
      const ssize_t r = ::pread(f, out.data() + from + done, n - done, static_cast<off_t>(at + done));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        *why = os_error("read", files_[i].disk_path);
        return false;
      }
      if (r == 0) break;  // short file: the rest stays zeros
      done += static_cast<std::uint64_t>(r);
    }
    return true;
  });
}

bool Storage::sync(std::string* why) {
  for (std::size_t i = 0; i < files_.size(); ++i) {
    if (!dirty_[i]) continue;
    const int f = fd(i, why);
    if (f < 0) return false;
    if (::fdatasync(f) != 0) {
      *why = os_error("sync", files_[i].disk_path);
      return false;
    }
    dirty_[i] = false;
  }
  return true;
}

}  // namespace hf::torrent
