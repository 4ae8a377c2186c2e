// The torrent daemon (see daemon.hpp): a registry of PeerClients and the API over them.
#include "net/torrent/daemon.hpp"

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <deque>
#include <filesystem>
#include <map>
#include <sys/stat.h>

#include "hashforge/hex.hpp"
#include "net/http/assets.hpp"
#include "net/io/atomic_file.hpp"
#include "net/torrent/client_json.hpp"
#include "net/torrent/daemon_store.hpp"
#include "net/torrent/dht_service.hpp"
#include "net/torrent/magnet.hpp"
#include "net/torrent/metainfo.hpp"
#include "net/torrent/peer_client.hpp"

namespace hf::torrent {

const http::AssetTable& daemon_assets();  // net/torrent/daemon.html, compiled in (CMakeLists.txt)

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::size_t kHistory = 300;  // seconds of rate samples kept per torrent
constexpr std::size_t kMaxTorrents = 1000;
constexpr std::size_t kMaxPeersGiven = 200;
constexpr const char* kMetaDir = ".hashforge";  // ROOT/.hashforge: the token, the database, resume data

http::Response error(int status, const std::string& why) {
  auto r = http::Response::json(json::serialize(json::object{{"error", why}}), status);
  r.headers.set("Cache-Control", "no-store");
  return r;
}

http::Response ok(const json::value& v, int status = 200) {
  auto r = http::Response::json(json::serialize(v), status);
  r.headers.set("Cache-Control", "no-store");
  return r;
}

// A torrent or magnet name that is safe as one folder name under the root.
// A request body as JSON, or nullopt (the caller answers 400).
std::optional<json::value> parse_body(const std::string& body) {
  try {
    return json::parse(body);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool safe_name(const std::string& n) {
  return !n.empty() && n != "." && n != ".." && n != kMetaDir && n.find('/') == std::string::npos &&
         n.find('\0') == std::string::npos;
}

// Why the torrent may not be written under `dir`, or "": its name must be a plain folder
// name (not the daemon's own), and nothing on the way to its files may be a symbolic link
// (one made inside the root could lead out of it).
std::string vet_torrent(const std::string& dir, const Metainfo& m) {
  if (!safe_name(m.name)) return "the torrent's name \"" + m.name + "\" is not a folder name the daemon writes";
  auto is_link = [](const std::string& p) {
    struct stat st{};
    return ::lstat(p.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
  };
  const std::string top = dir + "/" + m.name;
  if (is_link(top)) return "\"" + m.name + "\" under the folder is a symbolic link";
  for (const auto& f : m.files) {
    std::string p = top;
    for (const auto& c : f.path) {
      p += '/';
      p += c;
      if (is_link(p)) return "a symbolic link on the way to " + p;
    }
  }
  return {};
}

// The info-hash as the daemon names a torrent (v1, else v2 truncated), in hex.
std::string hash_hex(const Metainfo& m) {
  return m.has_v1 ? to_hex(ByteView(m.info_hash_v1.data(), 20)) : to_hex(ByteView(m.info_hash_v2->data(), 20));
}

}  // namespace

struct TorrentDaemon::Impl : std::enable_shared_from_this<Impl> {
  struct Sample {
    double down = 0, up = 0;
  };
  struct Entry {
    int id = 0;
    std::string name, info_hash;  // hex (v1, else v2 truncated)
    std::optional<Metainfo> meta;
    std::optional<Magnet> magnet;
    std::string dir;  // the folder the torrent goes in (under the root)
    std::vector<std::string> peers;
    std::unique_ptr<PeerClient> client;
    bool paused = false, stopping = false;
    bool relaunch = false;  // resumed while still stopping: launched once stopped
    std::string error;
    double up_limit = 0, down_limit = 0;
    std::deque<Sample> history;
    ClientStatus last;  // what the client said last (kept while paused)
    std::string torrent_bytes, magnet_text;  // its source, as the store keeps it
  };

  asio::io_context& io;
  DaemonOptions opt;
  std::map<int, std::unique_ptr<Entry>> torrents;
  int next_id = 1;
  asio::steady_timer sampler;
  bool stopped = false;
  std::unique_ptr<DaemonStore> store;
  // Rates and connections across every torrent (every client runs on `io`).
  std::shared_ptr<SharedLimits> shared = std::make_shared<SharedLimits>();

  Impl(asio::io_context& i, DaemonOptions o) : io(i), opt(std::move(o)), sampler(i) {}

  void apply_limits(const DaemonLimits& l) {
    shared->set_rates(l.up, l.down);
    shared->max_connections = static_cast<std::size_t>(l.connections);
  }

  void log(const std::string& s) const {
    if (opt.log) opt.log(s);
  }

  void persist(const Entry& e) {
    if (!store) return;
    StoredTorrent t;
    t.id = e.id;
    t.info_hash = e.info_hash;
    t.name = e.name;
    t.dir = e.dir.size() > opt.root.size() ? e.dir.substr(opt.root.size() + 1) : std::string();
    t.torrent = e.torrent_bytes;
    t.magnet = e.magnet_text;
    t.peers = e.peers;
    t.paused = e.paused;
    t.up_limit = e.up_limit;
    t.down_limit = e.down_limit;
    std::string why;
    if (!store->save(t, &why)) log("saving torrent " + std::to_string(e.id) + ": " + why);
  }

  // The torrents of the last run, relaunched unless they were paused.
  void load() {
    std::error_code ec;
    std::filesystem::create_directories(meta_dir(), ec);
    store = std::make_unique<DaemonStore>(meta_dir() + "/daemon.db");
    apply_limits(store->load_limits());
    for (auto& t : store->load()) {
      auto e = std::make_unique<Entry>();
      e->id = t.id;
      e->info_hash = t.info_hash;
      e->name = t.name;
      e->peers = t.peers;
      e->paused = t.paused;
      e->up_limit = t.up_limit;
      e->down_limit = t.down_limit;
      e->torrent_bytes = t.torrent;
      e->magnet_text = t.magnet;
      std::string why;
      auto dir = jail_path(opt.root, t.dir, &why);
      if (!dir) {
        log("stored torrent " + std::to_string(t.id) + ": " + why);
        continue;
      }
      e->dir = *dir;
      if (!t.torrent.empty()) {
        if (auto m = parse_metainfo(t.torrent, &why); m && safe_name(m->name)) e->meta = std::move(*m);
      } else if (auto mg = parse_magnet(t.magnet, &why)) {
        e->magnet = std::move(*mg);  // launch() takes its .torrent when the metadata came in
      }
      if (!e->meta && !e->magnet) {
        log("stored torrent " + std::to_string(t.id) + " is unreadable: " + why);
        continue;
      }
      next_id = std::max(next_id, t.id + 1);
      Entry& ref = *e;
      torrents[t.id] = std::move(e);
      if (!ref.paused) launch(ref);
    }
    if (!torrents.empty()) log("restored " + std::to_string(torrents.size()) + " torrents");
  }

  std::string meta_dir() const { return opt.root + "/" + kMetaDir; }

  void launch(Entry& e) {
    // A magnet whose metadata came in starts again as the torrent it became.
    if (e.magnet) {
      std::string why;
      if (auto saved = netio::read_file(meta_dir() + "/" + e.info_hash + ".torrent", 64u << 20, &why)) {
        std::string bytes(saved->begin(), saved->end());
        if (auto mt = parse_metainfo(bytes, &why); mt && hash_hex(*mt) == e.info_hash && safe_name(mt->name)) {
          e.meta = std::move(*mt);
          e.magnet.reset();
          e.torrent_bytes = std::move(bytes);
        }
      }
    }
    ClientOptions co;
    co.data = e.meta ? e.dir + "/" + e.meta->name : e.dir;
    co.peers = e.peers;
    co.dht = opt.dht;
    co.shared_limits = shared;
    co.backend = opt.backend;
    co.upload_limit = e.up_limit;
    co.download_limit = e.down_limit;
    co.resume_file = meta_dir() + "/" + e.info_hash + ".hfresume";
    if (e.magnet) co.save_torrent = meta_dir() + "/" + e.info_hash + ".torrent";
    const int id = e.id;
    // Weak: a stopping client may outlive the daemon by a few callbacks.
    std::weak_ptr<Impl> logger = shared_from_this();
    co.log = [logger, id](const std::string& s) {
      if (auto self = logger.lock()) self->log("[" + std::to_string(id) + "] " + s);
    };
    const std::string dir = e.dir;
    co.vet_metadata = [dir](const Metainfo& m) { return vet_torrent(dir, m); };
    e.error.clear();
    e.client = e.meta ? std::make_unique<PeerClient>(io, *e.meta, co) : std::make_unique<PeerClient>(io, *e.magnet, co);
    // Weak: the clients live inside this object.
    std::weak_ptr<Impl> weak = shared_from_this();
    e.client->on_failed = [weak, id](const std::string& why) {
      auto self = weak.lock();
      if (!self) return;
      if (auto it = self->torrents.find(id); it != self->torrents.end()) it->second->error = why;
    };
    e.client->on_metadata = [weak, id] {
      // The magnet's metadata, kept: a pause and resume starts from the .torrent.
      auto self = weak.lock();
      if (!self) return;
      auto it = self->torrents.find(id);
      if (it == self->torrents.end()) return;
      Entry& x = *it->second;
      x.last = x.client->status();
      x.name = x.last.name;
      std::string why;
      if (auto saved = netio::read_file(self->meta_dir() + "/" + x.info_hash + ".torrent", 64u << 20, &why)) {
        x.torrent_bytes.assign(saved->begin(), saved->end());
        self->persist(x);
      }
    };
    try {
      e.client->start();
    } catch (const std::exception& ex) {
      e.error = ex.what();
      e.paused = true;
      e.client.reset();
    }
  }

  // Stops the entry's client; `then` once its resume data is written.
  void halt(Entry& e, std::function<void()> then) {
    if (!e.client || e.stopping) {
      if (then) asio::post(io, then);
      return;
    }
    e.last = e.client->status();
    e.stopping = true;
    auto self = shared_from_this();
    const int id = e.id;
    e.client->stop([self, id, then] {
      // Destroyed from the event loop, not inside its own callback.
      asio::post(self->io, [self, id, then] {
        if (auto it = self->torrents.find(id); it != self->torrents.end()) {
          Entry& x = *it->second;
          x.client.reset();
          x.stopping = false;
          if (x.relaunch && !x.paused && !self->stopped) self->launch(x);
          x.relaunch = false;
        }
        if (then) then();
      });
    });
  }

  json::object entry_json(const Entry& e, bool detail) {
    ClientStatus s = e.client && !e.stopping ? e.client->status() : e.last;
    json::object o = client_status_json(s);
    o["id"] = e.id;
    o["name"] = e.name.empty() ? s.name : e.name;
    o["info_hash"] = e.info_hash;
    o["dir"] = e.dir.substr(std::min(e.dir.size(), opt.root.size()));
    o["paused"] = e.paused;
    o["upload_limit"] = e.up_limit;
    o["download_limit"] = e.down_limit;
    std::string state = e.paused ? "paused" : !s.has_metadata ? "metadata" : s.complete ? "seeding" : "downloading";
    if (!e.error.empty()) {
      state = "error";
      o["error"] = e.error;
    }
    o["state"] = state;
    if (!detail) {
      o.erase("peers");
      o["peer_count"] = s.peers.size();
      return o;
    }
    json::array down, up;
    for (const auto& h : e.history) {
      down.push_back(h.down);
      up.push_back(h.up);
    }
    o["history"] = json::object{{"down", std::move(down)}, {"up", std::move(up)}, {"every_seconds", 1}};
    return o;
  }

  Entry* find(const http::Request& req) {
    const auto id = req.param("id");
    if (!id || id->empty() || id->size() > 9 || id->find_first_not_of("0123456789") != std::string_view::npos)
      return nullptr;
    auto it = torrents.find(std::stoi(std::string(*id)));
    return it == torrents.end() ? nullptr : it->second.get();
  }

  http::Response add(const http::Request& req) {
    if (torrents.size() >= kMaxTorrents) return error(507, "the daemon holds " + std::to_string(kMaxTorrents) + " torrents already");
    auto e = std::make_unique<Entry>();
    std::string sub, why;
    const auto type = req.header("Content-Type").value_or("");
    if (type.rfind("application/x-bittorrent", 0) == 0) {
      auto m = parse_metainfo(req.body, &why);
      if (!m) return error(400, "not a .torrent: " + why);
      if (!safe_name(m->name)) return error(400, "the torrent's name is not a safe folder name");
      sub = std::string(req.query_value("dir").value_or(""));
      e->name = m->name;
      e->info_hash = hash_hex(*m);
      e->meta = std::move(*m);
      e->torrent_bytes = req.body;
    } else if (type.rfind("application/json", 0) == 0) {
      const auto v = parse_body(req.body);
      if (!v) return error(400, "the body is not JSON");
      const json::object* o = v->if_object();
      const json::value* mg = o ? o->if_contains("magnet") : nullptr;
      if (!mg || !mg->is_string()) return error(400, "want {\"magnet\": \"magnet:?...\"} or a .torrent body");
      auto m = parse_magnet(std::string(mg->as_string()), &why);
      if (!m) return error(400, "not a magnet link: " + why);
      if (const json::value* d = o->if_contains("dir")) {
        if (!d->is_string()) return error(400, "\"dir\" is not a string");
        sub = std::string(d->as_string());
      }
      if (const json::value* ps = o->if_contains("peers")) {
        if (!ps->is_array()) return error(400, "\"peers\" is not a list");
        if (ps->as_array().size() > kMaxPeersGiven)
          return error(400, "more than " + std::to_string(kMaxPeersGiven) + " peers");
        for (const auto& p : ps->as_array()) {
          if (!p.is_string() || p.as_string().size() > 300) return error(400, "a peer is not \"HOST:PORT\"");
          e->peers.emplace_back(p.as_string());
        }
      }
      if (!m->name.empty() && !safe_name(m->name)) m->name.clear();
      e->name = m->name;
      e->info_hash = m->btih ? to_hex(ByteView(m->btih->data(), 20)) : to_hex(ByteView(m->btmh->data(), 20));
      // A magnet kept before as a .torrent (added, fetched, removed, added again) starts there.
      std::string w;
      if (auto saved = netio::read_file(meta_dir() + "/" + e->info_hash + ".torrent", 64u << 20, &w)) {
        if (auto mt = parse_metainfo({reinterpret_cast<const char*>(saved->data()), saved->size()}, &w);
            mt && hash_hex(*mt) == e->info_hash && safe_name(mt->name)) {
          e->name = mt->name;
          e->meta = std::move(*mt);
        }
      }
      e->magnet_text = std::string(mg->as_string());
      if (!e->meta) e->magnet = std::move(*m);
    } else {
      return error(415, "send a .torrent (application/x-bittorrent) or JSON with a magnet link");
    }
    for (const auto& [id, x] : torrents)
      if (x->info_hash == e->info_hash) return error(409, "that torrent is here already (id " + std::to_string(id) + ")");
    auto dir = jail_path(opt.root, sub, &why);
    if (!dir) return error(400, why);
    std::error_code ec;
    std::filesystem::create_directories(*dir, ec);
    std::filesystem::create_directories(meta_dir(), ec);
    // The folder must really be inside the root (no symlink inside the root leading out).
    const auto real_root = std::filesystem::weakly_canonical(opt.root, ec);
    const auto real_dir = std::filesystem::weakly_canonical(*dir, ec);
    const auto rel = real_dir.lexically_relative(real_root);
    if (ec || rel.empty() || *rel.begin() == "..") return error(400, "that folder leads outside the daemon's root");
    if (e->meta) {
      if (std::string no = vet_torrent(*dir, *e->meta); !no.empty()) return error(400, no);
    }
    e->dir = *dir;
    e->id = next_id++;
    Entry& ref = *e;
    torrents[e->id] = std::move(e);
    launch(ref);
    persist(ref);
    log("added " + std::to_string(ref.id) + ": " + (ref.name.empty() ? ref.info_hash : ref.name));
    return ok(entry_json(ref, false), 201);
  }

  http::Response pause(Entry& e) {
    if (!e.paused) {
      e.paused = true;
      halt(e, nullptr);
      persist(e);
    }
    return ok(entry_json(e, false));
  }

  http::Response resume(Entry& e) {
    if (e.stopping) {
      e.paused = false;
      e.relaunch = true;
      persist(e);
      return ok(entry_json(e, false));
    }
    if (e.paused || !e.client) {
      e.paused = false;
      launch(e);
      persist(e);
    }
    return ok(entry_json(e, false));
  }

  http::Response limits(Entry& e, const http::Request& req) {
    const auto v = parse_body(req.body);
    if (!v) return error(400, "the body is not JSON");
    const json::object* o = v->if_object();
    if (!o) return error(400, "want {\"upload\": bytes a second, \"download\": bytes a second}");
    auto num = [&](const char* k, double* out) -> bool {
      const json::value* x = o->if_contains(k);
      if (!x) return true;
      if (!x->is_number()) return false;
      const double d = x->to_number<double>();
      if (!(d >= 0 && d <= 1e12)) return false;
      *out = d;
      return true;
    };
    double up = e.up_limit, down = e.down_limit;
    if (!num("upload", &up) || !num("download", &down)) return error(400, "limits are bytes a second, 0 for none");
    e.up_limit = up;
    e.down_limit = down;
    if (e.client && !e.stopping) e.client->set_limits(up, down);
    persist(e);
    return ok(entry_json(e, false));
  }

  json::object limits_json() const {
    return {{"upload", shared->upload},
            {"download", shared->download},
            {"connections", shared->max_connections},
            {"connections_open", shared->connections}};
  }

  // The daemon's own limits, across every torrent, kept in its database.
  http::Response global_limits(const http::Request& req) {
    const auto v = parse_body(req.body);
    const json::object* o = v ? v->if_object() : nullptr;
    if (!o) return error(400, "want {\"upload\": B/s, \"download\": B/s, \"connections\": N} (0: none)");
    DaemonLimits l{shared->upload, shared->download, static_cast<std::int64_t>(shared->max_connections)};
    auto num = [&](const char* k, double max, double* out) -> bool {
      const json::value* x = o->if_contains(k);
      if (!x) return true;
      if (!x->is_number()) return false;
      const double d = x->to_number<double>();
      if (!(d >= 0 && d <= max)) return false;
      *out = d;
      return true;
    };
    double conns = static_cast<double>(l.connections);
    if (!num("upload", 1e12, &l.up) || !num("download", 1e12, &l.down) || !num("connections", 100000, &conns) ||
        conns != static_cast<double>(static_cast<std::int64_t>(conns)))
      return error(400, "limits are bytes a second and a whole number of connections, 0 for none");
    l.connections = static_cast<std::int64_t>(conns);
    std::string why;
    if (store && !store->save_limits(l, &why)) return error(500, "the limits were not saved: " + why);
    apply_limits(l);
    return ok(limits_json());
  }

  http::Response remove(int id) {
    auto it = torrents.find(id);
    Entry& e = *it->second;
    json::object gone = entry_json(e, false);
    auto self = shared_from_this();
    // Out of the list now; the client stops (and is destroyed) from the event loop.
    std::shared_ptr<Entry> holder(std::move(it->second));
    torrents.erase(it);
    if (holder->client && !holder->stopping) {
      PeerClient* c = holder->client.get();
      c->stop([self, holder] { asio::post(self->io, [holder] { holder->client.reset(); }); });
    }
    std::string why;
    if (store && !store->remove(id, &why)) log("removing torrent " + std::to_string(id) + ": " + why);
    log("removed " + std::to_string(id));
    return ok(gone);
  }

  json::object status_json() {
    double down = 0, up = 0;
    std::size_t active = 0;
    for (const auto& [id, e] : torrents) {
      if (e->history.empty()) continue;
      down += e->history.back().down;
      up += e->history.back().up;
      active += e->client ? 1 : 0;
    }
    json::object o{{"torrents", torrents.size()}, {"active", active}, {"download_rate", down}, {"upload_rate", up},
                   {"root", opt.root}, {"limits", limits_json()}};
    if (opt.dht) {
      const auto d = opt.dht->status();
      o["dht"] = json::object{{"id", d.id}, {"port", d.port4 ? d.port4 : d.port6}, {"nodes", d.v4.table + d.v6.table}};
    }
    return o;
  }

  void sample() {
    for (auto& [id, e] : torrents) {
      Sample s;
      if (e->client && !e->stopping) {
        e->last = e->client->status();
        s = {e->last.download_rate, e->last.upload_rate};
        if (e->name.empty()) e->name = e->last.name;
      }
      e->history.push_back(s);
      if (e->history.size() > kHistory) e->history.pop_front();
    }
  }

  void tick() {
    sampler.expires_after(std::chrono::seconds(1));
    auto self = shared_from_this();
    sampler.async_wait([self](boost::system::error_code ec) {
      if (ec || self->stopped) return;
      self->sample();
      self->tick();
    });
  }
};

TorrentDaemon::TorrentDaemon(asio::io_context& io, DaemonOptions opt)
    : impl_(std::make_shared<Impl>(io, std::move(opt))) {}

TorrentDaemon::~TorrentDaemon() {
  impl_->stopped = true;
  impl_->sampler.cancel();
}

void TorrentDaemon::start() {
  impl_->load();
  impl_->tick();
}

void TorrentDaemon::stop(std::function<void()> done) {
  impl_->stopped = true;
  impl_->sampler.cancel();
  auto left = std::make_shared<std::size_t>(1);
  auto finish = [left, done] {
    if (--*left == 0 && done) done();
  };
  for (auto& [id, e] : impl_->torrents) {
    if (!e->client) continue;
    ++*left;
    impl_->halt(*e, finish);
  }
  finish();
}

http::Router TorrentDaemon::router() {
  http::Router r;
  Impl* d = impl_.get();
  const ApiGuard* g = &d->opt.guard;
  // Every route through the guard: Host and Origin always, the token for /api.
  auto guarded = [g](bool api, http::Handler h) {
    return [g, api, h = std::move(h)](const http::Request& req) {
      if (auto refused = g->check(req, api)) return *refused;
      return h(req);
    };
  };
  auto with_entry = [d, guarded](std::function<http::Response(Impl::Entry&, const http::Request&)> h) {
    return guarded(true, [d, h = std::move(h)](const http::Request& req) {
      Impl::Entry* e = d->find(req);
      if (!e) return error(404, "no such torrent");
      return h(*e, req);
    });
  };
  r.get("/api/status", guarded(true, [d](const http::Request&) { return ok(d->status_json()); }));
  r.get("/api/limits", guarded(true, [d](const http::Request&) { return ok(d->limits_json()); }));
  r.post("/api/limits", guarded(true, [d](const http::Request& req) { return d->global_limits(req); }));
  r.get("/api/torrents", guarded(true, [d](const http::Request&) {
          json::array a;
          for (const auto& [id, e] : d->torrents) a.push_back(d->entry_json(*e, false));
          return ok(a);
        }));
  r.post("/api/torrents", guarded(true, [d](const http::Request& req) { return d->add(req); }));
  r.get("/api/torrents/{id}",
        with_entry([d](Impl::Entry& e, const http::Request&) { return ok(d->entry_json(e, true)); }));
  r.post("/api/torrents/{id}/pause", with_entry([d](Impl::Entry& e, const http::Request&) { return d->pause(e); }));
  r.post("/api/torrents/{id}/resume", with_entry([d](Impl::Entry& e, const http::Request&) { return d->resume(e); }));
  r.post("/api/torrents/{id}/limits",
         with_entry([d](Impl::Entry& e, const http::Request& req) { return d->limits(e, req); }));
  r.del("/api/torrents/{id}", with_entry([d](Impl::Entry& e, const http::Request&) { return d->remove(e.id); }));
  const http::AssetTable& assets = daemon_assets();
  const http::Asset* page = assets.find("/daemon.html");
  r.get("/", guarded(false, [&assets, page](const http::Request& req) {
          auto res = assets.serve(req, *page);
          // The page talks only to this daemon, and no other site may frame it.
          res.headers.set("Content-Security-Policy",
                          "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
                          "frame-ancestors 'none'");
          res.headers.set("X-Frame-Options", "DENY");
          return res;
        }));
  return r;
}

}  // namespace hf::torrent
