// Every limit and timeout of the HTTP server, with defaults meant for a small JSON API and
// a dashboard facing an untrusted network. Pure code.
#pragma once
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

namespace hf::http {

using std::chrono::milliseconds;

// What the request parser enforces; the fuzz target and the server share these.
struct RequestLimits {
  std::size_t max_request_line = 8 * 1024;   // method, target and version: 414 beyond
  std::size_t max_header_bytes = 16 * 1024;  // request line and every field together: 431 beyond
  std::size_t max_header_fields = 100;       // 431 beyond
  std::size_t max_body = 1024 * 1024;        // after de-chunking: 413 beyond
  std::size_t max_query_params = 256;        // 400 beyond
};

struct Settings {
  RequestLimits limits;

  // Connections held at once across every thread; the newest over it gets a 503 and is
  // closed at once.
  std::size_t max_connections = 4096;
  // Waiting for the first byte of the next request on a kept-alive connection.
  milliseconds idle_timeout{15'000};
  // From a request's first byte to its last (head and body): slow-drip clients end here.
  // Also bounds the TLS handshake.
  milliseconds request_timeout{10'000};
  // Everything queued for the peer must be taken within this; a client that never reads
  // is closed after it, and its queued bytes freed.
  milliseconds write_timeout{10'000};
  // Response bytes a connection may hold unsent before it stops reading (and processing
  // pipelined) requests until the peer takes some. One response larger than this is still
  // sent whole (it exists already); nothing more is queued behind it.
  std::size_t max_queued_bytes = 1024 * 1024;
  // SO_SNDBUF of each connection (0: the system's, which Linux grows up to tcp_wmem's
  // maximum, 4 MiB by default). A reply larger than this can only finish as fast as the peer
  // reads, so write_timeout applies to it, and a peer that never reads holds at most this
  // much kernel memory.
  std::size_t send_buffer_bytes = 0;
  // Requests served on one connection before it is closed (0: no limit).
  std::size_t max_requests_per_connection = 0;
  // Read buffer per connection to start with; it grows to hold a long head when needed.
  std::size_t read_buffer_bytes = 4096;
  // After an error reply or a server-side close: how long to drain what the peer still
  // sends, so the reply is not destroyed by a reset.
  milliseconds linger_timeout{1'000};
  // Graceful stop: in-flight requests get this long to finish before being cut.
  milliseconds shutdown_grace{5'000};
  // accept() failing for lack of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM):
  // pause this long, doubling up to accept_backoff_max, instead of spinning.
  milliseconds accept_backoff{50};
  milliseconds accept_backoff_max{1'000};

  // 0: run on the io_context given to the server (handlers then run on the caller's thread
  // and may use its state without locks). N: the server runs its own N threads, one
  // io_context each, connections spread round-robin; handlers must be thread-safe.
  unsigned io_threads = 0;

  // Both set: serve HTTPS (TLS 1.2 or later) on the same code path. PEM files.
  std::string tls_cert_file;
  std::string tls_key_file;

  std::string server_name = "hashforge";  // the Server field; empty for none
  // Accept troubles and similar; off by default. Called from the server's threads.
  std::function<void(const std::string&)> log;
};

}  // namespace hf::http
