#include "apps/cli_checks.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "net/io/connect.hpp"
#include "net/io/stream.hpp"
#include "net/mining/file_task.hpp"
#include "net/worker/seed_client.hpp"

namespace hf::cli::check {

namespace {

std::string num_text(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.10g", v);
  return b;
}

// strtod over the whole string; CLI11 converts the same text afterwards.
bool to_double(const std::string& s, double* v) {
  if (s.empty()) return false;
  char* end = nullptr;
  *v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

std::string range_text(double lo, double hi, bool open_lo) {
  return (open_lo ? "(" : "[") + num_text(lo) + ", " + num_text(hi) + "]";
}

// A port a client can connect to: 1..65535 (split_host_port has checked the digits).
bool port_usable(const std::string& port) { return std::strtoul(port.c_str(), nullptr, 10) != 0; }

}  // namespace

CLI::Validator seconds(double lo, double hi, bool open_lo, bool zero_ok) {
  const std::string want = std::string(zero_ok ? "0 or " : "") + range_text(lo, hi, open_lo) + " seconds";
  return CLI::Validator(
      [=](std::string& s) -> std::string {
        double v = 0;
        if (!to_double(s, &v) || !std::isfinite(v)) return "must be " + want + ", not '" + s + "'";
        if (zero_ok && v == 0) return {};
        if (v < lo || v > hi || (open_lo && v == lo)) return "must be " + want + ", not '" + s + "'";
        return {};
      },
      want, "SECONDS");
}

CLI::Validator number(double lo, double hi, bool open_lo) {
  const std::string want = range_text(lo, hi, open_lo);
  return CLI::Validator(
      [=](std::string& s) -> std::string {
        double v = 0;
        if (!to_double(s, &v) || !std::isfinite(v) || v < lo || v > hi || (open_lo && v == lo))
          return "must be a number in " + want + ", not '" + s + "'";
        return {};
      },
      want, "NUMBER");
}

CLI::Validator positive() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        double v = 0;
        if (!to_double(s, &v) || !std::isfinite(v) || !(v > 0)) return "must be a positive number, not '" + s + "'";
        return {};
      },
      "> 0", "NUMBER");
}

CLI::Validator whole(std::uint64_t lo, std::uint64_t hi) {
  const std::string want = std::to_string(lo) + ".." + std::to_string(hi);
  return CLI::Validator(
      [=](std::string& s) -> std::string {
        const std::string bad = "must be a whole number " + want + ", not '" + s + "'";
        if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos) return bad;
        errno = 0;
        const unsigned long long v = std::strtoull(s.c_str(), nullptr, 10);
        if (errno == ERANGE || v < lo || v > hi) return bad;
        return {};
      },
      want, "WHOLE");
}

CLI::Validator text(std::size_t lo, std::size_t hi) {
  return CLI::Validator(
      [=](std::string& s) -> std::string {
        if (s.size() < lo) return lo == 1 ? "must not be empty" : "must be at least " + std::to_string(lo) + " bytes";
        if (s.size() > hi) return "must be at most " + std::to_string(hi) + " bytes";
        return {};
      },
      "", "TEXT");
}

CLI::Validator identifier() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        std::string why;
        return mining::valid_identifier(s, &why) ? std::string() : why;
      },
      "", "ID");
}

namespace {
std::string check_listen(const std::string& where) {
  std::string host, port, why;
  if (!netio::split_host_port(where, &host, &port, &why)) return why + " (want ADDRESS:PORT, port 0..65535)";
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (ec) return "'" + host + "' is not an IP address (want ADDRESS:PORT)";
  return {};
}
}  // namespace

CLI::Validator listen_address() {
  return CLI::Validator([](std::string& s) { return check_listen(s); }, "", "ADDRESS:PORT");
}

CLI::Validator seed_listen_address() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        // As the plain protocol's server reads it: PORT, HOST: (port 50010) or HOST:PORT.
        std::string full = s;
        if (s.find(':') == std::string::npos)
          full = "0.0.0.0:" + (s.empty() ? std::string("50010") : s);
        else if (s.back() == ':')
          full = s + "50010";
        return check_listen(full);
      },
      "", "[HOST:]PORT");
}

CLI::Validator connect_address() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        std::string host, port, why;
        if (s.empty() || s[0] == ':' || !netio::split_host_port(s, &host, &port, &why) || !port_usable(port))
          return "'" + s + "' is not HOST:PORT with a port 1..65535";
        if (host.find_first_of("/[] \t") != std::string::npos) return "'" + host + "' is not a host name or address";
        return {};
      },
      "", "HOST:PORT");
}

CLI::Validator pool_url(bool with_seed) {
  return CLI::Validator(
      [=](std::string& s) -> std::string {
        std::string why;
        if (with_seed && s.rfind("seed://", 0) == 0) {
          auto u = worker::parse_seed_url(s, &why);
          if (!u) return why;
          if (!port_usable(u->port)) return "'" + s + "' has a bad port (1..65535)";
          return {};
        }
        return netio::parse_pool_url(s, &why) ? std::string() : why;
      },
      "", "URL");
}

}  // namespace hf::cli::check
