// Proxy mode: the coordinator's own client connection to a real Stratum V1
// pool. It asks for BIP 310 version rolling when configured, subscribes and authorizes,
// takes the pool's jobs and difficulty, submits the shares the coordinator forwards and
// hands back the pool's answers; it follows set_extranonce and client.reconnect and fails
// over between URLs with backoff, as a worker does.
#pragma once
#include <boost/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/io/connect.hpp"
#include "net/io/line_conn.hpp"
#include "net/mining/stratum_job.hpp"
#include "net/stratum/json_rpc.hpp"

namespace hf::coord {

namespace asio = boost::asio;
namespace json = boost::json;

struct UpstreamConfig {
  std::vector<netio::PoolUrl> urls;  // the first is the primary; the others are backups
  std::string user = "hashforge", password = "x";
  std::string agent = "hashforge-proxy/0.1.0";
  std::uint32_t version_mask = 0;  // version bits to ask the pool for; 0 asks for none
  double min_difficulty = 0;       // the workers' floor: a pool difficulty below it is logged
  netio::TlsVerify tls;            // how a stratum+ssl pool's certificate is checked
  std::chrono::milliseconds backoff_min{500}, backoff_max{30'000};
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds idle_timeout{300'000};   // no line from the pool this long: reconnect
  std::chrono::milliseconds answer_timeout{30'000};  // a submit the pool leaves unanswered
};

// What a pool gave this connection.
struct UpstreamLink {
  std::string url;
  Bytes extranonce1;
  std::size_t extranonce2_size = 0;
  std::uint32_t version_mask = 0;  // the bits the pool agreed we may roll
};

// The pool's answer to a forwarded share (or ours, when it gave none).
struct PoolAnswer {
  bool accepted = false;
  int code = 0;  // Stratum error code when not accepted
  std::string message;
};

class UpstreamPool {
 public:
  struct Events {
    // Subscribe and authorize succeeded, or the pool changed the extranonce. A non-empty
    // return refuses the link: it is closed and the next URL is tried.
    std::function<std::string(const UpstreamLink&)> ready;
    // A job (its id is the pool's) and the pool difficulty in effect for it.
    std::function<void(mining::StratumJob, double difficulty)> job;
    // A link that had been ready has ended.
    std::function<void(const std::string& why)> lost;
  };
  UpstreamPool(asio::io_context& io, UpstreamConfig cfg, Events ev, std::function<void(const std::string&)> log);
  void start();
  void stop();
  bool ready() const { return ready_; }
  const UpstreamLink& link() const { return link_; }
  // The pool's latest difficulty (a set_difficulty counts from its next job, but pools
  // differ, so a share is forwarded if it meets the lower of this and its job's).
  double difficulty() const { return difficulty_; }
  // Sends mining.submit; `done` is called exactly once, with the pool's answer or with an
  // error when the link ends or the pool stays silent past answer_timeout.
  void submit(const std::string& job_id, const std::string& extranonce2, const std::string& ntime,
              const std::string& nonce, const std::optional<std::string>& version_bits,
              std::function<void(PoolAnswer)> done);
  json::object stats() const;

 private:
  asio::awaitable<void> run();
  asio::awaitable<void> session(const netio::PoolUrl& url);
  asio::awaitable<void> answer_watch();
  void handle(const stratum::Message& m);
  void on_reply(const stratum::Message& m);
  void become_ready();
  void send(std::string_view method, json::array params, const std::string& tag);
  void fail_pending(const std::string& why);

  asio::io_context& io_;
  UpstreamConfig cfg_;
  Events ev_;
  std::function<void(const std::string&)> log_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::shared_ptr<netio::LineConn> conn_;
  std::shared_ptr<asio::steady_timer> watch_timer_;
  bool stopping_ = false;
  std::optional<netio::PoolUrl> redirect_;  // from client.reconnect
  std::chrono::milliseconds redirect_wait_{0};
  // Per connection.
  std::int64_t next_id_ = 1;
  std::map<std::int64_t, std::string> pending_;  // request id -> "configure", "subscribe", ...
  struct Submitted {
    std::function<void(PoolAnswer)> done;
    std::chrono::steady_clock::time_point sent;
  };
  std::map<std::int64_t, Submitted> submits_;
  bool subscribed_ = false, authorized_ = false, ready_ = false, refused_ = false;
  UpstreamLink link_;
  double difficulty_ = 1;
  std::optional<mining::StratumJob> held_job_;  // a job that came before the link was ready
  // Totals.
  std::uint64_t connects_ = 0, jobs_ = 0, submitted_ = 0, accepted_ = 0, rejected_ = 0, unanswered_ = 0;
  std::string last_error_;
};

}  // namespace hf::coord
