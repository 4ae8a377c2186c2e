#include "net/stratum/json_rpc.hpp"

#include <cctype>
#include <cmath>

namespace hf::stratum {

namespace {
// Boost.JSON reads a number beyond a double's range as infinity and would write it back as
// "Infinity", which is not JSON: such a line is refused, so whatever is relayed stays valid.
bool finite_numbers(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_:
      return std::isfinite(v.get_double());
    case json::kind::array:
      for (const json::value& e : v.get_array())
        if (!finite_numbers(e)) return false;
      return true;
    case json::kind::object:
      for (const auto& kv : v.get_object())
        if (!finite_numbers(kv.value())) return false;
      return true;
    default:
      return true;
  }
}
}  // namespace

std::optional<Message> parse_message(std::string_view line, std::string* why, bool* not_json, std::size_t max_line) {
  auto fail = [&](std::string m) -> std::optional<Message> {
    if (why) *why = std::move(m);
    return std::nullopt;
  };
  if (not_json) *not_json = false;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > max_line)
    return fail(max_line % 1024 == 0 ? "line longer than " + std::to_string(max_line / 1024) + " KiB"
                                     : "line longer than " + std::to_string(max_line) + " bytes");
  boost::system::error_code ec;
  json::parse_options opt;
  opt.max_depth = 16;  // Stratum nests at most three deep; deeper is hostile
  json::value v = json::parse(line, ec, {}, opt);
  if (ec) {
    if (not_json) *not_json = true;
    return fail("invalid JSON");
  }
  if (!finite_numbers(v)) return fail("number out of range");  // depth is capped above: bounded recursion
  if (!v.is_object()) return fail("not a JSON object");
  json::object& o = v.as_object();
  Message m;
  if (auto* id = o.if_contains("id")) {
    if (!id->is_null() && !id->is_int64() && !id->is_uint64() && !id->is_string())
      return fail("id must be a number, a string or null");
    m.id = *id;
  }
  if (auto* method = o.if_contains("method"); method && !method->is_null()) {
    if (!method->is_string() || method->as_string().empty()) return fail("method must be a non-empty string");
    if (method->as_string().size() > 128) return fail("method name too long");
    m.method = method->as_string();
    if (auto* p = o.if_contains("params"); p && !p->is_null()) {
      if (!p->is_array()) return fail("params must be an array");
      m.params = std::move(p->as_array());
    }
    return m;
  }
  if (!o.contains("result") && !o.contains("error")) return fail("neither a request nor a reply");
  if (auto* r = o.if_contains("result")) m.result = std::move(*r);
  if (auto* e = o.if_contains("error")) m.error = std::move(*e);
  if (auto* r = o.if_contains("reject-reason"); r && r->is_string())
    m.reject_reason = std::string(std::string_view(r->as_string()).substr(0, 256));
  return m;
}

namespace {
std::string line_of(const json::object& o) {
  std::string s = json::serialize(o);
  s.push_back('\n');
  return s;
}
}  // namespace

std::string encode_request(const json::value& id, std::string_view method, json::array params) {
  return line_of({{"id", id}, {"method", method}, {"params", std::move(params)}});
}

std::string encode_notification(std::string_view method, json::array params) {
  return line_of({{"id", nullptr}, {"method", method}, {"params", std::move(params)}});
}

std::string encode_result(const json::value& id, json::value result) {
  return line_of({{"id", id}, {"result", std::move(result)}, {"error", nullptr}});
}

std::string encode_error(const json::value& id, int code, std::string_view message) {
  return line_of({{"id", id}, {"result", nullptr}, {"error", json::array{code, message, nullptr}}});
}

std::optional<ErrorReply> reply_error(const Message& m) {
  if (m.error.is_null()) return std::nullopt;
  ErrorReply e;
  if (m.error.is_array()) {
    const json::array& a = m.error.as_array();
    if (!a.empty() && a[0].is_int64()) e.code = static_cast<int>(a[0].as_int64());
    if (a.size() > 1 && a[1].is_string()) e.message = a[1].as_string();
  } else if (m.error.is_object()) {  // JSON-RPC 2.0 style, which a few pools send
    const json::object& o = m.error.as_object();
    if (auto* c = o.if_contains("code"); c && c->is_int64()) e.code = static_cast<int>(c->as_int64());
    if (auto* s = o.if_contains("message"); s && s->is_string()) e.message = s->as_string();
  } else if (m.error.is_string()) {
    e.message = m.error.as_string();
  }
  if (e.message.empty()) e.message = "error " + std::to_string(e.code);
  return e;
}

bool says_stale(std::string_view reason) {
  std::string lower(reason);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("stale") != std::string::npos;
}

SubmitAnswer submit_answer(const Message& m) {
  SubmitAnswer a;
  const auto err = reply_error(m);
  if (!err && m.result.is_bool() && m.result.as_bool()) {
    a.accepted = true;
    return a;
  }
  a.coded = err.has_value();
  a.reason = err ? err->message : m.reject_reason;
  a.stale = (err && err->code == 21) || says_stale(a.reason);
  a.code = err ? err->code : a.stale ? 21 : 20;
  return a;
}

std::optional<double> number_of(const json::value& v) {
  if (v.is_double()) return v.as_double();
  if (v.is_int64()) return static_cast<double>(v.as_int64());
  if (v.is_uint64()) return static_cast<double>(v.as_uint64());
  if (v.is_string()) {
    try {
      std::size_t used = 0;
      const std::string s(v.as_string());
      const double d = std::stod(s, &used);
      if (used == s.size()) return d;
    } catch (...) {
    }
  }
  return std::nullopt;
}

}  // namespace hf::stratum
