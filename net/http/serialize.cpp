#include "net/http/serialize.hpp"

#include <charconv>
#include <ctime>

namespace hf::http {

namespace {

bool safe_value(std::string_view v) { return v.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos; }
bool safe_name(std::string_view n) {
  return !n.empty() && n.find_first_of(std::string_view(":\r\n\0 \t", 6)) == std::string_view::npos;
}

void append_number(std::string& out, std::size_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

}  // namespace

std::string_view http_date_now() {
  thread_local std::time_t cached_second = -1;
  thread_local char text[40];
  thread_local std::size_t len = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    len = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second = now;
  }
  return {text, len};
}

void append_head(std::string& out, const Response& res, std::size_t payload_size, const HeadOptions& opt) {
  const int status = (res.status >= 100 && res.status <= 999) ? res.status : 500;
  out += "HTTP/1.1 ";
  append_number(out, static_cast<std::size_t>(status));
  out += ' ';
  out += reason_phrase(status);
  out += "\r\n";
  if (!opt.server.empty()) append_field(out, "Server", opt.server);
  append_field(out, "Date", http_date_now());
  if (status_has_body(status)) {
    if (!res.content_type.empty() && safe_value(res.content_type)) append_field(out, "Content-Type", res.content_type);
    out += "Content-Length: ";
    append_number(out, payload_size);
    out += "\r\n";
  }
  if (!opt.keep_alive)
    out += "Connection: close\r\n";
  else if (opt.client_http10)
    out += "Connection: keep-alive\r\n";
  for (const auto& [name, value] : res.headers) {
    // The server owns the framing fields; a handler cannot set them.
    if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") || iequals(name, "Connection")) continue;
    if (safe_name(name) && safe_value(value)) append_field(out, name, value);
  }
  out += "\r\n";
}

}  // namespace hf::http
