// HTTP requests and responses as plain values: what a handler sees and returns. Pure code
// (no sockets, no Beast), so routers and handlers are unit-tested without a server.
#pragma once
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hf::http {

// ASCII case-insensitive comparison (field names, methods in Allow lists).
bool iequals(std::string_view a, std::string_view b);

// Header fields in arrival order; lookups ignore the case of the name, as HTTP requires.
class Headers {
 public:
  using Field = std::pair<std::string, std::string>;
  void add(std::string name, std::string value) { f_.emplace_back(std::move(name), std::move(value)); }
  // Replaces every field of that name with one.
  void set(std::string_view name, std::string value);
  void erase(std::string_view name);
  // The first field of that name.
  std::optional<std::string_view> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  std::size_t size() const { return f_.size(); }
  bool empty() const { return f_.empty(); }
  void clear() { f_.clear(); }
  void reserve(std::size_t n) { f_.reserve(n); }
  std::vector<Field>::const_iterator begin() const { return f_.begin(); }
  std::vector<Field>::const_iterator end() const { return f_.end(); }

 private:
  std::vector<Field> f_;
};

using Params = std::vector<std::pair<std::string, std::string>>;

class Deferred;

struct Request {
  std::string method;  // as sent, e.g. "GET"
  std::string target;  // as sent, e.g. "/api/stats?window=1m"
  std::string path;    // the target's path, percent-decoded, without the query
  Params query;        // the query string, decoded ('+' is a space), in order
  Params params;       // captured by the route pattern ("{id}", and "*" for a prefix route)
  Headers headers;
  std::string body;
  std::string peer;        // "1.2.3.4:5678"; empty when not over a socket
  int version = 11;        // 10 or 11
  bool keep_alive = true;  // what the client asked for (the server may still close)

  std::optional<std::string_view> header(std::string_view name) const { return headers.get(name); }
  // The first query parameter of that name (exact, case-sensitive).
  std::optional<std::string_view> query_value(std::string_view name) const;
  std::optional<std::string_view> param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  Headers headers;  // extra fields; the server writes Content-Length, Connection, Date and Server itself
  std::string body;
  // Bytes that outlive the response (compiled-in assets), sent instead of `body` when set,
  // so a static page is never copied per request.
  std::optional<std::string_view> static_body;
  // Bytes shared with other responses (a cached document served to many clients), sent
  // instead of `body` when set: every connection holds a reference until its send is done,
  // so N slow readers pin one copy, not N.
  std::shared_ptr<const std::string> shared_body;
  // Set by a handler whose answer is not ready yet (a disk commit, a mining job): the
  // connection waits for Deferred::complete() before answering and before reading the next
  // pipelined request, so answers keep their order; every other field is then ignored.
  std::shared_ptr<Deferred> deferred;

  std::string_view payload() const {
    if (shared_body) return *shared_body;
    return static_body ? *static_body : std::string_view(body);
  }

  // A one-line plain-text reply: the reason phrase when `text` is empty; a newline is added.
  static Response text(int status, std::string_view text = {});
  static Response json(std::string body, int status = 200);
};

// A reply finished later, from any thread, while the connection waits (without holding a
// server thread). The handler keeps one reference and returns another in Response::deferred.
class Deferred {
 public:
  // Once; later calls are ignored.
  void complete(Response r);
  // The connection's side: `wake` runs once the reply is ready (at once if it is), from the
  // completing thread; it must only hand the work on (post to the connection's executor).
  // An empty function withdraws a waiter that is going away.
  void on_ready(std::function<void()> wake);
  bool ready() const;
  Response take();  // after ready()

 private:
  mutable std::mutex mu_;
  bool done_ = false;
  std::optional<Response> res_;
  std::function<void()> wake_;
};

// "OK", "Not Found", ...; "Unknown" for codes this server never sends.
std::string_view reason_phrase(int status);
// 1xx, 204 and 304 carry no body (and no Content-Length).
inline bool status_has_body(int status) { return status >= 200 && status != 204 && status != 304; }

}  // namespace hf::http
