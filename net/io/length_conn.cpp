#include "net/io/length_conn.hpp"

#include <algorithm>
#include <cstdint>

namespace hf::netio {

namespace {
constexpr std::size_t kPrefix = 4;

ConnLimits conn_limits(const FrameLimits& l) { return {l.idle_timeout, l.frame_timeout, l.max_queued}; }

std::uint32_t read_be32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return std::uint32_t{u[0]} << 24 | std::uint32_t{u[1]} << 16 | std::uint32_t{u[2]} << 8 | std::uint32_t{u[3]};
}
}  // namespace

LengthConn::LengthConn(std::unique_ptr<Stream> s, const FrameLimits& lim)
    : ConnBase(std::move(s), conn_limits(lim), "frame"),
      max_frame_(std::min<std::size_t>(lim.max_frame, 0xffffffffu)) {}  // what 4 bytes can say

void LengthConn::start() { start_io(shared_from_this()); }

awaitable<std::optional<std::string>> LengthConn::read_frame() {
  for (;;) {
    const std::size_t have = buf_.size() - head_;
    if (have >= kPrefix) {
      const std::uint32_t len = read_be32(buf_.data() + head_);
      if (len > max_frame_) {
        too_big_ = true;
        buf_.clear();
        head_ = 0;
        close("frame of " + std::to_string(len) + " bytes is over the " + std::to_string(max_frame_) + "-byte cap");
        co_return std::nullopt;
      }
      if (have - kPrefix >= len) {
        std::string payload = buf_.substr(head_ + kPrefix, len);
        head_ += kPrefix + len;
        message_taken();
        co_return payload;
      }
      // The length passed the cap: room for the whole frame now spares the regrowth.
      buf_.reserve(head_ + kPrefix + len);
    }
    if (!co_await fill()) co_return std::nullopt;
  }
}

void LengthConn::send_frame(std::string_view payload) {
  if (payload.size() > max_frame_) {
    close("refusing to send a frame of " + std::to_string(payload.size()) + " bytes, over the " +
          std::to_string(max_frame_) + "-byte cap");
    return;
  }
  const auto len = static_cast<std::uint32_t>(payload.size());
  std::string frame(kPrefix, '\0');
  for (std::size_t i = 0; i < kPrefix; ++i) frame[i] = static_cast<char>(len >> (8 * (kPrefix - 1 - i)));
  frame.append(payload);
  send(std::move(frame));
}

}  // namespace hf::netio
