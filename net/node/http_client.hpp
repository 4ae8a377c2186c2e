// The node's outgoing HTTP calls to seed peers (announcements, registration, chain fetches):
// one blocking request with a deadline over the whole exchange, a cap on the reply, and no
// connection to an address the allowlist does not hold (a host name is resolved first and
// every address it gives is checked, so a name cannot smuggle in a private address).
#pragma once
#include <chrono>
#include <string>

#include "net/node/peer_url.hpp"

namespace hf::node {

struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
};

struct HttpCall {
  std::string method = "GET";
  std::string path = "/";  // starts with '/'
  std::string body;        // sent as application/json when not empty (or for POST)
  std::chrono::milliseconds timeout{10'000};
  std::size_t max_reply = 64 * 1024 * 1024;
};

// Throws std::runtime_error with one line ("connect: Connection refused", "timed out",
// "address 10.0.0.5 not allowed", "reply larger than ...").
HttpReply http_call(const PeerUrl& url, const HttpCall& call, const Allowlist& allow);

// Empty when every address the URL's host resolves to is allowed; else the reason. Blocks
// on the resolver (a name is looked up; an address literal is not).
std::string check_host_allowed(const PeerUrl& url, const Allowlist& allow);

}  // namespace hf::node
