// Web seeds (BEP 19, the torrent's url-list): a torrent's files fetched from an HTTP(S) server
// by byte range, beside peers, every piece checked like one from a peer. Pure code: where a
// file lives under a web seed's URL, which file ranges a span of the wire stream covers (pad
// files and v2 alignment gaps are zeros no server holds), and what a server's reply head says.
//
// BEP 19: a URL ending in '/' is a folder: a single-file torrent's file is URL + name, a
// multi-file torrent's files are URL + name + '/' + path; a single-file URL without the
// slash is the file itself. Names and path components are percent-encoded.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/torrent/metainfo.hpp"

namespace hf::torrent {

// The URL of `file` (an index into m.files) under web seed `base`.
std::string web_seed_file_url(std::string_view base, const Metainfo& m, std::size_t file);

// A piece of a wire-stream span: `length` bytes of file `file` from `file_offset`, or (file
// == npos) zeros (a pad file or a gap).
struct WebSpan {
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  std::size_t file = npos;
  std::uint64_t file_offset = 0, length = 0;
};
// [offset, offset + length) of the wire stream as file ranges and zero runs, in order.
std::vector<WebSpan> web_spans(const Metainfo& m, std::uint64_t offset, std::uint64_t length);

// The head of an HTTP/1.x reply (through the blank line).
struct HttpHead {
  int status = 0;
  std::optional<std::uint64_t> content_length;
  // Content-Range: bytes FROM-TO/TOTAL (TOTAL may be '*').
  std::optional<std::uint64_t> range_from, range_to;
  bool chunked = false;
  bool keep_alive = true;  // HTTP/1.1 without "Connection: close"
  std::string location;    // redirects
};
// nullopt with *why for anything malformed (no status line, a bad number, a header over
// 8 KiB in all).
std::optional<HttpHead> parse_http_head(std::string_view head, std::string* why);

// The request for one byte range of a URL's target (keep-alive).
std::string web_range_request(std::string_view host_header, std::string_view target, std::uint64_t from,
                              std::uint64_t length);

}  // namespace hf::torrent
