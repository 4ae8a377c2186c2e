#include "net/torrent/tracker_http.hpp"

#include <cstdio>

#include "net/http/assets.hpp"
#include "net/torrent/tracker_response.hpp"

namespace hf::torrent::tracker {

const http::AssetTable& tracker_assets();  // net/torrent/tracker.html, compiled in (CMakeLists.txt)

namespace {

// Bencoded replies are bytes, not text; text/plain is what common trackers send and what
// every client accepts.
constexpr const char* kBencodeType = "text/plain";

http::Response bencoded(std::string body) {
  http::Response r;
  r.content_type = kBencodeType;
  r.body = std::move(body);
  return r;
}

http::Response failure(TrackerState& st, std::string_view reason) {
  st.counters.failures.fetch_add(1, std::memory_order_relaxed);
  auto r = bencoded(encode_failure(reason));
  r.headers.set("Cache-Control", "no-store");
  return r;
}

// The client's address, or a failure reason when the request did not come over a socket
// or the limiter says no.
std::optional<PeerAddr> client_of(TrackerState& st, const http::Request& req, std::string* why) {
  auto from = parse_endpoint(req.peer);
  if (!from) {
    *why = "cannot tell the client's address";
    return std::nullopt;
  }
  if (!st.limiter.allow(*from, steady_seconds())) {
    st.counters.rate_limited.fetch_add(1, std::memory_order_relaxed);
    *why = "rate limited: too many requests from your address, slow down";
    return std::nullopt;
  }
  return from;
}

http::Response announce(TrackerState& st, const http::Request& req) {
  std::string why;
  auto from = client_of(st, req, &why);
  if (!from) return failure(st, why);
  auto a = parse_announce_params(req.query, &why);  // decoded once, by the server
  if (!a) return failure(st, why);
  PeerAddr peer = *from;
  if (a->ip && (st.cfg.trust_ip_param || is_loopback(*from))) peer = *a->ip;
  peer.port = a->port;
  AnnounceReply reply;
  const unsigned cap = st.cfg.swarm.numwant_max;
  if (auto refused = st.swarms.announce(*a, peer, cap, cap, static_cast<std::int64_t>(steady_seconds()), &reply))
    return failure(st, *refused);
  st.counters.http_announces.fetch_add(1, std::memory_order_relaxed);
  std::string body;
  encode_announce(reply, a->compact, a->no_peer_id, &body);
  return bencoded(std::move(body));
}

http::Response scrape(TrackerState& st, const http::Request& req) {
  std::string why;
  if (!client_of(st, req, &why)) return failure(st, why);
  QueryLimits lim;
  auto hashes = parse_scrape_params(req.query, &why, lim);
  if (!hashes) return failure(st, why);
  std::vector<std::pair<InfoHash, SwarmCounts>> files;
  files.reserve(hashes->size());
  // A hash off the whitelist is left out, as one nobody announced would be on a public
  // tracker that forgot it; a whitelisted or public one is listed, with zeros if idle.
  for (const auto& h : *hashes)
    if (st.swarms.allowed(h)) files.emplace_back(h, st.swarms.scrape(h));
  st.counters.http_scrapes.fetch_add(1, std::memory_order_relaxed);
  std::string body;
  encode_scrape(std::move(files), &body);
  return bencoded(std::move(body));
}

void field(std::string* out, const char* name, std::uint64_t v) {
  *out += '"';
  *out += name;
  *out += "\":";
  *out += std::to_string(v);
  *out += ',';
}

}  // namespace

std::string stats_json(const TrackerState& st) {
  const Totals t = st.swarms.totals();
  const Counters& c = st.counters;
  const auto load = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  std::string out = "{";
  field(&out, "torrents", t.torrents);
  field(&out, "peers", t.seeders + t.leechers);
  field(&out, "seeders", t.seeders);
  field(&out, "leechers", t.leechers);
  field(&out, "completed", t.completed);
  field(&out, "http_announces", load(c.http_announces));
  field(&out, "udp_announces", load(c.udp_announces));
  field(&out, "http_scrapes", load(c.http_scrapes));
  field(&out, "udp_scrapes", load(c.udp_scrapes));
  field(&out, "udp_connects", load(c.udp_connects));
  field(&out, "failures", load(c.failures));
  field(&out, "rate_limited", load(c.rate_limited));
  field(&out, "bad_connection_ids", load(c.bad_connection_ids));
  field(&out, "interval", st.cfg.swarm.interval);
  field(&out, "peer_timeout", st.cfg.swarm.effective_peer_timeout());
  field(&out, "whitelist", st.cfg.swarm.whitelist ? st.cfg.swarm.whitelist->size() : 0);
  field(&out, "started", static_cast<std::uint64_t>(st.started_unix));
  field(&out, "now", static_cast<std::uint64_t>(unix_seconds()));
  char sample[48];
  std::snprintf(sample, sizeof sample, "\"sample_seconds\":%g,", st.cfg.sample_interval);
  out += sample;
  out += "\"history\":";
  out += *st.history();
  out += "}";
  return out;
}

http::Router make_tracker_router(TrackerState& st) {
  http::Router r;
  r.get("/announce", [&st](const http::Request& req) { return announce(st, req); });
  r.get("/scrape", [&st](const http::Request& req) { return scrape(st, req); });
  const http::AssetTable& assets = tracker_assets();
  const http::Asset* page = assets.find("/tracker.html");
  auto json = [&st] {
    auto res = http::Response::json(stats_json(st));
    res.headers.set("Cache-Control", "no-store");
    return res;
  };
  r.get("/stats.json", [json](const http::Request&) { return json(); });
  auto html = [&assets, page, json](const http::Request& req) {
    if (req.query_value("format") == std::optional<std::string_view>("json")) return json();
    return assets.serve(req, *page);
  };
  r.get("/stats", html);
  r.get("/", html);
  return r;
}

}  // namespace hf::torrent::tracker
