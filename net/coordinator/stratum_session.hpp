// One worker connection speaking Stratum V1 to the coordinator.
#pragma once
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "net/coordinator/coordinator.hpp"
#include "net/coordinator/file_task_runner.hpp"
#include "net/mining/share_check.hpp"
#include "net/stratum/json_rpc.hpp"

namespace hf::coord {

class StratumSession : public std::enable_shared_from_this<StratumSession>, public FilePeer {
 public:
  StratumSession(Coordinator& co, std::unique_ptr<netio::Stream> s, bool tls);
  ~StratumSession() override;
  asio::awaitable<void> run();
  // A new job is current; `dropped` are no longer live (their shares are stale).
  void on_job(const mining::StratumJob& job, const std::vector<std::string>& dropped);
  void forget_jobs(const std::vector<std::string>& dropped);
  // The extranonce (in proxy mode: the pool's part) or its size or the version mask
  // changed: a worker that asked gets set_extranonce, others reconnect.
  void on_extranonce_change();
  void send_reconnect(const std::string& host, const std::string& port, int wait_s);
  void close(const std::string& why) { conn_->close(why); }
  void close_after_flush(const std::string& why) { conn_->close_after_flush(why); }

  // FilePeer: the file task talks to hashforge workers through these.
  void send_line(std::string line) override { conn_->send(std::move(line)); }
  void send_file_chunks(std::shared_ptr<const Bytes> data, std::string task, unsigned round) override;
  std::string peer_name() const override { return stats_.name; }
  std::string peer_address() const override { return stats_.address; }
  std::string peer_backend() const override { return stats_.backend; }
  double peer_reported_rate() const override { return stats_.reported_rate; }

 private:
  using Message = stratum::Message;
  void handle(Message& m);
  void reply(const json::value& id, json::value result) { conn_->send(stratum::encode_result(id, std::move(result))); }
  void fail(const json::value& id, mining::StratumError e, const std::string& msg) {
    conn_->send(stratum::encode_error(id, static_cast<int>(e), msg));
  }
  void on_subscribe(Message& m);
  void on_authorize(Message& m);
  void on_submit(Message& m);
  void on_configure(Message& m);
  void on_suggest_difficulty(Message& m);
  void on_hello(Message& m);
  void on_file(Message& m);  // hashforge.file.*
  asio::awaitable<void> file_sender(std::shared_ptr<const Bytes> data, std::string task, unsigned round,
                                    std::uint64_t gen);
  // Sends mining.set_difficulty when `d` (capped in proxy mode) differs from the last
  // sent; returns whether it did. It takes effect with the next job.
  bool set_difficulty(double d);
  // A new difficulty that should not wait for the next job refresh (--job-interval away):
  // set_difficulty, then the current job again under an id of this connection's own.
  void retarget(double d);
  void resend_job(const mining::StratumJob& job);
  // The job a submit names: a live job, or one re-sent here; *base gets the job book's id.
  const mining::StratumJob* find_job(const std::string& id, std::string* base) const;
  asio::awaitable<void> vardiff_watch();
  void answer_forwarded(const json::value& id, const PoolAnswer& a);
  void send_job(const mining::StratumJob& job);
  asio::awaitable<void> auth_deadline();
  void list_worker();  // in the coordinator's statistics from now on
  void finish();       // the connection is over: release its extranonce1, leave the coordinator

  Coordinator& co_;
  std::shared_ptr<netio::LineConn> conn_;
  bool tls_;
  asio::steady_timer auth_timer_;
  mining::SessionShareState st_;
  Bytes own_en1_;  // this connection's own extranonce1 bytes (all of it outside proxy mode)
  mining::Vardiff vardiff_;
  // This connection's record, owned here and shared with the coordinator's list once the
  // connection subscribes or authorizes (list_worker); stats_ is the same object.
  std::shared_ptr<mining::WorkerStats> stats_owner_;
  mining::WorkerStats& stats_;
  bool listed_ = false;
  bool subscribed_ = false, authorized_ = false, extranonce_sub_ = false;
  std::set<std::string> users_;  // names authorized on this connection
  double next_difficulty_;       // sent with set_difficulty, used from the next job on
  bool difficulty_sent_ = false;
  int bad_lines_ = 0;
  bool file_joined_ = false;
  std::uint64_t file_send_gen_ = 0;  // a newer transfer stops an older one
  // Jobs re-sent at a new difficulty (see retarget), each under its own id with the job
  // book's id beside it; they go when their job leaves the book, the oldest beyond a few.
  struct Resent {
    std::string base;
    std::shared_ptr<const mining::StratumJob> job;
  };
  std::deque<Resent> resent_;
  std::uint64_t resend_count_ = 0;
  bool rate_difficulty_set_ = false;  // the difficulty was set from hashforge.hello's rate
  asio::steady_timer vardiff_timer_;
};

}  // namespace hf::coord
