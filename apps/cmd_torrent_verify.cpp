// `hashforge torrent verify FILE.torrent DATA`: checks the data against every v1 piece and
// every v2 piece layer (or v2 file root), in one pass on the engine. Exit 0 only when all
// is right; bad pieces are listed with the files and byte ranges they cover.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>

#include "apps/cli_checks.hpp"
#include "apps/cli_util.hpp"
#include "apps/torrent_cli.hpp"
#include "net/torrent/verify.hpp"

namespace hf::cli {
namespace {

namespace json = boost::json;

std::string range_text(std::uint64_t off, std::uint64_t len) {
  return std::to_string(off) + ".." + std::to_string(off + len - 1);
}

struct Opts {
  std::string torrent, data;
  bool json = false;
  std::size_t max_listed = 100;
  PassFlags pass;
};

json::array spans_json(const torrent::Metainfo& m, const torrent::BadPiece& b) {
  json::array a;
  if (b.v2) {
    a.push_back(json::object{{"path", file_display_path(m, b.file)}, {"offset", b.offset}, {"length", b.length}});
    return a;
  }
  for (const auto& s : torrent::files_in_range(m, b.offset, b.offset + b.length))
    a.push_back(json::object{{"path", file_display_path(m, s.file)}, {"offset", s.offset}, {"length", s.length}});
  return a;
}

int run_verify(const Opts& o) {
  const torrent::Metainfo m = load_torrent(o.torrent);
  const std::string data = resolve_data(m, o.data);
  torrent::PassOptions po = o.pass.options();
  PassProgressPrinter progress(!o.pass.quiet);
  po.on_progress = [&](const torrent::PassProgress& p) { progress.update(p); };
  torrent::VerifyReport r;
  try {
    r = torrent::verify_data(m, data, po);
  } catch (const std::runtime_error& e) {
    progress.finish();
    failure(e.what());
  }
  progress.finish();
  const double secs = r.stats.seconds > 0 ? r.stats.seconds : 1e-9;
  const double rate = static_cast<double>(r.stats.bytes) / secs;
  std::size_t bad_files = 0;
  for (const auto& p : r.problems)
    if (p.kind != torrent::FileIssue::long_file) ++bad_files;

  if (o.json) {
    json::array bad, problems;
    for (const auto& b : r.bad) {
      json::object j{{"kind", b.v2 ? "v2" : "v1"}, {"files", spans_json(m, b)}};
      if (b.whole_file) j["whole_file"] = true;
      else j["index"] = b.index;
      if (!b.v2) j["offset"] = b.offset, j["length"] = b.length;
      bad.push_back(std::move(j));
    }
    for (const auto& p : r.problems) {
      json::object j{{"path", file_display_path(m, p.file)}, {"problem", std::string(torrent::file_issue_name(p.kind))},
                     {"expected", m.files[p.file].length}};
      if (p.kind != torrent::FileIssue::missing) j["on_disk"] = p.on_disk;
      if (!p.detail.empty()) j["detail"] = p.detail;
      problems.push_back(std::move(j));
    }
    print_json(json::object{{"ok", r.ok()},
                            {"torrent", o.torrent},
                            {"data", data},
                            {"kind", torrent_kind(m)},
                            {"v1_pieces_checked", r.v1_pieces},
                            {"v2_pieces_checked", r.v2_pieces},
                            {"v2_files_checked_by_root", r.v2_roots},
                            {"bad_pieces", std::move(bad)},
                            {"file_problems", std::move(problems)},
                            {"bytes", r.stats.bytes},
                            {"bytes_from_disk", r.stats.bytes_from_disk},
                            {"seconds", r.stats.seconds},
                            {"bytes_per_second", rate},
                            {"backend_sha1", r.stats.backend_v1},
                            {"backend_sha256", r.stats.backend_v2}});
    return r.ok() ? 0 : kExitFailure;
  }

  std::printf("torrent: %s (%s, %s in pieces of %s)\n", m.name.c_str(), torrent_kind(m),
              human_size(m.total_length).c_str(), human_size(m.piece_length).c_str());
  std::printf("data:    %s\n", data.c_str());
  for (const auto& p : r.problems) {
    std::printf("%s: %s: %s", p.kind == torrent::FileIssue::long_file ? "warning" : "problem",
                file_display_path(m, p.file).c_str(), std::string(torrent::file_issue_name(p.kind)).c_str());
    if (p.kind == torrent::FileIssue::short_file || p.kind == torrent::FileIssue::long_file)
      std::printf(" (%llu bytes, the torrent says %llu)", static_cast<unsigned long long>(p.on_disk),
                  static_cast<unsigned long long>(m.files[p.file].length));
    if (!p.detail.empty()) std::printf(" (%s)", p.detail.c_str());
    std::printf("\n");
  }
  std::size_t listed = 0;
  for (const auto& b : r.bad) {
    if (listed++ == o.max_listed) {
      std::printf("... and %zu more bad pieces (--json lists them all)\n", r.bad.size() - o.max_listed);
      break;
    }
    if (b.whole_file) {
      std::printf("bad file (v2 root): %s\n", file_display_path(m, b.file).c_str());
    } else if (b.v2) {
      std::printf("bad piece %llu (v2) of %s: bytes %s\n", static_cast<unsigned long long>(b.index),
                  file_display_path(m, b.file).c_str(), range_text(b.offset, b.length).c_str());
    } else {
      std::printf("bad piece %llu (v1): bytes %s:", static_cast<unsigned long long>(b.index),
                  range_text(b.offset, b.length).c_str());
      for (const auto& s : torrent::files_in_range(m, b.offset, b.offset + b.length))
        std::printf(" %s [%s]", file_display_path(m, s.file).c_str(), range_text(s.offset, s.length).c_str());
      std::printf("\n");
    }
  }
  std::string checked;
  if (m.has_v1) checked += std::to_string(r.v1_pieces) + " v1 pieces";
  if (m.has_v2) {
    if (!checked.empty()) checked += ", ";
    checked += std::to_string(r.v2_pieces) + " v2 pieces";
    if (r.v2_roots) checked += " and " + std::to_string(r.v2_roots) + " v2 file roots";
  }
  std::string backends = r.stats.backend_v1.empty() ? "" : "sha1 " + r.stats.backend_v1;
  if (!r.stats.backend_v2.empty()) backends += (backends.empty() ? "" : ", ") + ("sha256 " + r.stats.backend_v2);
  std::printf("checked: %s in %.2f s, %s (%s)\n", checked.c_str(), r.stats.seconds, si_rate(rate, "B").c_str(),
              backends.c_str());
  if (r.ok()) {
    std::printf("result:  all good\n");
    return 0;
  }
  std::printf("result:  %zu bad piece%s, %zu file problem%s\n", r.bad.size(), r.bad.size() == 1 ? "" : "s", bad_files,
              bad_files == 1 ? "" : "s");
  return kExitFailure;
}

}  // namespace

void add_torrent_verify(CLI::App* torrent, Runner& run) {
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = torrent->add_subcommand("verify", "Check data against a .torrent: every v1 piece and v2 piece layer");
  cmd->add_option("torrent", o->torrent, "The .torrent file")->required()->check(check::non_empty());
  cmd->add_option("data", o->data,
                  "The content (a file, or the torrent's folder) or the folder that holds it, as a client's download folder")
      ->required()
      ->check(check::non_empty());
  cmd->add_flag("--json", o->json, "The result as one JSON object (every bad piece listed)");
  cmd->add_option("--max-listed", o->max_listed, "Bad pieces listed in text output")->check(check::whole(0, 1u << 30));
  o->pass.add_to(cmd);
  cmd->callback([o, &run] { run = [o] { return run_verify(*o); }; });
}

}  // namespace hf::cli
