// Accepting connections without running out of descriptors: a gate that counts the
// connections held over every listener sharing it, an accept loop that refuses the newest
// connection at once when the gate is full and backs off when accept() itself fails for lack
// of descriptors, and the arithmetic that fits connection limits under RLIMIT_NOFILE.
// Single-threaded: a gate and its loops live on one executor.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "net/io/stream.hpp"

namespace hf::netio {

// Connections held at once over every listener that shares the gate.
class ConnGate {
 public:
  explicit ConnGate(std::size_t limit) : limit_(limit) {}
  std::size_t limit() const { return limit_; }
  std::size_t held() const { return held_; }
  bool full() const { return held_ >= limit_; }
  std::uint64_t refused() const { return refused_; }  // over the limit, since start
  void count_refusal() { ++refused_; }

 private:
  friend class ConnSlot;
  std::size_t limit_, held_ = 0;
  std::uint64_t refused_ = 0;
};

// One connection's place in a gate, given back when this is destroyed.
class ConnSlot {
 public:
  ConnSlot() = default;
  explicit ConnSlot(std::shared_ptr<ConnGate> gate) : gate_(std::move(gate)) {
    if (gate_) ++gate_->held_;
  }
  ConnSlot(ConnSlot&& o) noexcept = default;
  ConnSlot& operator=(ConnSlot&& o) noexcept {
    if (this != &o) {
      release();
      gate_ = std::move(o.gate_);
    }
    return *this;
  }
  ~ConnSlot() { release(); }
  void release() {
    if (gate_) --gate_->held_;
    gate_.reset();
  }

 private:
  std::shared_ptr<ConnGate> gate_;
};

struct AcceptOptions {
  std::string what;  // the listener in log lines: "stratum", "plain protocol"
  // Written to a refused connection before the close (plain TCP only; empty: just the close).
  std::string refusal;
  std::function<void(const std::string&)> log;
  // accept() failing for lack of descriptors or memory: pause this long, doubling up to max.
  std::chrono::milliseconds backoff{50}, backoff_max{1000};
  // Refusals and accept failures are logged at most this often, with a count.
  std::chrono::milliseconds log_every{5000};
};

// Accepts until the acceptor is closed. Each connection takes a slot in `gate` and goes to
// `on_accept` with it; over the limit it is refused at once (the refusal line, then the close)
// and counted for the log.
awaitable<void> accept_loop(std::shared_ptr<tcp::acceptor> acc, std::shared_ptr<ConnGate> gate, AcceptOptions opt,
                            std::function<void(tcp::socket, ConnSlot)> on_accept);

// Connection limits that fit the descriptor limit. Every connection is one descriptor; `reserve`
// are kept for everything else (listeners, files, the upstream link, the event loop). When the
// wanted limits do not fit, HTTP gets at most a quarter of what is left and Stratum the rest;
// `note` then says so in one line (empty when nothing changed).
struct DescriptorPlan {
  std::size_t stratum = 0, http = 0;
  std::string note;
};
DescriptorPlan plan_descriptors(std::size_t nofile, std::size_t stratum_want, std::size_t http_want,
                                std::size_t reserve = 32);

}  // namespace hf::netio
