// `hashforge torrent daemon --root DIR`: many torrents in one process behind a local JSON API
// and a web page (net/torrent/daemon), on 127.0.0.1 unless told otherwise, with a token.
#include <sys/stat.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "apps/cli_checks.hpp"
#include "apps/cli_util.hpp"
#include "apps/dht_cli.hpp"
#include "apps/torrent_cli.hpp"
#include "net/http/server.hpp"
#include "net/io/atomic_file.hpp"
#include "net/torrent/daemon.hpp"

namespace hf::cli {

namespace asio = boost::asio;

namespace {

struct DaemonOpts {
  std::string root;
  std::string listen = "127.0.0.1:9091";
  std::string token, token_file;
  std::vector<std::string> allow_hosts;
  std::string backend;
  DhtFlags dht;
  bool verbose = false;
};

std::string random_token() {
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string t;
  for (int i = 0; i < 32; ++i) t += kHex[rd() & 15];
  return t;
}

// A token travels in an HTTP header and is printed: visible ASCII only.
bool token_text(const std::string& t) {
  return std::all_of(t.begin(), t.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

// The token: given, read from a file, or made and kept in ROOT/.hashforge/token (mode 600).
std::string load_token(const DaemonOpts& o, const std::string& root, std::string* where) {
  if (!o.token.empty()) return o.token;
  const std::string path = o.token_file.empty() ? root + "/.hashforge/token" : o.token_file;
  *where = path;
  std::string why;
  struct stat st{};
  if (::stat(path.c_str(), &st) == 0) {
    auto bytes = netio::read_file(path, 4096, &why);
    if (!bytes) failure("the token file: " + why);
    std::string t(bytes->begin(), bytes->end());
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    if (t.size() < 16) failure("the token in " + path + " is shorter than 16 characters");
    if (!token_text(t)) failure("the token in " + path + " is not printable text (visible ASCII)");
    return t;
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  const std::string t = random_token();
  if (!netio::write_file_atomic(path, t + "\n", &why, netio::kPrivateFile)) failure("writing the token: " + why);
  return t;
}

int run_daemon(const DaemonOpts& o) {
  // --listen first: a refused address leaves nothing made in the root folder.
  const auto colon = o.listen.rfind(':');
  if (colon == std::string::npos) usage_error("--listen wants ADDRESS:PORT: " + o.listen);
  const std::string host = o.listen.substr(0, colon);
  const std::string port_text = o.listen.substr(colon + 1);
  if (port_text.empty() || port_text.find_first_not_of("0123456789") != std::string::npos || port_text.size() > 5)
    usage_error("--listen wants ADDRESS:PORT: " + o.listen);
  const unsigned port = static_cast<unsigned>(std::stoul(port_text));
  if (port == 0 || port > 65535) usage_error("--listen needs a fixed port (1-65535): the page's address depends on it");
  std::error_code ec;
  std::filesystem::create_directories(o.root, ec);
  if (!std::filesystem::is_directory(o.root, ec)) failure("the root folder " + o.root + " is not a folder");
  const std::string root = std::filesystem::canonical(o.root, ec).string();
  if (ec) failure("the root folder " + o.root + ": " + ec.message());
  if (!o.token.empty() && o.token.size() < 16) usage_error("--token must be 16 characters or more");
  if (!token_text(o.token)) usage_error("--token must be printable text (visible ASCII)");
  std::string token_where;
  const std::string token = load_token(o, root, &token_where);

  asio::io_context io;
  torrent::DaemonOptions d;
  d.root = root;
  check_torrent_backend(o.backend);
  d.backend = o.backend;
  d.guard.token = token;
  if (o.verbose) d.log = [](const std::string& s) { std::fprintf(stderr, "%s\n", s.c_str()); };
  if (o.dht.on) d.dht = o.dht.start(io, o.verbose);

  http::Settings hs;
  hs.limits.max_body = 32u << 20;  // a .torrent with its v2 piece layers
  hs.max_connections = 256;
  // The guard's Host values name the port, so the port is fixed (no port 0).
  std::unique_ptr<torrent::TorrentDaemon> daemon;
  std::unique_ptr<http::Server> server;
  std::string url;
  {
    d.guard.hosts = torrent::loopback_hosts(port);
    if (host != "127.0.0.1" && host != "[::1]" && host != "localhost") d.guard.hosts.push_back(host + ":" + port_text);
    for (const auto& h : o.allow_hosts) d.guard.hosts.push_back(h);
    daemon = std::make_unique<torrent::TorrentDaemon>(io, d);
    try {
      server = std::make_unique<http::Server>(io, daemon->router(), hs);
      url = server->listen(o.listen);
    } catch (const std::exception& e) {
      failure(e.what());
    }
  }
  try {
    daemon->start();
  } catch (const std::exception& e) {
    failure(e.what());
  }
  std::fprintf(stderr, "torrent daemon on %s, downloads under %s\n", url.c_str(), root.c_str());
  if (!token_where.empty()) std::fprintf(stderr, "API token in %s\n", token_where.c_str());
  std::fprintf(stderr, "page: %s/#token=%s\n", url.c_str(), token.c_str());
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& e, int) {
    if (e) return;
    server->stop();
    daemon->stop([&] {
      if (d.dht) d.dht->stop();
      io.stop();
    });
  });
  io.run();
  return 0;
}

}  // namespace

void add_torrent_daemon(CLI::App* torrent, Runner& run) {
  auto o = std::make_shared<DaemonOpts>();
  CLI::App* cmd = torrent->add_subcommand(
      "daemon", "Run many torrents behind a local JSON API and web page (token, Host and Origin checked)");
  cmd->add_option("--root", o->root, "The folder every download goes under (made if missing)")
      ->required()
      ->check(check::non_empty());
  cmd->add_option("--listen", o->listen, "ADDRESS:PORT of the API and page (default 127.0.0.1:9091: this machine only)")
      ->check(check::non_empty());
  cmd->add_option("--token", o->token, "The API token (default: made once and kept in ROOT/.hashforge/token)");
  cmd->add_option("--token-file", o->token_file, "Read the API token from this file (made if missing)")
      ->check(check::non_empty());
  cmd->add_option("--allow-host", o->allow_hosts,
                  "Another HOST:PORT the API answers to (repeatable; for a name or address other than loopback)");
  cmd->add_option("--backend", o->backend,
                  "Engine backend for checking the data already on disk (default: the best); pieces as they arrive are "
                  "checked one at a time on the fastest single-stream code");
  cmd->add_flag("-v,--verbose", o->verbose, "Log each torrent's connections, trackers and drops on stderr");
  o->dht.add_to(cmd, false);
  cmd->callback([o, &run] { run = [o] { return run_daemon(*o); }; });
}

}  // namespace hf::cli
