#include "net/torrent/dht_krpc.hpp"

#include <algorithm>
#include <cstring>

#include "net/torrent/bencode.hpp"

namespace hf::torrent::dht {

namespace {

constexpr std::size_t kV4Node = 26, kV6Node = 38;

BValue str(std::string s) { return BValue::string(std::move(s)); }

const char* method_text(Method m) {
  switch (m) {
    case Method::ping: return "ping";
    case Method::find_node: return "find_node";
    case Method::get_peers: return "get_peers";
    case Method::announce_peer: return "announce_peer";
    case Method::unknown: break;
  }
  return "";
}

Method method_of(std::string_view name) {
  if (name == "ping") return Method::ping;
  if (name == "find_node") return Method::find_node;
  if (name == "get_peers") return Method::get_peers;
  if (name == "announce_peer") return Method::announce_peer;
  return Method::unknown;
}

void put_nodes(const std::vector<NodeEntry>& nodes, BValue* d) {
  std::vector<NodeEntry> v4, v6;
  for (const auto& n : nodes) (n.addr.v6 ? v6 : v4).push_back(n);
  if (!v4.empty()) d->set("nodes", str(compact_nodes(v4, false)));
  if (!v6.empty()) d->set("nodes6", str(compact_nodes(v6, true)));
}

// The 20-byte string under `key`, or an error.
bool read_id(const BValue& d, std::string_view key, NodeId* out, std::string* why) {
  const BValue* v = d.find(key);
  if (!v || !v->is_string() || v->as_string().size() != 20) {
    why->clear();
    why->push_back('\'');
    why->append(key.data(), key.size());
    why->append("' is missing or not 20 bytes");
    return false;
  }
  *out = node_id_from(v->as_string());
  return true;
}

bool read_nodes(const BValue& d, Message* m, std::string* why) {
  for (const bool v6 : {false, true}) {
    const BValue* v = d.find(v6 ? "nodes6" : "nodes");
    if (!v) continue;
    if (!v->is_string()) {
      *why = v6 ? "'nodes6' is not a string" : "'nodes' is not a string";
      return false;
    }
    bool cut = false;
    const std::size_t room = kMaxNodesKept - std::min(kMaxNodesKept, m->nodes.size());
    auto got = parse_compact_nodes(v->as_string(), v6, room, &cut);
    if (!got) {
      *why = v6 ? "'nodes6' is not a whole number of 38-byte entries"
                : "'nodes' is not a whole number of 26-byte entries";
      return false;
    }
    m->nodes_cut = m->nodes_cut || cut;
    m->nodes.insert(m->nodes.end(), got->begin(), got->end());
  }
  return true;
}

bool read_values(const BValue& d, Message* m, std::string* why) {
  const BValue* v = d.find("values");
  if (!v) return true;
  if (!v->is_list()) {
    *why = "'values' is not a list";
    return false;
  }
  for (const auto& item : v->items()) {
    if (m->values.size() >= kMaxValuesKept) break;
    // A value of the wrong size is one bad peer, not a bad message (some nodes mix in junk).
    if (!item.is_string()) continue;
    if (auto p = parse_compact_peer(item.as_string())) m->values.push_back(*p);
  }
  return true;
}

bool read_query(const BValue& top, Message* m, std::string* why) {
  const BValue* q = top.find("q");
  if (!q || !q->is_string() || q->as_string().empty() || q->as_string().size() > 64) {
    *why = "a query without a method name";
    return false;
  }
  m->method_name = q->as_string();
  m->method = method_of(m->method_name);
  const BValue* a = top.find("a");
  if (!a || !a->is_dict()) {
    *why = "a query without an argument dictionary";
    return false;
  }
  if (!read_id(*a, "id", &m->id, why)) return false;
  if (const BValue* ro = top.find("ro"); ro && ro->is_int()) m->read_only = ro->as_int() == 1;
  if (const BValue* w = a->find("want"); w && w->is_list()) {
    for (const auto& item : w->items()) {
      if (!item.is_string()) continue;
      if (item.as_string() == "n4") m->want_v4 = true;
      if (item.as_string() == "n6") m->want_v6 = true;
    }
  }
  switch (m->method) {
    case Method::ping:
    case Method::unknown:
      return true;
    case Method::find_node:
      return read_id(*a, "target", &m->target, why);
    case Method::get_peers:
      return read_id(*a, "info_hash", &m->info_hash, why);
    case Method::announce_peer: {
      if (!read_id(*a, "info_hash", &m->info_hash, why)) return false;
      const BValue* t = a->find("token");
      if (!t || !t->is_string() || t->as_string().size() > kMaxToken) {
        *why = "announce_peer without a token";
        return false;
      }
      m->token = t->as_string();
      if (const BValue* ip = a->find("implied_port"); ip && ip->is_int()) m->implied_port = ip->as_int() != 0;
      const BValue* p = a->find("port");
      if (p && p->is_int() && p->as_int() > 0 && p->as_int() <= 65535) {
        m->port = static_cast<std::uint16_t>(p->as_int());
      } else if (!m->implied_port) {
        *why = "announce_peer without a valid port";
        return false;
      }
      return true;
    }
  }
  return true;
}

bool read_response(const BValue& top, Message* m, std::string* why) {
  const BValue* r = top.find("r");
  if (!r || !r->is_dict()) {
    *why = "a response without a value dictionary";
    return false;
  }
  if (!read_id(*r, "id", &m->id, why)) return false;
  if (const BValue* t = r->find("token"); t && t->is_string()) {
    if (t->as_string().size() > kMaxToken) {
      *why = "a token longer than 64 bytes";
      return false;
    }
    m->token = t->as_string();
  }
  return read_nodes(*r, m, why) && read_values(*r, m, why);
}

bool read_error(const BValue& top, Message* m, std::string* why) {
  const BValue* e = top.find("e");
  // Some nodes send a bare string; a list of code and message is what BEP 5 says.
  if (e && e->is_list() && e->items().size() >= 2 && e->items()[0].is_int() && e->items()[1].is_string()) {
    const std::int64_t code = e->items()[0].as_int();
    m->error_code = code >= 0 && code <= 100000 ? static_cast<int>(code) : kGenericError;
    m->error_message = e->items()[1].as_string().substr(0, 200);
    return true;
  }
  if (e && e->is_string()) {
    m->error_code = kGenericError;
    m->error_message = e->as_string().substr(0, 200);
    return true;
  }
  *why = "an error without a code and a message";
  return false;
}

}  // namespace

NodeId node_id_from(std::string_view bytes20) {
  NodeId id{};
  std::memcpy(id.data(), bytes20.data(), std::min<std::size_t>(20, bytes20.size()));
  return id;
}

std::string id_bytes(const NodeId& id) { return std::string(reinterpret_cast<const char*>(id.data()), id.size()); }

std::string id_hex(const NodeId& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (auto b : id) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

std::optional<NodeId> id_from_hex(std::string_view hex) {
  if (hex.size() != 40) return std::nullopt;
  NodeId id{};
  for (std::size_t i = 0; i < 40; ++i) {
    const char c = hex[i];
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else return std::nullopt;
    id[i / 2] = static_cast<std::uint8_t>(id[i / 2] | (i % 2 ? v : v << 4));
  }
  return id;
}

NodeId distance(const NodeId& a, const NodeId& b) {
  NodeId d;
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = a[i] ^ b[i];
  return d;
}

int common_prefix_bits(const NodeId& a, const NodeId& b) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    const unsigned x = a[i] ^ b[i];
    if (x) return static_cast<int>(i * 8) + __builtin_clz(x) - 24;
  }
  return 160;
}

std::string compact_peer(const PeerAddr& a) {
  std::string s(reinterpret_cast<const char*>(a.ip.data()), a.v6 ? 16 : 4);
  s += static_cast<char>(a.port >> 8);
  s += static_cast<char>(a.port & 0xff);
  return s;
}

std::optional<PeerAddr> parse_compact_peer(std::string_view s) {
  if (s.size() != 6 && s.size() != 18) return std::nullopt;
  PeerAddr a;
  a.v6 = s.size() == 18;
  const std::size_t n = a.v6 ? 16 : 4;
  std::memcpy(a.ip.data(), s.data(), n);
  a.port = static_cast<std::uint16_t>((static_cast<std::uint8_t>(s[n]) << 8) | static_cast<std::uint8_t>(s[n + 1]));
  return a;
}

std::string compact_nodes(const std::vector<NodeEntry>& nodes, bool v6) {
  std::string s;
  for (const auto& n : nodes) {
    if (n.addr.v6 != v6) continue;
    s += id_bytes(n.id);
    s += compact_peer(n.addr);
  }
  return s;
}

std::optional<std::vector<NodeEntry>> parse_compact_nodes(std::string_view s, bool v6, std::size_t max, bool* cut) {
  const std::size_t each = v6 ? kV6Node : kV4Node;
  if (s.size() % each) return std::nullopt;
  std::vector<NodeEntry> out;
  const std::size_t count = s.size() / each;
  if (cut) *cut = count > max;
  out.reserve(std::min(count, max));
  for (std::size_t i = 0; i < count && out.size() < max; ++i) {
    NodeEntry e;
    e.id = node_id_from(s.substr(i * each, 20));
    e.addr = *parse_compact_peer(s.substr(i * each + 20, each - 20));
    out.push_back(e);
  }
  return out;
}

std::string encode(const Message& m) {
  BValue top = BValue::dict();
  top.set("t", str(m.tid));
  if (!m.version.empty()) top.set("v", str(m.version));
  if (m.your_ip) top.set("ip", str(compact_peer(*m.your_ip)));
  switch (m.kind) {
    case Kind::query: {
      top.set("y", str("q"));
      top.set("q", str(m.method == Method::unknown ? m.method_name : method_text(m.method)));
      if (m.read_only) top.set("ro", BValue::integer(1));
      BValue a = BValue::dict();
      a.set("id", str(id_bytes(m.id)));
      if (m.want_v4 || m.want_v6) {
        BValue want = BValue::list();
        if (m.want_v4) want.push(str("n4"));
        if (m.want_v6) want.push(str("n6"));
        a.set("want", std::move(want));
      }
      if (m.method == Method::find_node) a.set("target", str(id_bytes(m.target)));
      if (m.method == Method::get_peers || m.method == Method::announce_peer) {
        a.set("info_hash", str(id_bytes(m.info_hash)));
      }
      if (m.method == Method::announce_peer) {
        a.set("token", str(m.token));
        a.set("port", BValue::integer(m.port));
        if (m.implied_port) a.set("implied_port", BValue::integer(1));
      }
      top.set("a", std::move(a));
      break;
    }
    case Kind::response: {
      top.set("y", str("r"));
      BValue r = BValue::dict();
      r.set("id", str(id_bytes(m.id)));
      put_nodes(m.nodes, &r);
      if (!m.token.empty()) r.set("token", str(m.token));
      if (!m.values.empty()) {
        BValue values = BValue::list();
        for (const auto& p : m.values) values.push(str(compact_peer(p)));
        r.set("values", std::move(values));
      }
      top.set("r", std::move(r));
      break;
    }
    case Kind::error: {
      top.set("y", str("e"));
      BValue e = BValue::list();
      e.push(BValue::integer(m.error_code));
      e.push(str(m.error_message));
      top.set("e", std::move(e));
      break;
    }
  }
  return bencode(top);
}

Decoded decode(std::string_view packet) {
  Decoded out;
  if (packet.size() > kMaxPacket) {
    out.error = "a datagram of " + std::to_string(packet.size()) + " bytes";
    return out;
  }
  DecodeLimits limits;
  limits.max_depth = 16;
  limits.max_bytes = kMaxPacket;
  limits.max_items = 8192;
  auto r = bdecode(packet, limits);
  if (!r.value) {
    out.error = "not bencode: " + r.error;
    return out;
  }
  const BValue& top = *r.value;
  if (!top.is_dict()) {
    out.error = "not a dictionary";
    return out;
  }
  const BValue* t = top.find("t");
  if (!t || !t->is_string() || t->as_string().size() > kMaxTransactionId) {
    out.error = "no transaction id, or one longer than 32 bytes";
    return out;
  }
  out.tid = t->as_string();
  const BValue* y = top.find("y");
  if (!y || !y->is_string() || y->as_string().size() != 1) {
    out.error = "no message type";
    return out;
  }
  Message m;
  m.tid = out.tid;
  switch (y->as_string()[0]) {
    case 'q': m.kind = Kind::query; break;
    case 'r': m.kind = Kind::response; break;
    case 'e': m.kind = Kind::error; break;
    default:
      out.error = "message type '" + y->as_string() + "' is not q, r or e";
      return out;
  }
  out.was_query = m.kind == Kind::query;
  if (const BValue* v = top.find("v"); v && v->is_string()) m.version = v->as_string().substr(0, 16);
  if (const BValue* ip = top.find("ip"); ip && ip->is_string()) m.your_ip = parse_compact_peer(ip->as_string());
  std::string why;
  const bool ok = m.kind == Kind::query      ? read_query(top, &m, &why)
                  : m.kind == Kind::response ? read_response(top, &m, &why)
                                             : read_error(top, &m, &why);
  if (!ok) {
    out.error = why;
    return out;
  }
  out.message = std::move(m);
  return out;
}

}  // namespace hf::torrent::dht
