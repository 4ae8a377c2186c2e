#include "net/torrent/client_json.hpp"

#include <boost/json.hpp>

namespace hf::torrent {

namespace json = boost::json;

json::object client_status_json(const ClientStatus& s) {
  json::object o;
  o["name"] = s.name;
  o["pieces"] = s.pieces;
  o["have"] = s.have;
  o["total"] = s.total;
  o["left"] = s.left;
  o["progress"] = s.total ? static_cast<double>(s.total - s.left) / static_cast<double>(s.total) : 1.0;
  o["downloaded"] = s.downloaded;
  o["uploaded"] = s.uploaded;
  o["wasted"] = s.wasted;
  o["download_rate"] = s.download_rate;
  o["upload_rate"] = s.upload_rate;
  o["hash_failures"] = s.hash_failures;
  o["banned"] = s.banned;
  o["complete"] = s.complete;
  o["port"] = s.port;
  o["has_metadata"] = s.has_metadata;
  if (!s.has_metadata) {
    o["metadata_size"] = s.metadata_size;
    o["metadata_pieces"] = s.metadata_pieces;
    o["metadata_got"] = s.metadata_got;
  }
  if (s.metadata_ms >= 0) o["metadata_ms"] = s.metadata_ms;
  if (s.first_piece_ms >= 0) o["first_piece_ms"] = s.first_piece_ms;
  if (!s.failed.empty()) o["error"] = s.failed;
  json::array peers;
  for (const auto& p : s.peers)
    peers.push_back(json::object{{"address", p.address},
                                 {"client", p.client},
                                 {"seed", p.seed},
                                 {"pieces", p.pieces},
                                 {"am_choking", p.am_choking},
                                 {"am_interested", p.am_interested},
                                 {"peer_choking", p.peer_choking},
                                 {"peer_interested", p.peer_interested},
                                 {"download_rate", p.download_rate},
                                 {"upload_rate", p.upload_rate},
                                 {"downloaded", p.downloaded},
                                 {"uploaded", p.uploaded},
                                 {"requests_out", p.requests_out},
                                 {"requests_in", p.requests_in},
                                 {"snubbed", p.snubbed}});
  o["peers"] = std::move(peers);
  json::array trackers;
  for (const auto& t : s.trackers)
    trackers.push_back(json::object{{"url", t.url},
                                    {"error", t.last_error},
                                    {"seeders", t.seeders},
                                    {"leechers", t.leechers},
                                    {"peers", t.peers}});
  o["trackers"] = std::move(trackers);
  if (!s.web_seeds.empty()) {
    json::array ws;
    for (const auto& w : s.web_seeds)
      ws.push_back(json::object{{"url", w.url}, {"downloaded", w.downloaded}, {"error", w.last_error}, {"active", w.active}});
    o["web_seeds"] = std::move(ws);
  }
  return o;
}


}  // namespace hf::torrent
