#include "net/http/message.hpp"

#include <algorithm>

namespace hf::http {

namespace {
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::optional<std::string_view> lookup(const Params& p, std::string_view name) {
  for (const auto& [k, v] : p)
    if (k == name) return std::string_view(v);
  return std::nullopt;
}
}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

void Headers::set(std::string_view name, std::string value) {
  erase(name);
  f_.emplace_back(std::string(name), std::move(value));
}

void Headers::erase(std::string_view name) {
  std::erase_if(f_, [&](const Field& f) { return iequals(f.first, name); });
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const auto& f : f_)
    if (iequals(f.first, name)) return std::string_view(f.second);
  return std::nullopt;
}

std::optional<std::string_view> Request::query_value(std::string_view name) const { return lookup(query, name); }
std::optional<std::string_view> Request::param(std::string_view name) const { return lookup(params, name); }

Response Response::text(int status, std::string_view text) {
  Response r;
  r.status = status;
  r.body = text.empty() ? std::string(reason_phrase(status)) : std::string(text);
  r.body += '\n';
  return r;
}

Response Response::json(std::string body, int status) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

void Deferred::complete(Response r) {
  std::lock_guard lk(mu_);
  if (done_) return;
  done_ = true;
  res_ = std::move(r);
  // Called under the lock, so a waiter withdrawing (on_ready({})) cannot go away meanwhile.
  if (wake_) wake_();
}

void Deferred::on_ready(std::function<void()> wake) {
  std::lock_guard lk(mu_);
  wake_ = std::move(wake);
  if (done_ && wake_) wake_();
}

bool Deferred::ready() const {
  std::lock_guard lk(mu_);
  return done_;
}

Response Deferred::take() {
  std::lock_guard lk(mu_);
  Response r = res_ ? std::move(*res_) : Response::text(500, "no reply");
  res_.reset();
  return r;
}

}  // namespace hf::http
