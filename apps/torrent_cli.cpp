#include "apps/torrent_cli.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdio>

#include "apps/cli_checks.hpp"
#include "apps/cli_util.hpp"
#include "hashforge/hex.hpp"
#include "net/torrent/magnet.hpp"

namespace hf::cli {

void PassFlags::add_to(CLI::App* cmd) {
  cmd->add_option("--backend", backend, "Backend for the hashing (see `hashforge backends`); default: the best")
      ->check(check::text(1, 256));
  cmd->add_option("--threads", threads, "Hashing threads (0: every core)")->check(check::whole(0, 1024));
  cmd->add_option("--limit-rate", limit_rate,
                  "Read at most this many bytes a second (100M, 1G), so a long pass leaves the disk to others");
  cmd->add_flag("-q,--quiet", quiet, "No progress on stderr");
  cmd->add_option("--io", io, "mmap: hash large files where the kernel caches them (no copy); read: copy with read()")
      ->check(CLI::IsMember({"mmap", "read"}));
}

void check_torrent_backend(const std::string& name) {
  if (name.empty()) return;
  Engine& e = Engine::instance();
  if (name.find(':') != std::string::npos) e.probe_devices();                 // opencl:N, cuda:N
  if (auto ok = e.choose(Op::hash_sha1, name); !ok) usage_error(ok.error());  // it names the option
}

torrent::PassOptions PassFlags::options() const {
  check_torrent_backend(backend);
  torrent::PassOptions o;
  o.backend = backend;
  o.threads = threads;
  o.use_mmap = io == "mmap";
  if (!limit_rate.empty()) {
    o.rate_limit = parse_size(limit_rate, "--limit-rate");
    if (o.rate_limit == 0) usage_error("--limit-rate: must be above zero");
  }
  return o;
}

std::uint64_t parse_size(const std::string& s, const char* what) {
  std::size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 0 || i > 19) usage_error(std::string(what) + ": not a size: '" + s + "' (say 65536, 256K, 4M or 1G)");
  const std::uint64_t n = std::stoull(s.substr(0, i));
  std::string unit = s.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  int shift = 0;
  if (unit.empty() || unit == "B") shift = 0;
  else if (unit == "K" || unit == "KB" || unit == "KIB") shift = 10;
  else if (unit == "M" || unit == "MB" || unit == "MIB") shift = 20;
  else if (unit == "G" || unit == "GB" || unit == "GIB") shift = 30;
  else if (unit == "T" || unit == "TB" || unit == "TIB") shift = 40;
  else usage_error(std::string(what) + ": unknown unit in '" + s + "' (K, M, G or T)");
  if (shift > 0 && n > (~std::uint64_t{0} >> shift)) usage_error(std::string(what) + ": too large: '" + s + "'");
  return n << shift;
}

std::string resolve_data(const torrent::Metainfo& m, const std::string& data) {
  auto is_dir = [](const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  };
  const std::string inside = data + "/" + m.name;
  if (m.single_file) return is_dir(data) ? inside : data;
  return is_dir(inside) ? inside : data;
}

std::string human_size(std::uint64_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) v /= 1024, ++u;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.2f %s", v, units[u]);
  return buf;
}

torrent::Metainfo load_torrent(const std::string& path) {
  const torrent::MetainfoLimits lim;
  const Bytes raw = read_file(path, lim.max_bytes);
  std::string why;
  auto m = torrent::parse_metainfo(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()), &why, lim);
  if (!m) failure(path + ": " + why);
  return std::move(*m);
}

const char* torrent_kind(const torrent::Metainfo& m) { return m.has_v1 && m.has_v2 ? "hybrid" : m.has_v2 ? "v2" : "v1"; }

std::string file_display_path(const torrent::Metainfo& m, std::size_t file) {
  std::string p = m.name;
  for (const std::string& c : m.files[file].path) p += "/" + c;
  return p;
}

std::string magnet_of(const torrent::Metainfo& m) {
  torrent::Magnet g;
  if (m.has_v1) g.btih = m.info_hash_v1;
  if (m.info_hash_v2) g.btmh = *m.info_hash_v2;
  g.name = m.name;
  for (const auto& tier : m.tracker_tiers)
    for (const std::string& t : tier) g.trackers.push_back(t);
  g.web_seeds = m.web_seeds;
  return torrent::format_magnet(g);
}

PassProgressPrinter::PassProgressPrinter(bool enabled) : enabled_(enabled), tty_(::isatty(STDERR_FILENO)) {}

void PassProgressPrinter::update(const torrent::PassProgress& p) {
  if (!enabled_ || p.total == 0) return;
  const double frac = static_cast<double>(p.done) / static_cast<double>(p.total);
  const double rate = p.seconds > 0 ? static_cast<double>(p.done) / p.seconds : 0;
  const double eta = rate > 0 ? static_cast<double>(p.total - p.done) / rate : 0;
  if (tty_) {
    if (p.seconds - last_ < 0.2 && p.done < p.total) return;
    last_ = p.seconds;
    const int width = 30;
    std::string bar(static_cast<std::size_t>(frac * width), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r[%s] %5.1f%%  %s of %s  %s  ETA %.0fs\033[K", bar.c_str(), 100 * frac,
                 human_size(p.done).c_str(), human_size(p.total).c_str(), si_rate(rate, "B").c_str(), std::ceil(eta));
    drawn_ = true;
  } else {
    if (last_ >= 0 && p.seconds - last_ < 5) return;
    last_ = p.seconds;
    std::fprintf(stderr, "progress: %.1f%% of %s, %s, ETA %.0fs\n", 100 * frac, human_size(p.total).c_str(),
                 si_rate(rate, "B").c_str(), std::ceil(eta));
  }
  std::fflush(stderr);
}

void PassProgressPrinter::finish() {
  if (enabled_ && tty_ && drawn_) std::fprintf(stderr, "\r\033[K");
}

}  // namespace hf::cli
