// The mining coordinator: accepts workers over Stratum V1 (TCP, and TLS when given a
// certificate), hands out header jobs, validates every share on the engine, steers each
// worker's difficulty and keeps per-worker statistics. One io_context thread runs all of
// it; a share check is two SHA-256d of short inputs, far below the cost of the socket I/O.
#pragma once
#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "net/coordinator/file_task_runner.hpp"
#include "net/coordinator/upstream_pool.hpp"
#include "net/io/accept.hpp"
#include "net/io/line_conn.hpp"
#include "net/mining/job_book.hpp"
#include "net/mining/job_file.hpp"
#include "net/mining/share_check.hpp"
#include "net/mining/vardiff.hpp"
#include "net/mining/worker_stats.hpp"

namespace hf::coord {

namespace asio = boost::asio;
namespace json = boost::json;
using netio::tcp;

struct CoordinatorConfig {
  std::vector<std::string> listen;      // host:port, plain Stratum
  std::vector<std::string> tls_listen;  // host:port, Stratum over TLS
  std::string cert_file, key_file;      // PEM, required for tls_listen
  std::string job_file;                 // header jobs; may be empty with a file task
  // Proxy mode: a real Stratum pool's URLs, primary first, then backups.
  std::vector<std::string> upstream;
  std::string upstream_user = "hashforge", upstream_password = "x";
  netio::TlsVerify upstream_tls;  // how a stratum+ssl pool's certificate is checked
  // Each worker's extranonce1 is the pool's plus this many bytes of its own; the pool's
  // extranonce2 must leave at least 2 bytes after them.
  unsigned proxy_prefix_bytes = 2;
  std::optional<FileTaskConfig> file_task;  // the file task
  std::vector<std::string> seed_listen;     // the plain protocol, host:port (default port 50010)
  unsigned seed_clients = 1;                // the plain-protocol server waits for this many clients
  double job_interval = 30;                 // seconds between job refreshes
  double start_difficulty = 1;
  bool vardiff = true;
  mining::VardiffConfig vardiff_cfg;
  std::uint32_t version_mask = 0x1fffe000;  // BIP 310 bits workers may roll; 0 refuses
  netio::LineLimits limits;
  std::chrono::milliseconds auth_timeout{60'000};  // subscribe and authorize within this
  // Stratum connections held at once over every Stratum and plain-protocol listener; the
  // newest over it is refused at once (see AcceptOptions::refusal). The command fits it under
  // the descriptor limit (netio::plan_descriptors).
  std::size_t max_connections = 20'000;
  int max_bad_lines = 16;                       // malformed requests before the connection is closed
  std::string password;                         // required of mining.authorize when not empty
  std::string reconnect_to;                     // host:port sent with client.reconnect on shutdown
  std::string share_log;                        // JSON lines, one per accepted share (for audits)
  std::function<void(const std::string&)> log;  // one line per event; default stderr
};

class StratumSession;

class Coordinator {
 public:
  Coordinator(asio::io_context& io, CoordinatorConfig cfg);
  ~Coordinator();
  // Binds every listener and loads the job file; throws std::runtime_error with one line.
  void start();
  // Sends client.reconnect to every worker, then stops accepting and closes them.
  void shutdown();
  std::vector<std::string> endpoints() const;       // "stratum+tcp://127.0.0.1:3333", ...
  std::vector<std::string> seed_endpoints() const;  // "seed://127.0.0.1:50010", ...
  json::object stats() const;
  // /api/stats: stats() serialized once and shared by every reply (a slow reader pins this
  // one copy), with its age in seconds. A document younger than kStatsFresh is served as it
  // is; an older one is still served while a new one is built in slices between other work,
  // so pollers never stall Stratum; one older than kStatsStale is rebuilt at once.
  struct StatsBody {
    std::shared_ptr<const std::string> doc;
    double age = 0;
  };
  StatsBody stats_body();
  static constexpr double kStatsFresh = 0.25, kStatsStale = 2;
  // stats() without the per-worker list and the chart: cheap, for summary lines.
  json::object summary() const;
  const CoordinatorConfig& config() const { return cfg_; }
  FileTaskRunner* file_task() { return files_.get(); }
  // Called when the file task has written its result (the command may then exit).
  void on_file_task_finished(std::function<void()> f) { file_done_ = std::move(f); }

  // For sessions.
  double now() const;  // seconds since start, monotonic
  std::uint64_t unix_now() const;
  const mining::JobBook& jobs() const { return book_; }
  // The mining.notify line for a job, encoded once and sent to every worker.
  std::shared_ptr<const std::string> notify_line(const mining::StratumJob& job);
  std::size_t extranonce2_size() const { return en2_size_; }
  // A connection's own extranonce1 bytes (unique among live connections), or nullopt with
  // the reason it cannot have one now (proxy mode without a pool, or all values taken).
  std::optional<Bytes> take_extranonce1(std::string* why);
  void release_extranonce1(const Bytes& own);
  // The extranonce1 a worker is told: in proxy mode the pool's followed by its own bytes.
  Bytes extranonce1_for(const Bytes& own) const;
  // The version bits workers may roll: the configured mask, and in proxy mode the pool's.
  std::uint32_t version_mask() const;
  // The highest difficulty a worker may be given: in proxy mode the pool's, so that no
  // share the pool would take is held back.
  double difficulty_cap() const;
  // Proxy mode: passes an accepted share on to the pool if it meets the pool's difficulty;
  // `done` then gets the pool's answer. Returns false (and never calls `done`) otherwise.
  bool forward_share(const std::string& job_id, const Bytes& own_en1, const mining::Submit& s,
                     const mining::Hash32& hash, std::function<void(PoolAnswer)> done);
  void session_ended(StratumSession* s);
  // A new connection's record, listed in the statistics only once list_worker() is called
  // (when it subscribes or authorizes): a connection that never does costs no record.
  std::shared_ptr<mining::WorkerStats> new_worker_stats();
  void list_worker(const std::shared_ptr<mining::WorkerStats>& w);
  void unlist_worker(std::uint64_t id);
  void on_share_result(const mining::WorkerStats& w, bool accepted, double difficulty, const std::string& hash_shown,
                       bool block);
  void log_share(const json::object& record);
  void log(const std::string& line) const;

 private:
  void listen_on(const std::string& where, bool tls);
  void on_accept(tcp::socket sock, netio::ConnSlot slot, bool tls);
  // The pieces of stats(): the totals over every worker, one worker, and everything else.
  struct Totals {
    std::size_t connected = 0;
    double r1 = 0, r5 = 0, r60 = 0;  // from accepted shares
    double reported = 0;             // what hashforge workers say they do
    void add(const mining::WorkerStats& w, double t);
  };
  json::object worker_json(const mining::WorkerStats& w, double t) const;
  json::object stats_head(double t, const Totals& tot, bool with_history) const;
  std::shared_ptr<const std::string> build_stats_body() const;               // at once
  asio::awaitable<std::shared_ptr<const std::string>> rebuild_stats_body();  // in slices; null if stopped
  asio::awaitable<void> job_loop();
  asio::awaitable<void> sample_loop();
  void load_jobs();
  // A job file holds a few jobs (coinbase parts of up to 100,000 bytes each, in hex); a
  // larger one (or a device such as /dev/zero) is refused while it is read.
  static constexpr std::size_t kMaxJobFile = 4u << 20;
  static constexpr std::size_t kMaxPemFile = 1u << 20;  // a certificate chain or a key
  void issue_job();
  std::string on_upstream_ready(const UpstreamLink& link);
  void on_upstream_job(mining::StratumJob job, double difficulty);
  void drop_all_jobs();

  asio::io_context& io_;
  CoordinatorConfig cfg_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::vector<std::shared_ptr<tcp::acceptor>> acceptors_;
  std::vector<std::string> endpoints_;
  std::chrono::steady_clock::time_point t0_;
  std::set<StratumSession*> sessions_;
  std::shared_ptr<netio::ConnGate> gate_;                   // Stratum and plain-protocol connections
  std::map<const StratumSession*, netio::ConnSlot> slots_;  // each session's place in gate_
  std::set<std::uint32_t> en1_in_use_;
  std::uint32_t next_en1_;
  std::size_t own_en1_size_ = 4;  // proxy_prefix_bytes in proxy mode
  std::size_t en2_size_ = 4;
  mining::JobBook book_;
  std::string notify_id_;  // the last job encoded, and its line (one copy every session queues)
  std::shared_ptr<const std::string> notify_line_;
  std::vector<mining::JobTemplate> templates_;
  std::size_t next_template_ = 0;
  struct Issued {
    std::uint64_t first;  // unix time of the template's first issue
    std::uint32_t ntime;  // the ntime it was last issued with
  };
  std::map<const mining::JobTemplate*, Issued> issued_;
  std::filesystem::file_time_type job_file_mtime_{};
  std::shared_ptr<asio::steady_timer> job_timer_;
  // Statistics of every worker seen; kept after disconnect for the dashboard, pruned by age.
  std::map<std::uint64_t, std::shared_ptr<mining::WorkerStats>> workers_;
  std::uint64_t next_worker_ = 1;
  std::uint64_t accepted_ = 0, rejected_ = 0, blocks_ = 0, connections_total_ = 0;
  double best_difficulty_ = 0;
  std::string best_hash_, best_worker_;
  bool stopping_ = false;
  std::FILE* share_log_ = nullptr;
  // The total 1-minute hash rate every kSampleSeconds for the last hour, for the chart.
  static constexpr double kSampleSeconds = 5;
  std::deque<std::pair<double, double>> history_;
  // The last /api/stats document and when it was built; earlier ones still being sent to
  // slow readers (a rebuild waits while too many are, so they cannot pile up).
  std::shared_ptr<const std::string> stats_doc_;
  double stats_built_ = 0;
  bool stats_building_ = false;
  std::vector<std::weak_ptr<const std::string>> stats_pinned_;
  std::shared_ptr<asio::steady_timer> sample_timer_;
  std::unique_ptr<FileTaskRunner> files_;
  std::function<void()> file_done_;
  std::vector<std::unique_ptr<class SeedServer>> seed_servers_;
  // Proxy mode.
  std::unique_ptr<UpstreamPool> upstream_;
  std::optional<UpstreamLink> up_link_;  // while the pool is ready
  struct PoolJob {
    std::string id;     // the pool's job id
    double difficulty;  // the pool's difficulty when it sent the job
  };
  std::map<std::string, PoolJob> pool_jobs_;  // by our job id
  bool pool_job_since_ready_ = false;
};

}  // namespace hf::coord
