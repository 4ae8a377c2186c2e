// The DHT's sockets, timer and saved table around DhtNode (see dht_service.hpp).
#include "net/torrent/dht_service.hpp"

#include <boost/asio.hpp>
#include <chrono>
#include <random>
#include <stdexcept>
#include <sys/stat.h>

#include "net/io/atomic_file.hpp"
#include "net/torrent/bencode.hpp"

namespace hf::torrent::dht {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using udp = asio::ip::udp;

namespace {

constexpr auto kTick = std::chrono::milliseconds(200);
constexpr std::int64_t kSaveEveryMs = 5 * 60 * 1000;
constexpr std::size_t kMaxStateFile = 1 << 20;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

PeerAddr to_addr(const udp::endpoint& ep) {
  PeerAddr a;
  a.port = ep.port();
  if (ep.address().is_v4()) {
    const auto b = ep.address().to_v4().to_bytes();
    std::copy(b.begin(), b.end(), a.ip.begin());
    return a;
  }
  const auto v6 = ep.address().to_v6();
  if (v6.is_v4_mapped()) {
    const auto b = asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_bytes();
    std::copy(b.begin(), b.end(), a.ip.begin());
    return a;
  }
  const auto b = v6.to_bytes();
  std::copy(b.begin(), b.end(), a.ip.begin());
  a.v6 = true;
  return a;
}

udp::endpoint to_endpoint(const PeerAddr& a) {
  if (!a.v6) {
    asio::ip::address_v4::bytes_type b;
    std::copy(a.ip.begin(), a.ip.begin() + 4, b.begin());
    return {asio::ip::address_v4(b), a.port};
  }
  asio::ip::address_v6::bytes_type b;
  std::copy(a.ip.begin(), a.ip.end(), b.begin());
  return {asio::ip::address_v6(b), a.port};
}

// "host:port" / "[v6]:port" into its parts; false when there is no valid port.
bool split_host_port(const std::string& s, std::string* host, std::uint16_t* port) {
  std::string p;
  if (!s.empty() && s[0] == '[') {
    const auto close = s.find("]:");
    if (close == std::string::npos) return false;
    *host = s.substr(1, close - 1);
    p = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0) return false;
    *host = s.substr(0, colon);
    p = s.substr(colon + 1);
  }
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  const unsigned long v = std::stoul(p);
  if (v == 0 || v > 65535) return false;
  *port = static_cast<std::uint16_t>(v);
  return true;
}

std::string save_state(const NodeId& id, const std::vector<NodeEntry>& nodes) {
  BValue d = BValue::dict();
  d.set("id", BValue::string(id_bytes(id)));
  d.set("nodes", BValue::string(compact_nodes(nodes, false)));
  d.set("nodes6", BValue::string(compact_nodes(nodes, true)));
  return bencode(d);
}

}  // namespace

struct DhtService::Impl : std::enable_shared_from_this<Impl> {
  struct Family {
    std::unique_ptr<udp::socket> sock;
    std::unique_ptr<DhtNode> node;
    std::vector<std::uint8_t> buf = std::vector<std::uint8_t>(65536);
  };
  asio::io_context& io;
  DhtOptions opt;
  NodeId id{};
  Family v4, v6;
  std::uint16_t port4 = 0, port6 = 0;  // kept: the sockets close at stop
  DhtStats final_stats[2];             // and the nodes go
  asio::steady_timer ticker;
  bool stopped = false;
  std::int64_t saved_at = 0;
  bool may_save = false;  // the state file was absent or held a table we saved: ours to write
  std::mt19937_64 rng{std::random_device{}()};

  Impl(asio::io_context& i, DhtOptions o) : io(i), opt(std::move(o)), ticker(i) {}

  void log(const std::string& s) const {
    if (opt.log) opt.log("dht: " + s);
  }

  Family& family(bool six) { return six ? v6 : v4; }

  void bind(Family& f, const udp::endpoint& ep) {
    auto s = std::make_unique<udp::socket>(io, ep.protocol());
    if (ep.address().is_v6()) s->set_option(asio::ip::v6_only(true));
    s->bind(ep);
    s->non_blocking(true);
    f.sock = std::move(s);
  }

  void open_sockets() {
    std::string host;
    std::uint16_t port = 0;
    bool want4 = true, want6 = true;
    asio::ip::address addr4 = asio::ip::address_v4::any(), addr6 = asio::ip::address_v6::any();
    const std::string& l = opt.listen;
    if (!l.empty() && l.find_first_not_of("0123456789") == std::string::npos) {
      if (l.size() > 5 || std::stoul(l) > 65535) throw std::runtime_error("bad DHT port: " + l);
      port = static_cast<std::uint16_t>(std::stoul(l));
    } else if (!l.empty()) {
      std::string ps;
      if (l[0] == '[') {
        const auto close = l.find("]:");
        if (close == std::string::npos) throw std::runtime_error("bad DHT listen address: " + l);
        host = l.substr(1, close - 1);
        ps = l.substr(close + 2);
      } else {
        const auto colon = l.rfind(':');
        if (colon == std::string::npos) throw std::runtime_error("bad DHT listen address: " + l + " (want ADDR:PORT)");
        host = l.substr(0, colon);
        ps = l.substr(colon + 1);
      }
      if (ps.empty() || ps.size() > 5 || ps.find_first_not_of("0123456789") != std::string::npos ||
          std::stoul(ps) > 65535)
        throw std::runtime_error("bad DHT listen port: " + l);
      port = static_cast<std::uint16_t>(std::stoul(ps));
      boost::system::error_code ec;
      auto a = asio::ip::make_address(host, ec);
      if (ec) throw std::runtime_error("bad DHT listen address: " + l + " (an IP address is needed)");
      want4 = a.is_v4();
      want6 = a.is_v6();
      (a.is_v4() ? addr4 : addr6) = a;
    }
    std::string why4, why6;
    if (want4) {
      try {
        bind(v4, {addr4, port});
      } catch (const boost::system::system_error& e) {
        why4 = e.code().message();
      }
    }
    if (want6) {
      // The same port as IPv4's when IPv4 picked one, so peers need be told one port.
      const std::uint16_t p6 = port ? port : v4.sock ? v4.sock->local_endpoint().port() : 0;
      try {
        bind(v6, {addr6, p6});
      } catch (const boost::system::system_error& e) {
        try {
          if (!port && p6) bind(v6, {addr6, 0});
          else why6 = e.code().message();
        } catch (const boost::system::system_error& e2) {
          why6 = e2.code().message();
        }
      }
    }
    if (!v4.sock && !v6.sock) {
      throw std::runtime_error("cannot open the DHT's UDP socket on " + (l.empty() ? std::string("port 0") : l) + ": " +
                               (why4.empty() ? why6 : why4));
    }
    // A host without IPv6 is normal; a wanted IPv4 socket that failed is worth a line.
    if (want4 && !why4.empty()) log("IPv4 off: " + why4);
  }

  void load_state(std::vector<NodeEntry>* saved) {
    for (auto& b : id) b = static_cast<std::uint8_t>(rng());
    if (opt.state_file.empty()) return;
    struct stat st{};
    if (::stat(opt.state_file.c_str(), &st) != 0) {  // first run
      may_save = true;
      return;
    }
    // Whatever is there and is not a table we saved stays as it is: the path may be wrong,
    // and writing the table over it would destroy it.
    std::string why;
    auto bytes = netio::read_file(opt.state_file, kMaxStateFile, &why);
    if (!bytes) throw std::runtime_error("DHT state: " + why);
    auto got = RoutingTable::load({reinterpret_cast<const char*>(bytes->data()), bytes->size()});
    if (!got)
      throw std::runtime_error("DHT state: " + opt.state_file +
                               " is not a saved routing table (remove it to start afresh)");
    id = got->first;
    *saved = std::move(got->second);
    may_save = true;
  }

  void save() {
    if (opt.state_file.empty() || !may_save) return;
    std::vector<NodeEntry> all;
    for (Family* f : {&v4, &v6}) {
      if (!f->node) continue;
      auto n = f->node->table().closest(id, 100000);
      all.insert(all.end(), n.begin(), n.end());
    }
    std::string why;
    if (!netio::write_file_atomic(opt.state_file, save_state(id, all), &why)) log("saving the table: " + why);
  }

  void start() {
    open_sockets();
    if (v4.sock) port4 = v4.sock->local_endpoint().port();
    if (v6.sock) port6 = v6.sock->local_endpoint().port();
    std::vector<NodeEntry> saved;
    load_state(&saved);
    const std::int64_t now = now_ms();
    saved_at = now;
    for (Family* f : {&v4, &v6}) {
      if (!f->sock) continue;
      DhtConfig cfg = opt.config;
      cfg.id = id;
      cfg.v6 = f == &v6;
      f->node = std::make_unique<DhtNode>(cfg, rng());
    }
    if (v4.node && v6.node) {
      v4.node->set_sibling(v6.node.get());
      v6.node->set_sibling(v4.node.get());
    }
    auto self = shared_from_this();
    for (Family* f : {&v4, &v6}) {
      if (f->sock) asio::co_spawn(io, receive_loop(self, f == &v6), asio::detached);
    }
    asio::co_spawn(io, tick_loop(self), asio::detached);
    // The saved nodes first: a restart needs no bootstrap node.
    for (Family* f : {&v4, &v6}) {
      if (f->node && !saved.empty()) f->node->bootstrap({}, now, saved);
    }
    if (!saved.empty()) log("restarting from " + std::to_string(saved.size()) + " saved nodes");
    if (!opt.bootstrap.empty()) asio::co_spawn(io, resolve_bootstrap(self), asio::detached);
    flush();
    log("node " + id_hex(id) + " on UDP port " + std::to_string(port4) +
        (v6.sock ? " and [::]:" + std::to_string(port6) : std::string{}));
  }

  static awaitable<void> resolve_bootstrap(std::shared_ptr<Impl> self) {
    std::vector<PeerAddr> found;
    for (const auto& b : self->opt.bootstrap) {
      std::string host;
      std::uint16_t port = 0;
      if (!split_host_port(b, &host, &port)) {
        self->log("bad bootstrap node " + b + " (want HOST:PORT)");
        continue;
      }
      udp::resolver r(self->io);
      boost::system::error_code ec;
      auto eps = co_await r.async_resolve(host, std::to_string(port), asio::redirect_error(use_awaitable, ec));
      if (self->stopped) co_return;
      if (ec) {
        self->log("bootstrap node " + b + ": " + ec.message());
        continue;
      }
      for (const auto& e : eps) found.push_back(to_addr(e.endpoint()));
    }
    const std::int64_t now = now_ms();
    std::vector<PeerAddr> fam[2];
    for (const auto& a : found) fam[a.v6].push_back(a);
    for (Family* f : {&self->v4, &self->v6}) {
      if (f->node && !fam[f == &self->v6].empty()) f->node->bootstrap(fam[f == &self->v6], now);
    }
    self->flush();
  }

  static awaitable<void> receive_loop(std::shared_ptr<Impl> self, bool six) {
    Family& f = self->family(six);
    int errors = 0;
    for (;;) {
      udp::endpoint from;
      boost::system::error_code ec;
      const std::size_t n = co_await f.sock->async_receive_from(asio::buffer(f.buf), from,
                                                                asio::redirect_error(use_awaitable, ec));
      if (self->stopped || !f.node) co_return;
      if (ec) {
        if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
        // ICMP errors surface here on Linux (the next datagram is what matters); anything
        // that keeps failing gets a pause rather than a busy loop.
        if (++errors > 16) {
          asio::steady_timer pause(self->io, std::chrono::milliseconds(100));
          co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
        }
        continue;
      }
      errors = 0;
      f.node->receive(to_addr(from), {reinterpret_cast<const char*>(f.buf.data()), n}, now_ms());
      self->flush();
    }
  }

  static awaitable<void> tick_loop(std::shared_ptr<Impl> self) {
    for (;;) {
      self->ticker.expires_after(kTick);
      boost::system::error_code ec;
      co_await self->ticker.async_wait(asio::redirect_error(use_awaitable, ec));
      if (self->stopped || ec) co_return;
      const std::int64_t now = now_ms();
      for (Family* f : {&self->v4, &self->v6}) {
        if (f->node) f->node->tick(now);
      }
      self->flush();
      if (now - self->saved_at >= kSaveEveryMs) {
        self->saved_at = now;
        self->save();
      }
    }
  }

  // Datagrams go out at once (UDP sends do not wait); a full socket buffer drops one, as
  // the network might.
  void flush() {
    for (Family* f : {&v4, &v6}) {
      if (!f->node || !f->sock) continue;
      for (auto& d : f->node->take_outgoing()) {
        boost::system::error_code ec;
        f->sock->send_to(asio::buffer(d.bytes), to_endpoint(d.to), 0, ec);
      }
    }
  }

  void stop() {
    if (stopped) return;
    save();
    stopped = true;
    // The nodes go with their lookups, whose callbacks hold their askers (and this); later,
    // from the event loop (or its destructor), as stop() may be called from such a callback.
    auto graveyard = std::make_shared<std::vector<std::unique_ptr<DhtNode>>>();
    for (Family* f : {&v4, &v6}) {
      if (f->node) final_stats[f == &v6] = f->node->stats();
      graveyard->push_back(std::move(f->node));
    }
    asio::post(io, [graveyard] {});
    ticker.cancel();
    for (Family* f : {&v4, &v6}) {
      if (f->sock) {
        boost::system::error_code ec;
        f->sock->close(ec);
      }
    }
  }
};

DhtService::DhtService(asio::io_context& io, DhtOptions opt) : impl_(std::make_shared<Impl>(io, std::move(opt))) {}

DhtService::~DhtService() { impl_->stop(); }

void DhtService::start() { impl_->start(); }
void DhtService::stop() { impl_->stop(); }

void DhtService::get_peers(const NodeId& info_hash, std::uint16_t announce_port,
                           std::function<void(const std::vector<std::string>&)> on_peers,
                           std::function<void(std::size_t)> on_done) {
  auto self = impl_;
  auto left = std::make_shared<int>(0);
  auto answered = std::make_shared<std::size_t>(0);
  for (auto* f : {&self->v4, &self->v6}) *left += f->node ? 1 : 0;
  if (*left == 0 || self->stopped) {
    if (on_done) asio::post(self->io, [on_done] { on_done(0); });
    return;
  }
  auto done = std::make_shared<std::function<void(std::size_t)>>(std::move(on_done));
  const std::int64_t now = now_ms();
  for (auto* f : {&self->v4, &self->v6}) {
    if (!f->node) continue;
    f->node->get_peers(
        info_hash, announce_port, false,
        [self, on_peers](const std::vector<PeerAddr>& peers) {
          if (self->stopped || !on_peers) return;
          std::vector<std::string> out;
          for (const auto& p : peers) out.push_back(tracker::endpoint_text(p));
          on_peers(out);
        },
        [self, left, done, answered](const LookupResult& r) {
          *answered += r.responded;
          if (--*left == 0 && *done && !self->stopped) (*done)(*answered);
        },
        now);
  }
  self->flush();
}

void DhtService::add_node(const std::string& host, std::uint16_t port) {
  auto a = tracker::parse_ip(host);
  if (!a || port == 0 || impl_->stopped) return;
  a->port = port;
  auto& f = impl_->family(a->v6);
  if (!f.node) return;
  f.node->ping(*a, now_ms());
  impl_->flush();
}

std::uint16_t DhtService::port() const { return impl_->port4 ? impl_->port4 : impl_->port6; }

DhtServiceStatus DhtService::status() const {
  DhtServiceStatus s;
  s.id = id_hex(impl_->id);
  s.port4 = impl_->port4;
  s.port6 = impl_->port6;
  s.v4 = impl_->v4.node ? impl_->v4.node->stats() : impl_->final_stats[0];
  s.v6 = impl_->v6.node ? impl_->v6.node->stats() : impl_->final_stats[1];
  return s;
}

}  // namespace hf::torrent::dht
