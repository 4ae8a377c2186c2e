// The coordinator's web front, as routes on the shared HTTP server (net/http): GET / (and
// /index.html) is the live dashboard page compiled in from dashboard.html, GET /api/stats
// the statistics as JSON. Handlers run on the coordinator's io_context, so they read its
// state directly.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "net/http/assets.hpp"
#include "net/http/router.hpp"

namespace hf::coord {

// dashboard.html, compiled in by hf_embed_assets (net/CMakeLists.txt).
const http::AssetTable& dashboard_assets();

// The statistics document, serialized once and shared by every reply (Coordinator::stats_body),
// and how many seconds ago it was built: sent as X-Stats-Age, so a client that needs the
// state after some event can tell whether this document is from after it.
struct StatsDoc {
  std::shared_ptr<const std::string> json;
  double age = 0;
};
using StatsFn = std::function<StatsDoc()>;
http::Router dashboard_routes(StatsFn stats);

}  // namespace hf::coord
