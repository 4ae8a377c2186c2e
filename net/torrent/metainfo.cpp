#include "net/torrent/metainfo.hpp"

#include <algorithm>
#include <cstring>
#include <set>

#include "hashforge/engine.hpp"
#include "net/torrent/bencode.hpp"
#include "net/torrent/merkle.hpp"

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

Sha1 Metainfo::swarm_hash() const {
  Sha1 h{};
  if (has_v1) return info_hash_v1;
  if (info_hash_v2) std::memcpy(h.data(), info_hash_v2->data(), h.size());
  return h;
}

std::uint32_t Metainfo::wire_pieces() const {
  if (has_v1) return static_cast<std::uint32_t>(piece_count());
  return piece_length ? static_cast<std::uint32_t>((wire_length() + piece_length - 1) / piece_length) : 0;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> Metainfo::zero_ranges() const {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> r;
  if (files.empty()) return r;  // no file list (a bare test fixture): nothing known to be zeros
  const std::uint64_t end = wire_length();
  std::uint64_t at = 0;  // where the data seen so far ends
  for (const auto& f : files) {
    if (f.pad || f.length == 0) continue;
    if (f.offset > at) r.emplace_back(at, f.offset);  // a pad file or a v2 gap before this one
    at = std::max(at, f.offset + f.length);
  }
  if (at < end) r.emplace_back(at, end);  // a trailing pad file
  return r;
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

namespace {

std::string path_checks(const std::vector<std::string>& path, const MetainfoLimits& lim) {
  std::size_t bytes = 0;
  for (const auto& c : path) {
    std::string bad = check_component(c, lim.max_component);
    if (!bad.empty()) return bad;
    bytes += c.size() + 1;
  }
  if (bytes > lim.max_path) return "path longer than " + std::to_string(lim.max_path) + " bytes";
  return {};
}

// Paths once each, and no file where another needs a folder.
class PathSet {
 public:
  std::string add(const std::vector<std::string>& path) {
    std::string p = joined(path);
    if (!paths_.insert(p).second) return "the path " + p.substr(0, 200) + " appears twice";
    if (folders_.count(p)) return p.substr(0, 200) + " is both a file and a folder";
    std::string prefix;
    for (std::size_t k = 0; k + 1 < path.size(); ++k) {
      prefix += (k ? "/" : "") + path[k];
      if (paths_.count(prefix)) return prefix.substr(0, 200) + " is both a file and a folder";
      folders_.insert(prefix);
    }
    return {};
  }

 private:
  std::set<std::string> paths_, folders_;
};

// The v1 view: "pieces" and "length" or "files". Empty, or why not.
std::string read_v1(const BValue& info, Metainfo& m, const MetainfoLimits& lim) {
  const BValue* pieces = find_kind(info, "pieces", BValue::Kind::string);
  if (!pieces) return "info has no \"pieces\"";
  if (pieces->as_string().size() % 20 != 0) return "\"pieces\" is not a whole number of 20-byte hashes";
  m.pieces = pieces->as_string();
  m.has_v1 = true;

  const BValue* length = info.find("length");
  const BValue* files = info.find("files");
  if ((length != nullptr) == (files != nullptr)) return "info needs exactly one of \"length\" and \"files\"";
  if (length) {
    if (!length->is_int() || length->as_int() < 0 || static_cast<std::uint64_t>(length->as_int()) > kMaxTotal)
      return "\"length\" must be a non-negative integer";
    m.single_file = true;
    FileEntry f;
    f.length = static_cast<std::uint64_t>(length->as_int());
    m.files.push_back(f);
    m.total_length = f.length;
  } else {
    if (!files->is_list() || files->items().empty()) return "\"files\" must be a non-empty list";
    if (files->items().size() > lim.max_files) return "more than " + std::to_string(lim.max_files) + " files";
    PathSet seen;
    for (std::size_t i = 0; i < files->items().size(); ++i) {
      const BValue& fe = files->items()[i];
      std::string at = "file " + std::to_string(i) + ": ";
      if (!fe.is_dict()) return at + "not a dictionary";
      const BValue* fl = find_kind(fe, "length", BValue::Kind::integer);
      if (!fl || fl->as_int() < 0) return at + "\"length\" must be a non-negative integer";
      const BValue* fp = find_kind(fe, "path", BValue::Kind::list);
      if (!fp || fp->items().empty()) return at + "\"path\" must be a non-empty list";
      FileEntry f;
      for (const BValue& c : fp->items()) {
        if (!c.is_string()) return at + "a path component is not a string";
        f.path.push_back(c.as_string());
      }
      std::string bad = path_checks(f.path, lim);
      if (!bad.empty()) return at + bad;
      if (const BValue* attr = find_kind(fe, "attr", BValue::Kind::string)) {
        const std::string& a = attr->as_string();
        f.pad = a.find('p') != std::string::npos;
        f.executable = a.find('x') != std::string::npos;
        f.hidden = a.find('h') != std::string::npos;
        f.symlink = a.find('l') != std::string::npos;
      }
      f.length = static_cast<std::uint64_t>(fl->as_int());
      if (f.length > kMaxTotal - m.total_length) return at + "the total length overflows";
      f.offset = m.total_length;
      m.total_length += f.length;
      // Pad files are not on disk, and their paths (".pad/N") may repeat.
      if (!f.pad) {
        bad = seen.add(f.path);
        if (!bad.empty()) return at + bad;
      }
      m.files.push_back(std::move(f));
    }
  }
  if (m.total_length == 0) return "the torrent holds no data (total length 0)";
  std::uint64_t want = (m.total_length + m.piece_length - 1) / m.piece_length;
  if (m.piece_count() != want)
    return "\"pieces\" holds " + std::to_string(m.piece_count()) + " hashes; the length needs " + std::to_string(want);
  return {};
}

// One v2 file from the file tree.
struct TreeFile {
  std::vector<std::string> path;
  std::uint64_t length = 0;
  std::optional<Sha256> root;
};

std::string walk_tree(const BValue& node, std::vector<std::string>& path, std::vector<TreeFile>& out,
                      const MetainfoLimits& lim) {
  if (!node.is_dict()) return "the file tree holds something that is not a dictionary";
  if (const BValue* leaf = node.find("")) {
    if (node.entries().size() != 1) return "the file tree has a node that is both a file and a folder";
    if (path.empty()) return "the file tree has a file without a name";
    if (!leaf->is_dict()) return "a file entry is not a dictionary";
    const BValue* len = find_kind(*leaf, "length", BValue::Kind::integer);
    if (!len || len->as_int() < 0) return joined(path).substr(0, 200) + ": \"length\" must be a non-negative integer";
    TreeFile f;
    f.path = path;
    f.length = static_cast<std::uint64_t>(len->as_int());
    if (f.length > 0) {
      const BValue* root = find_kind(*leaf, "pieces root", BValue::Kind::string);
      if (!root || root->as_string().size() != 32)
        return joined(path).substr(0, 200) + ": \"pieces root\" must be 32 bytes";
      f.root.emplace();
      std::copy_n(root->as_string().begin(), 32, f.root->begin());
    }
    std::string bad = path_checks(f.path, lim);
    if (!bad.empty()) return bad;
    if (out.size() >= lim.max_files) return "more than " + std::to_string(lim.max_files) + " files";
    out.push_back(std::move(f));
    return {};
  }
  if (node.entries().empty()) return "the file tree has an empty folder";
  for (const auto& [name, child] : node.entries()) {
    path.push_back(name);
    std::string bad = walk_tree(child, path, out, lim);
    path.pop_back();
    if (!bad.empty()) return bad;
  }
  return {};
}

// The v2 view: "file tree", and "piece layers" beside the info dictionary. Fills `v2`.
std::string read_v2(const BValue& top, const BValue& info, const Metainfo& m, std::vector<TreeFile>* v2,
                    std::vector<std::string>* layers, bool* have_layers, const MetainfoLimits& lim) {
  if (m.piece_length < kBlockSize || (m.piece_length & (m.piece_length - 1)) != 0)
    return "a v2 \"piece length\" must be a power of two of at least 16 KiB";
  const BValue* tree = find_kind(info, "file tree", BValue::Kind::dict);
  if (!tree) return "a v2 torrent needs a \"file tree\"";
  std::vector<std::string> path;
  std::string bad = walk_tree(*tree, path, *v2, lim);
  if (!bad.empty()) return bad;
  if (v2->empty()) return "the file tree holds no files";
  // A v2 torrent is a set of files; its tree's keys are its order (sorted bytes).
  layers->assign(v2->size(), std::string());
  const BValue* pl = top.find("piece layers");
  *have_layers = pl != nullptr;
  if (!pl) return {};
  if (!pl->is_dict()) return "\"piece layers\" must be a dictionary";
  std::vector<bool> used(v2->size(), false);
  for (const auto& [key, layer] : pl->entries()) {
    if (key.size() != 32 || !layer.is_string())
      return "\"piece layers\" has an entry that is not a 32-byte root and a string";
    bool found = false;
    for (std::size_t i = 0; i < v2->size(); ++i) {
      const TreeFile& f = (*v2)[i];
      if (!f.root || std::memcmp(f.root->data(), key.data(), 32) != 0 || f.length <= m.piece_length) continue;
      std::uint64_t pieces = (f.length + m.piece_length - 1) / m.piece_length;
      if (layer.as_string().size() != pieces * 32)
        return joined(f.path).substr(0, 200) + ": its piece layer holds " +
               std::to_string(layer.as_string().size() / 32) + " hashes, not " + std::to_string(pieces);
      std::vector<Sha256> hashes(pieces);
      for (std::uint64_t k = 0; k < pieces; ++k) std::memcpy(hashes[k].data(), layer.as_string().data() + 32 * k, 32);
      if (root_from_piece_layer(hashes, m.piece_length) != *f.root)
        return joined(f.path).substr(0, 200) + ": its piece layer does not hash to its pieces root";
      (*layers)[i] = layer.as_string();
      used[i] = true;
      found = true;
    }
    if (!found) return "\"piece layers\" has an entry for no file larger than a piece";
  }
  for (std::size_t i = 0; i < v2->size(); ++i)
    if ((*v2)[i].length > m.piece_length && !used[i]) return joined((*v2)[i].path).substr(0, 200) + ": no piece layer";
  return {};
}

}  // namespace

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

  Metainfo m;
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

  const BValue* version = info->find("meta version");
  if (version && (!version->is_int() || version->as_int() != 2))
    return fail("unknown \"meta version\" (this reads 2, and v1 without one)");
  bool v2 = version != nullptr;
  bool v1 = !v2 || info->find("pieces") != nullptr;  // a hybrid carries both
  if (v1) {
    if ((m.piece_length & (m.piece_length - 1)) != 0) m.warnings.push_back("piece length is not a power of two");
    bad = read_v1(*info, m, lim);
    if (!bad.empty()) return fail(bad);
  }
  if (v2) {
    std::vector<TreeFile> files;
    std::vector<std::string> layers;
    bad = read_v2(top, *info, m, &files, &layers, &m.has_piece_layers, lim);
    if (!bad.empty()) return fail(bad);
    m.has_v2 = true;
    if (!v1) {
      // Each v2 file starts at a piece boundary of its own.
      std::uint64_t at = 0;
      for (std::size_t i = 0; i < files.size(); ++i) {
        FileEntry f;
        f.path = files[i].path;
        f.length = files[i].length;
        f.offset = at;
        f.pieces_root = files[i].root;
        f.piece_layer = layers[i];
        std::uint64_t span = (f.length + m.piece_length - 1) / m.piece_length * m.piece_length;
        if (span > kMaxTotal - at) return fail("the total length overflows");
        at += span;
        m.files.push_back(std::move(f));
      }
      m.total_length = at;
      // One file named as the torrent is a single-file torrent (BEP 52), stored as the name.
      if (m.files.size() == 1 && m.files[0].path.size() == 1 && m.files[0].path[0] == m.name) {
        m.single_file = true;
        m.files[0].path.clear();
      }
      if (std::all_of(files.begin(), files.end(), [](const TreeFile& f) { return f.length == 0; }))
        return fail("the torrent holds no data (total length 0)");
    } else {
      // A hybrid: the v1 list is the v2 files in the same order, each but the last followed by
      // a pad file up to the next piece boundary (BEP 47; the last may have one), and nothing
      // else.
      std::size_t k = 0;
      for (std::size_t i = 0; i < m.files.size(); ++i) {
        FileEntry& f = m.files[i];
        if (f.pad)
          return fail("the v1 and v2 views disagree: a pad file where a file was expected (v1 file " +
                      std::to_string(i) + ")");
        if (k >= files.size()) return fail("the v1 and v2 views disagree: v1 lists more files");
        std::vector<std::string> v1_path = m.single_file ? std::vector<std::string>{m.name} : f.path;
        std::vector<std::string> v2_path = files[k].path;
        if (m.single_file && v2_path.size() == 1 && v2_path[0] == m.name) v2_path = {m.name};
        if (v1_path != v2_path || f.length != files[k].length)
          return fail("the v1 and v2 views disagree on file " + std::to_string(k) + " (" +
                      joined(files[k].path).substr(0, 200) + ")");
        f.pieces_root = files[k].root;
        f.piece_layer = layers[k];
        ++k;
        std::uint64_t rest = f.length % m.piece_length;
        // The last file may be padded too (libtorrent does so); the others must be.
        bool last = k == files.size();
        bool padded = i + 1 < m.files.size() && m.files[i + 1].pad;
        if (rest != 0 && (padded || !last)) {
          if (!padded || m.files[i + 1].length != m.piece_length - rest)
            return fail("the v1 and v2 views disagree: file " + std::to_string(k - 1) +
                        " is not padded to a piece boundary");
          ++i;
        }
      }
      if (k != files.size()) return fail("the v1 and v2 views disagree: v2 lists more files");
    }
    std::string_view info_bytes = torrent.substr(info->begin(), info->end() - info->begin());
    m.info_hash_v2 = sha256_of(info_bytes);
  }
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
  m.info_dict.assign(torrent.substr(info->begin(), info->end() - info->begin()));
  if (const BValue* c = find_kind(top, "comment", BValue::Kind::string)) m.comment = c->as_string();
  if (const BValue* c = find_kind(top, "created by", BValue::Kind::string)) m.created_by = c->as_string();

  if (!m.has_v1) return m;
  std::string_view info_bytes = torrent.substr(info->begin(), info->end() - info->begin());
  Digest d = Engine::instance().digest(
      Algo::sha1, ByteView(reinterpret_cast<const std::uint8_t*>(info_bytes.data()), info_bytes.size()));
  std::copy_n(d.bytes.begin(), 20, m.info_hash_v1.begin());
  return m;
}

}  // namespace hf::torrent

namespace hf::torrent {

std::string torrent_from_info(std::string_view info_dict, const std::vector<std::string>& trackers,
                              const std::vector<std::string>& web_seeds,
                              const std::map<Sha256, std::string>& piece_layers) {
  // Keys in sorted order: announce, announce-list, info, piece layers, url-list. The info dictionary goes
  // in verbatim, so its hashes stay the ones the magnet named.
  std::string out = "d";
  auto str = [&out](std::string_view s) {
    out += std::to_string(s.size());
    out += ':';
    out.append(s);
  };
  if (!trackers.empty()) {
    str("announce");
    str(trackers.front());
    str("announce-list");
    out += 'l';
    for (const auto& t : trackers) {
      out += 'l';
      str(t);
      out += 'e';
    }
    out += 'e';
  }
  str("info");
  out.append(info_dict);
  if (!piece_layers.empty()) {
    str("piece layers");
    out += 'd';
    for (const auto& [root, layer] : piece_layers) {  // a map: keys sorted as raw bytes
      str(std::string_view(reinterpret_cast<const char*>(root.data()), root.size()));
      str(layer);
    }
    out += 'e';
  }
  if (!web_seeds.empty()) {
    str("url-list");
    out += 'l';
    for (const auto& w : web_seeds) str(w);
    out += 'e';
  }
  out += 'e';
  return out;
}

}  // namespace hf::torrent
