#include "net/http/request_reader.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstring>
#include <optional>

#include "net/http/query.hpp"

namespace hf::http {

namespace bhttp = boost::beast::http;

constexpr std::size_t kBeastHeadSlack = 64;

struct RequestReader::Impl {
  RequestLimits lim;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser;
  bool started = false;          // a byte of this request (not a leading blank line) was seen
  bool line_done = false;        // the parser has taken the request line
  std::size_t head_bytes = 0;    // request line and fields taken so far
  bool head_checked = false;     // our own checks of the head ran
  bool continue_wanted = false;  // Expect: 100-continue, not answered yet
  Request req;
  ParseError err;

  Result fail(int status, std::string reason) {
    err.status = status;
    err.reason = std::move(reason);
    return Result::error;
  }
  bool reject(int status, std::string reason) {
    fail(status, std::move(reason));
    return false;
  }
  bool check_head();  // false: err says why
  Result build_request();
};

namespace {
// True when the request line at the start of `in` ends in a well-formed "HTTP/d.d", so a
// version Beast refuses is one we do not serve (505) rather than garbage (400).
bool names_http_version(std::string_view in) {
  std::string_view line = in.substr(0, in.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() < 9) return false;
  const std::string_view v = line.substr(line.size() - 8);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  return v.substr(0, 5) == "HTTP/" && digit(v[5]) && v[6] == '.' && digit(v[7]) && line[line.size() - 9] == ' ';
}
}  // namespace

RequestReader::RequestReader(const RequestLimits& limits) : p_(std::make_unique<Impl>()) {
  p_->lim = limits;
  reset();
}
RequestReader::~RequestReader() = default;

void RequestReader::reset() {
  Impl& s = *p_;
  s.parser.emplace();
  // Beast applies its head limit to what each call is given, a few bytes either way depending
  // on how the bytes were split into reads; it gets some slack and the exact limit is ours
  // (head_bytes), so the same request is accepted or refused however it arrives.
  s.parser->header_limit(
      static_cast<std::uint32_t>(std::min<std::size_t>(s.lim.max_header_bytes + kBeastHeadSlack, UINT32_MAX)));
  s.parser->body_limit(s.lim.max_body);
  // Stop after the head so it is checked before any body byte is taken.
  s.parser->eager(false);
  s.started = s.line_done = s.head_checked = s.continue_wanted = false;
  s.head_bytes = 0;
  s.req = Request{};
}

bool RequestReader::in_progress() const { return p_->started; }
bool RequestReader::header_done() const { return p_->parser->is_header_done(); }
bool RequestReader::expects_continue() const { return p_->continue_wanted && !p_->parser->is_done(); }
void RequestReader::continue_sent() { p_->continue_wanted = false; }
Request& RequestReader::request() { return p_->req; }
const ParseError& RequestReader::error() const { return p_->err; }

const ParseError& RequestReader::fail_buffer_full() {
  if (!p_->parser->is_header_done())
    p_->fail(431, "request head too large");
  else
    p_->fail(400, "malformed chunked body (chunk line too long)");
  return p_->err;
}

bool RequestReader::Impl::check_head() {
  const auto& m = parser->get();
  if (m.version() != 10 && m.version() != 11) return reject(505, "only HTTP/1.0 and HTTP/1.1 are served");
  std::size_t fields = 0;
  for (auto it = m.begin(); it != m.end(); ++it)
    if (++fields > lim.max_header_fields) return reject(431, "too many header fields");
  if (m.version() == 11 && m.find(bhttp::field::host) == m.end()) return reject(400, "HTTP/1.1 request without Host");
  if (auto te = m.find(bhttp::field::transfer_encoding); te != m.end()) {
    // Only plain "chunked" is decoded; anything else would leave the body's length unknown
    // (or compressed), and guessing invites request smuggling.
    std::string_view v(te->value().data(), te->value().size());
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    if (!iequals(v, "chunked")) return reject(501, "transfer coding not supported (only chunked)");
    if (std::next(te) != m.end() && std::next(te)->name() == bhttp::field::transfer_encoding)
      return reject(400, "repeated Transfer-Encoding");
  }
  if (auto ex = m.find(bhttp::field::expect); ex != m.end()) {
    if (!iequals(std::string_view(ex->value().data(), ex->value().size()), "100-continue"))
      return reject(417, "unsupported expectation");
    continue_wanted = true;
  }
  head_checked = true;
  return true;
}

RequestReader::Result RequestReader::Impl::build_request() {
  auto& m = parser->get();
  req.method.assign(m.method_string().data(), m.method_string().size());
  req.target.assign(m.target().data(), m.target().size());
  std::string_view query;
  std::string why;
  if (!split_target(req.target, &req.path, &query, &why)) return fail(400, why);
  if (!query.empty() && !parse_query(query, &req.query, lim.max_query_params))
    return fail(400, "bad query string (bad escape or too many parameters)");
  // A chunked body's trailer fields join the header fields: count them against the limit too.
  std::size_t fields = 0;
  for (auto it = m.begin(); it != m.end(); ++it)
    if (++fields > lim.max_header_fields) return fail(431, "too many header fields (with the trailer)");
  req.headers.reserve(8);
  for (const auto& f : m)
    req.headers.add(std::string(f.name_string().data(), f.name_string().size()),
                    std::string(f.value().data(), f.value().size()));
  req.body = std::move(m.body());
  req.version = static_cast<int>(m.version());
  req.keep_alive = m.keep_alive();
  return Result::done;
}

RequestReader::Result RequestReader::feed(std::string_view in, std::size_t* used) {
  Impl& s = *p_;
  *used = 0;
  if (s.parser->is_done()) return Result::done;
  if (!s.started) {
    // A client may send blank lines between requests (RFC 9112, 2.2): skip them.
    while (*used < in.size() && (in[*used] == '\r' || in[*used] == '\n')) ++*used;
    if (*used == in.size()) return Result::need_more;
    s.started = true;
  }
  std::string_view rest = in.substr(*used);
  if (!s.line_done) {
    // Beast bounds only the head; a request line gets its own limit (and 414).
    const std::size_t scan = std::min(rest.size(), s.lim.max_request_line + 2);
    if (!std::memchr(rest.data(), '\n', scan) && rest.size() > s.lim.max_request_line + 1)
      return s.fail(414, "request line too long");
  }
  for (;;) {
    boost::system::error_code ec;
    const bool in_head = !s.parser->is_header_done();
    const std::size_t n = s.parser->put(boost::asio::const_buffer(rest.data(), rest.size()), ec);
    if (in_head) s.head_bytes += n;
    *used += n;
    rest.remove_prefix(n);
    if (n > 0) s.line_done = true;  // Beast takes the request line as soon as it is whole
    if (ec == bhttp::error::need_more) return Result::need_more;
    if (ec == bhttp::error::header_limit) return s.fail(431, "request head too large");
    if (ec == bhttp::error::body_limit) return s.fail(413, "request body too large");
    if (ec == bhttp::error::bad_version && names_http_version(in.substr(*used)))
      return s.fail(505, "only HTTP/1.0 and HTTP/1.1 are served");
    if (ec) return s.fail(400, "malformed request: " + ec.message());
    if (s.parser->is_header_done() && !s.head_checked) {
      if (s.head_bytes > s.lim.max_header_bytes) return s.fail(431, "request head too large");
      if (!s.check_head()) return Result::error;
      s.parser->eager(true);
    }
    if (s.parser->is_done()) return s.build_request();
    if (rest.empty() || n == 0) return Result::need_more;
  }
}

}  // namespace hf::http
