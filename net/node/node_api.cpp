#include "net/node/node_api.hpp"

#include "net/http/assets.hpp"

namespace hf::node {

const http::AssetTable& node_assets();  // net/node/node.html, compiled in (CMakeLists.txt)

namespace {

// Flask sends a returned string as text/html, and the seed returns json.dumps strings too.
constexpr const char* kSeedType = "text/html; charset=utf-8";

http::Response seed(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.content_type = kSeedType;
  r.body = std::move(body);
  return r;
}

http::Response json_reply(std::string body, int status = 200) { return http::Response::json(std::move(body), status); }

// The body as JSON, or the 400 that says why not.
std::optional<Json> body_json(const http::Request& req, const ApiLimits& lim, http::Response* err) {
  std::string_view body = req.body;
  // json.loads on bytes (Flask's get_json) reads a UTF-8 byte-order mark as nothing.
  if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);
  ParseResult pr = parse_json(body, {.max_depth = lim.max_depth, .max_bytes = body.size() + 1, .max_int_digits = 4300});
  if (!pr.value) {
    *err = seed(400, "Bad Request: the body is not JSON (" + pr.error + ")");
    return std::nullopt;
  }
  return std::move(pr.value);
}

// The seed's {"node_address": "..."} bodies.
std::optional<std::string> node_address(const http::Request& req, const ApiLimits& lim, http::Response* err) {
  auto j = body_json(req, lim, err);
  if (!j) return std::nullopt;
  if (!j->is_object()) {
    *err = seed(400, "Invalid data: the body must be a JSON object");
    return std::nullopt;
  }
  const Json* a = j->find("node_address");
  if (!a || !a->truthy()) {
    *err = seed(400, "Invalid data");
    return std::nullopt;
  }
  if (!a->is_string()) {
    *err = seed(400, "Invalid data: \"node_address\" must be a string");
    return std::nullopt;
  }
  return a->as_string();
}

bool guard_peer(Node& node, const http::Request& req, http::Response* err) {
  if (!node.peer_allowed(req.peer)) {
    *err = seed(403, "peer not allowed");
    return false;
  }
  if (!node.rate_ok(req.peer)) {
    *err = seed(429, "Too Many Requests: slow down");
    return false;
  }
  return true;
}

}  // namespace

// The barrier is taken after the read: whatever the read saw was queued for the disk before
// the node's lock let go, so waiting for everything queued by now covers it. A refusal
// (4xx) shows nothing stored and goes at once; after a failed block commit every read is a
// 503, since memory holds a block the disk does not.
http::Handler stored_read(Node& node, http::Handler read) {
  return [&node, read = std::move(read)](const http::Request& req) {
    auto res = std::make_shared<http::Response>(read(req));
    if (res->deferred || res->status >= 400) return std::move(*res);
    auto checked = [&node](http::Response&& r) {
      if (std::string fault = node.storage_fault(); !fault.empty())
        return seed(503, "Service Unavailable: the node's database failed (" + fault +
                             "); what it holds is not all on disk: restart it");
      return std::move(r);
    };
    auto reply = std::make_shared<http::Deferred>();
    if (node.stored_or_notify([reply, res, checked] { reply->complete(checked(std::move(*res))); }))
      return checked(std::move(*res));
    http::Response wait;
    wait.deferred = std::move(reply);
    return wait;
  };
}

http::Router make_node_router(Node& node, ApiLimits lim) {
  http::Router r;

  r.post("/new_transaction", [&node, lim](const http::Request& req) {
    if (!node.rate_ok(req.peer)) return seed(429, "Too Many Requests: slow down");
    http::Response err;
    auto j = body_json(req, lim, &err);
    if (!j) return err;
    if (!j->is_object()) return seed(400, "Bad Request: a transaction must be a JSON object");
    if (!check_transaction_shape(*j).empty()) return seed(404, "Invalid transaction data");
    // Answered once the transaction is on disk; the server thread serves others meanwhile,
    // and concurrent transactions share one commit.
    auto reply = std::make_shared<http::Deferred>();
    node.submit_transaction_async(std::move(*j), [reply](const std::string& why) {
      if (why.empty())
        reply->complete(seed(201, "Success"));
      else if (why.rfind("storage: ", 0) == 0)
        reply->complete(seed(500, "the transaction was not stored: " + why.substr(9)));
      else
        reply->complete(seed(400, "Bad Request: " + why));
    });
    http::Response res;
    res.deferred = std::move(reply);
    return res;
  });

  r.get("/chain", stored_read(node, [&node](const http::Request&) {
          http::Response res;
          res.content_type = kSeedType;
          res.shared_body = node.chain_body();
          return res;
        }));

  r.get("/pending_tx", [&node](const http::Request&) { return seed(200, node.pending_body()); });

  r.get("/mine", [&node](const http::Request& req) {
    if (!node.rate_ok(req.peer)) return seed(429, "Too Many Requests: slow down");
    // The miner thread answers; no server thread waits for the search.
    auto reply = std::make_shared<http::Deferred>();
    node.mine_async([reply](const MineOutcome& m) {
      if (m.timed_out)
        reply->complete(seed(503, "Not mined: the node is stopping"));
      else if (!m.mined)
        reply->complete(seed(200, "No transactions to mine"));
      else
        reply->complete(seed(200, "Block #" + std::to_string(m.index) + " is mined."));
    });
    http::Response res;
    res.deferred = std::move(reply);
    return res;
  });

  r.post("/register_node", stored_read(node, [&node, lim](const http::Request& req) {
           http::Response err;
           if (!guard_peer(node, req, &err)) return err;
           auto addr = node_address(req, lim, &err);
           if (!addr) return err;
           std::string why = node.add_peer(*addr);
           if (!why.empty()) return seed(400, "Invalid data: " + why);
           http::Response res;
           res.content_type = kSeedType;
           res.shared_body = node.chain_body();
           return res;
         }));

  r.post("/register_with", [&node, lim](const http::Request& req) {
    http::Response err;
    if (!guard_peer(node, req, &err)) return err;
    auto addr = node_address(req, lim, &err);
    if (!addr) return err;
    auto reply = std::make_shared<http::Deferred>();
    node.register_with_async(*addr,
                             [reply](int status, const std::string& body) { reply->complete(seed(status, body)); });
    http::Response res;
    res.deferred = std::move(reply);
    return res;
  });

  r.post("/add_block", [&node, lim](const http::Request& req) {
    http::Response err;
    if (!guard_peer(node, req, &err)) return err;
    if (node.banned(req.peer)) return seed(403, "banned: this address sent an invalid block");
    constexpr const char* kDiscard = "The block was discarded by the node: ";
    auto j = body_json(req, lim, &err);
    if (!j) return err;
    std::string why;
    auto b = block_from_json(*j, &why);
    if (!b) return seed(400, kDiscard + why);
    BlockVerdict v = node.submit_block(std::move(*b), req.peer);
    // A 201 means the block is on disk.
    if (std::string stored = v.stored.valid() ? v.stored.get() : std::string(); !stored.empty())
      return seed(500, "the block was not stored: " + stored);
    switch (v.outcome) {
      case AddOutcome::extended:
      case AddOutcome::reorg:
      case AddOutcome::side:
        return seed(201, "Block added to the chain");
      default:
        return seed(400, kDiscard + v.reason);
    }
  });

  r.get("/api/status", stored_read(node, [&node](const http::Request&) { return json_reply(node.status_json()); }));
  r.get("/api/peers", [&node](const http::Request&) { return json_reply(node.peers_json()); });
  r.get("/api/block/{hash}", stored_read(node, [&node](const http::Request& req) {
          auto b = node.block_json(std::string(req.param("hash").value_or("")));
          if (!b) return json_reply("{\"error\": \"no such block\"}", 404);
          return json_reply(std::move(*b));
        }));

  if (node.config().spec.ledger) add_ledger_routes(r, node, lim);

  const http::AssetTable& assets = node_assets();
  const http::Asset* page = assets.find("/node.html");
  r.get("/", [&assets, page](const http::Request& req) { return assets.serve(req, *page); });
  r.get("/node.html", [&assets, page](const http::Request& req) { return assets.serve(req, *page); });
  return r;
}

}  // namespace hf::node
