#include "net/torrent/web_fetch.hpp"

#include <boost/asio.hpp>
#include <stdexcept>

#include "net/io/connect.hpp"
#include "net/torrent/tracker_client.hpp"
#include "net/torrent/web_seed.hpp"

namespace hf::torrent {

namespace asio = boost::asio;
using asio::awaitable;

namespace {
constexpr std::size_t kMaxHead = 8192;
constexpr int kMaxRedirects = 3;
}  // namespace

WebFetcher::WebFetcher(asio::io_context& io, std::chrono::seconds timeout) : io_(io), timeout_(timeout) {}

void WebFetcher::cancel() {
  cancelled_ = true;
  if (stream_) stream_->close();  // the stream object stays: the operation in flight uses it
}

void WebFetcher::close() {
  if (stream_) stream_->close();
  stream_.reset();
  conn_.clear();
  spare_.clear();
}

awaitable<std::string> WebFetcher::get_range(std::string url, std::uint64_t from, std::uint64_t length) {
  for (int hop = 0;; ++hop) {
    if (cancelled_) throw std::runtime_error("stopped");
    auto u = tracker::split_tracker_url(url);
    if (!u || (u->scheme != "http" && u->scheme != "https")) throw std::runtime_error("not an HTTP(S) URL: " + url);
    const std::string conn = u->scheme + "://" + u->host + ":" + u->port;
    if (!stream_ || conn != conn_) {
      close();
      netio::PoolUrl pu{u->scheme == "https", u->host, u->port, url};
      const netio::TlsVerify verify;
      if (!tls_) tls_ = netio::make_client_tls(verify);
      stream_ = co_await netio::connect_stream(pu, *tls_, verify, std::chrono::milliseconds(timeout_));
      conn_ = conn;
    }
    // Whatever happens below, a stalled server is cut off after the timeout.
    netio::StreamDeadline deadline(io_, stream_.get(), timeout_);
    const std::string host = u->host.find(':') != std::string::npos ? "[" + u->host + "]" : u->host;
    const std::string req = web_range_request(host + ":" + u->port, u->target, from, length);
    std::string buf = std::move(spare_);
    spare_.clear();
    std::array<char, 65536> chunk{};
    auto read_more = [&]() -> awaitable<bool> {
      try {
        const std::size_t n = co_await stream_->read_some(asio::buffer(chunk));
        buf.append(chunk.data(), n);
        co_return n > 0;
      } catch (const boost::system::system_error&) {
        co_return false;
      }
    };
    try {
      co_await stream_->write(asio::buffer(req));
    } catch (const boost::system::system_error& e) {
      close();
      // A kept-alive connection the server closed meanwhile: one fresh try.
      if (hop == 0) continue;
      throw std::runtime_error(e.code().message());
    }
    std::size_t head_end;
    while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
      if (buf.size() > kMaxHead) {
        close();
        throw std::runtime_error("a reply head over 8 KiB");
      }
      if (!co_await read_more()) {
        close();
        if (hop == 0 && buf.empty()) continue;  // the server had closed the idle connection
        throw std::runtime_error(deadline.expired() ? "timed out" : "the server closed the connection");
      }
    }
    std::string why;
    auto head = parse_http_head(std::string_view(buf).substr(0, head_end + 2), &why);
    if (!head) {
      close();
      throw std::runtime_error(why);
    }
    buf.erase(0, head_end + 4);
    if (head->status >= 300 && head->status < 400 && !head->location.empty()) {
      close();
      if (hop >= kMaxRedirects) throw std::runtime_error("too many redirects");
      url = head->location;  // absolute URLs only: what web servers send for files
      continue;
    }
    if (head->status != 206 && head->status != 200) {
      close();
      throw std::runtime_error("HTTP " + std::to_string(head->status));
    }
    if (head->chunked) {
      close();
      throw std::runtime_error("a chunked reply to a range request");
    }
    std::uint64_t skip = 0;
    bool reusable = head->keep_alive;
    if (head->status == 206) {
      if (head->range_from != from || !head->content_length || *head->content_length != length) {
        close();
        throw std::runtime_error("the reply's range is not the one asked for");
      }
    } else {
      // The whole file: what precedes the range is read and dropped, the rest left unread.
      if (!head->content_length || *head->content_length < from + length) {
        close();
        throw std::runtime_error("the file on the server is shorter than the torrent says");
      }
      skip = from;
      reusable = reusable && *head->content_length == from + length;
    }
    std::string out;
    out.reserve(static_cast<std::size_t>(length));
    for (;;) {
      if (skip) {
        const std::size_t drop = static_cast<std::size_t>(std::min<std::uint64_t>(skip, buf.size()));
        buf.erase(0, drop);
        skip -= drop;
      }
      if (!skip && !buf.empty()) {
        const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(length - out.size(), buf.size()));
        out.append(buf, 0, take);
        buf.erase(0, take);
      }
      if (out.size() == length) break;
      if (!co_await read_more()) {
        close();
        throw std::runtime_error("the reply ended early");
      }
    }
    if (reusable) spare_ = std::move(buf);
    else close();
    co_return out;
  }
}

}  // namespace hf::torrent
