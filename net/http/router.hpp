// From method + path to a handler. A handler is a plain function from request to response,
// so it is tested without a socket and knows nothing of connections, keep-alive or limits.
//
// Patterns:
//   "/api/stats"     the exact path
//   "/blocks/{hash}" {name} matches one non-empty path segment, captured as a parameter
//   "/static/*"      a trailing "*" matches the rest of the path (possibly empty), captured as "*"
// Exact paths are tried first, then patterns in the order they were added. A path some
// route matches but not with this method gets 405 with an Allow header; no match is 404.
// HEAD is served by the GET handler when no HEAD route exists (the server drops the body).
// A handler that throws gets a 500.
//
// Handlers run on the server's I/O threads, one request at a time per connection: they must
// be quick (a slow one holds up every connection on its thread). Slow work belongs elsewhere,
// with the handler answering from what that work has published.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "net/http/message.hpp"

namespace hf::http {

using Handler = std::function<Response(const Request&)>;

class Router {
 public:
  // Throws std::invalid_argument on a pattern that does not start with '/', has an empty
  // {} or a '*' anywhere but as the whole last segment.
  Router& add(std::string_view method, std::string_view pattern, Handler h);
  Router& get(std::string_view pattern, Handler h) { return add("GET", pattern, std::move(h)); }
  Router& post(std::string_view pattern, Handler h) { return add("POST", pattern, std::move(h)); }
  Router& put(std::string_view pattern, Handler h) { return add("PUT", pattern, std::move(h)); }
  Router& del(std::string_view pattern, Handler h) { return add("DELETE", pattern, std::move(h)); }

  // Fills req.params from the matching pattern and runs its handler.
  Response route(Request& req) const;
  bool empty() const { return routes_.empty(); }

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // pattern routes only; "{name}" kept as written
    bool rest = false;                  // ends in "*"
    Handler handler;
  };
  // True when `r` (a pattern route) matches `path`; captures into *params.
  static bool match(const Route& r, std::string_view path, Params* params);

  std::vector<Route> routes_;
  std::unordered_map<std::string, std::vector<std::size_t>> exact_;  // path -> indexes into routes_
  std::vector<std::size_t> patterns_;                                // indexes into routes_, in order
};

}  // namespace hf::http
