// What keeps the torrent daemon's local API safe (pure code): every request must name an
// allowed Host (so a web page on another site cannot reach it through DNS rebinding), a
// request from a browser page must come from an allowed Origin, and every /api request must
// carry the token in a header (X-Hashforge-Token, or Authorization: Bearer), which a page on
// another origin cannot add without a CORS preflight the daemon never grants. And every path
// a client names stays inside the daemon's root folder.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http/message.hpp"

namespace hf::torrent {

struct ApiGuard {
  std::string token;
  // Host header values allowed, with their port ("127.0.0.1:9091", "localhost:9091").
  std::vector<std::string> hosts;

  // nullopt when the request may go on; else the refusal (403 for Host and Origin, 401 for
  // the token, with a one-line reason). `needs_token`: an /api request.
  std::optional<http::Response> check(const http::Request& req, bool needs_token) const;
};

// The Host values a daemon listening on `port` answers to by default: the loopback names.
std::vector<std::string> loopback_hosts(unsigned port);

// `sub` (a folder a client asked for, relative, '/'-separated) under `root`: the joined
// path, or nullopt with *why when it is absolute, has "..", an empty or "." component, a
// NUL or a backslash. An empty `sub` is the root itself.
std::optional<std::string> jail_path(const std::string& root, std::string_view sub, std::string* why);

// Equal strings in time that does not depend on where they differ.
bool same_secret(std::string_view a, std::string_view b);

}  // namespace hf::torrent
