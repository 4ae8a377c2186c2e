#include "net/torrent/peer_extensions.hpp"

#include <algorithm>

#include "net/torrent/bencode.hpp"

namespace hf::torrent::wire {

std::string encode_ext_handshake(const ExtHandshake& h) {
  std::vector<BValue::Entry> m;
  for (const auto& [name, id] : h.extensions) m.emplace_back(name, BValue::integer(id));
  std::vector<BValue::Entry> d;
  d.emplace_back("m", BValue::dict(std::move(m)));
  if (!h.client.empty()) d.emplace_back("v", BValue::string(h.client));
  if (h.listen_port) d.emplace_back("p", BValue::integer(*h.listen_port));
  if (h.request_queue) d.emplace_back("reqq", BValue::integer(*h.request_queue));
  if (h.your_ip.size() == 4 || h.your_ip.size() == 16) d.emplace_back("yourip", BValue::string(h.your_ip));
  if (h.metadata_size) d.emplace_back("metadata_size", BValue::integer(static_cast<std::int64_t>(*h.metadata_size)));
  if (h.upload_only) d.emplace_back("upload_only", BValue::integer(1));
  return bencode(BValue::dict(std::move(d)));
}

std::optional<ExtHandshake> parse_ext_handshake(std::string_view payload, std::string* why) {
  DecodeResult r = bdecode(payload, {.max_depth = 8, .max_bytes = 1u << 20, .max_items = 10'000});
  if (!r.value || !r.value->is_dict()) {
    *why = r.value ? "extension handshake: not a dictionary" : "extension handshake: " + r.error;
    return std::nullopt;
  }
  const BValue& d = *r.value;
  ExtHandshake h;
  if (const BValue* m = d.find("m"); m && m->is_dict())
    for (const auto& [name, id] : m->entries())
      if (id.is_int() && id.as_int() >= 0 && id.as_int() <= 255 && !name.empty() && name.size() <= 64)
        h.extensions[name] = static_cast<std::uint8_t>(id.as_int());
  if (const BValue* v = d.find("v"); v && v->is_string()) {
    for (char c : v->as_string().substr(0, 100)) h.client.push_back(static_cast<unsigned char>(c) < 0x20 ? '?' : c);
  }
  if (const BValue* p = d.find("p"); p && p->is_int() && p->as_int() > 0 && p->as_int() <= 65535)
    h.listen_port = static_cast<std::uint16_t>(p->as_int());
  if (const BValue* q = d.find("reqq"); q && q->is_int() && q->as_int() > 0)
    h.request_queue = static_cast<std::uint32_t>(std::min<std::int64_t>(q->as_int(), 100'000));
  if (const BValue* y = d.find("yourip"); y && y->is_string() && (y->as_string().size() == 4 || y->as_string().size() == 16))
    h.your_ip = y->as_string();
  if (const BValue* s = d.find("metadata_size"); s && s->is_int() && s->as_int() > 0)
    h.metadata_size = static_cast<std::uint64_t>(s->as_int());
  if (const BValue* u = d.find("upload_only"); u && u->is_int()) h.upload_only = u->as_int() != 0;
  return h;
}

}  // namespace hf::torrent::wire
