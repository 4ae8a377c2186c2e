#include "net/io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <vector>

namespace hf::netio {

namespace fs = std::filesystem;

namespace {

fs::path dir_of(const fs::path& target) { return target.has_parent_path() ? target.parent_path() : fs::path("."); }

fs::path temp_beside(const fs::path& target) {
  std::random_device rd;
  // In steps: GCC 12 sees a false overlap (-Wrestrict) in the + chain once this is inlined.
  std::string name = ".";
  name += target.filename().string();
  name += ".tmp";
  name += std::to_string(rd());
  return dir_of(target) / name;
}

}  // namespace

namespace {

// A standard stream named as the output (/dev/stdout, /dev/fd/N, /proc/self/fd/N): its
// descriptor, written to as it is, so a redirect to a file (> or >>) keeps working as the
// shell set it up; -1 for any other path.
int named_descriptor(const std::string& path) {
  if (path == "/dev/stdout") return 1;
  if (path == "/dev/stderr") return 2;
  for (const std::string prefix : {"/dev/fd/", "/proc/self/fd/"}) {
    if (path.rfind(prefix, 0) != 0) continue;
    const std::string n = path.substr(prefix.size());
    if (n.empty() || n.size() > 4 || n.find_first_not_of("0123456789") != std::string::npos) return -1;
    return std::stoi(n);
  }
  return -1;
}

// Where a write to `path` lands. A symbolic link the user owns is followed (the link stays,
// the file it names gets the data), a dangling one too (the file is made there). One owned by
// someone else is not: in a shared folder (/tmp) it could name any of the user's files, so
// the link itself is what is replaced (and a sticky folder refuses that).
fs::path resolve(const std::string& path) {
  fs::path p = path;
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode) || st.st_uid != ::geteuid()) return p;
    std::error_code ec;
    const fs::path to = fs::read_symlink(p, ec);
    if (ec) return p;
    p = to.is_absolute() ? to : dir_of(p) / to;
  }
  return p;
}

bool write_all(int fd, std::initializer_list<ByteView> parts) {
  for (const ByteView& p : parts) {
    std::size_t at = 0;
    while (at < p.size()) {
      const ssize_t n = ::write(fd, p.data() + at, p.size() - at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (n == 0) errno = EIO;
        return false;
      }
      at += static_cast<std::size_t>(n);
    }
  }
  return true;
}

// A device, pipe or socket named as the output (a FIFO, /dev/null) is written in place: there
// is no file to keep whole, and renaming over it would put a file where it was.
bool write_in_place(const fs::path& target, std::initializer_list<ByteView> parts, std::string* why) {
  auto fail = [&](const char* what, int err) {
    why->assign(target.string());
    why->append(what);
    why->append(std::strerror(err));
    return false;
  };
  const int fd = ::open(target.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return fail(": ", errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
    ::close(fd);
    // It became a file between the look and the open: not written over.
    why->assign(target.string() + ": changed while being opened (now a file or folder)");
    return false;
  }
  if (!write_all(fd, parts)) {
    const int err = errno;
    ::close(fd);
    return fail(": write failed: ", err);
  }
  if (::close(fd) != 0) return fail(": write failed: ", errno);
  return true;
}

bool exists_not_regular(const fs::path& target) {
  std::error_code ec;
  const fs::file_status st = fs::status(target, ec);
  return !ec && fs::exists(st) && !fs::is_regular_file(st) && !fs::is_directory(st);
}

}  // namespace

bool write_file_atomic(const std::string& path, std::initializer_list<ByteView> parts, std::string* why,
                       unsigned mode) {
  if (const int fd = named_descriptor(path); fd >= 0) {
    if (fd == 1) std::fflush(stdout);  // what was printed before comes first
    if (write_all(fd, parts)) return true;
    *why = path + ": write failed: " + std::strerror(errno);
    return false;
  }
  const fs::path target = resolve(path);
  if (exists_not_regular(target)) return write_in_place(target, parts, why);
  const fs::path tmp = temp_beside(target);
  const mode_t create_mode = static_cast<mode_t>(mode & 0666);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, create_mode);
  if (fd < 0) {
    *why = path + ": cannot create a file in " + dir_of(target).string() + ": " + std::strerror(errno);
    return false;
  }
  // A file written over keeps its permissions (a user's chmod holds across rewrites), never
  // wider than `mode` allows; its execute bits stay as they were. lstat: a link left here is
  // someone else's (resolve() followed the user's own) and is replaced like a new file, so
  // the permissions of whatever it names (0777, say) are never taken.
  bool ok = true;
  if (struct stat old{}; ::lstat(target.c_str(), &old) == 0 && S_ISREG(old.st_mode))
    ok = ::fchmod(fd, old.st_mode & 0777 & (create_mode | 0111)) == 0;
  ok = ok && write_all(fd, parts) && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  std::error_code ec, cleanup;
  if (!ok) {
    fs::remove(tmp, cleanup);
    *why = path + ": write failed: " + std::strerror(err);
    return false;
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    // The cleanup has its own error code: the reason shown is the rename's.
    fs::remove(tmp, cleanup);
    *why = path + ": cannot replace: " + ec.message();
    return false;
  }
  return true;
}

bool check_writable(const std::string& path, std::string* why) {
  if (const int fd = named_descriptor(path); fd >= 0) {
    const int fl = ::fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_ACCMODE) != O_RDONLY) return true;
    *why = path + ": " + (fl < 0 ? std::strerror(errno) : "not open for writing");
    return false;
  }
  const fs::path target = resolve(path);
  std::error_code ec;
  if (fs::is_directory(target, ec)) {
    *why = path + ": is a directory";
    return false;
  }
  if (exists_not_regular(target)) {
    if (::access(target.c_str(), W_OK) == 0) return true;
    *why = path + ": " + std::strerror(errno);
    return false;
  }
  const fs::path tmp = temp_beside(target);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    *why = path + ": cannot create a file in " + dir_of(target).string() + ": " + std::strerror(errno);
    return false;
  }
  ::close(fd);
  ::unlink(tmp.c_str());
  return true;
}

std::string size_text(std::size_t bytes) {
  if (bytes >= (1u << 30) && bytes % (1u << 30) == 0) return std::to_string(bytes >> 30) + " GiB";
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= (1u << 10) && bytes % (1u << 10) == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

namespace {
// Reads into buf[*got, buf.size()) until it is full or the input ends; false with *why on a
// read error.
bool fill(int fd, Bytes& buf, std::size_t* got, const std::string& path, std::string* why) {
  while (*got < buf.size()) {
    const ssize_t n = ::read(fd, buf.data() + *got, buf.size() - *got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *why = path + ": " + std::strerror(errno);
      return false;
    }
    if (n == 0) break;
    *got += static_cast<std::size_t>(n);
  }
  return true;
}
}  // namespace

std::optional<Bytes> read_file(const std::string& path, std::size_t max_bytes, std::string* why, std::size_t spare) {
  const auto too_large = [&] {
    *why = path + ": larger than " + size_text(max_bytes) + ", the limit for this file";
    return std::nullopt;
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *why = path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    *why = path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  if (S_ISDIR(st.st_mode)) {
    *why = path + ": is a directory";
    return std::nullopt;
  }
  // The byte after the cap: reading it proves the input is too large.
  const std::size_t limit = max_bytes < SIZE_MAX ? max_bytes + 1 : max_bytes;
  Bytes data;
  std::size_t got = 0;
  if (S_ISREG(st.st_mode)) {
    if (static_cast<std::uint64_t>(st.st_size) > max_bytes) return too_large();
    // A buffer of the file's size and one byte more, so the end shows without growing it,
    // with the caller's spare room reserved.
    data.reserve(static_cast<std::size_t>(st.st_size) + 1 + spare);
    data.resize(static_cast<std::size_t>(st.st_size) + 1);
    if (!fill(fd, data, &got, path, why)) return std::nullopt;
    if (got < data.size()) {
      data.resize(got);
      return data;
    }
    if (got > max_bytes) return too_large();
    data.resize(got);  // the file grew while read: go on in pieces
  }
  // Devices, pipes, and a file that grew: 1 MiB pieces joined at the end, so that what is
  // held never exceeds the cap plus one piece (a doubling buffer would hold 1.5 times it).
  std::vector<Bytes> pieces;
  std::size_t total = got;
  if (got) pieces.push_back(std::move(data));
  for (;;) {
    if (total >= limit) return too_large();
    Bytes piece(std::min<std::size_t>(std::size_t{1} << 20, limit - total));
    std::size_t n = 0;
    if (!fill(fd, piece, &n, path, why)) return std::nullopt;
    total += n;
    if (total > max_bytes) return too_large();
    const bool end = n < piece.size();
    piece.resize(n);
    if (n) pieces.push_back(std::move(piece));
    if (end) break;
  }
  Bytes out;
  out.reserve(total + spare);
  for (Bytes& p : pieces) {
    out.insert(out.end(), p.begin(), p.end());
    Bytes().swap(p);  // freed as it is copied: the join costs one piece, not a second copy
  }
  return out;
}

}  // namespace hf::netio
