// `hashforge torrent`: .torrent files and the data they describe. `info` prints what a
// .torrent or magnet link holds; `create` and `verify` (their own files) hash data on the
// engine.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <ctime>

#include "apps/cli_checks.hpp"
#include "apps/cli_util.hpp"
#include "apps/commands.hpp"
#include "apps/torrent_cli.hpp"
#include "hashforge/hex.hpp"
#include "net/io/printable.hpp"
#include "net/torrent/magnet.hpp"

namespace hf::cli {
namespace {

namespace json = boost::json;

json::object metainfo_json(const torrent::Metainfo& m) {
  json::object o;
  o["name"] = m.name;
  o["kind"] = torrent_kind(m);
  if (m.has_v1) o["info_hash_v1"] = to_hex(m.info_hash_v1);
  if (m.info_hash_v2) {
    o["info_hash_v2"] = to_hex(*m.info_hash_v2);
    o["info_hash_v2_wire"] = to_hex(ByteView(m.info_hash_v2->data(), 20));  // truncated, as trackers and peers see it
  }
  o["piece_length"] = m.piece_length;
  if (m.has_v1) o["pieces"] = m.piece_count();
  std::uint64_t data = 0;
  json::array files;
  for (std::size_t i = 0; i < m.files.size(); ++i) {
    const torrent::FileEntry& f = m.files[i];
    if (!f.pad) data += f.length;
    json::object fo{{"path", file_display_path(m, i)}, {"length", f.length}, {"offset", f.offset}};
    if (f.pad) fo["pad"] = true;
    if (f.executable) fo["executable"] = true;
    if (f.hidden) fo["hidden"] = true;
    if (f.pieces_root) fo["pieces_root"] = to_hex(*f.pieces_root);
    files.push_back(std::move(fo));
  }
  o["total_length"] = data;
  o["stream_length"] = m.total_length;
  o["files"] = std::move(files);
  if (m.has_v2) o["piece_layers"] = m.has_piece_layers;
  json::array tiers;
  for (const auto& tier : m.tracker_tiers) {
    json::array t;
    for (const auto& u : tier) t.push_back(json::string(u));
    tiers.push_back(std::move(t));
  }
  o["trackers"] = std::move(tiers);
  json::array ws;
  for (const auto& u : m.web_seeds) ws.push_back(json::string(u));
  o["web_seeds"] = std::move(ws);
  o["private"] = m.is_private;
  if (m.creation_date) o["creation_date"] = *m.creation_date;
  if (!m.comment.empty()) o["comment"] = m.comment;
  if (!m.created_by.empty()) o["created_by"] = m.created_by;
  if (!m.source.empty()) o["source"] = m.source;
  o["magnet"] = magnet_of(m);
  json::array w;
  for (const auto& s : m.warnings) w.push_back(json::string(s));
  o["warnings"] = std::move(w);
  return o;
}

// Names, comments and URLs come from whoever made the file or link: control characters are
// shown as \xNN, so none can forge a line or drive the terminal.
std::string shown(const std::string& s) { return netio::printable(s, std::string::npos); }

void print_metainfo(const torrent::Metainfo& m) {
  std::printf("name:          %s\n", shown(m.name).c_str());
  std::printf("kind:          %s%s\n", torrent_kind(m), m.has_v2 && !m.has_piece_layers ? " (no piece layers)" : "");
  if (m.has_v1) std::printf("info-hash v1:  %s\n", to_hex(m.info_hash_v1).c_str());
  if (m.info_hash_v2) std::printf("info-hash v2:  %s\n", to_hex(*m.info_hash_v2).c_str());
  std::uint64_t data = 0;
  std::size_t real = 0;
  for (const auto& f : m.files)
    if (!f.pad) data += f.length, ++real;
  std::printf("size:          %s (%llu bytes) in %zu file%s\n", human_size(data).c_str(),
              static_cast<unsigned long long>(data), real, real == 1 ? "" : "s");
  std::printf("pieces:        %llu of %s\n",
              static_cast<unsigned long long>((m.total_length + m.piece_length - 1) / m.piece_length),
              human_size(m.piece_length).c_str());
  std::printf("private:       %s\n", m.is_private ? "yes" : "no");
  if (m.creation_date) {
    const std::time_t t = static_cast<std::time_t>(*m.creation_date);
    char buf[64] = "?";
    if (std::tm tm{}; gmtime_r(&t, &tm)) std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    std::printf("created:       %s\n", buf);
  }
  if (!m.created_by.empty()) std::printf("created by:    %s\n", shown(m.created_by).c_str());
  if (!m.comment.empty()) std::printf("comment:       %s\n", shown(m.comment).c_str());
  if (!m.source.empty()) std::printf("source:        %s\n", shown(m.source).c_str());
  for (std::size_t t = 0; t < m.tracker_tiers.size(); ++t)
    for (const auto& u : m.tracker_tiers[t]) std::printf("tracker:       tier %zu  %s\n", t, shown(u).c_str());
  for (const auto& u : m.web_seeds) std::printf("web seed:      %s\n", shown(u).c_str());
  std::printf("magnet:        %s\n", magnet_of(m).c_str());
  for (const auto& w : m.warnings) std::printf("warning:       %s\n", shown(w).c_str());
  std::printf("files:\n");
  for (std::size_t i = 0; i < m.files.size(); ++i) {
    const auto& f = m.files[i];
    if (f.pad) continue;
    std::printf("  %14llu  %s\n", static_cast<unsigned long long>(f.length), shown(file_display_path(m, i)).c_str());
  }
}

int info_magnet(const std::string& uri, bool as_json) {
  std::string why;
  auto g = torrent::parse_magnet(uri, &why);
  if (!g) usage_error("not a magnet link: " + why);
  if (as_json) {
    json::object o{{"magnet", true}, {"name", g->name}};
    if (g->btih) o["info_hash_v1"] = to_hex(*g->btih);
    if (g->btmh) o["info_hash_v2"] = to_hex(*g->btmh);
    json::array tr, ws, pe;
    for (const auto& u : g->trackers) tr.push_back(json::string(u));
    for (const auto& u : g->web_seeds) ws.push_back(json::string(u));
    for (const auto& u : g->peers) pe.push_back(json::string(u));
    o["trackers"] = std::move(tr);
    o["web_seeds"] = std::move(ws);
    o["peers"] = std::move(pe);
    if (g->length) o["length"] = *g->length;
    print_json(o);
    return 0;
  }
  std::printf("magnet link\n");
  if (!g->name.empty()) std::printf("name:          %s\n", shown(g->name).c_str());
  if (g->btih) std::printf("info-hash v1:  %s\n", to_hex(*g->btih).c_str());
  if (g->btmh) std::printf("info-hash v2:  %s\n", to_hex(*g->btmh).c_str());
  if (g->length) std::printf("size:          %llu bytes\n", static_cast<unsigned long long>(*g->length));
  for (const auto& u : g->trackers) std::printf("tracker:       %s\n", shown(u).c_str());
  for (const auto& u : g->web_seeds) std::printf("web seed:      %s\n", shown(u).c_str());
  for (const auto& u : g->peers) std::printf("peer:          %s\n", shown(u).c_str());
  return 0;
}

}  // namespace

void add_torrent_info(CLI::App* torrent, Runner& run) {
  struct Opts {
    std::vector<std::string> what;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = torrent->add_subcommand("info", "Print what a .torrent file or magnet link holds");
  cmd->add_option("what", o->what, "FILE.torrent or magnet:?... (several allowed)")->required()->check(check::non_empty());
  cmd->add_flag("--json", o->json, "One JSON object per input, on its own line");
  cmd->callback([o, &run] {
    run = [o] {
      int rc = 0;
      for (std::size_t i = 0; i < o->what.size(); ++i) {
        const std::string& w = o->what[i];
        if (w.rfind("magnet:", 0) == 0) {
          info_magnet(w, o->json);
          continue;
        }
        try {
          const torrent::Metainfo m = load_torrent(w);
          if (o->json) {
            json::object j = metainfo_json(m);
            j["file"] = w;
            print_json(j);
          } else {
            if (o->what.size() > 1) std::printf("%s== %s\n", i ? "\n" : "", w.c_str());
            print_metainfo(m);
          }
        } catch (const CliError& e) {
          if (o->what.size() == 1) throw;
          std::fprintf(stderr, "hashforge: %s\n", e.what());
          rc = kExitFailure;
        }
      }
      return rc;
    };
  });
}

void add_torrent(CLI::App& app, Runner& run) {
  CLI::App* t = app.add_subcommand("torrent", "BitTorrent: create, verify and inspect .torrent files (v1, v2, hybrid); download and seed");
  t->require_subcommand(1);
  add_torrent_info(t, run);
  add_torrent_create(t, run);
  add_torrent_verify(t, run);
  add_torrent_client(t, run);
  add_torrent_dht(t, run);
  add_torrent_daemon(t, run);
}

}  // namespace hf::cli
