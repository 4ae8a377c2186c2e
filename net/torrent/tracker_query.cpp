#include "net/torrent/tracker_query.hpp"

#include <cstring>
#include <limits>

#include "net/http/query.hpp"

namespace hf::torrent::tracker {

namespace {

// Calls f(key, value) for every parameter, already decoded. False with *why on more than
// max_params of them, or when f returns false (f sets *why).
template <class F>
bool for_each_param(const http::Params& params, std::size_t max_params, std::string* why, F&& f) {
  if (params.size() > max_params) {
    *why = "too many query parameters (at most " + std::to_string(max_params) + ")";
    return false;
  }
  for (const auto& [k, v] : params)
    if (!f(k, v)) return false;
  return true;
}

// The query string split and decoded by net/http's parser (the one the server runs).
bool split_query(std::string_view query, std::size_t max_params, http::Params* out, std::string* why) {
  if (http::parse_query(query, out, max_params + 1)) return true;
  *why = out->size() > max_params ? "too many query parameters (at most " + std::to_string(max_params) + ")"
                                  : "bad percent-encoding in the query string";
  return false;
}

bool parse_u64(std::string_view s, std::uint64_t max, std::uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

bool copy20(const std::string& v, std::array<std::uint8_t, 20>* out) {
  if (v.size() != 20) return false;
  std::memcpy(out->data(), v.data(), 20);
  return true;
}

}  // namespace

std::optional<AnnounceRequest> parse_announce_query(std::string_view query, std::string* why, const QueryLimits& lim) {
  http::Params params;
  if (!split_query(query, lim.max_params, &params, why)) return std::nullopt;
  return parse_announce_params(params, why, lim);
}

std::optional<AnnounceRequest> parse_announce_params(const http::Params& query, std::string* why, const QueryLimits& lim) {
  AnnounceRequest r;
  bool have_hash = false, have_id = false, have_port = false, have_left = false;
  bool have_up = false, have_down = false, have_event = false, have_numwant = false;
  // A parameter that matters given twice is refused: which one a tracker picks would be a
  // guess, and two components guessing differently is how request smuggling starts.
  auto once = [why](bool* seen, std::string_view name) {
    if (*seen) {
      *why = std::string(name) + " given more than once";
      return false;
    }
    *seen = true;
    return true;
  };
  auto number = [why](std::string_view name, const std::string& v, std::int64_t* out) {
    std::uint64_t n = 0;
    if (!parse_u64(v, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()), &n)) {
      *why = std::string(name) + " is not a whole number of bytes";
      return false;
    }
    *out = static_cast<std::int64_t>(n);
    return true;
  };
  const bool ok = for_each_param(query, lim.max_params, why, [&](const std::string& k, const std::string& v) {
    if (k == "info_hash") {
      if (!once(&have_hash, k)) return false;
      if (!copy20(v, &r.info_hash)) {
        *why = "info_hash is not 20 bytes (it is " + std::to_string(v.size()) + ")";
        return false;
      }
    } else if (k == "peer_id") {
      if (!once(&have_id, k)) return false;
      if (!copy20(v, &r.peer_id)) {
        *why = "peer_id is not 20 bytes (it is " + std::to_string(v.size()) + ")";
        return false;
      }
    } else if (k == "port") {
      if (!once(&have_port, k)) return false;
      std::uint64_t p = 0;
      if (!parse_u64(v, 65535, &p) || p == 0) {
        *why = "port is not a number from 1 to 65535";
        return false;
      }
      r.port = static_cast<std::uint16_t>(p);
    } else if (k == "left") {
      if (!once(&have_left, k) || !number(k, v, &r.left)) return false;
    } else if (k == "uploaded") {
      if (!once(&have_up, k) || !number(k, v, &r.uploaded)) return false;
    } else if (k == "downloaded") {
      if (!once(&have_down, k) || !number(k, v, &r.downloaded)) return false;
    } else if (k == "event") {
      if (!once(&have_event, k)) return false;
      if (v == "started") {
        r.event = Event::started;
      } else if (v == "completed") {
        r.event = Event::completed;
      } else if (v == "stopped") {
        r.event = Event::stopped;
      } else if (v.empty() || v == "empty" || v == "paused") {  // "paused": BEP 21, an ordinary announce here
        r.event = Event::none;
      } else {
        *why = "event is not started, completed, stopped or empty";
        return false;
      }
    } else if (k == "numwant" || k == "num_want") {
      if (!once(&have_numwant, "numwant")) return false;
      std::uint64_t n = 0;
      if (v.size() > 1 && v[0] == '-' && parse_u64(std::string_view(v).substr(1), 1u << 30, &n)) {
        r.numwant = -1;  // some clients send -1 for "the default"
      } else if (parse_u64(v, 1u << 30, &n)) {
        r.numwant = static_cast<int>(n);
      } else {
        *why = "numwant is not a whole number";
        return false;
      }
    } else if (k == "compact") {
      r.compact = v != "0";
    } else if (k == "no_peer_id") {
      r.no_peer_id = v == "1";
    } else if (k == "ip") {
      // BEP 3 allows a DNS name here; only literal addresses are used (a name is ignored).
      r.ip = parse_ip(v);
    }
    return true;
  });
  if (!ok) return std::nullopt;
  if (!have_hash) {
    *why = "missing info_hash";
  } else if (!have_id) {
    *why = "missing peer_id";
  } else if (!have_port) {
    *why = "missing port";
  } else if (!have_left) {
    *why = "missing left";
  } else {
    return r;
  }
  return std::nullopt;
}

std::optional<std::vector<InfoHash>> parse_scrape_query(std::string_view query, std::string* why,
                                                        const QueryLimits& lim) {
  http::Params params;
  if (!split_query(query, lim.max_scrape_hashes + 16, &params, why)) return std::nullopt;
  return parse_scrape_params(params, why, lim);
}

std::optional<std::vector<InfoHash>> parse_scrape_params(const http::Params& query, std::string* why,
                                                         const QueryLimits& lim) {
  std::vector<InfoHash> hashes;
  // Room for every allowed hash and a few other parameters (some clients add peer_id or key).
  const bool ok =
      for_each_param(query, lim.max_scrape_hashes + 16, why, [&](const std::string& k, const std::string& v) {
        if (k != "info_hash") return true;
        InfoHash h;
        if (!copy20(v, &h)) {
          *why = "info_hash is not 20 bytes (it is " + std::to_string(v.size()) + ")";
          return false;
        }
        for (const auto& seen : hashes)
          if (seen == h) return true;
        if (hashes.size() >= lim.max_scrape_hashes) {
          *why = "too many info_hash values in one scrape (at most " + std::to_string(lim.max_scrape_hashes) + ")";
          return false;
        }
        hashes.push_back(h);
        return true;
      });
  if (!ok) return std::nullopt;
  if (hashes.empty()) {
    *why = "scrape needs at least one info_hash (a full scrape is not served)";
    return std::nullopt;
  }
  return hashes;
}

}  // namespace hf::torrent::tracker
