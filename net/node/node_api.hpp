// The node's HTTP API: the seed node's endpoints byte for byte (net/node/README.md has the
// table) and hashforge's own (/api/status, /api/peers, /api/block/{hash}, the web page).
// Transactions, /mine and /register_with answer through http::Deferred once their work is
// done (a group commit, the miner, the peer thread), so no server thread waits for them;
// /add_block waits for its own commit. Reads of the chain, its blocks and the ledger answer
// only once what they show is on disk (stored_read), so a node killed right after an answer
// still has what it said when it comes back.
#pragma once
#include <cstddef>

#include "net/http/router.hpp"
#include "net/node/node.hpp"

namespace hf::node {

struct ApiLimits {
  std::size_t max_depth = 64;  // JSON nesting in a request body
};

// `read` as a handler whose answer waits, when it must, for the commits of what it saw.
http::Handler stored_read(Node& node, http::Handler read);

// The router for `node`; both must outlive the server.
http::Router make_node_router(Node& node, ApiLimits limits = {});
// The auction ledger's routes (net/node/ledger_api.cpp), added by make_node_router on
// ledger networks.
void add_ledger_routes(http::Router& r, Node& node, ApiLimits limits);

}  // namespace hf::node
