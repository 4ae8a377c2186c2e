// The tracker's HTTP side (docs/tracker.md): GET /announce and /scrape (bencoded, failures as
// {"failure reason"} with status 200, as clients expect), /stats (the page), /stats.json and
// /stats?format=json (the figures and their history).
#pragma once
#include "net/http/router.hpp"
#include "net/torrent/tracker_state.hpp"

namespace hf::torrent::tracker {

// The state must outlive the router.
http::Router make_tracker_router(TrackerState& st);

// The JSON /stats serves: live totals and counters with the history windows.
std::string stats_json(const TrackerState& st);

}  // namespace hf::torrent::tracker
