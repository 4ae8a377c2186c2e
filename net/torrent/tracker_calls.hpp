// The client's two ways to a tracker: one HTTP(S) GET (an announce or a scrape, the
// connection closed after it) and one UDP exchange (BEP 15: connect, then the request), each
// with deadlines. What goes in the messages and how replies read is tracker_client.hpp's.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include "net/io/connect.hpp"
#include "net/torrent/tracker_client.hpp"

namespace hf::torrent {

// The body of a GET of `url` (http or https), or std::runtime_error with one line. `tls` is
// made on first use. `family`: the addresses of the tracker's name the call may use (the
// listening socket's family, for an announce).
boost::asio::awaitable<std::string> tracker_get(boost::asio::io_context& io,
                                                std::unique_ptr<boost::asio::ssl::context>& tls, std::string url,
                                                netio::Family family = netio::Family::any);

// What a UDP tracker call brings back.
struct UdpCall {
  std::vector<std::uint8_t> reply;
  std::uint32_t transaction = 0;
  bool v6 = false;  // the tracker was reached over IPv6 (its peers are 18 bytes each)
};
// Builds a request from the connection id and a transaction id.
using UdpRequest = std::function<std::string(std::uint64_t connection_id, std::uint32_t transaction)>;

// A UDP tracker's reply: a connect exchange with every address of its name at once (the first
// to answer is used), then the request `make` builds; two tries on BEP 15's timeouts. The
// caller parses the reply against the transaction it was sent with. Throws
// std::runtime_error with one line (no answer, an error reply, no address of `family`).
boost::asio::awaitable<UdpCall> udp_tracker_call(boost::asio::io_context& io, const tracker::TrackerUrl& u,
                                                 std::mt19937_64& rng, UdpRequest make,
                                                 netio::Family family = netio::Family::any);

}  // namespace hf::torrent
