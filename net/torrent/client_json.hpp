// A torrent client's status as JSON: what `torrent download --json` prints each second and
// what the daemon's API serves for each torrent.
#pragma once
#include <boost/json/object.hpp>

#include "net/torrent/peer_client.hpp"

namespace hf::torrent {

boost::json::object client_status_json(const ClientStatus& s);

}  // namespace hf::torrent
