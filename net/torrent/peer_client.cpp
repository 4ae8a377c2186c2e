// The client's sockets, trackers and disk around TorrentSession (see peer_client.hpp).
#include "net/torrent/peer_client.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <sys/stat.h>
#include <thread>

#include "net/io/atomic_file.hpp"
#include "net/io/connect.hpp"
#include "net/io/length_conn.hpp"
#include "net/io/stream.hpp"
#include "net/torrent/dht_service.hpp"
#include "net/torrent/magnet_session.hpp"
#include "net/torrent/piece_check.hpp"
#include "net/torrent/resume.hpp"
#include "net/torrent/storage.hpp"
#include "net/torrent/tracker_calls.hpp"
#include "net/torrent/tracker_client.hpp"
#include "net/torrent/verify.hpp"
#include "net/torrent/web_fetch.hpp"
#include "net/torrent/web_seed.hpp"

namespace hf::torrent {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

namespace {

// A peer's IPv4 address from its "host:port" (an IPv4-mapped IPv6 address counts): what
// BEP 6's allowed-fast set is drawn from. nullopt for IPv6 peers.
std::optional<std::array<std::uint8_t, 4>> ipv4_of(const std::string& address) {
  std::string host = wire::host_of(address);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.rfind("::ffff:", 0) == 0) host = host.substr(7);
  std::array<std::uint8_t, 4> a{};
  if (::inet_pton(AF_INET, host.c_str(), a.data()) != 1) return std::nullopt;
  return a;
}

// One line: a system error's message without Boost's source location.
std::string what_of(const std::exception& e) {
  if (auto* se = dynamic_cast<const boost::system::system_error*>(&e)) return se->code().message();
  return e.what();
}

constexpr std::size_t kRoom = 1 << 20;  // a peer's unsent bytes before we read it more blocks
constexpr auto kHandshakeTimeout = std::chrono::seconds(20);
constexpr auto kConnectTimeout = std::chrono::seconds(10);

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// One worker thread for disk reads, piece checks and writes: the network thread never waits
// on a file.
class DiskWorker {
 public:
  DiskWorker() : th_([this] { run(); }) {}
  ~DiskWorker() {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    // The last owner may be a task on this very thread (at exit): it cannot join itself.
    if (th_.get_id() == std::this_thread::get_id())
      th_.detach();
    else
      th_.join();
  }
  void post(std::function<void()> f) {
    {
      std::lock_guard lk(mu_);
      q_.push_back(std::move(f));
    }
    cv_.notify_one();
  }

 private:
  void run() {
    std::unique_lock lk(mu_);
    for (;;) {
      cv_.wait(lk, [&] { return stop_ || !q_.empty(); });
      if (q_.empty()) return;
      auto f = std::move(q_.front());
      q_.pop_front();
      lk.unlock();
      f();
      lk.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> q_;
  bool stop_ = false;
  std::thread th_;
};

// Each data file's size and modification time now (zeros for one that is not there).
std::vector<FileStamp> stamps_of(const std::vector<DataFile>& files) {
  std::vector<FileStamp> out;
  for (const auto& f : files) {
    if (f.pad) continue;
    struct stat st {};
    FileStamp s;
    if (::stat(f.disk_path.c_str(), &st) == 0)
      s = {static_cast<std::uint64_t>(st.st_size),
           static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
    out.push_back(s);
  }
  return out;
}

}  // namespace

namespace {
// A rate limit's bucket: a quarter second of burst, at least a few blocks; 0: no limit.
void set_limit(TokenBucket& b, double rate) { b.set_rate(rate, rate > 0 ? std::max(rate / 4, 4.0 * wire::kBlockSize) : 0); }
}  // namespace

void SharedLimits::set_rates(double up_rate, double down_rate) {
  upload = up_rate;
  download = down_rate;
  set_limit(up, up_rate);
  set_limit(down, down_rate);
}

struct PeerClient::Impl : std::enable_shared_from_this<Impl> {
  struct Link {
    std::shared_ptr<netio::LengthConn> conn;
    std::string address;
    bool outgoing = false;  // we dialled it: `address` is where it listens
  };

  asio::io_context& io;
  Metainfo meta;
  ClientOptions opt;
  wire::Hash20 peer_id{};
  std::unique_ptr<TorrentSession> session;
  std::unique_ptr<Storage> storage;  // the disk worker's alone once started
  std::shared_ptr<tcp::acceptor> acceptor;
  std::uint16_t port = 0;
  std::map<PeerKey, Link> links;
  std::set<std::string> busy;  // addresses dialled or connected
  std::size_t opening = 0;     // connections dialled, or accepted, and not through the handshake yet
  std::set<std::string> self;  // addresses that turned out to be us
  PeerKey next_key = 1;
  std::unique_ptr<DiskWorker> disk;    // storage: reads, writes, syncs, resume data, in order
  std::unique_ptr<DiskWorker> hasher;  // piece checks, ahead of their writes
  asio::steady_timer ticker, pump, tracker_wake;
  bool pump_armed = false;
  bool starved = false;  // some peer's reads wait for room in its connection
  bool stopping = false, completed_fired = false, flushing = false;
  bool announcing = false;  // a tracker announce of tracker_loop is on its way
  netio::Family announce_family = netio::Family::any;  // the listening socket's (listen())
  bool told_complete = false;  // the tracker heard `completed` (or we were a seed from the start)
  std::size_t checking_pieces = 0;
  std::unique_ptr<asio::ssl::context> tls;
  std::vector<TrackerStatus> trackers;
  std::function<void()> on_complete;
  std::mt19937_64 rng{std::random_device{}()};
  std::vector<DataFile> data_files_;
  std::map<std::uint32_t, std::vector<bool>> resumed_partial_;  // from load_resume, until restored
  std::shared_ptr<const PieceVerifier> verifier;  // read on the disk thread: immutable
  // Rate limits: uploads by the blocks handed to the disk to read, downloads by how fast
  // frames are taken off the sockets (TCP's own flow control then slows the senders).
  TokenBucket up_limit, down_limit;
  bool resume_writing = false;
  double last_resume = 0;
  std::uint32_t key = 0;

  // A magnet link's first phase: the peers asked for the info dictionary (BEP 9).
  std::optional<Magnet> magnet;
  std::unique_ptr<MagnetSession> msession;
  double magnet_started = 0, metadata_ms = -1;
  std::string failed;  // why the torrent cannot go on (a magnet's metadata unusable)
  std::function<void(const std::string&)> on_failed;
  std::function<void()> on_metadata;

  // Web seeds (BEP 19): each is a peer of the session that has every piece and is never
  // choked; its REQUESTs become HTTP range requests and the bytes come back as PIECEs.
  struct WebSeed {
    std::string url;
    PeerKey key = 0;     // 0 while not in the session
    std::string output;  // what the session sent it, not yet read
    std::deque<BlockRef> wanted;
    std::unique_ptr<WebFetcher> fetcher;
    std::unique_ptr<asio::steady_timer> wake;
    int failures = 0;
    bool done = false;  // dropped by the session (bad data, or the download complete)
    std::string last_error;
    std::uint64_t downloaded = 0;
  };
  std::vector<std::shared_ptr<WebSeed>> web_seeds;
  std::map<PeerKey, std::shared_ptr<WebSeed>> web_by_key;

  double started_at = 0, first_piece_ms = -1;
  std::set<std::string> dht_found;
  std::uint32_t dht_lookups = 0;
  asio::steady_timer dht_wake{io};

  Impl(asio::io_context& i, Metainfo m, ClientOptions o)
      : io(i), meta(std::move(m)), opt(std::move(o)), ticker(i), pump(i), tracker_wake(i) {}
  Impl(asio::io_context& i, Magnet g, ClientOptions o)
      : io(i), opt(std::move(o)), ticker(i), pump(i), tracker_wake(i), magnet(std::move(g)) {
    meta.name = magnet->name;
    for (const auto& t : magnet->trackers) meta.tracker_tiers.push_back({t});
    for (const auto& p : magnet->peers) opt.peers.push_back(p);
  }

  const wire::Hash20& swarm_hash() const { return session ? session->info_hash() : msession->info_hash(); }
  wire::Handshake our_handshake() const {
    wire::Handshake h = session ? session->our_handshake() : msession->our_handshake();
    if (use_dht()) h.set(wire::kDht);
    return h;
  }
  // BEP 27: a private torrent's peers come from its trackers alone.
  bool use_dht() const { return opt.dht && !meta.is_private; }

  void log(const std::string& s) const {
    if (opt.log) opt.log(s);
  }

  // This torrent's bucket and the shared one (the daemon's), together: when `n` bytes may
  // go, and taking them from both.
  bool rate_limited(bool up) const {
    const SharedLimits* sh = opt.shared_limits.get();
    return !(up ? up_limit : down_limit).unlimited() || (sh && !(up ? sh->up : sh->down).unlimited());
  }
  double ready_at(bool up, std::uint64_t n, double t) {
    double at = (up ? up_limit : down_limit).ready_at(n, t);
    if (SharedLimits* sh = opt.shared_limits.get()) at = std::max(at, (up ? sh->up : sh->down).ready_at(n, t));
    return at;
  }
  void take(bool up, std::uint64_t n, double t) {
    (up ? up_limit : down_limit).charge(n, t);
    if (SharedLimits* sh = opt.shared_limits.get()) (up ? sh->up : sh->down).charge(n, t);
  }

  // The most a web seed asks for at once: 4 MiB, or under a download limit (this torrent's
  // or the shared one) that limit's burst, so its bytes come at the limit's pace.
  std::uint64_t web_run_cap() const {
    std::uint64_t cap = 4u << 20;
    if (!down_limit.unlimited()) cap = std::min(cap, down_limit.burst());
    if (const SharedLimits* sh = opt.shared_limits.get(); sh && !sh->down.unlimited())
      cap = std::min(cap, sh->down.burst());
    return std::max<std::uint64_t>(cap, wire::kBlockSize);
  }

  // A quarter second of burst, at least a few blocks; 0: no limit.
  void set_limits(double up, double down) {
    opt.upload_limit = up;
    opt.download_limit = down;
    set_limit(up_limit, up);
    set_limit(down_limit, down);
    if (!stopping && session) flush();
  }

  void start() {
    std::array<std::uint8_t, 12> rnd{};
    for (auto& b : rnd) b = static_cast<std::uint8_t>(rng());
    peer_id = wire::make_peer_id("0100", rnd);
    key = static_cast<std::uint32_t>(rng());
    started_at = now_s();
    if (use_dht()) opt.session.dht_port = opt.dht->port();
    if (magnet) {
      msession = std::make_unique<MagnetSession>(*magnet, peer_id, opt.max_connections);
      magnet_started = now_s();
    } else {
      start_torrent();
    }
    set_limits(opt.upload_limit, opt.download_limit);
    listen();
    auto self_ = shared_from_this();
    asio::co_spawn(io, accept_loop(self_), asio::detached);
    asio::co_spawn(io, tick_loop(self_), asio::detached);
    if (opt.trackers && !meta.tracker_tiers.empty() && !meta.tracker_tiers.front().empty())
      asio::co_spawn(io, tracker_loop(self_), asio::detached);
    if (use_dht()) asio::co_spawn(io, dht_loop(self_), asio::detached);
    if (session) start_web_seeds();
    for (const auto& p : opt.peers) dial(p);
    if (session && session->complete()) fire_complete();
  }

  // Peers from the DHT: a get_peers lookup that announces our port, again every 15 minutes
  // while seeding and every 5 while downloading; sooner (5 s, doubling to a minute) while
  // no DHT node answers (the table still filling from the bootstrap nodes) or, downloading,
  // no peer is connected.
  static awaitable<void> dht_loop(std::shared_ptr<Impl> self) {
    int backoff = 0;
    while (!self->stopping && self->use_dht()) {
      ++self->dht_lookups;
      auto answered = std::make_shared<std::optional<std::size_t>>();
      self->dht_wake.expires_after(std::chrono::seconds(120));
      self->opt.dht->get_peers(
          self->swarm_hash(), self->port,
          [self](const std::vector<std::string>& peers) {
            for (const auto& p : peers) {
              if (self->dht_found.size() < 10000) self->dht_found.insert(p);
              // use_dht() again: a magnet's metadata may have turned out private (BEP 27)
              // while this lookup ran.
              if (!self->stopping && self->use_dht() && !(self->session && self->session->complete())) self->dial(p);
            }
          },
          [self, answered](std::size_t n) {
            if (answered->has_value()) return;
            *answered = n;
            self->dht_wake.cancel();
          });
      boost::system::error_code ec;
      // The lookup may have ended already (an empty table ends it at once).
      if (!answered->has_value()) co_await self->dht_wake.async_wait(asio::redirect_error(use_awaitable, ec));
      if (self->stopping) co_return;
      if (!answered->has_value()) *answered = 0;  // still going after 2 minutes: its end wakes nothing
      const bool seeding = self->session && self->session->complete();
      const bool retry = !answered->value_or(0) || (!seeding && self->links.empty());
      backoff = retry ? backoff + 1 : 0;
      self->dht_wake.expires_after(
          std::chrono::seconds(retry ? std::min(60, 5 << std::min(backoff - 1, 4)) : seeding ? 900 : 300));
      co_await self->dht_wake.async_wait(asio::redirect_error(use_awaitable, ec));
      if (self->stopping) co_return;
    }
  }

  void start_web_seeds() {
    if (session->complete()) return;
    std::set<std::string> seen;
    for (const auto& url : meta.web_seeds) {
      if (!seen.insert(url).second) continue;
      if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
        log("web seed " + url + ": not HTTP(S), skipped");
        continue;
      }
      auto w = std::make_shared<WebSeed>();
      w->url = url;
      w->fetcher = std::make_unique<WebFetcher>(io);
      w->wake = std::make_unique<asio::steady_timer>(io);
      web_seeds.push_back(w);
      asio::co_spawn(io, web_loop(shared_from_this(), w), asio::detached);
    }
  }

  // The session dropped the web seed (bad data: banned; or another protocol reason).
  void web_dropped(WebSeed& w, const std::string& why) {
    if (!session || !session->complete()) {
      log("web seed " + w.url + ": dropped: " + why);
      w.last_error = why;
    }
    w.done = true;
    web_by_key.erase(w.key);
    w.key = 0;
    w.wanted.clear();
    if (w.wake) w.wake->cancel();
  }

  // Feeds the session a message as if the web seed had sent it.
  void web_feed(PeerKey k, const std::string& frame, double t) {
    wire::Message m;
    if (wire::decode_message(frame, &m).status == wire::Decode::ok) session->peer_message(k, m, t);
  }

  static awaitable<void> web_loop(std::shared_ptr<Impl> self, std::shared_ptr<WebSeed> w) {
    const std::uint64_t P = self->meta.piece_length;
    boost::system::error_code ec;
    while (!self->stopping && !w->done && !self->session->complete()) {
      if (!w->key) {
        // Into the session as a seed that has unchoked us.
        const PeerKey k = self->next_key++;
        wire::Handshake h = self->session->our_handshake();
        for (std::size_t i = 0; i < h.peer_id.size(); ++i) h.peer_id[i] = static_cast<std::uint8_t>(self->rng());
        const char tag[] = "-WS0100-";
        std::copy(tag, tag + 8, h.peer_id.begin());
        const std::string refused = self->session->peer_connected(k, h, w->url, std::nullopt, now_s());
        if (!refused.empty()) {
          w->last_error = refused;
          w->wake->expires_after(std::chrono::seconds(30));
          co_await w->wake->async_wait(asio::redirect_error(use_awaitable, ec));
          continue;
        }
        w->key = k;
        self->web_by_key[k] = w;
        std::string f;
        wire::encode_simple(wire::MsgId::have_all, &f);
        self->web_feed(k, f, now_s());
        f.clear();
        wire::encode_simple(wire::MsgId::unchoke, &f);
        self->web_feed(k, f, now_s());
        self->flush();
      }
      // The session's requests (and cancels) to this seed.
      std::string_view out = w->output;
      while (!out.empty()) {
        wire::Message m;
        auto d = wire::decode_message(out, &m);
        if (d.status != wire::Decode::ok) break;
        out.remove_prefix(d.consumed);
        if (m.id == wire::MsgId::request) {
          w->wanted.push_back({m.index, m.begin, m.length});
        } else if (m.id == wire::MsgId::cancel) {
          std::erase_if(w->wanted, [&](const BlockRef& b) { return b.piece == m.index && b.begin == m.begin; });
        }
      }
      w->output.erase(0, w->output.size() - out.size());
      if (w->wanted.empty()) {
        w->wake->expires_after(std::chrono::seconds(1));
        co_await w->wake->async_wait(asio::redirect_error(use_awaitable, ec));
        continue;
      }
      // One HTTP request for the run of blocks that lie end to end in the stream, up to 4 MiB,
      // or under a download limit up to its burst (a quarter second of the rate).
      const std::uint64_t cap = self->web_run_cap();
      std::vector<BlockRef> run{w->wanted.front()};
      w->wanted.pop_front();
      auto end_of = [P](const BlockRef& b) { return b.piece * P + b.begin + b.length; };
      std::uint64_t bytes = run.front().length;
      while (!w->wanted.empty() && bytes + w->wanted.front().length <= cap &&
             w->wanted.front().piece * P + w->wanted.front().begin == end_of(run.back())) {
        bytes += w->wanted.front().length;
        run.push_back(w->wanted.front());
        w->wanted.pop_front();
      }
      if (self->rate_limited(false)) {
        // The bytes are taken from the limit before they are asked for, as a peer's frame is
        // before it is read: the limit holds for web seeds and peers together. (The wake timer
        // also fires on new requests from the session: wait until the time has really come.)
        for (;;) {
          const double t = now_s();
          const double at = self->ready_at(false, bytes, t);
          if (at <= t || self->stopping || !w->key) break;
          w->wake->expires_after(std::chrono::microseconds(static_cast<std::int64_t>((at - t) * 1e6) + 1));
          co_await w->wake->async_wait(asio::redirect_error(use_awaitable, ec));
        }
        if (self->stopping) co_return;
        if (!w->key) continue;  // dropped meanwhile
        self->take(false, bytes, now_s());
      }
      const std::uint64_t from = run.front().piece * P + run.front().begin;
      std::string data;
      std::string error;
      try {
        for (const WebSpan& sp : web_spans(self->meta, from, bytes)) {
          if (sp.file == WebSpan::npos) {
            data.append(static_cast<std::size_t>(sp.length), '\0');
            continue;
          }
          const std::string url = web_seed_file_url(w->url, self->meta, sp.file);
          data += co_await w->fetcher->get_range(url, sp.file_offset, sp.length);
        }
      } catch (const std::exception& e) {
        error = what_of(e);
      }
      if (self->stopping) co_return;
      if (!w->key) continue;  // dropped meanwhile
      if (!error.empty()) {
        // The blocks go back to the picker; the seed is tried again after a pause.
        ++w->failures;
        w->last_error = error;
        self->log("web seed " + w->url + ": " + error);
        self->web_by_key.erase(w->key);
        self->session->peer_gone(w->key);
        w->key = 0;
        w->wanted.clear();
        w->output.clear();
        w->fetcher->close();
        self->flush();
        w->wake->expires_after(std::chrono::seconds(std::min(300, 2 << std::min(w->failures, 8))));
        co_await w->wake->async_wait(asio::redirect_error(use_awaitable, ec));
        continue;
      }
      w->failures = 0;
      w->downloaded += data.size();
      const double t = now_s();
      std::size_t at = 0;
      for (const BlockRef& b : run) {
        std::string frame;
        wire::encode_piece_header(b.piece, b.begin, b.length, &frame);
        frame.append(data, at, b.length);
        at += b.length;
        self->web_feed(w->key, frame, t);
        if (!w->key) break;  // the session dropped it (a bad block found)
      }
      self->flush();
    }
    if (w->key && !self->stopping) {
      self->web_by_key.erase(w->key);
      self->session->peer_gone(w->key);
      w->key = 0;
    }
    w->fetcher->close();
  }

  // The torrent is known: its files made (sparse) or checked, the session and the disk and
  // hashing threads set up.
  void start_torrent() {
    verifier = std::make_shared<const PieceVerifier>(meta);
    if (!verifier->unusable().empty()) throw std::runtime_error(verifier->unusable());
    SessionConfig sc = opt.session;
    if (!use_dht()) sc.dht_port = 0;  // a magnet's metadata may turn out private (BEP 27)
    // Web seeds join the session as peers but are no connections the limit is about: room
    // for them beside --max-peers peers (the dialler keeps to --max-peers itself).
    sc.max_peers = opt.max_connections + meta.web_seeds.size();
    sc.seed = rng();
    session = std::make_unique<TorrentSession>(meta, peer_id, sc);
    auto files = data_files(meta, opt.data);
    data_files_ = files;
    if (opt.resume_file.empty()) opt.resume_file = opt.data + ".hfresume";
    bool any_there = false;
    for (const auto& f : files) {
      struct stat st {};
      if (!f.pad && ::stat(f.disk_path.c_str(), &st) == 0 && st.st_size > 0) any_there = true;
    }
    bool vouched = any_there && opt.resume && opt.trust_resume && load_resume();
    // Seeding needs every piece: resume data that vouches for fewer (written by a run told
    // not to check the disk) is no reason to refuse data that may well be whole.
    if (vouched && opt.complete_only && !session->complete() && opt.recheck) {
      log("the resume data vouches for " + std::to_string(session->have_count()) + " of " +
          std::to_string(meta.wire_pieces()) + " pieces: checking the data on disk");
      session = std::make_unique<TorrentSession>(meta, peer_id, sc);  // every piece checked afresh
      resumed_partial_.clear();
      vouched = false;
    }
    if (vouched) {
      // Vouched for by resume data written after the last write: no hashing.
    } else if (any_there && opt.recheck) {
      log("checking the data already on disk");
      PassOptions po;
      po.backend = opt.backend;
      VerifyReport rep = verify_data(meta, opt.data, po);
      const std::uint32_t pieces = meta.wire_pieces();
      std::vector<bool> bad(pieces, false);
      auto mark = [&](std::uint64_t from, std::uint64_t to) {  // stream bytes [from, to)
        for (std::uint64_t i = from / meta.piece_length; i < pieces && i * meta.piece_length < to; ++i) bad[i] = true;
      };
      for (const auto& b : rep.bad) {
        if (!b.v2) {
          if (b.index < bad.size()) bad[b.index] = true;
        } else if (b.file < meta.files.size()) {
          // v2: a piece of a file (or the whole file) in the file's own offsets.
          const FileEntry& f = meta.files[b.file];
          if (b.whole_file) mark(f.offset, f.offset + f.length);
          else mark(f.offset + b.offset, f.offset + b.offset + std::max<std::uint64_t>(b.length, 1));
        }
      }
      for (std::uint32_t i = 0; i < pieces; ++i)
        if (!bad[i]) session->set_have(i);
      log(std::to_string(session->have_count()) + " of " + std::to_string(pieces) + " pieces on disk are good");
    }
    if (opt.complete_only && !session->complete())
      throw std::runtime_error(opt.data + " holds " + std::to_string(session->have_count()) + " of " +
                               std::to_string(meta.wire_pieces()) +
                               " pieces: seeding needs the complete data (`torrent download` completes it)");
    storage = std::make_unique<Storage>(std::move(files), meta.total_length);
    storage->set_direct_writes(opt.direct_writes);
    std::string why;
    if (!storage->allocate(&why)) throw std::runtime_error(why);
    restore_partials();
    disk = std::make_unique<DiskWorker>();
    hasher = std::make_unique<DiskWorker>();
    last_resume = now_s();  // the first periodic save 30 s from now, not at the first tick
    if (port) session->set_listen_port(port);
  }

  void listen() {
    std::string bound;
    if (!opt.listen.empty()) {
      acceptor = netio::listen_on(io, opt.listen, &bound);
    } else {
      // Every address, IPv6 and IPv4 on one dual-stack socket; IPv4 alone where the host
      // has no IPv6.
      try {
        acceptor = netio::listen_on(io, "[::]:0", &bound);
      } catch (const std::exception&) {
        acceptor = netio::listen_on(io, "0.0.0.0:0", &bound);
      }
    }
    port = acceptor->local_endpoint().port();
    // A tracker hands out the address an announce came from, so announces go over the
    // family peers can reach us on: IPv4 for an IPv4 socket, IPv6 for an IPv6-only one.
    const auto bound_at = acceptor->local_endpoint().address();
    asio::ip::v6_only v6_only(false);
    boost::system::error_code ec;
    if (bound_at.is_v6()) acceptor->get_option(v6_only, ec);
    announce_family = bound_at.is_v4()                                  ? netio::Family::v4
                      : (!bound_at.is_unspecified() || v6_only.value()) ? netio::Family::v6
                                                                        : netio::Family::any;
    if (session) session->set_listen_port(port);
    if (msession) msession->set_listen_port(port);
    log("listening on " + bound);
  }

  // The metadata checked: the torrent it makes, started, and every peer of the magnet phase
  // handed to its session with what it said meanwhile.
  void become_torrent() {
    if (!failed.empty()) return;  // said once; the client is stopping
    const std::string torrent =
        torrent_from_info(msession->metadata(), magnet->trackers, magnet->web_seeds, msession->piece_layers());
    std::string why;
    auto m = parse_metainfo(torrent, &why);
    if (!m) {
      // It matched the info-hash, so the magnet link itself names a torrent we cannot use.
      log("the metadata does not make a usable torrent: " + why);
      failed = "the metadata does not make a usable torrent: " + why;
      if (on_failed) on_failed(failed);
      return;
    }
    metadata_ms = (now_s() - magnet_started) * 1000;
    log("metadata: " + std::to_string(msession->metadata().size()) + " bytes in " +
        std::to_string(static_cast<int>(metadata_ms)) + " ms, \"" + m->name + "\"");
    if (!opt.save_torrent.empty()) {
      if (!netio::write_file_atomic(opt.save_torrent, torrent, &why)) log("saving the .torrent: " + why);
    }
    if (opt.vet_metadata) {
      if (std::string no = opt.vet_metadata(*m); !no.empty()) {
        failed = no;
        log(failed);
        if (on_failed) on_failed(failed);
        return;
      }
    }
    auto trackers_before = meta.tracker_tiers;
    meta = std::move(*m);
    if (meta.tracker_tiers.empty()) meta.tracker_tiers = trackers_before;
    opt.data = opt.data.empty() ? meta.name : opt.data + "/" + meta.name;
    try {
      start_torrent();
    } catch (const std::exception& e) {
      failed = what_of(e);
      log(failed);
      if (on_failed) on_failed(failed);
      return;
    }
    const double t = now_s();
    for (auto& [k, h] : msession->take_peers()) {
      auto link = links.find(k);
      if (link == links.end()) continue;
      const std::string refused = session->peer_connected(k, h.handshake, h.address, ipv4_of(h.address), t, true);
      if (!refused.empty()) {
        link->second.conn->close(refused);
        continue;
      }
      if (link->second.outgoing) session->mark_outgoing(k);
      for (const std::string& f : h.frames) {
        wire::Message msg;
        if (std::string bad = wire::decode_payload(f, &msg); !bad.empty()) {
          link->second.conn->close(bad);
          break;
        }
        session->peer_message(k, msg, t);
      }
    }
    msession.reset();  // its peers are the session's now
    if (on_metadata) on_metadata();
    start_web_seeds();
    flush();
    if (session->complete()) fire_complete();
  }

  // The pieces the resume data vouches for, if it is there, for this torrent, and written
  // after the last change to every file; false (nothing trusted) otherwise.
  bool load_resume() {
    std::string why;
    auto bytes = netio::read_file(opt.resume_file, 64u << 20, &why);
    if (!bytes) return false;
    std::size_t real_files = 0;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges;
    for (const auto& f : data_files_) {
      if (f.pad) continue;
      ++real_files;
      const std::uint64_t last = f.length ? f.offset + f.length - 1 : f.offset;
      ranges.push_back({static_cast<std::uint32_t>(f.offset / meta.piece_length),
                        static_cast<std::uint32_t>(last / meta.piece_length)});
    }
    auto r = decode_resume(std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()),
                           session->info_hash(), session->pieces(),
                           [&](std::uint32_t piece) {
                             return static_cast<std::uint32_t>((session->shape().piece_size(piece) + wire::kBlockSize - 1) /
                                                               wire::kBlockSize);
                           },
                           real_files, &why);
    if (!r) {
      log("resume data not used: " + why);
      return false;
    }
    if (!pieces_to_recheck(*r, stamps_of(data_files_), ranges).empty()) {
      log("resume data not used: files changed since it was written");
      return false;
    }
    std::uint32_t n = 0;
    for (std::uint32_t i = 0; i < r->have.size(); ++i)
      if (r->have[i]) session->set_have(i), ++n;
    log("resume data: " + std::to_string(n) + " of " + std::to_string(session->pieces()) + " pieces, no hashing");
    resumed_partial_ = std::move(r->partial);
    return true;
  }

  // The blocks of unfinished pieces an earlier run wrote (named by its resume data): read
  // back and handed to the session, so none is asked for again. They are checked with the
  // rest of their piece once it is whole.
  void restore_partials() {
    std::uint64_t blocks = 0;
    std::vector<std::uint8_t> buf;
    for (const auto& [piece, bits] : resumed_partial_) {
      if (session->have(piece)) continue;
      buf.resize(static_cast<std::size_t>(session->shape().piece_size(piece)));
      std::string why;
      if (!storage->read(static_cast<std::uint64_t>(piece) * meta.piece_length, buf, &why)) {
        log("resume data: piece " + std::to_string(piece) + " not read back (" + why + "): asked for again");
        continue;
      }
      if (session->restore_blocks(piece, bits, buf)) blocks += static_cast<std::uint64_t>(std::count(bits.begin(), bits.end(), true));
    }
    if (!resumed_partial_.empty())
      log("resume data: " + std::to_string(blocks) + " blocks of " + std::to_string(resumed_partial_.size()) +
          " unfinished pieces kept");
    resumed_partial_.clear();
  }

  // Syncs the files, then writes the resume data for the pieces held now: written pieces
  // only ever precede the snapshot on the disk thread, so it never claims one not on disk.
  void save_resume(std::function<void()> then = nullptr) {
    if (!opt.resume || !session || !disk || resume_writing) {
      if (then) then();
      return;
    }
    resume_writing = true;
    last_resume = now_s();
    ResumeData r;
    r.info_hash = session->info_hash();
    r.have.resize(session->pieces());
    for (std::uint32_t i = 0; i < session->pieces(); ++i) r.have[i] = session->have(i);
    // Unfinished pieces too: their blocks are written (unchecked: the piece is checked
    // whole when it is done) before the sync, so the record never names a block not on disk.
    auto partial = std::make_shared<std::vector<TorrentSession::PartialPiece>>(session->partial_pieces());
    for (const auto& p : *partial) r.partial[p.index] = p.blocks;
    auto self_ = shared_from_this();
    disk->post([self_, r = std::move(r), partial, then]() mutable {
      std::string why;
      if (!self_->write_partial(*partial, &why)) {
        self_->log("resume data: unfinished pieces not kept: " + why);
        r.partial.clear();
        why.clear();
      }
      bool ok = self_->storage->sync(&why);
      if (ok) {
        r.files = stamps_of(self_->data_files_);
        ok = netio::write_file_atomic(self_->opt.resume_file, encode_resume(r), &why);
      }
      asio::post(self_->io, [self_, ok, why, then] {
        self_->resume_writing = false;
        if (!ok) self_->log("resume data: " + why);
        if (then) then();
      });
    });
  }

  // On the disk thread: each run of consecutive received blocks with one write.
  bool write_partial(const std::vector<TorrentSession::PartialPiece>& parts, std::string* why) {
    const std::uint64_t P = meta.piece_length;
    for (const auto& p : parts) {
      for (std::size_t i = 0; i < p.blocks.size();) {
        if (!p.blocks[i]) {
          ++i;
          continue;
        }
        std::size_t j = i;
        while (j < p.blocks.size() && p.blocks[j]) ++j;
        const std::size_t from = i * wire::kBlockSize, to = std::min(j * wire::kBlockSize, p.data.size());
        if (!storage->write(static_cast<std::uint64_t>(p.index) * P + from, {p.data.data() + from, to - from}, why))
          return false;
        i = j;
      }
    }
    return true;
  }

  void fire_complete() {
    if (completed_fired) return;
    completed_fired = true;
    tracker_wake.cancel();  // announce `completed` now
    auto self_ = shared_from_this();
    auto done = [self_] {
      if (self_->on_complete) self_->on_complete();
    };
    if (opt.resume) {
      // Waits for a save in progress: this one must cover every piece.
      if (resume_writing) {
        asio::co_spawn(
            io,
            [self_, done]() -> awaitable<void> {
              while (self_->resume_writing) {
                asio::steady_timer t(self_->io, std::chrono::milliseconds(10));
                co_await t.async_wait(use_awaitable);
              }
              self_->save_resume(done);
            },
            asio::detached);
        return;
      }
      return save_resume(done);
    }
    disk->post([self_, done] {
      std::string why;
      const bool ok = self_->storage->sync(&why);
      asio::post(self_->io, [self_, ok, why, done] {
        if (!ok) self_->log("sync: " + why);
        done();
      });
    });
  }

  static awaitable<void> accept_loop(std::shared_ptr<Impl> self) {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket s = co_await self->acceptor->async_accept(asio::redirect_error(use_awaitable, ec));
      if (self->stopping) co_return;
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        asio::steady_timer t(self->io, std::chrono::milliseconds(100));
        co_await t.async_wait(use_awaitable);
        continue;
      }
      if (!self->room_for_a_connection()) continue;  // closed as it goes
      std::string address;
      boost::system::error_code ec2;
      auto ep = s.remote_endpoint(ec2);
      if (!ec2) address = netio::endpoint_text(ep);
      asio::co_spawn(self->io, run_peer(self, std::move(s), false, address, OpeningSlot(self)), asio::detached);
    }
  }

  // A connection being opened counts against --max-peers (and the daemon's limit across
  // torrents) from the dial or the accept until it is a link or gone, so a burst of peers
  // from a tracker, the DHT or PEX never opens more sockets than the limits allow.
  class OpeningSlot {
   public:
    explicit OpeningSlot(std::shared_ptr<Impl> p) : p_(std::move(p)) {
      ++p_->opening;
      if (SharedLimits* sh = p_->opt.shared_limits.get()) ++sh->opening;
    }
    OpeningSlot(OpeningSlot&& o) noexcept : p_(std::move(o.p_)) {}
    OpeningSlot& operator=(OpeningSlot&&) = delete;
    ~OpeningSlot() { release(); }
    void release() {
      if (!p_) return;
      --p_->opening;
      if (SharedLimits* sh = p_->opt.shared_limits.get()) --sh->opening;
      p_.reset();
    }

   private:
    std::shared_ptr<Impl> p_;
  };

  bool room_for_a_connection() const {
    if (links.size() + opening >= opt.max_connections) return false;
    const SharedLimits* sh = opt.shared_limits.get();
    return !(sh && sh->max_connections && sh->connections + sh->opening >= sh->max_connections);
  }

  void dial(const std::string& address) {
    if (stopping || busy.count(address) || self.count(address) || !room_for_a_connection()) return;
    busy.insert(address);
    asio::co_spawn(io, dial_one(shared_from_this(), address, OpeningSlot(shared_from_this())), asio::detached);
  }

  static awaitable<void> dial_one(std::shared_ptr<Impl> self, std::string address, OpeningSlot slot) {
    std::string host, port, why;
    if (!netio::split_host_port(address, &host, &port, &why)) {
      self->log(address + ": " + why);
      self->busy.erase(address);
      co_return;
    }
    try {
      tcp::resolver r(self->io);
      auto eps = co_await r.async_resolve(host, port, use_awaitable);
      tcp::socket s(self->io);
      asio::steady_timer t(self->io, kConnectTimeout);
      t.async_wait([&s](boost::system::error_code ec) {
        if (!ec) {
          boost::system::error_code ignored;
          s.close(ignored);
        }
      });
      co_await asio::async_connect(s, eps, use_awaitable);
      t.cancel();
      co_await run_peer(self, std::move(s), true, address, std::move(slot));
    } catch (const std::exception& e) {
      self->log(address + ": " + what_of(e));
    }
    self->busy.erase(address);
  }

  static awaitable<void> run_peer(std::shared_ptr<Impl> self, tcp::socket sock, bool outgoing, std::string address,
                                  OpeningSlot slot) {
    auto stream = netio::make_tcp_stream(std::move(sock));
    const std::string ours = wire::encode_handshake(self->our_handshake());
    std::optional<wire::Handshake> theirs;
    {
      netio::StreamDeadline deadline(self->io, stream.get(), kHandshakeTimeout);
      try {
        if (outgoing) co_await stream->write(asio::buffer(ours));
        std::array<std::uint8_t, wire::kHandshakeSize> buf{};
        std::size_t got = 0;
        while (got < buf.size()) got += co_await stream->read_some(asio::buffer(buf.data() + got, buf.size() - got));
        std::string why;
        theirs = wire::parse_handshake(buf, &why);
        if (!theirs) {
          self->log(address + ": " + why);
          co_return;
        }
        if (theirs->info_hash != self->swarm_hash()) {
          self->log(address + ": the handshake names another torrent");
          co_return;
        }
        if (!outgoing) co_await stream->write(asio::buffer(ours));
      } catch (const std::exception& e) {
        self->log(address + ": handshake: " + what_of(e));
        co_return;
      }
    }
    slot.release();  // a link from here on, or gone
    if (self->stopping) co_return;
    if (SharedLimits* sh = self->opt.shared_limits.get(); sh && sh->max_connections && sh->connections >= sh->max_connections) {
      self->log(address + ": refused: " + std::to_string(sh->max_connections) + " connections across torrents");
      co_return;
    }
    const PeerKey k = self->next_key++;
    const std::string refused = self->session ? self->session->peer_connected(k, *theirs, address, ipv4_of(address), now_s())
                                              : self->msession->peer_connected(k, *theirs, address, now_s());
    if (!refused.empty()) {
      if (refused.find("ourselves") != std::string::npos) self->self.insert(address);
      self->log(address + ": " + refused);
      co_return;
    }
    netio::FrameLimits lim;
    lim.max_frame = wire::kDefaultMaxFrame;
    lim.max_queued = 16 << 20;
    lim.idle_timeout = std::chrono::minutes(4);  // keep-alives come every two minutes at most
    auto conn = std::make_shared<netio::LengthConn>(std::move(stream), lim);
    // Blocks waiting for room in this connection are read as soon as a write makes some.
    std::weak_ptr<Impl> weak = self;
    conn->on_sent([weak] {
      if (auto s = weak.lock(); s && s->starved) s->flush();
    });
    conn->start();
    if (outgoing && self->session) self->session->mark_outgoing(k);
    self->links[k] = {conn, address, outgoing};
    if (self->opt.shared_limits) ++self->opt.shared_limits->connections;
    self->busy.insert(address);
    self->log(address + ": connected (" + wire::client_name(theirs->peer_id) + ")");
    self->flush();
    for (;;) {
      auto payload = co_await conn->read_frame();
      if (!payload) break;
      if (self->rate_limited(false)) {
        // Not taken off the socket faster than the limit: the sender's window closes.
        const double t = now_s();
        const double at = self->ready_at(false, payload->size(), t);
        if (at > t) {
          asio::steady_timer wait(self->io, std::chrono::microseconds(static_cast<std::int64_t>((at - t) * 1e6)));
          co_await wait.async_wait(use_awaitable);
        }
        self->take(false, payload->size(), now_s());
      }
      wire::Message m;
      if (std::string why = wire::decode_payload(*payload, &m); !why.empty()) {
        conn->close(why);
        break;
      }
      if (self->session) {
        self->session->peer_message(k, m, now_s());
      } else if (self->msession) {
        self->msession->peer_message(k, *payload, m, now_s());
        if (self->msession->done()) self->become_torrent();
      }
      self->flush();
    }
    self->log(address + ": closed (" + conn->why() + ")");
    if (self->session) self->session->peer_gone(k);
    else if (self->msession) self->msession->peer_gone(k);
    self->links.erase(k);
    if (self->opt.shared_limits) --self->opt.shared_limits->connections;
    self->busy.erase(address);
    self->flush();
  }

  // Everything the session has for the sockets and the disk, handed over.
  void flush() {
    if (msession) return send_out(*msession);  // the magnet phase: no disk work yet
    if (flushing || !session) return;
    flushing = true;
    send_out(*session);
    starved = false;
    double wait_for_tokens = 0;
    const double t_now = now_s();
    // Metadata pieces and hash replies went out above: they pay like piece blocks, after the
    // fact (into debt if need be), so the next blocks wait for them.
    if (const std::uint64_t replies = session->take_reply_bytes(); replies && rate_limited(true))
      take(true, replies, t_now);
    auto reads = session->take_reads([&](PeerKey k) {
      auto it = links.find(k);
      if (it == links.end()) return false;
      const bool room = it->second.conn->queued_bytes() < kRoom;
      starved |= !room;
      if (!room) return false;
      if (rate_limited(true)) {
        // Each block read now will go out: it takes its tokens here.
        const double at = ready_at(true, wire::kBlockSize, t_now);
        if (at > t_now) {
          wait_for_tokens = at - t_now;
          return false;
        }
        take(true, wire::kBlockSize, t_now);
      }
      return true;
    });
    auto self_ = shared_from_this();
    if (!reads.empty()) {
      // One disk task and one completion for every block of this round: a thread handoff
      // per 16 KiB block would cost more than the reads.
      struct Block {
        TorrentSession::Read r;
        std::unique_ptr<std::uint8_t[]> data;  // not zeroed: the read fills it
        std::string why;
      };
      auto blocks = std::make_shared<std::vector<Block>>();
      blocks->reserve(reads.size());
      for (const auto& r : reads) blocks->push_back({r, nullptr, {}});
      const std::uint64_t piece_length = meta.piece_length;
      disk->post([self_, blocks, piece_length] {
        for (Block& b : *blocks) {
          b.data.reset(new std::uint8_t[b.r.block.length]);
          const std::uint64_t offset = static_cast<std::uint64_t>(b.r.block.piece) * piece_length + b.r.block.begin;
          if (!self_->storage->read(offset, {b.data.get(), b.r.block.length}, &b.why) && b.why.empty()) b.why = "read failed";
        }
        asio::post(self_->io, [self_, blocks] {
          const double t = now_s();
          for (const Block& b : *blocks) {
            if (b.why.empty()) {
              self_->session->block_read(b.r.peer, b.r.block, {b.data.get(), b.r.block.length}, t);
            } else {
              self_->log("read: " + b.why);
              self_->session->block_unreadable(b.r.peer, b.r.block);
            }
          }
          self_->flush();
        });
      });
    }
    for (auto& p : session->take_pieces()) {
      ++checking_pieces;
      auto piece = std::make_shared<TorrentSession::Piece>(std::move(p));
      const std::uint64_t offset = static_cast<std::uint64_t>(piece->index) * meta.piece_length;
      // Checked on the hashing thread, written on the disk thread: the next piece is hashed
      // while this one is written (a direct write waits for the device).
      hasher->post([self_, piece, offset, verifier = verifier] {
        auto verdict = [self_, piece](bool ok, std::string why) {
          asio::post(self_->io, [self_, piece, ok, why = std::move(why)] {
            --self_->checking_pieces;
            if (!why.empty()) self_->log("write: " + why);
            if (ok && self_->first_piece_ms < 0) self_->first_piece_ms = (now_s() - self_->started_at) * 1000;
            self_->session->piece_checked(piece->index, ok, piece->data, now_s());
            if (self_->session->complete() && self_->checking_pieces == 0) self_->fire_complete();
            self_->flush();
          });
        };
        if (!verifier->ok(piece->index, piece->data)) return verdict(false, {});
        self_->disk->post([self_, piece, offset, verdict] {
          std::string why;
          const bool ok = self_->storage->write(offset, piece->data, &why);
          verdict(ok, std::move(why));
        });
      });
    }
    // Leaf hashes a peer asked for (BEP 52): the pieces read and their blocks hashed on the
    // disk thread, at most 512 blocks (8 MiB) a request and one request a peer at a time.
    for (auto& r : session->take_hash_reads()) {
      auto req = std::make_shared<TorrentSession::HashRead>(r);
      disk->post([self_, req] {
        std::vector<Sha256> hashes;
        std::vector<std::uint8_t> buf;
        std::string why;
        bool ok = true;
        const std::uint64_t P = self_->meta.piece_length;
        for (std::uint32_t i = 0; i < req->pieces && ok; ++i) {
          const std::uint64_t start = static_cast<std::uint64_t>(req->first_piece + i) * P;
          buf.resize(static_cast<std::size_t>(std::min(P, req->file_offset + req->file_length - start)));
          ok = self_->storage->read(start, buf, &why);
          if (ok) {
            auto h = block_hashes(buf);
            hashes.insert(hashes.end(), h.begin(), h.end());
          }
        }
        asio::post(self_->io, [self_, req, ok, why, hashes = std::move(hashes)] {
          if (ok) {
            self_->session->leaf_hashes_ready(*req, hashes, now_s());
          } else {
            self_->log("read for hashes: " + why);
            self_->session->leaf_hashes_failed(*req, now_s());
          }
          self_->flush();
        });
      });
    }
    flushing = false;
    if ((starved || wait_for_tokens > 0) && !pump_armed) {
      // A full connection, or the upload limit: look again shortly.
      pump_armed = true;
      pump.expires_after(std::chrono::microseconds(
          std::max<std::int64_t>(5000, static_cast<std::int64_t>(wait_for_tokens * 1e6))));
      pump.async_wait([self_](boost::system::error_code ec) {
        self_->pump_armed = false;
        if (!ec) self_->flush();
      });
    }
  }

  // A session's (TorrentSession's or MagnetSession's) peers to drop and bytes to send.
  template <class Session>
  void send_out(Session& s) {
    for (const auto& c : s.take_closes()) {
      auto it = links.find(c.peer);
      if (it != links.end()) {
        log(it->second.address + ": dropped: " + c.why);
        it->second.conn->close(c.why);
      }
      if (auto w = web_by_key.find(c.peer); w != web_by_key.end()) web_dropped(*w->second, c.why);
      s.peer_gone(c.peer);
    }
    for (PeerKey k : s.take_ready()) {
      std::string out = s.take_output(k);
      if (auto w = web_by_key.find(k); w != web_by_key.end()) {
        w->second->output += out;
        if (w->second->wake) w->second->wake->cancel();
        continue;
      }
      auto it = links.find(k);
      if (it != links.end() && !out.empty() && !it->second.conn->closed()) it->second.conn->send(std::move(out));
    }
  }

  static awaitable<void> tick_loop(std::shared_ptr<Impl> self) {
    while (!self->stopping) {
      self->ticker.expires_after(std::chrono::seconds(1));
      boost::system::error_code ec;
      co_await self->ticker.async_wait(asio::redirect_error(use_awaitable, ec));
      if (self->stopping) co_return;
      if (!self->session) {
        if (self->msession) self->msession->tick(now_s());
        self->flush();
        for (const auto& p : self->opt.peers) self->dial(p);
        continue;
      }
      self->session->tick(now_s());
      self->flush();
      for (const auto& [host, port] : self->session->take_dht_nodes()) {
        if (!self->use_dht()) break;
        const bool bracketed = host.size() > 2 && host.front() == '[';
        self->opt.dht->add_node(bracketed ? host.substr(1, host.size() - 2) : host, port);
      }
      for (const auto& p : self->session->take_pex_peers())
        if (!self->session->complete()) self->dial(p);
      if (now_s() - self->last_resume > 30 && !self->session->complete()) self->save_resume();
      // Redial the hand-given peers that dropped, while there is something to trade.
      if (!self->session->complete())
        for (const auto& p : self->opt.peers) self->dial(p);
    }
  }

  tracker::AnnounceParams params(tracker::Event ev) const {
    tracker::AnnounceParams p;
    p.info_hash = swarm_hash();
    p.peer_id = peer_id;
    p.port = port;
    p.uploaded = session ? session->uploaded() : 0;
    p.downloaded = session ? session->downloaded() : 0;
    // Before the metadata the size is unknown: the magnet's xl, else a non-zero guess, so
    // trackers count us as a leecher and send seeders.
    p.left = session ? session->bytes_left() : (magnet && magnet->length ? *magnet->length : 16 * 1024);
    p.event = ev;
    p.numwant = 50;
    p.key = key;
    return p;
  }

  static awaitable<tracker::AnnounceResult> announce(std::shared_ptr<Impl> self, std::string url, tracker::Event ev) {
    auto u = tracker::split_tracker_url(url);
    if (!u) throw std::runtime_error("not a tracker URL");
    std::string why;
    if (u->scheme == "udp") {
      const auto params = self->params(ev);
      auto call = co_await udp_tracker_call(
          self->io, *u, self->rng,
          [&](std::uint64_t cid, std::uint32_t tx) { return tracker::udp_announce_request(cid, tx, params); },
          self->announce_family);
      auto res = tracker::parse_udp_announce_reply(call.reply, call.transaction, call.v6, &why);
      if (!res) throw std::runtime_error(why);
      co_return *res;
    }
    const std::string full = tracker::announce_url(url, self->params(ev));
    const std::string body = co_await tracker_get(self->io, self->tls, full, self->announce_family);
    auto res = tracker::parse_announce_reply(body, &why);
    if (!res) throw std::runtime_error(why);
    co_return *res;
  }

  static awaitable<void> tracker_loop(std::shared_ptr<Impl> self) {
    tracker::TrackerTiers tiers(self->meta.tracker_tiers, self->rng());
    tracker::Event ev = tracker::Event::started;
    self->told_complete = self->session && self->session->complete();  // a seed from the start never says completed
    while (!self->stopping) {
      double wait = 60;
      for (const std::string& url : tiers.order()) {
        if (self->stopping) co_return;
        TrackerStatus* ts = nullptr;
        for (auto& t : self->trackers)
          if (t.url == url) ts = &t;
        if (!ts) {
          self->trackers.push_back(TrackerStatus{url, {}, -1, -1, 0, 0});
          ts = &self->trackers.back();
        }
        try {
          self->announcing = true;
          auto res = co_await announce(self, url, ev);
          self->announcing = false;
          tiers.succeeded(url);
          for (auto& t : self->trackers)
            if (t.url == url) ts = &t;
          if (!res.failure.empty()) {
            ts->last_error = "failure: " + res.failure;
            self->log("tracker " + url + ": " + ts->last_error);
            continue;
          }
          ts->last_error.clear();
          ts->seeders = res.seeders;
          ts->leechers = res.leechers;
          ts->peers = static_cast<std::int64_t>(res.peers.size());
          if (ev == tracker::Event::completed) self->told_complete = true;
          ev = tracker::Event::none;
          for (const auto& p : res.peers) self->dial(endpoint_text(p));
          wait = static_cast<double>(std::clamp<std::int64_t>(res.interval, 1, 3600));
          if (self->links.empty() && !(self->session && self->session->complete()))
            wait = std::min(wait, std::max<double>(15, static_cast<double>(res.min_interval)));
          self->log("tracker " + url + ": " + std::to_string(res.peers.size()) + " peers, next in " +
                    std::to_string(static_cast<int>(wait)) + " s");
          ts->next_announce_in = wait;
          break;
        } catch (const std::exception& e) {
          self->announcing = false;
          for (auto& t : self->trackers)
            if (t.url == url) ts = &t;
          ts->last_error = what_of(e);
          self->log("tracker " + url + ": " + what_of(e));
        }
      }
      self->tracker_wake.expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(wait * 1000)));
      boost::system::error_code ec;
      co_await self->tracker_wake.async_wait(asio::redirect_error(use_awaitable, ec));
      if (self->stopping) co_return;
      if (self->session && self->session->complete() && !self->told_complete) ev = tracker::Event::completed;
    }
  }

  void stop(std::function<void()> done) {
    if (stopping) return done();
    stopping = true;
    boost::system::error_code ec;
    if (acceptor) acceptor->close(ec);
    ticker.cancel();
    pump.cancel();
    tracker_wake.cancel();
    dht_wake.cancel();
    for (auto& w : web_seeds) {
      w->wake->cancel();
      w->fetcher->cancel();  // a fetch in flight ends; web_loop closes the rest itself
    }
    for (auto& [k, l] : links) l.conn->close("shutting down");
    auto self_ = shared_from_this();
    auto finish = [self_, done] {
      if (!self_->disk) return done();
      auto wait_then_save = [self_, done]() -> awaitable<void> {
        // Pieces still being checked and written count in the record once they are done (a
        // stuck disk gets 10 s): a piece downloaded whole is not downloaded again.
        const double until = now_s() + 10;
        while (self_->resume_writing || (self_->checking_pieces > 0 && now_s() < until)) {
          asio::steady_timer t(self_->io, std::chrono::milliseconds(10));
          co_await t.async_wait(use_awaitable);
        }
        self_->save_resume(done);
      };
      // The lambda itself, not its call: co_spawn keeps a callable alive while its coroutine
      // runs, and the coroutine reads the captures.
      asio::co_spawn(self_->io, std::move(wait_then_save), asio::detached);
    };
    std::string url;
    for (const auto& t : trackers)
      if (t.last_error.empty() && !url.size()) url = t.url;
    if (url.empty()) return finish();
    asio::co_spawn(
        io,
        [self_, url]() -> awaitable<void> {
          // A started or completed announce still on its way would reach the tracker after
          // this one and put this peer back in its swarm: let it land first (at most 5 s).
          const double until = now_s() + 5;
          while (self_->announcing && now_s() < until) {
            asio::steady_timer t(self_->io, std::chrono::milliseconds(10));
            co_await t.async_wait(use_awaitable);
          }
          try {
            // Finished and stopping before the loop said so: the tracker counts the download.
            if (self_->session && self_->session->complete() && !self_->told_complete) {
              co_await announce(self_, url, tracker::Event::completed);
              self_->told_complete = true;
            }
            co_await announce(self_, url, tracker::Event::stopped);
          } catch (...) {
          }
        },
        [finish](std::exception_ptr) { finish(); });
  }

  ClientStatus status() const {
    ClientStatus s;
    s.name = meta.name;
    s.pieces = session ? session->pieces() : 0;
    s.port = port;
    s.trackers = trackers;
    s.failed = failed;
    s.metadata_ms = metadata_ms;
    s.first_piece_ms = first_piece_ms;
    s.dht_peers = dht_found.size();
    s.dht_lookups = dht_lookups;
    for (const auto& w : web_seeds) s.web_seeds.push_back({w->url, w->downloaded, w->last_error, w->key != 0});
    if (!session) {
      s.has_metadata = false;
      if (msession) {
        s.metadata_size = msession->fetch().size();
        s.metadata_pieces = msession->fetch().pieces();
        s.metadata_got = msession->fetch().pieces_got();
        for (const auto& p : msession->peers()) {
          PeerStatus ps;
          ps.key = p.key;
          ps.address = p.address;
          ps.client = p.client;
          s.peers.push_back(ps);
        }
      }
      return s;
    }
    s.have = session->have_count();
    s.total = meta.wire_length();
    s.left = session->bytes_left();
    s.downloaded = session->downloaded();
    s.uploaded = session->uploaded();
    s.wasted = session->wasted();
    s.download_rate = session->download_rate();
    s.upload_rate = session->upload_rate();
    s.hash_failures = session->hash_failures();
    s.banned = session->banned().size();
    s.complete = session->complete();
    s.port = port;
    s.peers = session->peer_status(now_s());
    s.trackers = trackers;
    return s;
  }
};

std::vector<TrackerScrape> scrape_trackers(asio::io_context& io, const Metainfo& m) {
  std::vector<TrackerScrape> out;
  for (const auto& tier : m.tracker_tiers)
    for (const auto& url : tier) out.push_back({url, {}, 0, 0, 0});
  const tracker::InfoHash hash = m.swarm_hash();
  const std::vector<tracker::InfoHash> hashes{hash};
  auto tls = std::make_shared<std::unique_ptr<asio::ssl::context>>();
  auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
  for (auto& r : out) {
    asio::co_spawn(
        io,
        [&io, &r, hashes, tls, rng]() -> awaitable<void> {
          try {
            auto u = tracker::split_tracker_url(r.url);
            if (!u) throw std::runtime_error("not a tracker URL");
            std::string why;
            std::optional<std::vector<tracker::ScrapeCounts>> counts;
            if (u->scheme == "udp") {
              auto call = co_await udp_tracker_call(io, *u, *rng, [&](std::uint64_t cid, std::uint32_t tx) {
                return tracker::udp_scrape_request(cid, tx, hashes);
              });
              counts = tracker::parse_udp_scrape_reply(call.reply, call.transaction, hashes, &why);
            } else {
              auto surl = tracker::scrape_url(r.url, hashes);
              if (!surl) throw std::runtime_error("this tracker cannot scrape (its URL does not end in /announce)");
              const std::string body = co_await tracker_get(io, *tls, *surl);
              counts = tracker::parse_scrape_reply(body, &why);
            }
            if (!counts) throw std::runtime_error(why);
            const tracker::ScrapeCounts* mine = nullptr;
            for (const auto& c : *counts)
              if (c.info_hash == hashes.front()) mine = &c;
            if (!mine) throw std::runtime_error("the reply does not name this torrent");
            r.seeders = mine->complete;
            r.completed = mine->downloaded;
            r.leechers = mine->incomplete;
          } catch (const std::exception& e) {
            r.error = e.what();
          }
        },
        asio::detached);
  }
  io.run();
  io.restart();
  return out;
}

PeerClient::PeerClient(boost::asio::io_context& io, Metainfo meta, ClientOptions opt)
    : impl_(std::make_shared<Impl>(io, std::move(meta), std::move(opt))) {}

PeerClient::PeerClient(boost::asio::io_context& io, Magnet magnet, ClientOptions opt)
    : impl_(std::make_shared<Impl>(io, std::move(magnet), std::move(opt))) {}

PeerClient::~PeerClient() {
  impl_->stopping = true;
  impl_->on_complete = nullptr;
  impl_->on_metadata = nullptr;
  impl_->on_failed = nullptr;
  // Finish the worker threads here, on the owner's thread, while the io_context lives: a
  // task left on one would otherwise drop the last reference to Impl there, later, and
  // destroy its timers after their io_context. The hashing thread first: its tasks post
  // to the disk thread.
  impl_->hasher.reset();
  impl_->disk.reset();
}

void PeerClient::start() {
  impl_->on_complete = [this] {
    if (on_complete) on_complete();
  };
  impl_->on_metadata = [this] {
    if (on_metadata) on_metadata();
  };
  impl_->on_failed = [this](const std::string& why) {
    if (on_failed) on_failed(why);
  };
  impl_->start();
}

void PeerClient::stop(std::function<void()> done) { impl_->stop(std::move(done)); }

ClientStatus PeerClient::status() const { return impl_->status(); }

void PeerClient::set_limits(double upload, double download) { impl_->set_limits(upload, download); }

}  // namespace hf::torrent
