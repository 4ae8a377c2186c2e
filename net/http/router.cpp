#include "net/http/router.hpp"

#include <stdexcept>

namespace hf::http {

namespace {

bool is_param(std::string_view seg) { return seg.size() >= 2 && seg.front() == '{' && seg.back() == '}'; }

// The next '/'-separated segment of `path` at *pos (which points just past a '/').
std::string_view next_segment(std::string_view path, std::size_t* pos) {
  const std::size_t end = std::min(path.find('/', *pos), path.size());
  const std::string_view seg = path.substr(*pos, end - *pos);
  *pos = end + 1;
  return seg;
}

void add_allowed(std::string* allow, std::string_view method) {
  // Small lists: a linear scan keeps the order methods were added in.
  std::size_t pos = 0;
  while (pos < allow->size()) {
    std::size_t comma = allow->find(", ", pos);
    if (comma == std::string::npos) comma = allow->size();
    if (std::string_view(*allow).substr(pos, comma - pos) == method) return;
    pos = comma + 2;
  }
  if (!allow->empty()) *allow += ", ";
  *allow += method;
}

}  // namespace

Router& Router::add(std::string_view method, std::string_view pattern, Handler h) {
  if (pattern.empty() || pattern[0] != '/') throw std::invalid_argument("route pattern must start with '/'");
  if (method.empty()) throw std::invalid_argument("route method is empty");
  Route r;
  r.method = std::string(method);
  r.handler = std::move(h);
  const std::size_t index = routes_.size();
  if (pattern.find_first_of("{}*") == std::string_view::npos) {
    routes_.push_back(std::move(r));
    exact_[std::string(pattern)].push_back(index);
    return *this;
  }
  std::size_t pos = 1;
  while (pos <= pattern.size()) {
    const std::string_view seg = next_segment(pattern, &pos);
    if (seg == "*") {
      if (pos <= pattern.size()) throw std::invalid_argument("'*' must be the last segment of a route pattern");
      r.rest = true;
      break;
    }
    const bool braces = seg.find_first_of("{}") != std::string_view::npos;
    if (seg.find('*') != std::string_view::npos || (braces && (!is_param(seg) || seg.size() == 2)) ||
        (braces && seg.substr(1, seg.size() - 2).find_first_of("{}") != std::string_view::npos))
      throw std::invalid_argument("bad route pattern segment '" + std::string(seg) + "'");
    r.segments.emplace_back(seg);
  }
  routes_.push_back(std::move(r));
  patterns_.push_back(index);
  return *this;
}

bool Router::match(const Route& r, std::string_view path, Params* params) {
  if (path.empty() || path[0] != '/') return false;
  std::size_t pos = 1;
  for (const std::string& want : r.segments) {
    if (pos > path.size()) return false;
    const std::string_view seg = next_segment(path, &pos);
    if (is_param(want)) {
      if (seg.empty()) return false;
      params->emplace_back(want.substr(1, want.size() - 2), std::string(seg));
    } else if (seg != want) {
      return false;
    }
  }
  if (r.rest) {
    if (pos > path.size()) return false;  // "/static/*" needs at least "/static/"
    params->emplace_back("*", std::string(path.substr(pos)));
    return true;
  }
  return pos == path.size() + 1;  // every segment used
}

Response Router::route(Request& req) const {
  const Route* chosen = nullptr;
  const Route* get_fallback = nullptr;
  std::string allow;
  const bool head = req.method == "HEAD";
  auto consider = [&](const Route& r) {
    add_allowed(&allow, r.method);
    if (r.method == "GET") add_allowed(&allow, "HEAD");
    if (!chosen && r.method == req.method) return chosen = &r, true;
    if (head && !get_fallback && r.method == "GET") get_fallback = &r;
    return false;
  };

  Params captured;
  if (auto it = exact_.find(req.path); it != exact_.end())
    for (std::size_t i : it->second) consider(routes_[i]);
  for (std::size_t i : patterns_) {
    Params p;
    if (!match(routes_[i], req.path, &p)) continue;
    const bool was_chosen = chosen != nullptr, had_fallback = get_fallback != nullptr;
    consider(routes_[i]);
    if ((!was_chosen && chosen) || (!had_fallback && get_fallback && !chosen)) captured = std::move(p);
  }
  if (!chosen) chosen = get_fallback;
  if (!chosen) {
    if (allow.empty()) return Response::text(404);
    Response res = Response::text(405);
    res.headers.set("Allow", std::move(allow));
    return res;
  }
  req.params = std::move(captured);
  try {
    return chosen->handler(req);
  } catch (...) {
    return Response::text(500);
  }
}

}  // namespace hf::http
