#include "net/torrent/storage.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
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
  return each_part(offset, data.size(), why, [&](std::size_t i, std::uint64_t at, std::uint64_t from, std::uint64_t n) {
    const int f = fd(i, why);
    if (f < 0) return false;
    for (std::uint64_t done = 0; done < n;) {
      const ssize_t w = ::pwrite(f, data.data() + from + done, n - done, static_cast<off_t>(at + done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        *why = os_error("write", files_[i].disk_path);
        return false;
      }
      done += static_cast<std::uint64_t>(w);
    }
    dirty_[i] = true;
    return true;
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
