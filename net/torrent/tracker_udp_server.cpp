#include "net/torrent/tracker_udp_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>

#include <array>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "net/torrent/tracker_udp.hpp"

namespace hf::torrent::tracker {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

PeerAddr to_peer(const udp::endpoint& ep) {
  PeerAddr a;
  const auto addr = ep.address();
  if (addr.is_v4()) {
    a = v4_addr(addr.to_v4().to_uint(), ep.port());
  } else if (addr.to_v6().is_v4_mapped()) {
    a = v4_addr(asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6()).to_uint(), ep.port());
  } else {
    const auto b = addr.to_v6().to_bytes();
    std::memcpy(a.ip.data(), b.data(), 16);
    a.v6 = true;
    a.port = ep.port();
  }
  return a;
}

udp::endpoint endpoint_of(const std::string& where) {
  std::string text = where;
  if (!text.empty() && text[0] == ':') text = "0.0.0.0" + text;
  auto a = parse_endpoint(text);
  if (!a) throw std::runtime_error("cannot listen on UDP " + where + ": not ADDRESS:PORT");
  if (a->v6) {
    asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), a->ip.data(), 16);
    return {asio::ip::address_v6(b), a->port};
  }
  return {asio::ip::address_v4((std::uint32_t{a->ip[0]} << 24) | (std::uint32_t{a->ip[1]} << 16) |
                               (std::uint32_t{a->ip[2]} << 8) | a->ip[3]),
          a->port};
}

}  // namespace

std::string handle_udp_packet(TrackerState& st, std::span<const std::uint8_t> packet, const PeerAddr& from,
                              double now) {
  std::string out;
  if (!st.limiter.allow(from, now)) {
    // Dropped without a word: answering a flood would make the tracker a reflector.
    st.counters.rate_limited.fetch_add(1, std::memory_order_relaxed);
    return out;
  }
  UdpRequest req;
  std::string why;
  switch (parse_udp_request(packet, &req, &why)) {
    case UdpParse::drop:
      return out;
    case UdpParse::error:
      st.counters.failures.fetch_add(1, std::memory_order_relaxed);
      encode_udp_error(req.transaction, why, &out);
      return out;
    case UdpParse::ok:
      break;
  }
  const auto now_s = static_cast<std::int64_t>(now);
  if (req.action == UdpAction::connect) {
    st.counters.udp_connects.fetch_add(1, std::memory_order_relaxed);
    encode_udp_connect(req.transaction, st.ids.issue(from, now_s), &out);
    return out;
  }
  if (!st.ids.valid(req.connection, from, now_s)) {
    st.counters.bad_connection_ids.fetch_add(1, std::memory_order_relaxed);
    encode_udp_error(req.transaction, "connection id expired or not issued to this address; connect again", &out);
    return out;
  }
  if (req.action == UdpAction::scrape) {
    std::vector<SwarmCounts> counts;
    counts.reserve(req.hashes.size());
    for (const auto& h : req.hashes) counts.push_back(st.swarms.allowed(h) ? st.swarms.scrape(h) : SwarmCounts{});
    st.counters.udp_scrapes.fetch_add(1, std::memory_order_relaxed);
    encode_udp_scrape(req.transaction, counts, &out);
    return out;
  }
  PeerAddr peer = from;
  if (req.announce.ip && (st.cfg.trust_ip_param || is_loopback(from))) peer = *req.announce.ip;
  peer.port = req.announce.port;
  AnnounceReply reply;
  // Peers of the client's own family only (BEP 15: 6-byte entries over IPv4, 18 over IPv6),
  // capped so the reply is one unfragmented datagram.
  const unsigned max4 = from.v6 ? 0 : kMaxUdpPeers4, max6 = from.v6 ? kMaxUdpPeers6 : 0;
  if (auto refused = st.swarms.announce(req.announce, peer, max4, max6, now_s, &reply)) {
    st.counters.failures.fetch_add(1, std::memory_order_relaxed);
    encode_udp_error(req.transaction, *refused, &out);
    return out;
  }
  st.counters.udp_announces.fetch_add(1, std::memory_order_relaxed);
  encode_udp_announce(req.transaction, reply, from.v6, &out);
  return out;
}

struct UdpServer::Socket {
  explicit Socket(TrackerState& s) : st(s), io(1), sock(io) {}
  TrackerState& st;
  asio::io_context io;
  udp::socket sock;
  // One byte more than any request may be, so a longer datagram shows as too long (the
  // kernel cuts it to the buffer) instead of passing as a shorter one.
  std::array<std::uint8_t, kMaxUdpRequest + 1> buf{};
  udp::endpoint from;
  std::thread thread;

  void receive() {
    sock.async_receive_from(asio::buffer(buf), from, [this](const boost::system::error_code& ec, std::size_t n) {
      if (!sock.is_open() || ec == asio::error::operation_aborted) return;
      // Other errors (ICMP-reported refusals of earlier replies) concern one datagram only.
      if (!ec && n > 0) {
        const std::string reply = handle_udp_packet(st, {buf.data(), n}, to_peer(from), steady_seconds());
        if (!reply.empty()) {
          boost::system::error_code send_ec;
          sock.send_to(asio::buffer(reply), from, 0, send_ec);
        }
      }
      receive();
    });
  }
};

UdpServer::UdpServer(TrackerState& st) : st_(st) {}

UdpServer::~UdpServer() { stop(); }

std::string UdpServer::listen(const std::string& where) {
  udp::endpoint ep = endpoint_of(where);
  const unsigned n = std::max(1u, st_.cfg.udp_threads);
  std::string url;
  for (unsigned i = 0; i < n; ++i) {
    auto s = std::make_unique<Socket>(st_);
    boost::system::error_code ec;
    s->sock.open(ep.protocol(), ec);
    if (!ec && ep.address().is_v6()) s->sock.set_option(asio::ip::v6_only(false), ec);  // dual stack on [::]
    if (!ec) {
      const int one = 1;
      if (::setsockopt(s->sock.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        ec.assign(errno, boost::system::system_category());
    }
    if (!ec) s->sock.bind(ep, ec);
    if (!ec) s->sock.non_blocking(true, ec);
    if (ec) throw std::runtime_error("cannot listen on UDP " + where + ": " + ec.message());
    if (i == 0) {
      ep = s->sock.local_endpoint();  // the real port, for the other sockets and the URL
      url = "udp://" + endpoint_text(to_peer(ep));
    }
    socks_.push_back(std::move(s));
  }
  return url;
}

void UdpServer::start() {
  for (auto& s : socks_) {
    if (s->thread.joinable()) continue;
    s->receive();
    s->thread = std::thread([p = s.get()] { p->io.run(); });
  }
}

void UdpServer::stop() {
  for (auto& s : socks_) {
    asio::post(s->io, [p = s.get()] {
      boost::system::error_code ec;
      p->sock.close(ec);
      p->io.stop();
    });
  }
  for (auto& s : socks_)
    if (s->thread.joinable()) s->thread.join();
}

}  // namespace hf::torrent::tracker
