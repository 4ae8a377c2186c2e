// The plain protocol, served byte for byte as a compatibility listener (off unless
// --seed-listen is given; port 50010 by default). The server waits until N clients are
// connected, then sends each "START" (5 bytes), the file's raw bytes and "END" (3 bytes),
// with no framing: a client knows the file has ended when the stream ends in "END" and no
// more comes. Each client mines, replies with exactly 8 lowercase hex characters (its best
// nonce) and closes. Anything else is that client's failure alone. Answers go to the file
// task's round 1, which keeps the lowest SHA-256 and writes the result file.
// A client takes a seat in the batch only while it stays connected: one that closes before
// the batch starts (a port probe) frees its seat, and the batch starts once N clients have
// stayed for kSettle. Once started, a client that leaves is a failed answer; the round's
// time budget ends the round whatever the clients do.
#pragma once
#include <boost/asio.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/coordinator/file_task_runner.hpp"
#include "net/io/accept.hpp"

namespace hf::coord {

class SeedServer {
 public:
  SeedServer(asio::io_context& io, FileTaskRunner& task, unsigned clients, std::function<void(const std::string&)> log);
  // Binds HOST:PORT (or PORT, or HOST: for port 50010); throws std::runtime_error.
  void listen(const std::string& where);
  std::string endpoint() const { return endpoint_; }  // "seed://127.0.0.1:50010"
  void stop();
  // Counts this listener's clients in the coordinator's connection limit (--max-connections):
  // a client over it is turned away like a late one. Call before listen().
  void share_gate(std::shared_ptr<netio::ConnGate> gate) { gate_ = std::move(gate); }

 private:
  using tcp = asio::ip::tcp;
  static constexpr std::chrono::milliseconds kSettle{500};
  asio::awaitable<void> accept_loop();
  // Frees the seat of a waiting client that closes (or speaks before START).
  asio::awaitable<void> watch(std::shared_ptr<tcp::socket> s);
  asio::awaitable<void> serve(std::shared_ptr<tcp::socket> s, std::shared_ptr<const Bytes> file, std::string who);
  void start_batch();

  asio::io_context& io_;
  FileTaskRunner& task_;
  unsigned clients_;
  std::function<void(const std::string&)> log_;
  std::shared_ptr<tcp::acceptor> acceptor_;
  std::string endpoint_;
  std::vector<std::shared_ptr<tcp::socket>> waiting_;
  std::shared_ptr<asio::steady_timer> settle_;
  bool batch_started_ = false, stopping_ = false, settling_ = false;
  std::shared_ptr<netio::ConnGate> gate_;
};

}  // namespace hf::coord
