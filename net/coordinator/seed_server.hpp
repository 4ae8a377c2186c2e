// The plain protocol, served byte for byte as a compatibility listener (off unless
// --seed-listen is given; port 50010 by default). The server waits until N clients are
// connected, then sends each "START" (5 bytes), the file's raw bytes and "END" (3 bytes),
// with no framing: a client knows the file has ended when the stream ends in "END" and no
// more comes. Each client mines, replies with exactly 8 lowercase hex characters (its best
// nonce) and closes. Anything else is that client's failure alone. Answers go to the file
// task's round 1, which keeps the lowest SHA-256 and writes the result file.
#pragma once
#include <boost/asio.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/coordinator/file_task_runner.hpp"

namespace hf::coord {

class SeedServer {
 public:
  SeedServer(asio::io_context& io, FileTaskRunner& task, unsigned clients, std::function<void(const std::string&)> log);
  // Binds HOST:PORT (or PORT, or HOST: for port 50010); throws std::runtime_error.
  void listen(const std::string& where);
  std::string endpoint() const { return endpoint_; }  // "seed://127.0.0.1:50010"
  void stop();

 private:
  using tcp = asio::ip::tcp;
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(std::shared_ptr<tcp::socket> s, std::shared_ptr<const Bytes> file, std::string who);
  void start_batch();

  asio::io_context& io_;
  FileTaskRunner& task_;
  unsigned clients_;
  std::function<void(const std::string&)> log_;
  std::shared_ptr<tcp::acceptor> acceptor_;
  std::string endpoint_;
  std::vector<std::shared_ptr<tcp::socket>> waiting_;
  bool batch_started_ = false, stopping_ = false;
};

}  // namespace hf::coord
