#include "net/torrent/web_seed.hpp"

#include <algorithm>
#include <charconv>

namespace hf::torrent {

namespace {

// RFC 3986 unreserved characters stay; everything else (including '/' inside a component)
// is %XX.
std::string encode_component(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool to_u64(std::string_view s, std::uint64_t* out) {
  s = trim(s);
  if (s.empty() || s.size() > 19) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string web_seed_file_url(std::string_view base, const Metainfo& m, std::size_t file) {
  std::string url(base);
  if (m.single_file) {
    if (!url.empty() && url.back() == '/') url += encode_component(m.name);
    return url;
  }
  if (url.empty() || url.back() != '/') url += '/';
  url += encode_component(m.name);
  for (const auto& c : m.files[file].path) {
    url += '/';
    url += encode_component(c);
  }
  return url;
}

std::vector<WebSpan> web_spans(const Metainfo& m, std::uint64_t offset, std::uint64_t length) {
  std::vector<WebSpan> out;
  std::uint64_t at = offset;
  const std::uint64_t end = offset + length;
  // The files are sorted by offset; the first that ends after `at`.
  auto it = std::upper_bound(m.files.begin(), m.files.end(), at,
                             [](std::uint64_t v, const FileEntry& f) { return v < f.offset + f.length; });
  auto zeros = [&](std::uint64_t n) {
    if (n == 0) return;
    if (!out.empty() && out.back().file == WebSpan::npos) out.back().length += n;
    else out.push_back({WebSpan::npos, 0, n});
  };
  for (; at < end && it != m.files.end(); ++it) {
    const FileEntry& f = *it;
    if (f.length == 0) continue;
    if (f.offset > at) {  // a v2 gap before this file
      const std::uint64_t gap = std::min(end, f.offset) - at;
      zeros(gap);
      at += gap;
      if (at >= end) break;
    }
    const std::uint64_t n = std::min(end, f.offset + f.length) - at;
    if (f.pad) zeros(n);
    else out.push_back({static_cast<std::size_t>(it - m.files.begin()), at - f.offset, n});
    at += n;
  }
  zeros(end - at);  // past the last file: the padded tail of a v2 stream
  return out;
}

std::optional<HttpHead> parse_http_head(std::string_view head, std::string* why) {
  if (head.size() > 8192) {
    *why = "a reply head over 8 KiB";
    return std::nullopt;
  }
  HttpHead h;
  std::size_t eol = head.find("\r\n");
  if (eol == std::string_view::npos) {
    *why = "no status line";
    return std::nullopt;
  }
  const std::string_view status = head.substr(0, eol);
  if (status.rfind("HTTP/1.", 0) != 0 || status.size() < 12 || status[8] != ' ') {
    *why = "not an HTTP/1.x reply";
    return std::nullopt;
  }
  std::uint64_t code = 0;
  if (!to_u64(status.substr(9, 3), &code) || code < 100 || code > 599) {
    *why = "a bad status code";
    return std::nullopt;
  }
  h.status = static_cast<int>(code);
  h.keep_alive = status[7] == '1';
  std::size_t at = eol + 2;
  while (at < head.size()) {
    eol = head.find("\r\n", at);
    if (eol == std::string_view::npos) eol = head.size();
    const std::string_view line = head.substr(at, eol - at);
    at = eol + 2;
    if (line.empty()) break;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      *why = "a header line without a colon";
      return std::nullopt;
    }
    const std::string name = lower(trim(line.substr(0, colon)));
    const std::string_view value = trim(line.substr(colon + 1));
    if (name == "content-length") {
      std::uint64_t n = 0;
      if (!to_u64(value, &n)) {
        *why = "a bad Content-Length";
        return std::nullopt;
      }
      h.content_length = n;
    } else if (name == "content-range") {
      // bytes FROM-TO/TOTAL
      const std::string v = lower(value);
      const std::size_t dash = v.find('-'), slash = v.find('/');
      std::uint64_t from = 0, to = 0;
      if (v.rfind("bytes ", 0) != 0 || dash == std::string::npos || slash == std::string::npos || slash < dash ||
          !to_u64(std::string_view(v).substr(6, dash - 6), &from) ||
          !to_u64(std::string_view(v).substr(dash + 1, slash - dash - 1), &to) || to < from) {
        *why = "a bad Content-Range";
        return std::nullopt;
      }
      h.range_from = from;
      h.range_to = to;
    } else if (name == "transfer-encoding") {
      h.chunked = lower(value).find("chunked") != std::string::npos;
    } else if (name == "connection") {
      const std::string v = lower(value);
      if (v.find("close") != std::string::npos) h.keep_alive = false;
      if (v.find("keep-alive") != std::string::npos) h.keep_alive = true;
    } else if (name == "location") {
      h.location = std::string(value);
    }
  }
  return h;
}

std::string web_range_request(std::string_view host_header, std::string_view target, std::uint64_t from,
                              std::uint64_t length) {
  std::string r = "GET ";
  r.append(target);
  r += " HTTP/1.1\r\nHost: ";
  r.append(host_header);
  r += "\r\nUser-Agent: hashforge/0.1\r\nAccept-Encoding: identity\r\nRange: bytes=";
  r += std::to_string(from);
  r += '-';
  r += std::to_string(from + length - 1);
  r += "\r\n\r\n";
  return r;
}

}  // namespace hf::torrent
