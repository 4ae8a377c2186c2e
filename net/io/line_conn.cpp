#include "net/io/line_conn.hpp"

namespace hf::netio {

namespace {
ConnLimits conn_limits(const LineLimits& l) { return {l.idle_timeout, l.line_timeout, l.max_queued}; }
}  // namespace

LineConn::LineConn(std::unique_ptr<Stream> s, const LineLimits& lim)
    : ConnBase(std::move(s), conn_limits(lim), "line"), max_line_(lim.max_line) {}

void LineConn::start() { start_io(shared_from_this()); }

awaitable<std::optional<std::string>> LineConn::read_line() {
  for (;;) {
    const std::size_t nl = buf_.find('\n', scanned_);
    if (nl != std::string::npos) {
      if (nl > max_line_) break;
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      scanned_ = 0;
      message_taken();
      if (!line.empty() && line.back() == '\r') line.pop_back();
      co_return line;
    }
    scanned_ = buf_.size();
    if (buf_.size() > max_line_) break;
    if (!co_await fill()) co_return std::nullopt;
  }
  too_long_ = true;
  buf_.clear();
  set_why("line longer than " + std::to_string(max_line_) + " bytes");
  co_return std::nullopt;
}

}  // namespace hf::netio
