#include "net/io/conn_base.hpp"

namespace hf::netio {

namespace {
// Messages under this size are copied into one write with their neighbours (a peer-wire
// block message, 16 KiB and its header, among them); larger ones are written from the queued
// buffer itself.
constexpr std::size_t kCopyBelow = 64 * 1024;
}  // namespace

ConnBase::ConnBase(std::unique_ptr<Stream> s, const ConnLimits& lim, const char* unit)
    : stream_(std::move(s)),
      lim_(lim),
      unit_(unit),
      peer_(stream_->peer()),
      wake_(stream_->socket().get_executor()),
      tick_(stream_->socket().get_executor()),
      last_message_(clock::now()) {}

void ConnBase::start_io(std::shared_ptr<void> owner) {
  asio::co_spawn(
      stream_->socket().get_executor(), [this, owner]() { return writer(owner); }, asio::detached);
  asio::co_spawn(
      stream_->socket().get_executor(), [this, owner]() { return watchdog(owner); }, asio::detached);
}

awaitable<bool> ConnBase::fill() {
  if (closed_) co_return false;
  // Taken bytes go in one move, not one per message: a 64 KiB read holds four 16 KiB blocks
  // and their headers, and erasing each from the front would move the rest every time.
  if (head_ > 0) {
    buf_.erase(0, head_);
    head_ = 0;
  }
  constexpr std::size_t kRead = 64 * 1024;
  if (!rbuf_) rbuf_.reset(new char[kRead]);
  char* tmp = rbuf_.get();
  std::size_t n = 0;
  try {
    n = co_await stream_->read_some(asio::buffer(tmp, kRead));
  } catch (const boost::system::system_error& e) {
    if (!closed_)
      close(e.code() == asio::error::eof || e.code() == asio::error::connection_reset ? "closed by peer"
                                                                                      : e.code().message());
    co_return false;
  }
  if (!partial_) {
    partial_ = true;
    message_started_ = clock::now();
  }
  buf_.append(tmp, n);
  co_return true;
}

void ConnBase::message_taken() {
  last_message_ = clock::now();
  partial_ = buf_.size() > head_;
  message_started_ = last_message_;
}

void ConnBase::send(std::string data) { enqueue({std::move(data), nullptr}); }

void ConnBase::send(std::shared_ptr<const std::string> data) {
  if (data) enqueue({{}, std::move(data)});
}

void ConnBase::enqueue(Queued q) {
  if (closed_ || flush_then_close_) return;
  queued_ += q.bytes().size();
  if (queued_ > lim_.max_queued) {
    close("peer reads too slowly (" + std::to_string(queued_) + " bytes unsent)");
    return;
  }
  out_.push_back(std::move(q));
  wake_.cancel();
}

void ConnBase::close(const std::string& why) {
  if (closed_) return;
  closed_ = true;
  if (why_.empty()) why_ = why;
  stream_->close();
  out_.clear();
  queued_ = 0;
  wake_.cancel();
  tick_.cancel();
}

void ConnBase::close_after_flush(const std::string& why) {
  if (closed_) return;
  if (why_.empty()) why_ = why;
  flush_then_close_ = true;
  wake_.cancel();
}

awaitable<void> ConnBase::writer(std::shared_ptr<void> owner) {
  std::string batch;
  while (!closed_) {
    if (out_.empty()) {
      if (flush_then_close_) {
        close(why_);
        break;
      }
      wake_.expires_at(clock::time_point::max());
      boost::system::error_code ec;
      co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    // Small messages queued together go out in one write: fewer system calls under load. A
    // message alone, or a large one (a job line the connections share), is sent as it is,
    // without a copy.
    batch.clear();
    Queued whole;
    bool alone = false;
    while (!out_.empty()) {
      const bool large = out_.front().bytes().size() >= kCopyBelow;
      if (batch.empty() && (large || out_.size() == 1)) {
        whole = std::move(out_.front());
        out_.pop_front();
        alone = true;
        break;
      }
      if (large) break;  // goes by itself, next
      batch += out_.front().bytes();
      out_.pop_front();
    }
    const std::string& data = alone ? whole.bytes() : batch;
    try {
      co_await stream_->write(asio::buffer(data));
    } catch (const boost::system::system_error& e) {
      close("write failed: " + e.code().message());
      break;
    }
    queued_ -= std::min(queued_, data.size());
    if (on_sent_ && !closed_) on_sent_();
  }
}

awaitable<void> ConnBase::watchdog(std::shared_ptr<void> owner) {
  while (!closed_) {
    tick_.expires_after(std::chrono::milliseconds(500));
    boost::system::error_code ec;
    co_await tick_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (closed_) break;
    const auto now = clock::now();
    // Compared in milliseconds, the limits' own unit: converting a limit of years to the
    // clock's nanoseconds could overflow and make it negative (every peer idle at once).
    using ms = std::chrono::milliseconds;
    if (partial_ && std::chrono::duration_cast<ms>(now - message_started_) > lim_.message_timeout)
      close(std::string("a ") + unit_ + " was not finished within " +
            std::to_string(lim_.message_timeout.count() / 1000) + " s");
    else if (std::chrono::duration_cast<ms>(now - last_message_) > lim_.idle_timeout)
      close("idle for " + std::to_string(lim_.idle_timeout.count() / 1000) + " s");
  }
}

}  // namespace hf::netio
