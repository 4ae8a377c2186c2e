#include "net/node/wire_peers.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <stdexcept>

#include "hashforge/hex.hpp"
#include "net/io/printable.hpp"
#include "net/io/stream.hpp"

namespace hf::node {

namespace asio = boost::asio;
using netio::awaitable;
using netio::tcp;

namespace {

constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr auto kConnectTimeout = std::chrono::seconds(10);
constexpr std::size_t kMaxQueued = 64 * 1024 * 1024;
// A getblocks answer stops adding blocks past this much queued; the asker comes back for the
// rest once it has taken these.
constexpr std::size_t kAnswerBudget = 16 * 1024 * 1024;

// Resumes once everything the node has shown so far is on disk (at once when it is): headers
// and blocks go to a link only then, so a crash never leaves a peer holding a block this
// node's disk never got. The io_context runs on one thread, so the store's notification is
// posted to it and cannot race the wait.
awaitable<void> until_stored(Node& node, asio::io_context& io) {
  auto timer = std::make_shared<asio::steady_timer>(io, asio::steady_timer::time_point::max());
  // An expiry in the past ends a wait in progress and makes a later one return at once.
  if (node.stored_or_notify(
          [&io, timer] { asio::post(io, [timer] { timer->expires_at(asio::steady_timer::time_point::min()); }); }))
    co_return;
  boost::system::error_code ec;
  co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

std::string key_id_of(X509* cert) {
  unsigned char* der = nullptr;
  int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  if (n <= 0) throw std::runtime_error("cannot read the certificate's public key");
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(der, static_cast<std::size_t>(n), md, &len, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  return to_hex(ByteView(md, 32));
}

std::unique_ptr<asio::ssl::context> make_tls(bool server, const WireConfig& cfg) {
  auto ctx =
      std::make_unique<asio::ssl::context>(server ? asio::ssl::context::tls_server : asio::ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cfg.cert_file, ec);
  if (ec) throw std::runtime_error("--node-cert " + cfg.cert_file + ": " + ec.message());
  ctx->use_private_key_file(cfg.key_file, asio::ssl::context::pem, ec);
  if (ec) throw std::runtime_error("--node-key " + cfg.key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1)
    throw std::runtime_error("--node-key " + cfg.key_file + " does not match --node-cert " + cfg.cert_file);
  // Any chain and any name: the key pinned in the chain spec is the identity, checked
  // after the handshake. Both sides must present a certificate.
  ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  ctx->set_verify_callback([](bool, asio::ssl::verify_context&) { return true; });
  return ctx;
}

}  // namespace

std::string key_id_of_cert_file(const std::string& pem_file) {
  FILE* f = std::fopen(pem_file.c_str(), "r");
  if (!f) throw std::runtime_error("cannot open " + pem_file);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!cert) throw std::runtime_error(pem_file + " holds no PEM certificate");
  std::string id;
  try {
    id = key_id_of(cert);
  } catch (...) {
    X509_free(cert);
    throw;
  }
  X509_free(cert);
  return id;
}

struct WirePeers::Link {
  std::shared_ptr<netio::LengthConn> conn;
  std::string name;
};

WirePeers::WirePeers(asio::io_context& io, Node& node, WireConfig cfg) : io_(io), node_(node), cfg_(std::move(cfg)) {
  std::string key = key_id_of_cert_file(cfg_.cert_file);
  const NodeKey* me = node_.config().spec.node_of_key(key);
  if (!me) throw std::runtime_error("this node's key " + key + " (--node-cert) is not among the chain spec's nodes");
  name_ = me->name;
  server_tls_ = make_tls(true, cfg_);
  client_tls_ = make_tls(false, cfg_);
  node_.set_on_new_tip([this](const std::string& text) { broadcast_block(text); });
  node_.set_on_new_op([this](const std::string& text) { broadcast_ops({text}); });
  node_.set_on_split([this](const std::string& a, const std::string& b) {
    asio::post(io_, [this, ma = wire::encode_block(a), mb = wire::encode_block(b)] {
      bool first = true;
      for (const auto& l : live_) {
        if (!l->conn->closed()) l->conn->send_frame(first ? ma : mb);
        first = !first;
      }
    });
  });
  node_.set_links_counter([this] { return links_count_.load(); });
}

WirePeers::~WirePeers() { stop(); }

void WirePeers::log(const std::string& line) const {
  if (cfg_.log) cfg_.log("link: " + line);
}

std::string WirePeers::start() {
  std::string bound;
  if (!cfg_.listen.empty()) {
    acceptor_ = netio::listen_on(io_, cfg_.listen, &bound);
    asio::co_spawn(
        io_,
        [this]() -> awaitable<void> {
          for (;;) {
            boost::system::error_code ec;
            tcp::socket s = co_await acceptor_->async_accept(asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
              if (stopping_ || ec == asio::error::operation_aborted) co_return;
              asio::steady_timer t(io_, std::chrono::milliseconds(100));
              co_await t.async_wait(asio::use_awaitable);
              continue;
            }
            if (live_.size() >= 256) continue;  // the socket closes as it goes out of scope
            asio::co_spawn(io_, run_link(std::move(s), false, {}), asio::detached);
          }
        },
        asio::detached);
  }
  for (const auto& where : cfg_.connect) asio::co_spawn(io_, dial_loop(where), asio::detached);
  return bound;
}

void WirePeers::stop() {
  asio::post(io_, [this] {
    stopping_ = true;
    if (acceptor_) {
      boost::system::error_code ec;
      acceptor_->close(ec);
    }
    for (const auto& l : live_) l->conn->close("node stopping");
  });
}

void WirePeers::broadcast_block(const std::string& block_text) {
  asio::post(io_, [this, msg = wire::encode_block(block_text)] {
    for (const auto& l : live_)
      if (!l->conn->closed()) l->conn->send_frame(msg);
  });
}

void WirePeers::broadcast_ops(const std::vector<std::string>& op_texts) {
  std::lock_guard lk(ops_mu_);
  ops_out_.insert(ops_out_.end(), op_texts.begin(), op_texts.end());
  if (ops_out_.size() >= wire::kMaxOps) {
    asio::post(io_, [this] { flush_ops(); });
    return;
  }
  if (ops_flush_armed_) return;
  ops_flush_armed_ = true;
  // A short wait gathers the operations acknowledged meanwhile into one frame: at a
  // thousand a second that is a frame per link every 2 ms rather than an operation each.
  auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(2));
  t->async_wait([this, t](boost::system::error_code) { flush_ops(); });
}

void WirePeers::flush_ops() {
  std::vector<std::string> out;
  {
    std::lock_guard lk(ops_mu_);
    out.swap(ops_out_);
    ops_flush_armed_ = false;
  }
  for (std::size_t i = 0; i < out.size(); i += wire::kMaxOps) {
    std::vector<std::string> part(out.begin() + static_cast<std::ptrdiff_t>(i),
                                  out.begin() + static_cast<std::ptrdiff_t>(std::min(out.size(), i + wire::kMaxOps)));
    const std::string msg = wire::encode_ops(part);
    for (const auto& l : live_)
      if (!l->conn->closed()) l->conn->send_frame(msg);
  }
}

awaitable<void> WirePeers::dial_loop(std::string where) {
  std::string host, port, why;
  if (!netio::split_host_port(where, &host, &port, &why)) {
    log("--connect " + where + ": " + why);
    co_return;
  }
  auto backoff = std::chrono::seconds(1);
  while (!stopping_) {
    auto began = std::chrono::steady_clock::now();
    try {
      tcp::resolver resolver(io_);
      auto results = co_await resolver.async_resolve(host, port, asio::use_awaitable);
      tcp::socket s(io_);
      asio::steady_timer t(io_, kConnectTimeout);
      t.async_wait([&s](boost::system::error_code ec) {
        if (!ec) {
          boost::system::error_code ignored;
          s.close(ignored);
        }
      });
      co_await asio::async_connect(s, results, asio::use_awaitable);
      t.cancel();
      co_await run_link(std::move(s), true, where);
    } catch (const boost::system::system_error& e) {
      log(where + ": " + e.code().message());  // without Boost's source location
    } catch (const std::exception& e) {
      log(where + ": " + e.what());
    }
    if (stopping_) break;
    if (std::chrono::steady_clock::now() - began > std::chrono::seconds(30)) backoff = std::chrono::seconds(1);
    asio::steady_timer wait(io_, backoff);
    co_await wait.async_wait(asio::use_awaitable);
    backoff = std::min(backoff * 2, std::chrono::seconds(30));
  }
}

awaitable<void> WirePeers::run_link(tcp::socket socket, bool outgoing, std::string where) {
  std::unique_ptr<netio::Stream> stream =
      netio::make_tls_stream(std::move(socket), outgoing ? *client_tls_ : *server_tls_, !outgoing);
  std::string peer_addr = stream->peer();
  {
    asio::steady_timer t(io_, kHandshakeTimeout);
    netio::Stream* raw = stream.get();
    t.async_wait([raw](boost::system::error_code ec) {
      if (!ec) raw->close();
    });
    try {
      co_await stream->handshake();
    } catch (const std::exception& e) {
      log(peer_addr + ": TLS handshake failed: " + e.what());
      co_return;
    }
  }
  X509* cert = SSL_get1_peer_certificate(stream->tls_native());
  if (!cert) {
    log(peer_addr + ": no certificate");
    co_return;
  }
  std::string key;
  try {
    key = key_id_of(cert);
  } catch (...) {
  }
  X509_free(cert);
  const NodeKey* who = node_.config().spec.node_of_key(key);
  if (!who) {
    log(peer_addr + ": key " + key.substr(0, 16) + " is not among the chain spec's nodes; refused");
    stream->close();
    co_return;
  }
  std::string name = who->name;
  if (name == name_) {
    stream->close();
    co_return;
  }
  if (node_.peer_banned("wire:" + name)) {
    log(name + " is banned for now; refused");
    stream->close();
    co_return;
  }

  netio::FrameLimits lim;
  lim.max_frame = wire::kMaxFrame;
  lim.max_queued = kMaxQueued;
  lim.idle_timeout = std::chrono::minutes(10);
  auto link = std::make_shared<Link>();
  link->conn = std::make_shared<netio::LengthConn>(std::move(stream), lim);
  link->name = name;
  link->conn->start();
  live_.insert(link);
  links_count_ = live_.size();
  log(std::string(outgoing ? "to " : "from ") + name + " (" + peer_addr + ") up");

  auto& conn = *link->conn;
  const std::string from = "wire:" + name;
  auto send_locator = [&] { conn.send_frame(wire::encode_getheaders(node_.locator())); };
  // After a failed commit the node holds blocks its disk does not have: it sends no more.
  auto send_if_stored = [&](const std::string& frame) {
    if (conn.closed()) return false;
    if (const std::string fault = node_.storage_fault(); !fault.empty()) {
      conn.send_frame(wire::encode_error("this node cannot store blocks"));
      conn.close_after_flush("storage fault: " + fault);
      return false;
    }
    conn.send_frame(frame);
    return true;
  };
  Node::TipInfo tip = node_.tip_info();
  if (node_.hiding_blocks()) tip = {0, node_.config().spec.genesis.hash};
  conn.send_frame(wire::encode_hello(node_.config().spec.id, name_, tip.height, tip.hash));
  std::size_t outstanding = 0;
  bool more_headers = false;

  for (;;) {
    auto payload = co_await conn.read_frame();
    if (!payload) break;
    if (payload->empty()) continue;  // keep-alive
    std::string why;
    auto m = wire::parse_message(*payload, &why);
    if (!m) {
      conn.send_frame(wire::encode_error(why));
      conn.close_after_flush("malformed message: " + why);
      break;
    }
    using T = wire::Message::Type;
    // Test mode: a node mining privately takes nothing from its links (it keeps to its own
    // branch, and hears of no operation it might have to honour).
    if (node_.private_now() && (m->type == T::block || m->type == T::headers || m->type == T::ops)) continue;
    switch (m->type) {
      case T::hello:
        if (m->spec != node_.config().spec.id) {
          conn.send_frame(wire::encode_error("another network"));
          conn.close_after_flush("another network");
          break;
        }
        if (m->height > node_.tip_info().height) send_locator();
        break;
      case T::getheaders: {
        std::string answer = wire::encode_headers(
            node_.hiding_blocks() ? std::vector<wire::Header>{} : node_.headers_after(m->hashes, wire::kMaxHeaders));
        co_await until_stored(node_, io_);
        send_if_stored(answer);
        break;
      }
      case T::headers: {
        std::vector<std::string> want;
        for (const auto& h : m->headers)
          if (!node_.has_block(h.hash)) want.push_back(h.hash);
        more_headers = m->headers.size() == wire::kMaxHeaders;
        for (std::size_t i = 0; i < want.size(); i += wire::kMaxGetBlocks) {
          std::vector<std::string> part(
              want.begin() + static_cast<std::ptrdiff_t>(i),
              want.begin() + static_cast<std::ptrdiff_t>(std::min(want.size(), i + wire::kMaxGetBlocks)));
          conn.send_frame(wire::encode_getblocks(part));
        }
        outstanding = want.size();
        if (outstanding == 0 && more_headers) send_locator();
        break;
      }
      case T::getblocks: {
        if (node_.hiding_blocks()) break;
        std::vector<std::string> answer;
        std::size_t bytes = conn.queued_bytes();
        for (const auto& h : m->hashes) {
          if (bytes > kAnswerBudget) break;
          if (auto text = node_.block_json(h)) {
            answer.push_back(wire::encode_block(*text));
            bytes += answer.back().size();
          }
        }
        co_await until_stored(node_, io_);
        for (const auto& frame : answer)
          if (!send_if_stored(frame)) break;
        break;
      }
      case T::block: {
        auto b = block_from_json(m->block, &why);
        BlockVerdict v;
        if (b) {
          v = node_.submit_block(std::move(*b), from);
        } else {
          v.outcome = AddOutcome::invalid;
          v.reason = why;
          node_.ban_peer(from);
        }
        if (outstanding) --outstanding;
        if (v.outcome == AddOutcome::invalid) {
          log(name + " sent an invalid block (" + v.reason + "): disconnected and banned");
          conn.send_frame(wire::encode_error("invalid block: " + v.reason));
          conn.close_after_flush("sent an invalid block");
          break;
        }
        if (v.outcome == AddOutcome::orphan) send_locator();
        if (outstanding == 0 && more_headers) {
          more_headers = false;
          send_locator();
        }
        break;
      }
      case T::ops:
        node_.take_peer_ops(m->ops, name);
        break;
      case T::error:
        log(name + " closed the link: " + netio::printable(m->reason));
        conn.close("peer error");
        break;
    }
    if (conn.closed()) break;
  }
  live_.erase(link);
  links_count_ = live_.size();
  log(name + " down: " + conn.why());
  co_return;
}

}  // namespace hf::node
