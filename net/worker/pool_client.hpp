// A worker's Stratum V1 connection to a coordinator or pool: subscribe, authorize, take
// jobs and difficulties, submit the miner's shares, follow set_extranonce and
// client.reconnect, and fail over between URLs with backoff.
#pragma once
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/io/connect.hpp"
#include "net/io/line_conn.hpp"
#include "net/stratum/extranonce.hpp"
#include "net/stratum/json_rpc.hpp"
#include "net/worker/miner.hpp"

namespace hf::worker {

namespace asio = boost::asio;
namespace json = boost::json;

using netio::parse_pool_url;
using netio::PoolUrl;

struct ClientConfig {
  std::vector<PoolUrl> urls;  // the first is the primary; the others are tried in turn
  std::string user = "hashforge", password = "x";
  std::string agent = "hashforge/0.1.0";
  std::chrono::milliseconds backoff_min{500}, backoff_max{30'000};
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds idle_timeout{300'000};  // no line from the pool this long: reconnect
  json::object hello;                               // what hashforge.hello reports (backend, devices)
  netio::TlsVerify tls;                             // how stratum+ssl pools' certificates are checked
  // A hashforge coordinator gets the measured rate about a second into mining (it sets the
  // first share difficulty from it) and then this often.
  std::chrono::milliseconds rate_interval{10'000};
};

struct ClientCounts {
  std::uint64_t accepted = 0, rejected = 0, stale = 0, sent = 0, connects = 0;
  std::uint64_t file_ranges = 0, file_hashes = 0;  // file-task ranges reported, nonces in them
  double difficulty = 0;
  std::string pool;  // the URL in use, empty while disconnected
};

class PoolClient {
 public:
  PoolClient(asio::io_context& io, ClientConfig cfg, Miner& miner, std::function<void(const std::string&)> log);
  void start();
  void stop();
  void submit(const FoundShare& s);     // on the io thread
  void file_done(const FileReport& r);  // on the io thread: reports a searched file range
  // Tells a hashforge coordinator the measured rate (hashforge.hello); pools that refused
  // the first hello are not asked again. The client does so by itself (rate_interval).
  void report_rate(double rate);
  const ClientCounts& counts() const { return counts_; }
  // Submits sent and not yet answered on a live connection (a stopping worker waits for them).
  std::size_t pending_submits() const;

 private:
  asio::awaitable<void> run();
  asio::awaitable<bool> session(const PoolUrl& url);  // true once it had been authorized
  asio::awaitable<void> rate_reports(std::shared_ptr<netio::LineConn> c);
  void handle(const stratum::Message& m);
  void on_reply(const stratum::Message& m);
  void on_notify(const json::array& p);
  void hand_work();
  void say_hello();                         // hashforge.hello, to a hashforge coordinator only
  void on_file(const stratum::Message& m);  // hashforge.file.* from the coordinator
  void file_chunk(const json::array& p);
  void send(std::string_view method, json::array params, const char* tag);

  asio::io_context& io_;
  ClientConfig cfg_;
  Miner& miner_;
  std::function<void(const std::string&)> log_;
  std::shared_ptr<netio::LineConn> conn_;
  std::unique_ptr<asio::ssl::context> tls_;
  bool stopping_ = false;
  std::optional<PoolUrl> redirect_;  // from client.reconnect
  bool current_tls_ = false;         // the connection's; a redirect keeps it
  PoolUrl current_url_;              // where a client.reconnect naming no place returns
  std::chrono::milliseconds redirect_wait_{0};
  // Per connection.
  std::int64_t next_id_ = 1;
  std::map<std::int64_t, std::string> pending_;  // request id -> what it was ("submit", ...)
  Bytes en1_;
  std::size_t en2_size_ = 0;
  std::optional<stratum::Extranonce> next_en1_;  // from set_extranonce, used from the next job
  bool subscribed_ = false, authorized_ = false, hello_ok_ = false;
  bool hashforge_ = false;  // the pool is a hashforge coordinator (its subscribe reply says so)
  double difficulty_ = 1, pending_difficulty_ = 1;
  std::shared_ptr<const mining::StratumJob> job_;
  std::uint64_t epoch_ = 0;
  ClientCounts counts_;
  // The file task: the transfer in progress, then the verified file.
  struct Incoming {
    std::string task, sha256, identifier;
    unsigned round = 0;
    std::size_t size = 0, chunks = 0, next = 0;
    Bytes data;
  };
  std::optional<Incoming> incoming_;
  std::shared_ptr<const Bytes> file_;
  std::string file_task_, file_id_;
  unsigned file_round_ = 0;
  int file_resends_ = 0;
};

}  // namespace hf::worker
