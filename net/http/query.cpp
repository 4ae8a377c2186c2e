#include "net/http/query.hpp"

namespace hf::http {

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool percent_decode(std::string_view in, std::string* out, bool plus_is_space) {
  out->clear();
  out->reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

bool parse_query(std::string_view query, Params* out, std::size_t max_params) {
  std::size_t pos = 0;
  while (pos <= query.size()) {
    std::size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    const std::string_view piece = query.substr(pos, amp - pos);
    pos = amp + 1;
    if (piece.empty()) continue;
    if (out->size() >= max_params) return false;
    const std::size_t eq = piece.find('=');
    std::string k, v;
    if (!percent_decode(piece.substr(0, eq), &k, true)) return false;
    if (eq != std::string_view::npos && !percent_decode(piece.substr(eq + 1), &v, true)) return false;
    out->emplace_back(std::move(k), std::move(v));
  }
  return true;
}

bool split_target(std::string_view target, std::string* path, std::string_view* query, std::string* why) {
  *query = {};
  if (target == "*") {
    *path = '*';  // a char, not a string literal: GCC 12 warns falsely (-Wrestrict) on the latter
    return true;
  }
  // Absolute form: drop "scheme://authority"; the Host header is not consulted for routing.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() && iequals(target.substr(0, scheme.size()), scheme)) {
      target.remove_prefix(scheme.size());
      const std::size_t slash = target.find_first_of("/?");
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
      if (!target.empty() && target[0] == '?') {
        *query = target.substr(1);
        *path = '/';
        return true;
      }
      break;
    }
  }
  if (target.empty() || target[0] != '/') {
    *why = "the request target is not a path";
    return false;
  }
  // A fragment never belongs in a request; be lenient and ignore it.
  if (const std::size_t hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  const std::size_t q = target.find('?');
  if (q != std::string_view::npos) {
    *query = target.substr(q + 1);
    target = target.substr(0, q);
  }
  if (!percent_decode(target, path, false)) {
    *why = "bad percent-encoding in the path";
    return false;
  }
  if (path->find('\0') != std::string::npos) {
    *why = "NUL byte in the path";
    return false;
  }
  return true;
}

}  // namespace hf::http
