#include "apps/cli_util.hpp"

#include "net/io/printable.hpp"

#include "net/io/atomic_file.hpp"

#include <unistd.h>

#include <boost/json.hpp>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <random>

namespace hf::cli {

Bytes read_file(const std::string& path, std::size_t max_bytes, std::size_t spare) {
  std::string why;
  auto data = netio::read_file(path, max_bytes, &why, spare);
  if (!data) failure(why);
  return std::move(*data);
}

void write_file_atomic(const std::string& path, std::initializer_list<ByteView> parts, unsigned mode) {
  std::string why;
  if (!netio::write_file_atomic(path, parts, &why, mode)) failure(why);
}

std::uint64_t parse_u64(const std::string& s, const char* what) {
  if (s.empty()) usage_error(std::string(what) + ": empty number");
  const bool hex = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  std::size_t pos = 0;
  unsigned long long v = 0;
  try {
    for (char c : s)
      if (c == '-' || c == '+' || std::isspace(static_cast<unsigned char>(c))) throw std::invalid_argument("sign");
    v = std::stoull(hex ? s.substr(2) : s, &pos, hex ? 16 : 10);
  } catch (const std::exception&) {
    usage_error(std::string(what) + ": not a non-negative integer: '" + s + "'");
  }
  if (pos != (hex ? s.size() - 2 : s.size())) usage_error(std::string(what) + ": not a number: '" + s + "'");
  return v;
}

double parse_double(const std::string& s, const char* what) {
  std::size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(s, &pos);
  } catch (const std::exception&) {
    usage_error(std::string(what) + ": not a number: '" + s + "'");
  }
  if (pos != s.size() || !std::isfinite(v)) usage_error(std::string(what) + ": not a number: '" + s + "'");
  return v;
}

namespace {
// Strings from outside (names in a .torrent, a magnet's dn) need not be UTF-8; JSON text
// must be. Only strings that are not are copied.
void make_valid_utf8(boost::json::value& v) {
  if (auto* str = v.if_string()) {
    const std::string_view sv(*str);
    std::string fixed = netio::valid_utf8(sv);
    if (fixed != sv) *str = fixed;
  } else if (auto* arr = v.if_array()) {
    for (auto& e : *arr) make_valid_utf8(e);
  } else if (auto* obj = v.if_object()) {
    for (auto& kv : *obj) make_valid_utf8(kv.value());
  }
}
}  // namespace

std::string json_text(const boost::json::value& v) {
  boost::json::value copy = v;
  make_valid_utf8(copy);
  return boost::json::serialize(copy);
}

void print_json(const boost::json::value& v) { std::cout << json_text(v) << "\n"; }

std::string si_rate(double v, const char* unit) {
  const char* prefixes[] = {"", "k", "M", "G", "T"};
  int i = 0;
  while (v >= 1000 && i < 4) {
    v /= 1000;
    ++i;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f %s%s/s", v, prefixes[i], unit);
  return buf;
}

ProgressPrinter::ProgressPrinter(bool enabled, const char* unit)
    : enabled_(enabled), tty_(::isatty(STDERR_FILENO)), unit_(unit) {}

void ProgressPrinter::update(const Progress& p, const std::string& extra) {
  if (!enabled_) return;
  const double frac = p.total ? static_cast<double>(p.done) / static_cast<double>(p.total) : 0;
  if (tty_) {
    const int width = 30;
    const int fill = static_cast<int>(frac * width);
    std::string bar(static_cast<std::size_t>(fill), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r[%s] %5.1f%%  %s  %.1fs  %s\033[K", bar.c_str(), 100 * frac, si_rate(p.rate, unit_).c_str(),
                 p.seconds, extra.c_str());
    drawn_ = true;
  } else if (p.seconds - last_plain_ >= 5 || last_plain_ < 0) {
    last_plain_ = p.seconds;
    std::fprintf(stderr, "progress: %llu done (%.1f%%), %s, %.1fs%s%s\n", static_cast<unsigned long long>(p.done),
                 100 * frac, si_rate(p.rate, unit_).c_str(), p.seconds, extra.empty() ? "" : " ", extra.c_str());
  }
  std::fflush(stderr);
}

void ProgressPrinter::finish() {
  if (enabled_ && tty_ && drawn_) std::fprintf(stderr, "\r\033[K");
}

}  // namespace hf::cli
