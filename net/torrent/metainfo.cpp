#include "net/torrent/metainfo.hpp"

#include <algorithm>
#include <set>

#include "hashforge/engine.hpp"
#include "net/torrent/bencode.hpp"

namespace hf::torrent {

namespace {

constexpr std::uint64_t kMaxPieceLength = 1ull << 31;
constexpr std::uint64_t kMaxTotal = 1ull << 62;

const BValue* find_kind(const BValue& d, std::string_view key, BValue::Kind k) {
  const BValue* v = d.find(key);
  return v && v->kind() == k ? v : nullptr;
}

std::string joined(const std::vector<std::string>& path) {
  std::string s;
  for (const auto& c : path) {
    if (!s.empty()) s += '/';
    s += c;
  }
  return s;
}

}  // namespace

std::uint64_t Metainfo::piece_size(std::size_t i) const {
  std::uint64_t start = static_cast<std::uint64_t>(i) * piece_length;
  if (start >= total_length) return 0;
  return std::min(piece_length, total_length - start);
}

std::string check_component(std::string_view c, std::size_t max_len) {
  if (c.empty()) return "an empty path component";
  if (c == "." || c == "..") return "a \"" + std::string(c) + "\" path component";
  if (c.size() > max_len) return "a path component longer than " + std::to_string(max_len) + " bytes";
  for (char ch : c) {
    if (ch == '\0') return "a NUL byte in a path component";
    if (ch == '/' || ch == '\\') return "a separator inside a path component";
  }
  return {};
}

std::optional<Metainfo> parse_metainfo(std::string_view torrent, std::string* why, const MetainfoLimits& lim) {
  auto fail = [&](std::string w) -> std::optional<Metainfo> {
    *why = std::move(w);
    return std::nullopt;
  };
  if (torrent.size() > lim.max_bytes)
    return fail("torrent file larger than " + std::to_string(lim.max_bytes) + " bytes");
  DecodeLimits dl;
  dl.max_bytes = lim.max_bytes;
  DecodeResult dr = bdecode(torrent, dl);
  if (!dr.value) return fail("not bencode: " + dr.error);
  const BValue& top = *dr.value;
  if (!top.is_dict()) return fail("a torrent is a bencoded dictionary");
  const BValue* info = find_kind(top, "info", BValue::Kind::dict);
  if (!info) return fail("no \"info\" dictionary");
  if (info->find("meta version")) return fail("BitTorrent v2 and hybrid torrents (meta version) are not read yet");

  Metainfo m;
  m.has_v1 = true;
  m.warnings = std::move(dr.warnings);

  const BValue* name = find_kind(*info, "name", BValue::Kind::string);
  if (!name) return fail("info has no \"name\"");
  std::string bad = check_component(name->as_string(), lim.max_component);
  if (!bad.empty()) return fail("the name: " + bad);
  m.name = name->as_string();

  const BValue* plen = find_kind(*info, "piece length", BValue::Kind::integer);
  if (!plen || plen->as_int() <= 0 || static_cast<std::uint64_t>(plen->as_int()) > kMaxPieceLength)
    return fail("\"piece length\" must be a positive integer up to 2^31");
  m.piece_length = static_cast<std::uint64_t>(plen->as_int());
  if ((m.piece_length & (m.piece_length - 1)) != 0) m.warnings.push_back("piece length is not a power of two");

  const BValue* pieces = find_kind(*info, "pieces", BValue::Kind::string);
  if (!pieces) return fail("info has no \"pieces\"");
  if (pieces->as_string().size() % 20 != 0) return fail("\"pieces\" is not a whole number of 20-byte hashes");
  m.pieces = pieces->as_string();

  const BValue* length = info->find("length");
  const BValue* files = info->find("files");
  if ((length != nullptr) == (files != nullptr)) return fail("info needs exactly one of \"length\" and \"files\"");
  if (length) {
    if (!length->is_int() || length->as_int() < 0 || static_cast<std::uint64_t>(length->as_int()) > kMaxTotal)
      return fail("\"length\" must be a non-negative integer");
    m.single_file = true;
    FileEntry f;
    f.length = static_cast<std::uint64_t>(length->as_int());
    m.files.push_back(f);
    m.total_length = f.length;
  } else {
    if (!files->is_list() || files->items().empty()) return fail("\"files\" must be a non-empty list");
    if (files->items().size() > lim.max_files) return fail("more than " + std::to_string(lim.max_files) + " files");
    std::set<std::string> paths, folders;
    for (std::size_t i = 0; i < files->items().size(); ++i) {
      const BValue& fe = files->items()[i];
      std::string at = "file " + std::to_string(i) + ": ";
      if (!fe.is_dict()) return fail(at + "not a dictionary");
      const BValue* fl = find_kind(fe, "length", BValue::Kind::integer);
      if (!fl || fl->as_int() < 0) return fail(at + "\"length\" must be a non-negative integer");
      const BValue* fp = find_kind(fe, "path", BValue::Kind::list);
      if (!fp || fp->items().empty()) return fail(at + "\"path\" must be a non-empty list");
      FileEntry f;
      std::size_t path_bytes = 0;
      for (const BValue& c : fp->items()) {
        if (!c.is_string()) return fail(at + "a path component is not a string");
        bad = check_component(c.as_string(), lim.max_component);
        if (!bad.empty()) return fail(at + bad);
        path_bytes += c.as_string().size() + 1;
        f.path.push_back(c.as_string());
      }
      if (path_bytes > lim.max_path) return fail(at + "path longer than " + std::to_string(lim.max_path) + " bytes");
      if (const BValue* attr = find_kind(fe, "attr", BValue::Kind::string)) {
        const std::string& a = attr->as_string();
        f.pad = a.find('p') != std::string::npos;
        f.executable = a.find('x') != std::string::npos;
        f.hidden = a.find('h') != std::string::npos;
        f.symlink = a.find('l') != std::string::npos;
      }
      f.length = static_cast<std::uint64_t>(fl->as_int());
      if (f.length > kMaxTotal - m.total_length) return fail(at + "the total length overflows");
      f.offset = m.total_length;
      m.total_length += f.length;
      // Pad files are not on disk: their paths (".pad/N") may repeat across torrents' views.
      if (!f.pad) {
        std::string p = joined(f.path);
        if (!paths.insert(p).second) return fail(at + "the path " + p.substr(0, 200) + " appears twice");
        if (folders.count(p)) return fail(at + p.substr(0, 200) + " is both a file and a folder");
        std::string prefix;
        for (std::size_t k = 0; k + 1 < f.path.size(); ++k) {
          prefix += (k ? "/" : "") + f.path[k];
          if (paths.count(prefix)) return fail(at + prefix.substr(0, 200) + " is both a file and a folder");
          folders.insert(prefix);
        }
      }
      m.files.push_back(std::move(f));
    }
  }
  if (m.total_length == 0) return fail("the torrent holds no data (total length 0)");
  std::uint64_t want = (m.total_length + m.piece_length - 1) / m.piece_length;
  if (m.piece_count() != want)
    return fail("\"pieces\" holds " + std::to_string(m.piece_count()) + " hashes; the length needs " +
                std::to_string(want));

  if (const BValue* p = find_kind(*info, "private", BValue::Kind::integer)) m.is_private = p->as_int() == 1;
  if (const BValue* s = find_kind(*info, "source", BValue::Kind::string)) m.source = s->as_string();

  // Trackers: announce-list tiers (BEP 12) when usable, else the single announce URL.
  if (const BValue* al = find_kind(top, "announce-list", BValue::Kind::list)) {
    for (const BValue& tier : al->items()) {
      if (!tier.is_list()) {
        m.warnings.push_back("an announce-list tier is not a list: ignored");
        continue;
      }
      std::vector<std::string> urls;
      for (const BValue& u : tier.items())
        if (u.is_string() && !u.as_string().empty()) urls.push_back(u.as_string());
      if (!urls.empty()) m.tracker_tiers.push_back(std::move(urls));
    }
  }
  if (m.tracker_tiers.empty())
    if (const BValue* a = find_kind(top, "announce", BValue::Kind::string); a && !a->as_string().empty())
      m.tracker_tiers.push_back({a->as_string()});
  if (const BValue* ul = top.find("url-list")) {
    if (ul->is_string() && !ul->as_string().empty()) {
      m.web_seeds.push_back(ul->as_string());
    } else if (ul->is_list()) {
      for (const BValue& u : ul->items())
        if (u.is_string() && !u.as_string().empty()) m.web_seeds.push_back(u.as_string());
    }
  }
  if (const BValue* d = find_kind(top, "creation date", BValue::Kind::integer)) m.creation_date = d->as_int();
  if (const BValue* c = find_kind(top, "comment", BValue::Kind::string)) m.comment = c->as_string();
  if (const BValue* c = find_kind(top, "created by", BValue::Kind::string)) m.created_by = c->as_string();

  std::string_view info_bytes = torrent.substr(info->begin(), info->end() - info->begin());
  Digest d = Engine::instance().digest(
      Algo::sha1, ByteView(reinterpret_cast<const std::uint8_t*>(info_bytes.data()), info_bytes.size()));
  std::copy_n(d.bytes.begin(), 20, m.info_hash_v1.begin());
  return m;
}

}  // namespace hf::torrent
