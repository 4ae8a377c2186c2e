#include "net/http/assets.hpp"

namespace hf::http {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

std::string_view content_type_for(std::string_view path) {
  struct Type {
    std::string_view ext, type;
  };
  static constexpr Type types[] = {
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".json", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".wasm", "application/wasm"},
      {".woff2", "font/woff2"},
      {".xml", "application/xml"},
  };
  const std::size_t slash = path.rfind('/');
  const std::size_t dot = path.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash))
    return "application/octet-stream";
  const std::string_view ext = path.substr(dot);
  for (const Type& t : types)
    if (iequals(ext, t.ext)) return t.type;
  return "application/octet-stream";
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  std::size_t pos = 0;
  while (pos <= if_none_match.size()) {
    std::size_t comma = if_none_match.find(',', pos);
    if (comma == std::string_view::npos) comma = if_none_match.size();
    std::string_view tag = trim(if_none_match.substr(pos, comma - pos));
    pos = comma + 1;
    if (tag == "*") return true;
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);  // If-None-Match compares weakly
    if (!tag.empty() && tag == etag) return true;
  }
  return false;
}

const Asset* AssetTable::find(std::string_view path) const {
  for (const Asset& a : assets_)
    if (a.path == path) return &a;
  return nullptr;
}

Response AssetTable::serve(const Request& req, const Asset& a) const {
  Response res;
  res.content_type = std::string(content_type_for(a.path));
  res.headers.add("ETag", std::string(a.etag));
  res.headers.add("Cache-Control", cache_control_);
  if (auto inm = req.header("If-None-Match"); inm && etag_matches(*inm, a.etag)) {
    res.status = 304;
    return res;
  }
  res.static_body = a.data;
  return res;
}

void AssetTable::add_routes(Router& router, std::string_view prefix) const {
  for (const Asset& a : assets_) {
    router.get(std::string(prefix) + std::string(a.path), [this, &a](const Request& r) { return serve(r, a); });
    if (a.path == "/index.html")
      router.get(std::string(prefix) + "/", [this, &a](const Request& r) { return serve(r, a); });
  }
}

}  // namespace hf::http
