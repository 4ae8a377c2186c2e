// Request targets: splitting the path from the query, percent-decoding, query strings.
// Pure code. Malformed escapes are errors (the server answers 400) rather than guesses,
// so two components never disagree about what a path means.
#pragma once
#include <string>
#include <string_view>

#include "net/http/message.hpp"

namespace hf::http {

// Decodes %XX escapes (and '+' as a space when `plus_is_space`, the query-string rule).
// Returns false on a '%' not followed by two hex digits; *out is then unspecified.
bool percent_decode(std::string_view in, std::string* out, bool plus_is_space);

// "a=1&b=two+words&c&d=" -> (a,1) (b,two words) (c,"") (d,""). Empty pieces ("a=1&&b=2")
// are skipped. Appends to *out; at most `max_params` pairs (false beyond, or on a bad escape).
bool parse_query(std::string_view query, Params* out, std::size_t max_params = 256);

// A request target in origin form ("/p/a?q") or absolute form ("http://host/p/a?q", which
// HTTP/1.1 servers must accept) into the decoded path and the raw query. "*" (OPTIONS) is
// kept as the path "*". Returns false with a one-line reason for anything else, for a bad
// escape, or for a decoded path holding a NUL byte.
bool split_target(std::string_view target, std::string* path, std::string_view* query, std::string* why);

}  // namespace hf::http
