#include "net/torrent/create.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>

#include "net/torrent/bencode.hpp"
#include "net/torrent/data_reader.hpp"
#include "net/torrent/merkle.hpp"

namespace hf::torrent {
namespace fs = std::filesystem;

std::optional<TorrentFormat> parse_torrent_format(std::string_view s) {
  if (s == "v1") return TorrentFormat::v1;
  if (s == "v2") return TorrentFormat::v2;
  if (s == "hybrid") return TorrentFormat::hybrid;
  return std::nullopt;
}

std::uint64_t default_piece_length(std::uint64_t total) {
  std::uint64_t p = 16 * 1024;
  while (p < (16u << 20) && total / p > 2000) p *= 2;
  return p;
}

namespace {

struct Found {
  std::vector<std::string> rel;  // components under the torrent's name
  std::string disk;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
};

std::int64_t mtime_ns(const struct stat& st) {
  return std::int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

[[noreturn]] void fail(const std::string& why) { throw std::runtime_error(why); }

Found stat_file(const std::string& disk, std::vector<std::string> rel) {
  struct stat st {};
  if (::stat(disk.c_str(), &st) != 0) fail(disk + ": " + std::strerror(errno));
  return Found{std::move(rel), disk, static_cast<std::uint64_t>(st.st_size), mtime_ns(st)};
}

// Regular files under `root`, in byte order of their paths. Links to files are followed;
// links to folders, sockets, pipes and devices are skipped with a warning.
std::vector<Found> scan_folder(const fs::path& root, std::vector<std::string>* warnings) {
  std::vector<Found> out;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
  if (ec) fail(root.string() + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) fail(it->path().string() + ": " + ec.message());
    const fs::directory_entry& e = *it;
    const fs::path rel = e.path().lexically_relative(root);
    std::error_code sec;
    const fs::file_status st = e.status(sec);  // follows links
    if (fs::is_regular_file(st)) {
      std::vector<std::string> comps;
      for (const fs::path& c : rel) comps.push_back(c.string());
      for (const std::string& c : comps) {
        const std::string why = check_component(c);
        if (!why.empty()) fail(e.path().string() + ": a torrent cannot hold this name (" + why + ")");
      }
      out.push_back(stat_file(e.path().string(), std::move(comps)));
    } else if (fs::is_directory(st)) {
      if (e.is_symlink(sec)) {
        warnings->push_back("skipped " + e.path().string() + ": a link to a folder");
        it.disable_recursion_pending();
      }
    } else {
      warnings->push_back("skipped " + e.path().string() + ": not a regular file");
    }
  }
  std::sort(out.begin(), out.end(), [](const Found& a, const Found& b) { return a.rel < b.rel; });
  return out;
}

// The v2 file tree: folders are dictionaries, a file is {"": {length, pieces root}}.
struct TreeNode {
  std::map<std::string, std::unique_ptr<TreeNode>> children;
  std::optional<BValue> file;
};

BValue tree_value(const TreeNode& n) {
  if (n.file) return BValue::dict({{"", *n.file}});
  std::vector<BValue::Entry> entries;
  for (const auto& [name, child] : n.children) entries.emplace_back(name, tree_value(*child));
  return BValue::dict(std::move(entries));
}

BValue path_list(const std::vector<std::string>& comps) {
  std::vector<BValue> l;
  for (const std::string& c : comps) l.push_back(BValue::string(c));
  return BValue::list(std::move(l));
}

std::string as_string(const Sha256& h) { return std::string(reinterpret_cast<const char*>(h.data()), h.size()); }

}  // namespace

CreateResult create_torrent(const std::string& path, const CreateOptions& opt) {
  CreateResult res;
  const fs::path root = fs::absolute(fs::path(path)).lexically_normal();
  const fs::path base = root.has_filename() ? root : root.parent_path();
  std::error_code ec;
  const fs::file_status st = fs::status(base, ec);
  if (ec) fail(path + ": " + ec.message());
  const bool single = fs::is_regular_file(st);
  if (!single && !fs::is_directory(st)) fail(path + ": not a file or a folder");
  std::vector<Found> found = single ? std::vector<Found>{stat_file(base.string(), {})} : scan_folder(base, &res.warnings);
  const std::string name = opt.name.empty() ? base.filename().string() : opt.name;
  if (const std::string why = check_component(name); !why.empty())
    fail("the torrent's name '" + name + "' cannot be used (" + why + ")");
  if (found.empty()) fail(path + ": no files to share");
  std::uint64_t data_total = 0;
  for (const Found& f : found) data_total += f.size;
  if (data_total == 0) fail(path + ": every file is empty: nothing to share");

  const bool v1 = opt.format != TorrentFormat::v2, v2 = opt.format != TorrentFormat::v1;
  const std::uint64_t P = opt.piece_length ? opt.piece_length : default_piece_length(data_total);
  if ((P & (P - 1)) != 0 || P < kBlockSize) fail("the piece length must be a power of two of at least 16 KiB");

  // The stream: files one after another; a hybrid pads each but the last to a piece
  // boundary with a pad file, a v2-only torrent leaves the same gaps unnamed.
  std::vector<DataFile> layout;
  std::vector<FileEntry> entries;
  std::uint64_t at = 0;
  for (std::size_t i = 0; i < found.size(); ++i) {
    const Found& f = found[i];
    layout.push_back(DataFile{f.disk, at, f.size, false});
    FileEntry e;
    e.path = f.rel;
    e.length = f.size;
    e.offset = at;
    entries.push_back(e);
    at += f.size;
    const std::uint64_t rest = at % P;
    if (v2 && rest != 0 && i + 1 < found.size()) {
      const std::uint64_t gap = P - rest;
      if (v1) {
        layout.push_back(DataFile{"", at, gap, true});
        FileEntry pad;
        pad.path = {".pad", std::to_string(gap)};
        pad.length = gap;
        pad.offset = at;
        pad.pad = true;
        entries.push_back(pad);
      }
      at += gap;
    }
  }
  const std::uint64_t total = at;

  // Hash.
  std::string pieces;
  if (v1) pieces.resize(static_cast<std::size_t>((total + P - 1) / P * 20));
  std::vector<std::vector<Sha256>> layers(layout.size());
  std::vector<std::optional<Sha256>> roots(layout.size());
  PassSink sink;
  sink.v1_piece = [&](std::uint64_t i, const Sha1& h) { std::copy(h.begin(), h.end(), pieces.begin() + 20 * i); };
  sink.v2_piece = [&](std::size_t file, std::uint64_t, const Sha256& h) { layers[file].push_back(h); };
  sink.v2_root = [&](std::size_t file, const Sha256& h) { roots[file] = h; };
  DataReader reader(layout, total);
  reader.set_strict(true);
  PassPlan plan;
  plan.piece_length = P;
  plan.v1 = v1;
  plan.v2 = v2;
  res.stats = run_hash_pass(plan, reader, sink, opt.pass);
  if (res.stats.cancelled) fail("cancelled");
  for (const FileProblem& p : reader.problems())
    fail(layout[p.file].disk_path + ": " + std::string(file_issue_name(p.kind)) + (p.detail.empty() ? "" : " (" + p.detail + ")"));
  for (const Found& f : found) {
    const Found now = stat_file(f.disk, {});
    if (now.size != f.size || now.mtime_ns != f.mtime_ns) fail(f.disk + ": changed while it was being hashed");
  }

  // The info dictionary.
  std::vector<BValue::Entry> info;
  info.emplace_back("name", BValue::string(name));
  info.emplace_back("piece length", BValue::integer(static_cast<std::int64_t>(P)));
  if (opt.is_private) info.emplace_back("private", BValue::integer(1));
  if (!opt.source.empty()) info.emplace_back("source", BValue::string(opt.source));
  if (v1) {
    info.emplace_back("pieces", BValue::string(pieces));
    if (single) {
      info.emplace_back("length", BValue::integer(static_cast<std::int64_t>(found[0].size)));
    } else {
      std::vector<BValue> files;
      for (const FileEntry& e : entries) {
        std::vector<BValue::Entry> fe{{"length", BValue::integer(static_cast<std::int64_t>(e.length))},
                                      {"path", path_list(e.path)}};
        if (e.pad) fe.emplace_back("attr", BValue::string("p"));
        files.push_back(BValue::dict(std::move(fe)));
      }
      info.emplace_back("files", BValue::list(std::move(files)));
    }
  }
  std::vector<BValue::Entry> piece_layers;
  if (v2) {
    TreeNode tree;
    for (std::size_t i = 0; i < layout.size(); ++i) {
      if (layout[i].pad) continue;
      const FileEntry& e = entries[i];
      std::vector<BValue::Entry> leaf{{"length", BValue::integer(static_cast<std::int64_t>(e.length))}};
      if (e.length > 0) {
        const Sha256 root = e.length > P ? root_from_piece_layer(layers[i], P) : *roots[i];
        leaf.emplace_back("pieces root", BValue::string(as_string(root)));
        if (e.length > P) {
          std::string layer;
          for (const Sha256& h : layers[i]) layer += as_string(h);
          piece_layers.emplace_back(as_string(root), BValue::string(std::move(layer)));
        }
      }
      TreeNode* n = &tree;
      const std::vector<std::string> comps = single ? std::vector<std::string>{name} : e.path;
      for (const std::string& c : comps) {
        auto& child = n->children[c];
        if (!child) child = std::make_unique<TreeNode>();
        n = child.get();
      }
      n->file = BValue::dict(std::move(leaf));
    }
    info.emplace_back("file tree", tree_value(tree));
    info.emplace_back("meta version", BValue::integer(2));
  }

  std::vector<BValue::Entry> top;
  top.emplace_back("info", BValue::dict(std::move(info)));
  if (!piece_layers.empty()) top.emplace_back("piece layers", BValue::dict(std::move(piece_layers)));
  std::size_t urls = 0;
  for (const auto& tier : opt.tracker_tiers) urls += tier.size();
  if (urls > 0) {
    for (const auto& tier : opt.tracker_tiers)
      if (!tier.empty()) {
        top.emplace_back("announce", BValue::string(tier[0]));
        break;
      }
    if (urls > 1) {
      std::vector<BValue> tiers;
      for (const auto& tier : opt.tracker_tiers) {
        if (tier.empty()) continue;
        std::vector<BValue> t;
        for (const std::string& u : tier) t.push_back(BValue::string(u));
        tiers.push_back(BValue::list(std::move(t)));
      }
      top.emplace_back("announce-list", BValue::list(std::move(tiers)));
    }
  }
  if (!opt.web_seeds.empty()) {
    std::vector<BValue> l;
    for (const std::string& u : opt.web_seeds) l.push_back(BValue::string(u));
    top.emplace_back("url-list", BValue::list(std::move(l)));
  }
  if (!opt.comment.empty()) top.emplace_back("comment", BValue::string(opt.comment));
  if (!opt.created_by.empty()) top.emplace_back("created by", BValue::string(opt.created_by));
  if (opt.creation_date) top.emplace_back("creation date", BValue::integer(*opt.creation_date));
  res.torrent = bencode(BValue::dict(std::move(top)));

  std::string why;
  std::optional<Metainfo> back = parse_metainfo(res.torrent, &why);
  if (!back) fail("internal error: the torrent made does not read back (" + why + ")");
  res.meta = std::move(*back);
  return res;
}

}  // namespace hf::torrent
