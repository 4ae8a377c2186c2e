#include "net/io/line_conn.hpp"

namespace hf::netio {

LineConn::LineConn(std::unique_ptr<Stream> s, const LineLimits& lim)
    : stream_(std::move(s)),
      lim_(lim),
      peer_(stream_->peer()),
      wake_(stream_->socket().get_executor()),
      tick_(stream_->socket().get_executor()),
      last_line_(clock::now()) {}

void LineConn::start() {
  auto self = shared_from_this();
  asio::co_spawn(
      stream_->socket().get_executor(), [self]() { return self->writer(); }, asio::detached);
  asio::co_spawn(
      stream_->socket().get_executor(), [self]() { return self->watchdog(); }, asio::detached);
}

awaitable<std::optional<std::string>> LineConn::read_line() {
  for (;;) {
    const std::size_t nl = buf_.find('\n', scanned_);
    if (nl != std::string::npos) {
      if (nl > lim_.max_line) break;
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      scanned_ = 0;
      last_line_ = clock::now();
      partial_ = !buf_.empty();
      line_started_ = last_line_;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      co_return line;
    }
    scanned_ = buf_.size();
    if (buf_.size() > lim_.max_line) break;
    if (closed_) co_return std::nullopt;
    char tmp[4096];
    std::size_t n = 0;
    try {
      n = co_await stream_->read_some(asio::buffer(tmp));
    } catch (const boost::system::system_error& e) {
      if (!closed_)
        close(e.code() == asio::error::eof || e.code() == asio::error::connection_reset ? "closed by peer"
                                                                                        : e.code().message());
      co_return std::nullopt;
    }
    if (!partial_) {
      partial_ = true;
      line_started_ = clock::now();
    }
    buf_.append(tmp, n);
  }
  too_long_ = true;
  buf_.clear();
  why_ = "line longer than " + std::to_string(lim_.max_line) + " bytes";
  co_return std::nullopt;
}

void LineConn::send(std::string data) {
  if (closed_ || flush_then_close_) return;
  queued_ += data.size();
  if (queued_ > lim_.max_queued) {
    close("peer reads too slowly (" + std::to_string(queued_) + " bytes unsent)");
    return;
  }
  out_.push_back(std::move(data));
  wake_.cancel();
}

void LineConn::close(const std::string& why) {
  if (closed_) return;
  closed_ = true;
  if (why_.empty()) why_ = why;
  stream_->close();
  out_.clear();
  queued_ = 0;
  wake_.cancel();
  tick_.cancel();
}

void LineConn::close_after_flush(const std::string& why) {
  if (closed_) return;
  if (why_.empty()) why_ = why;
  flush_then_close_ = true;
  wake_.cancel();
}

awaitable<void> LineConn::writer() {
  auto self = shared_from_this();  // the coroutine keeps the connection alive
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
    // Everything queued goes out in one write: fewer system calls under load.
    batch.clear();
    while (!out_.empty()) {
      batch += out_.front();
      out_.pop_front();
    }
    try {
      co_await stream_->write(asio::buffer(batch));
    } catch (const boost::system::system_error& e) {
      close("write failed: " + e.code().message());
      break;
    }
    queued_ -= std::min(queued_, batch.size());
  }
}

awaitable<void> LineConn::watchdog() {
  auto self = shared_from_this();
  while (!closed_) {
    tick_.expires_after(std::chrono::milliseconds(500));
    boost::system::error_code ec;
    co_await tick_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (closed_) break;
    const auto now = clock::now();
    if (partial_ && now - line_started_ > lim_.line_timeout)
      close("a line was not finished within " + std::to_string(lim_.line_timeout.count() / 1000) + " s");
    else if (now - last_line_ > lim_.idle_timeout)
      close("idle for " + std::to_string(lim_.idle_timeout.count() / 1000) + " s");
  }
}

}  // namespace hf::netio
