#include "net/coordinator/dashboard_routes.hpp"

#include <cstdio>

namespace hf::coord {

http::Router dashboard_routes(StatsFn stats) {
  http::Router r;
  const http::AssetTable& assets = dashboard_assets();
  const http::Asset* page = assets.find("/dashboard.html");
  auto serve_page = [&assets, page](const http::Request& req) { return assets.serve(req, *page); };
  r.get("/", serve_page);
  r.get("/index.html", serve_page);
  r.get("/api/stats", [stats = std::move(stats)](const http::Request&) {
    const StatsDoc doc = stats();
    http::Response res;
    res.content_type = "application/json";
    res.shared_body = doc.json;                    // referenced, never copied per reply
    res.headers.set("Cache-Control", "no-store");  // live numbers: never from a cache
    char age[32];
    std::snprintf(age, sizeof age, "%.3f", doc.age);
    res.headers.set("X-Stats-Age", age);
    return res;
  });
  return r;
}

}  // namespace hf::coord
