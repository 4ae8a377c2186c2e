// The coordinator's web front, as routes on the shared HTTP server (net/http): GET / (and
// /index.html) is the live dashboard page compiled in from dashboard.html, GET /api/stats
// the statistics as JSON. Handlers run on the coordinator's io_context, so they read its
// state directly.
#pragma once
#include <boost/json.hpp>
#include <functional>

#include "net/http/assets.hpp"
#include "net/http/router.hpp"

namespace hf::coord {

// dashboard.html, compiled in by hf_embed_assets (net/CMakeLists.txt).
const http::AssetTable& dashboard_assets();

using StatsFn = std::function<boost::json::object()>;
http::Router dashboard_routes(StatsFn stats);

}  // namespace hf::coord
