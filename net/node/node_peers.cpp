// Seed peers: announcing blocks, fetching a peer's chain when a block arrives whose parent
// is unknown (each block of it validated on its own: a dump is a list of candidates, never
// a replacement), and registration. Every call has a deadline and goes only to allowed
// addresses; a peer that serves invalid blocks is left alone for a while.
#include <algorithm>

#include "net/node/http_client.hpp"
#include "net/node/node.hpp"

namespace hf::node {

namespace {

constexpr std::chrono::milliseconds kAnnounceTimeout{3'000};
constexpr std::chrono::milliseconds kFetchTimeout{15'000};

}  // namespace

bool Node::is_self(const std::string& base) const {
  std::string why;
  auto me = parse_peer_url(public_url(), &why);
  return me && me->base == base;
}

void Node::request_sync() {
  std::lock_guard pk(peer_mu_);
  sync_wanted_ = true;
  peer_cv_.notify_one();
}

void Node::peer_loop() {
  std::unique_lock pk(peer_mu_);
  while (!stopping_) {
    peer_cv_.wait_for(pk, std::chrono::seconds(1), [&] { return stopping_ || !peer_tasks_.empty() || sync_wanted_; });
    if (stopping_) break;
    if (!peer_tasks_.empty()) {
      auto task = std::move(peer_tasks_.front());
      peer_tasks_.pop_front();
      pk.unlock();
      task();
      pk.lock();
      continue;
    }
    // At most one round of fetches a second, however many orphans arrive.
    if (sync_wanted_ && now_seconds() - last_sync_ >= 1.0) {
      sync_wanted_ = false;
      last_sync_ = now_seconds();
      pk.unlock();
      std::vector<std::string> peers;
      {
        std::lock_guard lk(mu_);
        peers = peers_;
      }
      for (const auto& url : peers) {
        if (stopping_) break;
        sync_from(url);
      }
      pk.lock();
    }
  }
}

void Node::announce(const TreeEntry* e) {
  std::string body;
  std::vector<std::string> peers;
  {
    std::lock_guard lk(mu_);
    // The seed's announcement: json.dumps(block, sort_keys=True), hash included.
    body = dump_python(block_to_json(e->block), {.sort_keys = true});
    double now = now_seconds();
    for (const auto& p : peers_) {
      auto ban = peer_bans_.find(p);
      if (ban == peer_bans_.end() || ban->second <= now) peers.push_back(p);
    }
  }
  for (const auto& url : peers) {
    if (stopping_) return;
    std::string why, error;
    auto pu = parse_peer_url(url, &why);
    if (!pu) continue;
    try {
      HttpReply r = http_call(
          *pu,
          {.method = "POST", .path = "/add_block", .body = body, .timeout = kAnnounceTimeout, .max_reply = 64 * 1024},
          cfg_.allow);
      if (r.status >= 500) error = "add_block answered " + std::to_string(r.status);
    } catch (const std::exception& ex) {
      error = ex.what();
    }
    std::lock_guard lk(mu_);
    peer_errors_[url] = error;
  }
}

void Node::sync_from(const std::string& url) {
  {
    std::lock_guard lk(mu_);
    auto ban = peer_bans_.find(url);
    if (ban != peer_bans_.end() && ban->second > now_seconds()) return;
  }
  std::string why;
  auto pu = parse_peer_url(url, &why);
  if (!pu) return;
  try {
    HttpReply r = http_call(
        *pu, {.method = "GET", .path = "/chain", .body = {}, .timeout = kFetchTimeout, .max_reply = 64 * 1024 * 1024},
        cfg_.allow);
    if (r.status != 200) throw std::runtime_error("chain answered " + std::to_string(r.status));
    take_chain(url, r.body);
    std::lock_guard lk(mu_);
    peer_errors_[url].clear();
  } catch (const std::exception& ex) {
    std::lock_guard lk(mu_);
    peer_errors_[url] = ex.what();
  }
}

void Node::take_chain(const std::string& url, const std::string& chain_text) {
  ParseResult pr = parse_json(chain_text, {.max_depth = 64, .max_bytes = 64 * 1024 * 1024});
  if (!pr.value || !pr.value->is_object()) throw std::runtime_error("its chain is not a JSON object");
  const Json* chain = pr.value->find("chain");
  if (!chain || !chain->is_array()) throw std::runtime_error("its chain has no \"chain\" array");
  const auto& blocks = chain->items();
  if (blocks.empty()) throw std::runtime_error("its chain is empty");
  std::string why;
  auto genesis = block_from_json(blocks.front(), &why);
  if (!genesis || genesis->hash != cfg_.spec.genesis.hash)
    throw std::runtime_error("it is on another network (genesis differs)");
  std::size_t added = 0;
  for (std::size_t i = 1; i < blocks.size() && !stopping_; ++i) {
    auto b = block_from_json(blocks[i], &why);
    if (!b) {
      std::lock_guard lk(mu_);
      peer_bans_[url] = now_seconds() + cfg_.ban_seconds;
      throw std::runtime_error("block " + std::to_string(i) + ": " + why);
    }
    std::unique_lock lk(mu_);
    if (tree_.find(b->hash)) continue;
    BlockVerdict v = submit_block_locked(std::move(*b), "sync:" + url, lk);
    if (v.outcome == AddOutcome::invalid) throw std::runtime_error("block " + std::to_string(i) + ": " + v.reason);
    if (v.outcome == AddOutcome::orphan) throw std::runtime_error("block " + std::to_string(i) + " does not link");
    ++added;
  }
  if (added) log("sync: " + std::to_string(added) + " blocks from " + url);
}

std::string Node::add_peer(const std::string& url) {
  std::string why;
  auto pu = parse_peer_url(url, &why);
  if (!pu) return why;
  if (is_self(pu->base)) return {};  // never itself
  std::string refused = check_host_allowed(*pu, cfg_.allow);
  if (!refused.empty()) return refused;
  {
    std::lock_guard lk(mu_);
    if (std::find(peers_.begin(), peers_.end(), pu->base) != peers_.end()) return {};
  }
  Batch b;
  b.add_peers.push_back(pu->base);
  store_->commit(std::move(b));
  std::lock_guard lk(mu_);
  if (std::find(peers_.begin(), peers_.end(), pu->base) == peers_.end()) {
    if (peers_.size() >= 1000) return "too many peers";
    peers_.push_back(pu->base);
    chain_cache_.reset();
    log("peer added: " + pu->base);
  }
  return {};
}

void Node::register_with_async(const std::string& url, std::function<void(int, const std::string&)> done) {
  std::lock_guard pk(peer_mu_);
  peer_tasks_.emplace_back([this, url, done = std::move(done)] {
    int status = 500;
    std::string body;
    register_with(url, &status, &body);
    done(status, body);
  });
  peer_cv_.notify_one();
}

void Node::register_with(const std::string& url, int* status, std::string* body) {
  std::string why;
  auto pu = parse_peer_url(url, &why);
  if (!pu) {
    *status = 400;
    *body = "Invalid data: " + why;
    return;
  }
  std::string refused = check_host_allowed(*pu, cfg_.allow);
  if (!refused.empty()) {
    *status = 400;
    *body = "peer address not allowed: " + refused;
    return;
  }
  Json me = Json::object({{"node_address", Json::string(public_url())}});
  HttpReply r;
  try {
    r = http_call(*pu,
                  {.method = "POST",
                   .path = "/register_node",
                   .body = dump_python(me),
                   .timeout = kFetchTimeout,
                   .max_reply = 64 * 1024 * 1024},
                  cfg_.allow);
  } catch (const std::exception& ex) {
    *status = 502;
    *body = "could not reach " + pu->base + ": " + ex.what();
    return;
  }
  if (r.status != 200) {
    // The seed passes the remote's answer through.
    *status = r.status;
    *body = r.body;
    return;
  }
  try {
    take_chain(pu->base, r.body);
  } catch (const std::exception& ex) {
    *status = 502;
    *body = "the node at " + pu->base + " sent an unusable chain: " + ex.what();
    return;
  }
  std::string added = add_peer(pu->base);
  if (!added.empty()) log("register_with: " + added);
  // The remote's peers too, each checked like any other.
  ParseResult pr = parse_json(r.body, {.max_depth = 64, .max_bytes = 64 * 1024 * 1024});
  if (pr.value && pr.value->is_object())
    if (const Json* peers = pr.value->find("peers"); peers && peers->is_array())
      for (const Json& p : peers->items())
        if (p.is_string()) add_peer(p.as_string());
  *status = 200;
  *body = "Registration successful";
}

}  // namespace hf::node
