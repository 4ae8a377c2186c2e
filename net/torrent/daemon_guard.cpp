#include "net/torrent/daemon_guard.hpp"

#include <algorithm>

namespace hf::torrent {

namespace {

http::Response refuse(int status, std::string_view why) {
  auto r = http::Response::json("{\"error\":\"" + std::string(why) + "\"}", status);
  r.headers.set("Cache-Control", "no-store");
  return r;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

}  // namespace

bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::vector<std::string> loopback_hosts(unsigned port) {
  std::string p = std::to_string(port);
  p.insert(p.begin(), ':');
  std::vector<std::string> out;
  for (const char* h : {"127.0.0.1", "localhost", "[::1]"}) {
    std::string x = h;
    x += p;
    out.push_back(std::move(x));
  }
  return out;
}

std::optional<http::Response> ApiGuard::check(const http::Request& req, bool needs_token) const {
  const auto host = req.header("Host");
  const std::string h = host ? lower(*host) : std::string();
  if (h.empty() || std::none_of(hosts.begin(), hosts.end(), [&](const std::string& a) { return lower(a) == h; }))
    return refuse(403, "this Host is not one the daemon answers to");
  if (const auto origin = req.header("Origin")) {
    const std::string o = lower(*origin);
    const bool ok = std::any_of(hosts.begin(), hosts.end(), [&](const std::string& a) {
      const std::string h = lower(a);
      for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
        if (o.size() == scheme.size() + h.size() && o.compare(0, scheme.size(), scheme) == 0 &&
            o.compare(scheme.size(), std::string::npos, h) == 0)
          return true;
      }
      return false;
    });
    if (!ok) return refuse(403, "requests from other sites' pages are refused (Origin)");
  }
  if (!needs_token) return std::nullopt;
  std::string_view given;
  if (const auto t = req.header("X-Hashforge-Token")) {
    given = *t;
  } else if (const auto a = req.header("Authorization"); a && a->size() > 7 && lower(a->substr(0, 7)) == "bearer ") {
    given = a->substr(7);
  }
  if (given.empty()) return refuse(401, "the API token is missing (X-Hashforge-Token)");
  if (!same_secret(given, token)) return refuse(401, "wrong API token");
  return std::nullopt;
}

std::optional<std::string> jail_path(const std::string& root, std::string_view sub, std::string* why) {
  if (sub.find('\0') != std::string_view::npos || sub.find('\\') != std::string_view::npos) {
    *why = "a folder name with a NUL or a backslash";
    return std::nullopt;
  }
  if (!sub.empty() && sub.front() == '/') {
    *why = "an absolute folder: folders are relative to the daemon's root";
    return std::nullopt;
  }
  std::string out = root;
  std::size_t at = 0;
  while (at <= sub.size() && !sub.empty()) {
    const std::size_t slash = std::min(sub.find('/', at), sub.size());
    const std::string_view part = sub.substr(at, slash - at);
    if (part.empty() || part == "." || part == "..") {
      *why = "a folder outside the daemon's root (\"..\", \".\" or an empty component)";
      return std::nullopt;
    }
    if (at == 0 && part == ".hashforge") {
      *why = "the daemon's own folder (.hashforge)";
      return std::nullopt;
    }
    out += '/';
    out.append(part);
    at = slash + 1;
    if (slash == sub.size()) break;
  }
  return out;
}

}  // namespace hf::torrent
