#include "net/torrent/tracker_calls.hpp"

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <stdexcept>

#include "net/io/stream.hpp"

namespace hf::torrent {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using udp = asio::ip::udp;

namespace {

constexpr auto kTrackerTimeout = std::chrono::seconds(20);
constexpr std::size_t kMaxTrackerReply = 4 << 20;

std::string http_body(const std::string& reply) {
  std::string why;
  auto body = tracker::http_reply_body(reply, &why);
  if (!body) throw std::runtime_error(why);
  return std::move(*body);
}

}  // namespace

awaitable<std::string> tracker_get(asio::io_context& io, std::unique_ptr<asio::ssl::context>& tls, std::string url,
                                   netio::Family family) {
  auto u = tracker::split_tracker_url(url);
  if (!u) throw std::runtime_error("not a tracker URL");
  if (u->scheme != "http" && u->scheme != "https") throw std::runtime_error("an unknown tracker scheme");
  netio::PoolUrl pu{u->scheme == "https", u->host, u->port, url, family};
  // Named, not a temporary in the co_await: GCC 12 destroys such temporaries twice.
  const netio::TlsVerify verify;
  if (!tls) tls = netio::make_client_tls(verify);
  auto stream = co_await netio::connect_stream(pu, *tls, verify, kTrackerTimeout);
  netio::StreamDeadline deadline(io, stream.get(), kTrackerTimeout);
  const std::string host = u->host.find(':') != std::string::npos ? "[" + u->host + "]" : u->host;
  const std::string req = "GET " + u->target + " HTTP/1.1\r\nHost: " + host + ":" + u->port +
                          "\r\nUser-Agent: hashforge/0.1\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n";
  co_await stream->write(asio::buffer(req));
  std::string reply;
  std::array<char, 16384> buf{};
  for (;;) {
    boost::system::error_code ec;
    std::size_t n = 0;
    try {
      n = co_await stream->read_some(asio::buffer(buf));
    } catch (const boost::system::system_error& e) {
      ec = e.code();
    }
    if (ec || n == 0) break;
    reply.append(buf.data(), n);
    if (reply.size() > kMaxTrackerReply) throw std::runtime_error("reply over 4 MiB");
  }
  if (deadline.expired())
    throw std::runtime_error(reply.empty() ? "no reply in " + std::to_string(kTrackerTimeout.count()) + " s"
                                           : "the reply did not end in time");
  co_return http_body(reply);
}

namespace {

// The connect exchange goes to every address the tracker's name has at once (IPv6 and IPv4:
// either may be unreachable from here, and an unanswered UDP packet says nothing for 15 s);
// the first address to answer it is the tracker's for the rest of the call. Each socket is
// connected to its address: only that address's datagrams reach it, and a host that is up
// with nothing on the port says so at once (ICMP port unreachable comes back as "connection
// refused") instead of leaving the call to time out.
struct UdpRace {
  struct Probe {
    Probe(asio::io_context& io, const udp::endpoint& e) : s(io), ep(e) {}
    udp::socket s;
    udp::endpoint ep;
    std::array<std::uint8_t, 64> in{};
  };
  explicit UdpRace(asio::io_context& io) : done(io) {}
  std::vector<std::unique_ptr<Probe>> probes;
  asio::steady_timer done;
  std::string request, why;
  std::uint32_t transaction = 0;
  int winner = -1;
  std::size_t refused = 0;  // addresses that answered with an error (or nonsense)
  std::uint64_t connection_id = 0;
};

// One connect exchange with every address: 0 with the winner's socket in `keep`, -1 when none
// answered in time, -2 when every address answered with an error or none could be tried
// (`why`).
awaitable<int> udp_connect_race(asio::io_context& io, const std::vector<udp::endpoint>& targets, std::uint32_t tx,
                                unsigned attempt, std::string* why, std::uint64_t* cid,
                                std::vector<std::unique_ptr<UdpRace::Probe>>* keep) {
  auto race = std::make_shared<UdpRace>(io);
  race->transaction = tx;
  race->request = tracker::udp_connect_request(tx);
  std::string untried;  // why an address was left out: the reason only if all were
  for (const udp::endpoint& ep : targets) {
    auto p = std::make_unique<UdpRace::Probe>(io, ep);
    boost::system::error_code ec;
    p->s.open(ep.protocol(), ec);  // no IPv6 here: that address is left out
    if (!ec) p->s.connect(ep, ec);  // no route, or a broadcast address
    if (ec)
      untried = ep.address().to_string() + ": " + ec.message();
    else
      race->probes.push_back(std::move(p));
  }
  if (race->probes.empty()) {
    *why = untried;
    co_return -2;
  }
  for (std::size_t i = 0; i < race->probes.size(); ++i) {
    UdpRace::Probe& p = *race->probes[i];
    p.s.async_send(asio::buffer(race->request), [race](boost::system::error_code, std::size_t) {});
    p.s.async_receive(asio::buffer(p.in), [race, i](boost::system::error_code ec, std::size_t n) {
      if (race->winner >= 0 || ec == asio::error::operation_aborted) return;
      if (ec) {
        race->why = ec == asio::error::connection_refused ? "connection refused (nothing listens on that UDP port)"
                                                          : ec.message();
        if (++race->refused == race->probes.size()) race->done.cancel();
        return;
      }
      const UdpRace::Probe& q = *race->probes[i];
      auto c = tracker::parse_udp_connect_reply({q.in.data(), n}, race->transaction, &race->why);
      if (!c) {
        if (++race->refused == race->probes.size()) race->done.cancel();
        return;
      }
      race->winner = static_cast<int>(i);
      race->connection_id = *c;
      race->done.cancel();
    });
  }
  race->done.expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(tracker::udp_timeout(attempt) * 1000)));
  boost::system::error_code ec;
  if (race->winner < 0 && !race->probes.empty())
    co_await race->done.async_wait(asio::redirect_error(use_awaitable, ec));
  const int w = race->winner;
  for (auto& p : race->probes) {
    boost::system::error_code ignored;
    p->s.cancel(ignored);
  }
  if (w < 0) {
    if (!race->why.empty()) *why = race->why;
    co_return race->refused > 0 && race->refused == race->probes.size() ? -2 : -1;
  }
  *cid = race->connection_id;
  keep->push_back(std::move(race->probes[static_cast<std::size_t>(w)]));
  co_return 0;
}

}  // namespace

awaitable<UdpCall> udp_tracker_call(asio::io_context& io, const tracker::TrackerUrl& u, std::mt19937_64& rng,
                                    UdpRequest make, netio::Family family) {
  udp::resolver r(io);
  auto eps = co_await r.async_resolve(u.host, u.port, use_awaitable);
  std::vector<udp::endpoint> targets;
  for (const auto& e : eps) {
    if (!netio::family_allows(family, e.endpoint().address().is_v6())) continue;
    if (targets.size() < 8 && std::find(targets.begin(), targets.end(), e.endpoint()) == targets.end())
      targets.push_back(e.endpoint());
  }
  if (targets.empty()) throw std::runtime_error(netio::no_address_of_family(u.host, family));
  std::array<std::uint8_t, 8192> buf{};
  std::string why;
  for (unsigned n = 0; n < 2; ++n) {
    std::uint64_t cid = 0;
    std::vector<std::unique_ptr<UdpRace::Probe>> won;
    const int raced = co_await udp_connect_race(io, targets, static_cast<std::uint32_t>(rng()), n, &why, &cid, &won);
    if (raced == -2) throw std::runtime_error(why);
    if (raced < 0) continue;
    udp::socket& s = won.front()->s;
    const udp::endpoint ep = won.front()->ep;
    UdpCall call;
    call.transaction = static_cast<std::uint32_t>(rng());
    call.v6 = ep.address().is_v6();
    const std::string req = make(cid, call.transaction);
    co_await s.async_send(asio::buffer(req), use_awaitable);
    asio::steady_timer t(io, std::chrono::milliseconds(static_cast<std::int64_t>(tracker::udp_timeout(n) * 1000)));
    // A handler already queued when the answer came must not cancel a later exchange.
    auto armed = std::make_shared<bool>(true);
    t.async_wait([&s, armed](boost::system::error_code ec) {
      if (!ec && *armed) s.cancel();
    });
    boost::system::error_code ec;
    std::size_t got = co_await s.async_receive(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
    *armed = false;
    t.cancel();
    if (ec == asio::error::connection_refused) throw std::runtime_error("connection refused (the tracker went away)");
    if (ec || !got) continue;
    call.reply.assign(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(got));
    co_return call;
  }
  if (!why.empty()) throw std::runtime_error(why);
  throw std::runtime_error("no reply in " +
                           std::to_string(static_cast<int>(tracker::udp_timeout(0) + tracker::udp_timeout(1))) + " s");
}

}  // namespace hf::torrent
