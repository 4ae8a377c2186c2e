// Static files compiled into the binary (hf_embed_assets in net/http/embed_assets.cmake
// generates the table), served with their content type, an ETag and Cache-Control, and
// answered 304 when the client already holds the same bytes. Pure code.
#pragma once
#include <span>
#include <string>
#include <string_view>

#include "net/http/message.hpp"
#include "net/http/router.hpp"

namespace hf::http {

struct Asset {
  std::string_view path;  // "/dashboard.html"
  std::string_view data;
  std::string_view etag;  // quoted, e.g. "\"3f2a...\"": a hash of the bytes, fixed at build time
};

// From the file name's extension; application/octet-stream when unknown.
std::string_view content_type_for(std::string_view path);

// True when an If-None-Match value ("*", or a list of possibly weak tags) names `etag`.
bool etag_matches(std::string_view if_none_match, std::string_view etag);

class AssetTable {
 public:
  // `assets` must outlive the table (the generated tables are static arrays).
  // "no-cache" lets browsers keep a copy but ask each time (answered 304 while unchanged).
  explicit AssetTable(std::span<const Asset> assets, std::string cache_control = "no-cache")
      : assets_(assets), cache_control_(std::move(cache_control)) {}

  const Asset* find(std::string_view path) const;
  std::span<const Asset> assets() const { return assets_; }
  // 200 with the bytes (not copied), or 304 when If-None-Match names the ETag.
  Response serve(const Request& req, const Asset& a) const;
  // GET <prefix><path> for every asset, and GET <prefix>/ for "/index.html" when there is
  // one. The table must outlive the router.
  void add_routes(Router& router, std::string_view prefix = "") const;

 private:
  std::span<const Asset> assets_;
  std::string cache_control_;
};

}  // namespace hf::http
