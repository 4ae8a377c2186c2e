#include "net/coordinator/dashboard_routes.hpp"

namespace hf::coord {

http::Router dashboard_routes(StatsFn stats) {
  http::Router r;
  const http::AssetTable& assets = dashboard_assets();
  const http::Asset* page = assets.find("/dashboard.html");
  auto serve_page = [&assets, page](const http::Request& req) { return assets.serve(req, *page); };
  r.get("/", serve_page);
  r.get("/index.html", serve_page);
  r.get("/api/stats", [stats = std::move(stats)](const http::Request&) {
    http::Response res = http::Response::json(boost::json::serialize(stats()) + "\n");
    res.headers.set("Cache-Control", "no-store");  // live numbers: never from a cache
    return res;
  });
  return r;
}

}  // namespace hf::coord
