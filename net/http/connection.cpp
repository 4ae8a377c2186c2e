// One HTTP connection: a coroutine that reads, parses, routes and answers requests in order,
// written once over the stream type so plain TCP and TLS share every line of it.
#include <sys/ioctl.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "net/http/request_reader.hpp"
#include "net/http/serialize.hpp"
#include "net/http/server_core.hpp"

namespace hf::http {

namespace {

using clock_type = std::chrono::steady_clock;
using boost::system::error_code;
template <class T>
using awaitable = asio::awaitable<T>;
using asio::as_tuple;
using asio::use_awaitable;

constexpr std::size_t kCopyBodyBelow = 16 * 1024;     // smaller bodies ride in the same send as their head
constexpr std::size_t kKeepOutCapacity = 64 * 1024;   // an output buffer larger than this is freed after use
constexpr std::size_t kLingerMaxBytes = 1024 * 1024;  // drained at most before a server-side close

template <class S>
constexpr bool kIsTls = std::is_same_v<S, ssl::stream<tcp::socket>>;


// Bytes waiting for the peer. Heads and small bodies are copied into one string so a burst
// of pipelined replies leaves in one send; large bodies are referenced (static) or moved in,
// never copied.
class OutQueue {
 public:
  std::size_t bytes() const { return bytes_; }
  bool empty() const { return bytes_ == 0; }
  void append(std::string_view s) {
    tail().append(s);
    bytes_ += s.size();
  }
  template <class F>
  void append_with(F&& write) {
    std::string& t = tail();
    const std::size_t before = t.size();
    write(t);
    bytes_ += t.size() - before;
  }
  void append_ref(std::string_view s) {
    pieces_.push_back(Piece{{}, s, true, true});
    bytes_ += s.size();
  }
  void append_owned(std::string&& s) {
    bytes_ += s.size();
    pieces_.push_back(Piece{std::move(s), {}, false, true});
  }
  // A body shared with other responses: referenced, and kept alive until it has been sent.
  void append_shared(std::shared_ptr<const std::string> s) {
    const std::string_view view(*s);
    bytes_ += view.size();
    pieces_.push_back(Piece{{}, view, true, true, std::move(s)});
  }
  // Valid until the next append or clear.
  const std::vector<asio::const_buffer>& buffers() {
    bufs_.clear();
    for (const Piece& p : pieces_) {
      const std::string_view v = p.is_ref ? p.ref : std::string_view(p.own);
      if (!v.empty()) bufs_.emplace_back(v.data(), v.size());
    }
    return bufs_;
  }
  void clear() {
    // Keep the first string's capacity for the next replies unless a burst made it large.
    if (!pieces_.empty() && !pieces_.front().is_ref && pieces_.front().own.capacity() <= kKeepOutCapacity) {
      spare_ = std::move(pieces_.front().own);
      spare_.clear();
    }
    pieces_.clear();
    bufs_.clear();
    bytes_ = 0;
  }

 private:
  struct Piece {
    std::string own;
    std::string_view ref;
    bool is_ref = false;
    bool sealed = false;                      // nothing more is appended to it
    std::shared_ptr<const std::string> keep;  // owns what `ref` points into, when shared
  };
  std::string& tail() {
    if (pieces_.empty() || pieces_.back().sealed) {
      pieces_.push_back(Piece{std::move(spare_), {}, false, false});
      spare_ = std::string();
    }
    return pieces_.back().own;
  }
  std::vector<Piece> pieces_;
  std::vector<asio::const_buffer> bufs_;
  std::string spare_;
  std::size_t bytes_ = 0;
};

// The buffers of `all` after their first `skip` bytes.
std::vector<asio::const_buffer> after(const std::vector<asio::const_buffer>& all, std::size_t skip) {
  std::vector<asio::const_buffer> rest;
  for (const auto& b : all) {
    if (skip >= b.size()) {
      skip -= b.size();
      continue;
    }
    rest.push_back(b + skip);
    skip = 0;
  }
  return rest;
}

}  // namespace

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<ServerCore> core, Worker& w, tcp::socket s, const tcp::endpoint& peer)
      : core_(std::move(core)),
        w_(w),
        set_(core_->settings),
        sock_(std::move(s)),
        timer_(w.io),
        reader_(set_.limits),
        peer_(endpoint_text(peer)) {}

  awaitable<void> run();
  // Graceful stop: a connection waiting for its next request (or still shaking hands) goes
  // now; one inside a request finishes it first (it sees w_.stopping).
  void on_stop() {
    if (phase_ == Phase::idle || phase_ == Phase::handshake) close_now();
  }
  void close_now();

 private:
  enum class Phase { handshake, idle, request, writing, lingering };

  template <class S>
  awaitable<void> serve(S& stream);
  template <class S>
  awaitable<bool> flush(S& stream);
  awaitable<void> linger();
  void queue(Response&& res, bool head_only, bool keep_alive, bool http10);
  void reply_error(int status, const std::string& reason);
  // A handler's deferred reply, once complete (the connection's coroutine waits, the
  // thread serves others).
  awaitable<Response> wait_deferred(std::shared_ptr<Deferred> d);
  tcp::socket& lowest() { return tls_ ? tls_->next_layer() : sock_; }

  // The watchdog: one timer per connection, re-armed only when a deadline moves earlier,
  // so the usual request (whose deadlines only move later) costs a clock read, not a timer
  // operation.
  void set_deadline(clock_type::time_point t) {
    deadline_ = t;
    if (t < armed_) arm();
  }
  void arm() {
    armed_ = deadline_;
    timer_.expires_at(armed_);
    timer_.async_wait([self = shared_from_this()](const error_code& ec) { self->on_timer(ec); });
  }
  void on_timer(const error_code& ec) {
    if (closed_ || ec == asio::error::operation_aborted) return;
    if (clock_type::now() < deadline_) return arm();  // the deadline moved on meanwhile
    armed_ = clock_type::time_point::max();
    timed_out_ = true;
    error_code ignored;
    if (phase_ == Phase::request)
      lowest().cancel(ignored);  // the coroutine answers 408 before closing
    else
      close_now();
  }

  std::shared_ptr<ServerCore> core_;
  Worker& w_;
  const Settings& set_;
  tcp::socket sock_;  // with TLS, moved into tls_
  std::optional<ssl::stream<tcp::socket>> tls_;
  asio::steady_timer timer_;
  clock_type::time_point deadline_ = clock_type::time_point::max();
  clock_type::time_point armed_ = clock_type::time_point::max();
  clock_type::time_point request_started_{};
  Phase phase_ = Phase::handshake;
  bool closed_ = false, timed_out_ = false, closing_ = false;
  bool clean_close_ = false;  // closing after a whole request whose client asked for it
  bool plain_close_ = false;  // nothing to drain or wake: close() without shutdown()
  RequestReader reader_;
  std::vector<char> in_;
  std::size_t in_begin_ = 0, in_end_ = 0;  // unparsed bytes are in_[in_begin_, in_end_)
  OutQueue out_;
  std::size_t served_ = 0;
  std::string peer_;
  std::list<Connection*>::iterator self_;
};

void Connection::close_now() {
  if (closed_) return;
  closed_ = true;
  error_code ec;
  if (!plain_close_) lowest().shutdown(tcp::socket::shutdown_both, ec);
  lowest().close(ec);
  timer_.cancel();
}

awaitable<void> Connection::run() {
  auto self = shared_from_this();
  self_ = w_.conns.insert(w_.conns.end(), this);
  error_code ec;
  sock_.set_option(tcp::no_delay(true), ec);  // replies are whole messages: send them now
  if (set_.send_buffer_bytes > 0)
    sock_.set_option(
        asio::socket_base::send_buffer_size(static_cast<int>(std::min<std::size_t>(set_.send_buffer_bytes, 1 << 30))),
        ec);
  try {
    if (w_.stopping) {
      // Accepted as the stop began: nothing to serve.
    } else if (core_->tls) {
      tls_.emplace(std::move(sock_), *core_->tls);
      co_await serve(*tls_);
    } else {
      sock_.non_blocking(true, ec);  // lets flush() try a plain send before suspending
      co_await serve(sock_);
    }
  } catch (...) {
    // Out of memory or a bug: this connection ends, the server goes on.
  }
  close_now();
  w_.conns.erase(self_);
  core_->active.fetch_sub(1, std::memory_order_relaxed);
}

void Connection::queue(Response&& res, bool head_only, bool keep_alive, bool http10) {
  const std::string_view body = res.payload();
  const bool has_body = status_has_body(res.status);
  const HeadOptions opt{keep_alive, http10, set_.server_name};
  out_.append_with([&](std::string& s) { append_head(s, res, has_body ? body.size() : 0, opt); });
  if (head_only || !has_body || body.empty()) return;
  if (body.size() < kCopyBodyBelow)
    out_.append(body);
  else if (res.shared_body)
    out_.append_shared(std::move(res.shared_body));
  else if (res.static_body)
    out_.append_ref(body);
  else
    out_.append_owned(std::move(res.body));
}

awaitable<Response> Connection::wait_deferred(std::shared_ptr<Deferred> d) {
  if (!d->ready()) {
    // No deadline while the handler's work runs: the request has been read whole, and the
    // work (a disk commit, a mining job) bounds itself.
    phase_ = Phase::idle;
    set_deadline(clock_type::time_point::max());
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer wake(ex, clock_type::time_point::max());
    d->on_ready([&wake, ex] { asio::post(ex, [&wake] { wake.cancel(); }); });
    // Withdraw the waiter however this frame ends (the server may be destroyed first).
    struct Withdraw {
      Deferred& d;
      ~Withdraw() { d.on_ready({}); }
    } withdraw{*d};
    while (!d->ready()) co_await wake.async_wait(as_tuple(use_awaitable));
  }
  co_return d->take();
}

void Connection::reply_error(int status, const std::string& reason) {
  queue(Response::text(status, reason), false, false, false);
  closing_ = true;
  clean_close_ = false;  // the client may still be sending: linger
}

template <class S>
awaitable<void> Connection::serve(S& stream) {
  if constexpr (kIsTls<S>) {
    phase_ = Phase::handshake;
    set_deadline(clock_type::now() + set_.request_timeout);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, as_tuple(use_awaitable));
    if (ec || closed_) co_return;
  }
  in_.resize(std::max<std::size_t>(set_.read_buffer_bytes, 256));
  // The head must fit in the buffer whole (the parser needs it contiguous).
  const std::size_t max_in = std::max(in_.size(), set_.limits.max_header_bytes + 1024);
  bool request_clock = false;  // request_started_ belongs to the request in progress

  for (;;) {
    // Answer every complete request already read, in order (pipelining).
    while (!closing_) {
      std::size_t used = 0;
      const auto r = reader_.feed({in_.data() + in_begin_, in_end_ - in_begin_}, &used);
      in_begin_ += used;
      if (r == RequestReader::Result::need_more) {
        if (reader_.expects_continue()) {
          out_.append("HTTP/1.1 100 Continue\r\n\r\n");
          reader_.continue_sent();
        }
        break;
      }
      if (r == RequestReader::Result::error) {
        reply_error(reader_.error().status, reader_.error().reason);
        break;
      }
      Request& req = reader_.request();
      req.peer = peer_;
      ++served_;
      const bool keep = req.keep_alive && !w_.stopping &&
                        (set_.max_requests_per_connection == 0 || served_ < set_.max_requests_per_connection);
      Response res = core_->router.route(req);
      if (res.deferred) res = co_await wait_deferred(std::move(res.deferred));
      if (closed_) co_return;
      queue(std::move(res), req.method == "HEAD", keep, req.version == 10);
      reader_.reset();
      request_clock = false;
      if (!keep) closing_ = clean_close_ = true;
      // Over the cap: send before parsing more, so a client pipelining requests it never
      // reads the answers to cannot make us queue without end.
      if (!closing_ && out_.bytes() >= set_.max_queued_bytes && !co_await flush(stream)) co_return;
    }
    if (!out_.empty() && !co_await flush(stream)) co_return;
    if (closing_) {
      co_await linger();
      co_return;
    }
    if (w_.stopping && !reader_.in_progress()) co_return;

    // Room to read: move the unparsed tail to the front, grow up to the head limit.
    if (in_begin_ == in_end_) {
      in_begin_ = in_end_ = 0;
    } else if (in_end_ == in_.size() && in_begin_ > 0) {
      std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
      in_end_ -= in_begin_;
      in_begin_ = 0;
    }
    if (in_end_ == in_.size()) {
      if (in_.size() >= max_in) {
        const ParseError& e = reader_.fail_buffer_full();
        reply_error(e.status, e.reason);
        continue;
      }
      in_.resize(std::min(max_in, in_.size() * 2));
    }

    const bool idle = !reader_.in_progress();
    const auto now = clock_type::now();
    if (!idle && !request_clock) request_started_ = now, request_clock = true;
    phase_ = idle ? Phase::idle : Phase::request;
    set_deadline(idle ? now + set_.idle_timeout : request_started_ + set_.request_timeout);
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(in_.data() + in_end_, in_.size() - in_end_),
                                                   as_tuple(use_awaitable));
    if (timed_out_) {
      timed_out_ = false;
      if (phase_ != Phase::request || closed_) co_return;
      reply_error(408, "request not received in time");
      continue;
    }
    if (ec || closed_) co_return;
    if (idle) request_started_ = clock_type::now(), request_clock = true;
    in_end_ += n;
  }
}

template <class S>
awaitable<bool> Connection::flush(S& stream) {
  const auto& bufs = out_.buffers();
  std::size_t sent = 0;
  if constexpr (!kIsTls<S>) {
    // Usually the kernel takes the whole reply at once: no suspension, no timer.
    error_code ec;
    sent = stream.write_some(bufs, ec);
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
      out_.clear();
      co_return false;
    }
    if (sent == out_.bytes()) {
      out_.clear();
      co_return true;
    }
  }
  phase_ = Phase::writing;
  set_deadline(clock_type::now() + set_.write_timeout);
  auto [ec, n] = co_await asio::async_write(stream, after(bufs, sent), as_tuple(use_awaitable));
  out_.clear();  // sent, or the connection is over: either way the bytes are freed now
  co_return !ec && !closed_;
}

awaitable<void> Connection::linger() {
  // Half-close, then read and discard what the client still sends until it closes too:
  // closing with unread input would reset the connection and could destroy the reply.
  phase_ = Phase::lingering;
  error_code ec;
  // After a whole request whose client asked to close, with nothing more read or waiting in
  // the kernel, there is nothing to drain: close now, as nginx does. (Lingering would cost a
  // wakeup per connection, which is most of the work of a close-per-request client.)
  if (clean_close_ && in_begin_ == in_end_) {
    int waiting = 0;
    if (::ioctl(lowest().native_handle(), FIONREAD, &waiting) == 0 && waiting == 0) {
      plain_close_ = true;  // close() alone sends the FIN after the reply
      co_return;
    }
  }
  lowest().shutdown(tcp::socket::shutdown_send, ec);
  if (ec || closed_) co_return;
  set_deadline(clock_type::now() + set_.linger_timeout);
  std::vector<char> junk(4096);
  std::size_t total = 0;
  while (total < kLingerMaxBytes && !closed_) {
    auto [e, n] = co_await lowest().async_read_some(asio::buffer(junk), as_tuple(use_awaitable));
    if (e) break;
    total += n;
  }
}

void start_connection(std::shared_ptr<ServerCore> core, Worker& w, tcp::socket sock, const tcp::endpoint& peer) {
  auto c = std::make_shared<Connection>(std::move(core), w, std::move(sock), peer);
  asio::co_spawn(
      w.io, [c]() -> awaitable<void> { co_await c->run(); }, asio::detached);
}

void stop_connections(Worker& w) {
  w.stopping = true;
  for (Connection* c : w.conns) c->on_stop();  // closing never unlinks at once: safe to iterate
}

void cut_connections(Worker& w) {
  for (Connection* c : w.conns) c->close_now();
}

}  // namespace hf::http
