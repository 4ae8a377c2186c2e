// `hashforge torrent create PATH`: a .torrent (v1, v2 or hybrid) for a file or folder, hashed
// on the engine while the data is read, written atomically.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <sstream>

#include "apps/cli_checks.hpp"
#include "apps/cli_util.hpp"
#include "apps/torrent_cli.hpp"
#include "hashforge/hex.hpp"
#include "net/io/atomic_file.hpp"
#include "net/io/printable.hpp"
#include "net/torrent/create.hpp"

namespace hf::cli {
namespace {

namespace json = boost::json;

// A URL with one of `schemes` ("http", ...) and something after "://": what clients can use.
// Each comma-separated part when `commas` (a tracker tier).
CLI::Validator url_check(std::vector<std::string> schemes, bool commas) {
  return CLI::Validator(
      [schemes, commas](std::string& v) -> std::string {
        std::vector<std::string> parts;
        if (commas) {
          std::stringstream in(v);
          for (std::string p; std::getline(in, p, ',');) parts.push_back(p);
          if (v.empty() || v.back() == ',') parts.push_back("");
        } else {
          parts.push_back(v);
        }
        for (const std::string& u : parts) {
          const std::size_t at = u.find("://");
          const std::string scheme = at == std::string::npos ? "" : u.substr(0, at);
          bool known = false;
          for (const std::string& s : schemes) known = known || s == scheme;
          bool control = false;  // a line break would forge lines wherever the URL is shown
          for (unsigned char c : u) control = control || c < 0x20 || c == 0x7f;
          if (!known || u.size() <= at + 3 || control) {
            std::string list;
            for (const std::string& s : schemes) list += (list.empty() ? "" : ", ") + s + "://";
            return "'" + netio::printable(u) + "' is not a URL (" + list + ")";
          }
        }
        return {};
      },
      "URL");
}

struct Opts {
  std::string path, output, format = "v1", piece_size, comment, source, name, created_by = "hashforge 0.1.0";
  std::vector<std::string> trackers, web_seeds;
  bool is_private = false, no_date = false, force = false, json = false;
  PassFlags pass;
};

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, ','))
    if (!part.empty()) out.push_back(part);
  return out;
}

int run_create(const Opts& o) {
  torrent::CreateOptions co;
  co.format = *torrent::parse_torrent_format(o.format);
  if (!o.piece_size.empty()) {
    co.piece_length = parse_size(o.piece_size, "--piece-size");
    if (co.piece_length < 16384 || (co.piece_length & (co.piece_length - 1)) != 0 || co.piece_length > (256u << 20))
      usage_error("--piece-size: must be a power of two from 16 KiB to 256 MiB");
  }
  for (const std::string& t : o.trackers) {
    auto tier = split_commas(t);
    if (!tier.empty()) co.tracker_tiers.push_back(std::move(tier));
  }
  co.web_seeds = o.web_seeds;
  co.is_private = o.is_private;
  co.comment = o.comment;
  co.source = o.source;
  co.name = o.name;
  co.created_by = o.created_by;
  if (!o.no_date) co.creation_date = static_cast<std::int64_t>(std::time(nullptr));
  co.pass = o.pass.options();

  // Where the result goes, checked before hours of hashing.
  std::string out = o.output;
  if (out.empty()) {
    std::string base = o.name;
    if (base.empty()) {
      auto p = std::filesystem::absolute(o.path).lexically_normal();
      base = (p.has_filename() ? p : p.parent_path()).filename().string();
    }
    out = base + ".torrent";
  }
  std::error_code ec;
  if (out != "-" && !o.force && std::filesystem::exists(out, ec))
    failure(out + ": already exists (--force replaces it)");
  std::string why;
  if (out != "-" && !netio::check_writable(out, &why)) failure(why);

  PassProgressPrinter progress(!o.pass.quiet);
  co.pass.on_progress = [&](const torrent::PassProgress& p) { progress.update(p); };
  torrent::CreateResult r;
  try {
    r = torrent::create_torrent(o.path, co);
  } catch (const std::runtime_error& e) {
    progress.finish();
    failure(e.what());
  }
  progress.finish();
  for (const auto& w : r.warnings) std::fprintf(stderr, "hashforge: warning: %s\n", w.c_str());
  if (out == "-") {
    std::fwrite(r.torrent.data(), 1, r.torrent.size(), stdout);
    return 0;
  }
  write_file_atomic(out, {ByteView(reinterpret_cast<const std::uint8_t*>(r.torrent.data()), r.torrent.size())});

  const torrent::Metainfo& m = r.meta;
  const double rate = r.stats.seconds > 0 ? static_cast<double>(r.stats.bytes) / r.stats.seconds : 0;
  std::uint64_t data = 0;
  std::size_t files = 0;
  for (const auto& f : m.files)
    if (!f.pad) data += f.length, ++files;
  if (o.json) {
    json::object j{{"torrent", out},
                   {"name", m.name},
                   {"kind", torrent_kind(m)},
                   {"piece_length", m.piece_length},
                   {"files", files},
                   {"total_length", data},
                   {"magnet", magnet_of(m)},
                   {"seconds", r.stats.seconds},
                   {"bytes_per_second", rate},
                   {"backend_sha1", r.stats.backend_v1},
                   {"backend_sha256", r.stats.backend_v2}};
    if (m.has_v1) j["info_hash_v1"] = to_hex(m.info_hash_v1);
    if (m.info_hash_v2) j["info_hash_v2"] = to_hex(*m.info_hash_v2);
    print_json(j);
    return 0;
  }
  std::printf("created: %s (%s, %s in %zu file%s, pieces of %s)\n", out.c_str(), torrent_kind(m),
              human_size(data).c_str(), files, files == 1 ? "" : "s", human_size(m.piece_length).c_str());
  if (m.has_v1) std::printf("info-hash v1: %s\n", to_hex(m.info_hash_v1).c_str());
  if (m.info_hash_v2) std::printf("info-hash v2: %s\n", to_hex(*m.info_hash_v2).c_str());
  std::printf("magnet: %s\n", magnet_of(m).c_str());
  std::printf("hashed in %.2f s, %s\n", r.stats.seconds, si_rate(rate, "B").c_str());
  return 0;
}

}  // namespace

void add_torrent_create(CLI::App* torrent, Runner& run) {
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = torrent->add_subcommand("create", "Make a .torrent (v1, v2 or hybrid) for a file or folder");
  cmd->add_option("path", o->path, "The file or folder to share")->required()->check(check::non_empty());
  cmd->add_option("-o,--output", o->output, "Where to write it (default: NAME.torrent here; - for stdout)")
      ->check(check::non_empty());
  cmd->add_option("--format", o->format, "v1 (every client), v2 or hybrid (v1 and v2 in one)")
      ->check(CLI::IsMember({"v1", "v2", "hybrid"}));
  cmd->add_option("--piece-size", o->piece_size, "Piece length, a power of two (256K, 1M); default: from the size");
  cmd->add_option("-t,--tracker", o->trackers, "Tracker URL; each -t is a tier, commas separate a tier's URLs")
      ->check(url_check({"http", "https", "udp", "wss"}, true));
  cmd->add_option("-w,--web-seed", o->web_seeds, "Web seed URL (BEP 19)")
      ->check(url_check({"http", "https", "ftp"}, false));
  cmd->add_flag("--private", o->is_private, "Private torrent (BEP 27): peers only from its trackers");
  cmd->add_option("--comment", o->comment, "Comment");
  cmd->add_option("--source", o->source, "Source tag (in the info dictionary: changes the info-hash)");
  cmd->add_option("--name", o->name, "The torrent's name (default: the file's or folder's)");
  cmd->add_option("--created-by", o->created_by, "The 'created by' field");
  cmd->add_flag("--no-date", o->no_date, "No creation date, so the same data always gives the same file");
  cmd->add_flag("-f,--force", o->force, "Replace the output file if it exists");
  cmd->add_flag("--json", o->json, "Print the result as one JSON object");
  o->pass.add_to(cmd);
  cmd->callback([o, &run] { run = [o] { return run_create(*o); }; });
}

}  // namespace hf::cli
