// The auction ledger's REST API (JSON, application/json) on ledger networks:
//   POST /api/ops                      a signed operation: 202 and a receipt, or 4xx and why
//   GET  /api/ops/{id}                 pending, committed (height, confirmations) or unknown
//   GET  /api/account/{key}            balance, held, free, next_seq, with a proof
//   GET  /api/auction/{id}             the auction, with a proof
//   GET  /api/auction/{id}/bid/{key}   a bidder's escrow on it, with a proof
//   GET  /api/auctions                 every auction (no proofs: a listing)
//   GET  /api/headers?from=H&count=N   the followed chain's headers, for checking proofs
// /api/account also says "pool_next_seq" (not proven: the pool's, counting pending operations).
// Every read answers once what it shows is on disk (stored_read): a 202 receipt, a "pending"
// or a committed height a client saw survives the node's crash. Operations learnt from peers
// are pooled in memory only (the node that acknowledged one holds it durably).
// Reads take ?height=H (a block of the last 100) or ?depth=D (D blocks below the tip;
// default 0). Every proven read names its block (height, hash, 80-byte header, transactions
// root, state root) so a client can check the proof against a header chain of its own.
#include <charconv>

#include "net/node/ledger_json.hpp"
#include "net/node/node_api.hpp"

namespace hf::node {

namespace {

http::Response json_reply(std::string body, int status = 200) { return http::Response::json(std::move(body), status); }

http::Response error_reply(int status, const std::string& why) {
  return json_reply(dump_python(Json::object({{"error", Json::string(why)}})), status);
}

std::optional<std::int64_t> int_param(const http::Request& req, std::string_view name, bool* bad) {
  auto v = req.query_value(name);
  if (!v) return std::nullopt;
  std::int64_t out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || p != v->data() + v->size() || out < 0) *bad = true;
  return out;
}

// The view a read asks for, or the reply that says why there is none.
std::shared_ptr<const Node::LedgerView> view_for(Node& node, const http::Request& req, http::Response* err) {
  bool bad = false;
  auto height = int_param(req, "height", &bad);
  auto depth = int_param(req, "depth", &bad);
  if (bad || (height && depth)) {
    *err = error_reply(400, "give ?height=H or ?depth=D, non-negative integers");
    return nullptr;
  }
  std::string why;
  std::int64_t h = height ? *height : -1 - (depth ? std::min<std::int64_t>(*depth, 1'000'000) : 0);
  auto v = node.ledger_view(h, &why);
  if (!v) *err = error_reply(404, why);
  return v;
}

Json block_of(const Node::LedgerView& v) {
  return Json::object({{"height", Json::integer(v.height)},
                       {"hash", Json::string(v.hash)},
                       {"header", Json::string(v.header)},
                       {"tx_root", Json::string(v.tx_root)},
                       {"state_root", Json::string(v.state_root)}});
}

// Test mode (--byzantine wrong-reads): the value and its proven bytes altered as a lying node
// would, the amounts moved by 1,000 (the proof then leads nowhere).
void lie(std::optional<Json>* value, ledger::StateProof* p) {
  if (!*value) return;
  for (const char* f : {"balance", "free", "held", "high"})
    if (Json* x = (*value)->find(f); x && x->is_int())
      *x = Json::integer(*x->as_int64() + 1000);
  if (p->entry.value.size() >= 8) p->entry.value[7] = static_cast<char>(p->entry.value[7] ^ 0x08);
}

// {"block", "tip_height", "found", "value"?, "proof" | "absence"}
http::Response proven(const Node::LedgerView& v, const std::string& key, std::optional<Json> value, bool lying = false) {
  std::vector<Json::Member> m;
  m.emplace_back("block", block_of(v));
  m.emplace_back("tip_height", Json::integer(v.tip_height));
  m.emplace_back("found", Json::boolean(value.has_value()));
  if (value) {
    ledger::StateProof p = *v.tree.prove(key);
    if (lying) lie(&value, &p);
    m.emplace_back("value", std::move(*value));
    m.emplace_back("proof", ledger::proof_to_json(p));
  } else {
    m.emplace_back("absence", ledger::absence_to_json(*v.tree.prove_absent(key)));
  }
  return json_reply(dump_python(Json::object(std::move(m))));
}

std::optional<ledger::Hash> hex_param(const http::Request& req, std::string_view name) {
  auto v = req.param(name);
  return v ? ledger::hash_of_hex(*v) : std::nullopt;
}

}  // namespace

void add_ledger_routes(http::Router& r, Node& node, ApiLimits lim) {
  // Every read answers once the blocks it names are on disk.
  auto get = [&r, &node](std::string_view pattern, http::Handler read) {
    r.get(pattern, stored_read(node, std::move(read)));
  };
  r.post("/api/ops", [&node, lim](const http::Request& req) {
    if (!node.rate_ok(req.peer)) return error_reply(429, "too many requests from this address: slow down");
    ParseResult pr = parse_json(req.body, {.max_depth = lim.max_depth, .max_bytes = req.body.size() + 1});
    if (!pr.value) return error_reply(400, "the body is not JSON (" + pr.error + ")");
    auto reply = std::make_shared<http::Deferred>();
    node.submit_op_async(*pr.value, req.peer,
                         [reply](int status, std::string body) { reply->complete(json_reply(std::move(body), status)); });
    http::Response res;
    res.deferred = std::move(reply);
    return res;
  });

  get("/api/ops/{id}", [&node](const http::Request& req) {
    auto id = hex_param(req, "id");
    if (!id) return error_reply(400, "an operation id is 64 lowercase hex digits");
    return json_reply(node.op_status_json(ledger::hex_of(*id)));
  });

  get("/api/account/{key}", [&node](const http::Request& req) {
    auto k = hex_param(req, "key");
    if (!k) return error_reply(400, "an account is an Ed25519 public key, 64 lowercase hex digits");
    http::Response err;
    auto v = view_for(node, req, &err);
    if (!v) return err;
    const ledger::Account* a = v->state.account(*k);
    http::Response res =
        proven(*v, ledger::account_key(*k), a ? std::optional<Json>(ledger::account_json(*a)) : std::nullopt,
               node.config().byzantine.wrong_reads);
    // Not proven: what the pending pool expects next from this account.
    res.body.insert(res.body.size() - 1, ", \"pool_next_seq\": " + std::to_string(node.pool_next_seq(*k)));
    return res;
  });

  get("/api/auction/{id}", [&node](const http::Request& req) {
    auto id = hex_param(req, "id");
    if (!id) return error_reply(400, "an auction id is 64 lowercase hex digits");
    http::Response err;
    auto v = view_for(node, req, &err);
    if (!v) return err;
    const ledger::Auction* a = v->state.auction(*id);
    return proven(*v, ledger::auction_key(*id), a ? std::optional<Json>(ledger::auction_json(*id, *a)) : std::nullopt,
                  node.config().byzantine.wrong_reads);
  });

  get("/api/auction/{id}/bid/{key}", [&node](const http::Request& req) {
    auto id = hex_param(req, "id");
    auto k = hex_param(req, "key");
    if (!id || !k) return error_reply(400, "auction ids and accounts are 64 lowercase hex digits");
    http::Response err;
    auto v = view_for(node, req, &err);
    if (!v) return err;
    const std::uint64_t held = v->state.escrow(*id, *k);
    std::optional<Json> value;
    if (held) value = Json::object({{"held", Json::integer(static_cast<std::int64_t>(held))}});
    return proven(*v, ledger::escrow_key(*id, *k), std::move(value), node.config().byzantine.wrong_reads);
  });

  get("/api/auctions", [&node](const http::Request& req) {
    http::Response err;
    auto v = view_for(node, req, &err);
    if (!v) return err;
    Json list = Json::array();
    for (const auto& [id, a] : v->state.auctions()) {
      Json j = ledger::auction_json(id, a);
      Json bids = Json::array();
      for (const auto& [bidder, amount] : v->state.escrows_of(id))
        bids.push(Json::object({{"bidder", Json::string(ledger::hex_of(bidder))},
                                {"held", Json::integer(static_cast<std::int64_t>(amount))}}));
      j.set("escrows", std::move(bids));
      list.push(std::move(j));
    }
    return json_reply(dump_python(Json::object({{"block", block_of(*v)}, {"auctions", std::move(list)}})));
  });

  if (node.config().byzantine.private_fork) {
    // Test mode only (--byzantine private): the double-spend experiment's switch.
    r.post("/api/test/private", [&node, lim](const http::Request& req) {
      ParseResult pr = parse_json(req.body, {.max_depth = lim.max_depth, .max_bytes = req.body.size() + 1});
      const Json* on = pr.value && pr.value->is_object() ? pr.value->find("on") : nullptr;
      if (!on || !on->is_bool()) return error_reply(400, "send {\"on\": true} or {\"on\": false}");
      node.set_private(on->as_bool());
      return json_reply(dump_python(Json::object({{"private", Json::boolean(on->as_bool())}})));
    });
  }

  get("/api/headers", [&node](const http::Request& req) {
    bool bad = false;
    auto from = int_param(req, "from", &bad);
    auto count = int_param(req, "count", &bad);
    if (bad) return error_reply(400, "from and count are non-negative integers");
    const std::size_t n = static_cast<std::size_t>(std::min<std::int64_t>(count.value_or(2000), 2000));
    return json_reply(node.headers_json(from.value_or(0), n));
  });
}

}  // namespace hf::node
