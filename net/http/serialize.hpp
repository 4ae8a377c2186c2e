// Writing a response's status line and header fields. Pure code, shared by the server and
// the tests; bodies are sent separately so compiled-in assets are never copied.
#pragma once
#include <string>
#include <string_view>

#include "net/http/message.hpp"

namespace hf::http {

struct HeadOptions {
  bool keep_alive = true;                 // false: "Connection: close"
  bool client_http10 = false;             // an HTTP/1.0 client keeps the connection only if told so
  std::string_view server = "hashforge";  // the Server field; empty for none
};

// Appends "HTTP/1.1 <status> <reason>\r\n", Server, Date, Content-Type and Content-Length
// (for statuses that carry a body; payload_size is the body's length even when a HEAD
// reply leaves it out), Connection when needed, the response's own fields, and the blank
// line. Fields whose name or value would break the framing (CR, LF, NUL, or a name with a
// colon or space) are left out rather than sent.
void append_head(std::string& out, const Response& res, std::size_t payload_size, const HeadOptions& opt);

// "Sun, 06 Nov 1994 08:49:37 GMT" for now, formatted at most once a second per thread.
std::string_view http_date_now();

}  // namespace hf::http
