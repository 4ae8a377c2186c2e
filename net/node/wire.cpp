#include "net/node/wire.hpp"

#include "net/node/block.hpp"

namespace hf::node::wire {

namespace {

std::string hash_list(const char* type, const char* key, const std::vector<std::string>& hashes) {
  std::string out = "{\"type\": \"";
  out += type;
  out += "\", \"";
  out += key;
  out += "\": [";
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    if (i) out += ", ";
    dump_python_string(hashes[i], &out);
  }
  out += "]}";
  return out;
}

// A list of hashes: each 64 lowercase hex digits (a genesis "0" parent is only in headers).
bool read_hashes(const Json* arr, std::size_t max, std::vector<std::string>* out, std::string* why) {
  if (!arr || !arr->is_array()) {
    *why = "expected an array of hashes";
    return false;
  }
  if (arr->items().size() > max) {
    *why = "more than " + std::to_string(max) + " hashes";
    return false;
  }
  for (const Json& h : arr->items()) {
    if (!h.is_string() || !is_hash_hex(h.as_string())) {
      *why = "a hash is not 64 lowercase hex digits";
      return false;
    }
    out->push_back(h.as_string());
  }
  return true;
}

}  // namespace

std::string encode_hello(const std::string& spec, const std::string& name, std::int64_t height,
                         const std::string& tip) {
  return dump_python(Json::object({{"type", Json::string("hello")},
                                   {"spec", Json::string(spec)},
                                   {"name", Json::string(name)},
                                   {"height", Json::integer(height)},
                                   {"tip", Json::string(tip)}}));
}

std::string encode_getheaders(const std::vector<std::string>& locator) {
  return hash_list("getheaders", "locator", locator);
}

std::string encode_getblocks(const std::vector<std::string>& hashes) {
  return hash_list("getblocks", "hashes", hashes);
}

std::string encode_headers(const std::vector<Header>& headers) {
  std::string out = "{\"type\": \"headers\", \"headers\": [";
  out.reserve(out.size() + headers.size() * 150);
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (i) out += ", ";
    out += '[';
    dump_python_string(headers[i].hash, &out);
    out += ", ";
    dump_python_string(headers[i].previous_hash, &out);
    out += ", ";
    out += std::to_string(headers[i].index);
    out += ']';
  }
  out += "]}";
  return out;
}

std::string encode_block(const std::string& block_text) {
  return "{\"type\": \"block\", \"block\": " + block_text + "}";
}

std::string encode_ops(const std::vector<std::string>& op_texts) {
  std::string out = "{\"type\": \"ops\", \"ops\": [";
  for (std::size_t i = 0; i < op_texts.size(); ++i) {
    if (i) out += ", ";
    out += op_texts[i];
  }
  out += "]}";
  return out;
}

std::string encode_error(const std::string& reason) {
  return dump_python(Json::object({{"type", Json::string("error")}, {"reason", Json::string(reason.substr(0, 500))}}));
}

std::optional<Message> parse_message(std::string_view payload, std::string* why) {
  auto fail = [&](std::string w) -> std::optional<Message> {
    *why = std::move(w);
    return std::nullopt;
  };
  if (payload.size() > kMaxFrame) return fail("frame too large");
  ParseResult pr = parse_json(payload, {.max_depth = 64, .max_bytes = kMaxFrame, .max_int_digits = 4300});
  if (!pr.value) return fail("not JSON: " + pr.error);
  const Json& j = *pr.value;
  if (!j.is_object()) return fail("a message is a JSON object");
  const Json* t = j.find("type");
  if (!t || !t->is_string()) return fail("a message needs a \"type\"");
  const std::string& type = t->as_string();
  Message m;
  if (type == "hello") {
    m.type = Message::Type::hello;
    const Json* spec = j.find("spec");
    const Json* name = j.find("name");
    const Json* height = j.find("height");
    const Json* tip = j.find("tip");
    if (!spec || !spec->is_string() || !is_hash_hex(spec->as_string())) return fail("hello: bad \"spec\"");
    if (!name || !name->is_string() || name->as_string().size() > 64) return fail("hello: bad \"name\"");
    auto h = height && height->is_int() ? height->as_int64() : std::nullopt;
    if (!h || *h < 0) return fail("hello: bad \"height\"");
    if (!tip || !tip->is_string() || !is_hash_hex(tip->as_string())) return fail("hello: bad \"tip\"");
    m.spec = spec->as_string();
    m.name = name->as_string();
    m.height = *h;
    m.tip = tip->as_string();
  } else if (type == "getheaders") {
    m.type = Message::Type::getheaders;
    if (!read_hashes(j.find("locator"), kMaxLocator, &m.hashes, why)) return fail("getheaders: " + *why);
  } else if (type == "getblocks") {
    m.type = Message::Type::getblocks;
    if (!read_hashes(j.find("hashes"), kMaxGetBlocks, &m.hashes, why)) return fail("getblocks: " + *why);
  } else if (type == "headers") {
    m.type = Message::Type::headers;
    const Json* hs = j.find("headers");
    if (!hs || !hs->is_array()) return fail("headers: expected an array");
    if (hs->items().size() > kMaxHeaders) return fail("headers: more than " + std::to_string(kMaxHeaders));
    for (const Json& h : hs->items()) {
      if (!h.is_array() || h.items().size() != 3) return fail("headers: each is [hash, previous_hash, index]");
      const auto& f = h.items();
      auto idx = f[2].is_int() ? f[2].as_int64() : std::nullopt;
      if (!f[0].is_string() || !is_hash_hex(f[0].as_string()) || !f[1].is_string() || f[1].as_string().size() > 64 ||
          !idx || *idx < 0)
        return fail("headers: a malformed header");
      m.headers.push_back({f[0].as_string(), f[1].as_string(), *idx});
    }
  } else if (type == "block") {
    m.type = Message::Type::block;
    const Json* b = j.find("block");
    if (!b || !b->is_object()) return fail("block: expected an object");
    m.block = *b;
  } else if (type == "ops") {
    m.type = Message::Type::ops;
    const Json* ops = j.find("ops");
    if (!ops || !ops->is_array()) return fail("ops: expected an array");
    if (ops->items().size() > kMaxOps) return fail("ops: more than " + std::to_string(kMaxOps));
    for (const Json& o : ops->items()) {
      if (!o.is_object()) return fail("ops: each is an object");
      m.ops.push_back(o);
    }
  } else if (type == "error") {
    m.type = Message::Type::error;
    const Json* r = j.find("reason");
    m.reason = r && r->is_string() ? r->as_string().substr(0, 500) : std::string("unspecified");
  } else {
    return fail("unknown message type");
  }
  return m;
}

}  // namespace hf::node::wire
