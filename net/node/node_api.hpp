// The node's HTTP API: the seed node's endpoints byte for byte (net/node/README.md has the
// table) and hashforge's own (/api/status, /api/peers, /api/block/{hash}, the web page).
// Handlers block on disk commits and on /mine and /register_with, so the server runs its
// own threads (Settings::io_threads) for them.
#pragma once
#include <cstddef>

#include "net/http/router.hpp"
#include "net/node/node.hpp"

namespace hf::node {

struct ApiLimits {
  std::size_t max_depth = 64;   // JSON nesting in a request body
  double mine_wait_seconds = 300;  // /mine answers 503 after this (the block still follows)
};

// The router for `node`; both must outlive the server.
http::Router make_node_router(Node& node, ApiLimits limits = {});

}  // namespace hf::node
