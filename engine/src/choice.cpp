#include "choice.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cpu_features.hpp"

#ifndef HF_VERSION
#define HF_VERSION "unknown"
#endif

namespace hf::choice {

namespace {
constexpr std::string_view kMagic = "hashforge-choice 1";
constexpr std::size_t kMaxLine = 512;
constexpr std::size_t kMaxRates = 4096;

bool known_task(std::string_view t) {
  if (t == kPairsTask) return true;
  return parse_op(t).has_value();
}

// Backend names as the registry makes them: "avx512", "opencl:0", "cuda:1".
bool plausible_backend(std::string_view b) {
  if (b.empty() || b.size() > 64) return false;
  for (char c : b)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':' || c == '-' || c == '_')) return false;
  return true;
}

std::string hex(unsigned v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%x", v);
  return buf;
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

bool parse_rate(std::string_view s, double* out) {
  if (s.empty() || s.size() > 40) return false;
  std::string copy(s);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(copy.c_str(), &end);
  if (errno || end != copy.c_str() + copy.size()) return false;
  if (!std::isfinite(v) || v < 1e-6 || v > 1e18) return false;  // items a second, never less
  *out = v;
  return true;
}
}  // namespace

std::vector<std::string> all_tasks() {
  std::vector<std::string> t;
  for (Op op : kAllOps) t.emplace_back(op_name(op));
  t.emplace_back(kPairsTask);
  return t;
}

std::string_view unit_of(std::string_view task) {
  if (task == kPairsTask) return "messages/s";
  if (task.starts_with("search-")) return "nonces/s";
  return "bytes/s";
}

double Table::rate(std::string_view task, std::string_view backend) const {
  for (const MeasuredRate& r : rates)
    if (r.task == task && r.backend == backend) return r.rate;
  return 0;
}

std::string machine_key() {
  const CpuFeatures& f = cpu_features();
  std::string k = "vendor=";
  k += f.vendor.empty() ? std::string("unknown") : f.vendor;
  k += " family=";
  k += hex(f.family);
  k += " model=";
  k += hex(f.model);
  k += " stepping=";
  k += hex(f.stepping);
  k += " features=";
  for (unsigned i = 0; i < 5; ++i) {
    if (i) k += '.';
    k += hex(f.raw_features[i]);
  }
  k += " os=";
  k += f.os_avx ? "avx" : "-";
  if (f.os_avx512) k += "+avx512";
  k += " version=" HF_VERSION;
  // Bumped whenever the kernels' relative speeds change within a version (2: the header loop
  // and the clang-built vector kernels; 3: VEX-encoded shani beside shani-sse), so a rate table
  // measured with older kernels is redone.
  k += " kernels=3";
  for (char& c : k)
    if (c < 0x20 || c > 0x7e) c = '?';  // a vendor string is bytes from the CPU
  return k;
}

std::string format(const Table& t) {
  std::string s =
      "# hashforge backend choice: items a second on one thread, per task and backend.\n"
      "# Written by the engine's calibration (hashforge bench --calibrate measures again).\n";
  s += kMagic;
  s += "\nkey " + t.key + "\n";
  for (const MeasuredRate& r : t.rates) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", r.rate);
    s += "rate " + r.task + " " + r.backend + " " + buf + "\n";
  }
  return s;
}

std::optional<Table> parse(std::string_view text, std::string* why) {
  Table t;
  bool magic = false, have_key = false;
  std::size_t lineno = 0;
  auto fail = [&](const std::string& what) -> std::optional<Table> {
    *why = "line " + std::to_string(lineno) + ": " + what;
    return std::nullopt;
  };
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > kMaxLine) return fail("longer than " + std::to_string(kMaxLine) + " bytes");
    for (char c : line)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return fail("a control byte");
    if (line.empty() || line.front() == '#') continue;
    if (!magic) {
      if (line != kMagic) return fail("not a hashforge choice file (expected \"" + std::string(kMagic) + "\")");
      magic = true;
      continue;
    }
    if (line.starts_with("key ")) {
      if (have_key) return fail("a second key");
      t.key = std::string(line.substr(4));
      have_key = true;
      continue;
    }
    const auto f = fields(line);
    if (f.empty()) continue;
    if (f[0] != "rate") return fail("unknown entry \"" + std::string(f[0].substr(0, 32)) + "\"");
    if (f.size() != 4) return fail("a rate needs a task, a backend and a number");
    if (!known_task(f[1])) return fail("unknown task \"" + std::string(f[1].substr(0, 32)) + "\"");
    if (!plausible_backend(f[2])) return fail("not a backend name");
    double v = 0;
    if (!parse_rate(f[3], &v)) return fail("the rate is not a positive number");
    if (t.rate(f[1], f[2]) != 0) return fail("a second rate for " + std::string(f[1]) + " on " + std::string(f[2]));
    if (t.rates.size() >= kMaxRates) return fail("too many rates");
    t.rates.push_back({std::string(f[1]), std::string(f[2]), v, std::string(unit_of(f[1]))});
  }
  if (!magic) {
    *why = "empty: not a hashforge choice file";
    return std::nullopt;
  }
  return t;
}

std::optional<Table> load(const std::string& path, std::string* why, bool* unreadable) {
  constexpr std::size_t kMaxChoiceFile = 256 * 1024;
  auto text = read_small_file(path, kMaxChoiceFile, why);
  if (unreadable) *unreadable = !text;
  return text ? parse(*text, why) : std::nullopt;
}

std::string cache_path() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg && *xdg == '/') return std::string(xdg) + "/hashforge/backend-choice";
  const char* home = std::getenv("HOME");
  if (home && *home == '/') return std::string(home) + "/.cache/hashforge/backend-choice";
  return {};
}

std::optional<std::string> read_small_file(const std::string& path, std::size_t max_bytes, std::string* why) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *why = std::strerror(errno);
    return std::nullopt;
  }
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *why = std::strerror(errno);
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > max_bytes) {
      *why = "larger than " + std::to_string(max_bytes) + " bytes";
      ::close(fd);
      return std::nullopt;
    }
  }
  ::close(fd);
  return out;
}

namespace {
bool make_dirs(const std::string& dir, std::string* why) {
  for (std::size_t i = 1; i <= dir.size(); ++i) {
    if (i != dir.size() && dir[i] != '/') continue;
    const std::string part = dir.substr(0, i);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
      *why = "cannot make " + part + ": " + std::strerror(errno);
      return false;
    }
  }
  return true;
}
}  // namespace

bool write_file_atomically(const std::string& path, const std::string& text, std::string* why) {
  const std::size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0 && !make_dirs(path.substr(0, slash), why)) return false;
  // Unique per process and call: two writers never share a temporary file.
  static std::atomic<unsigned> serial{0};
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(serial++);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    *why = "cannot write " + tmp + ": " + std::strerror(errno);
    return false;
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *why = "cannot write " + tmp + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const int sync_errno = errno;
  if (::close(fd) != 0 || !synced) {
    *why = "cannot write " + tmp + ": " + std::strerror(synced ? errno : sync_errno);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    *why = "cannot rename to " + path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace hf::choice
