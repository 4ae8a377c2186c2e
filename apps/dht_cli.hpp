// The DHT options `torrent download`, `seed` and `dht` share, and the service they make.
#pragma once
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>

#include <memory>
#include <string>
#include <vector>

#include "net/torrent/dht_service.hpp"

namespace hf::cli {

struct DhtFlags {
  bool on = false;
  std::string listen;
  std::vector<std::string> bootstrap;
  std::string state;
  // `prefix`: "--dht-" for download and seed (with --dht to turn it on), "--" for `torrent dht`.
  void add_to(CLI::App* cmd, bool standalone);
  // The service, started; failure() with one line when it cannot be.
  std::shared_ptr<torrent::dht::DhtService> start(boost::asio::io_context& io, bool verbose) const;
};

// The nodes in the routing tables, lookups and what the node stores, for --json.
boost::json::object dht_json(const torrent::dht::DhtServiceStatus& s);

}  // namespace hf::cli
