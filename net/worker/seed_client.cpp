#include "net/worker/seed_client.hpp"

#include <boost/asio.hpp>

#include <random>
#include <stdexcept>

#include "net/io/duration.hpp"
#include "net/io/stream.hpp"
#include "net/mining/file_task.hpp"

namespace hf::worker {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::optional<SeedUrl> parse_seed_url(const std::string& url, std::string* why) {
  if (url.rfind("seed://", 0) != 0) {
    *why = "'" + url + "' is not seed://host:port";
    return std::nullopt;
  }
  std::string rest = url.substr(7);
  if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  SeedUrl u;
  const bool bracketed = !rest.empty() && rest.front() == '[';
  const bool has_port = bracketed ? rest.find("]:") != std::string::npos : rest.find(':') != std::string::npos;
  if (!has_port) rest += ":50010";
  if (!netio::split_host_port(rest, &u.host, &u.port, why)) return std::nullopt;
  return u;
}

namespace {

// Runs the io_context until `done` or the time runs out; false on timeout (the pending
// operation is then cancelled and its handler has run).
bool run_until(asio::io_context& io, tcp::socket& s, const bool& done, double seconds) {
  io.restart();
  io.run_for(netio::seconds_to(seconds));
  if (done) return true;
  boost::system::error_code ec;
  s.cancel(ec);
  io.restart();
  io.run();
  return false;
}

}  // namespace

SeedOutcome seed_mine(const SeedOptions& o) {
  auto log = [&](const std::string& l) {
    if (o.log) o.log(l);
  };
  asio::io_context io;
  tcp::socket sock(io);
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  const auto eps = resolver.resolve(o.url.host, o.url.port, ec);
  if (ec) throw std::runtime_error("cannot resolve " + o.url.host + ": " + ec.message());
  bool done = false;
  asio::async_connect(sock, eps, [&](boost::system::error_code e, const tcp::endpoint&) {
    ec = e;
    done = true;
  });
  if (!run_until(io, sock, done, o.connect_timeout)) throw std::runtime_error("connect timed out");
  if (ec) throw std::runtime_error("cannot connect to " + o.url.host + ":" + o.url.port + ": " + ec.message());
  log("connected to " + o.url.host + ":" + o.url.port + "; waiting for the file");

  // Receive until the stream ends in "END" and stays quiet a moment ("END" inside the file
  // at a read boundary must not cut it short).
  std::string in;
  char buf[65536];
  const auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    const bool at_end = in.size() >= 8 && in.compare(in.size() - 3, 3, "END") == 0;
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double limit = at_end ? 0.3 : std::max(0.0, o.receive_timeout - waited);
    std::size_t n = 0;
    done = false;
    sock.async_read_some(asio::buffer(buf), [&](boost::system::error_code e, std::size_t got) {
      ec = e;
      n = got;
      done = true;
    });
    const bool got = run_until(io, sock, done, limit);
    if (!got || ec == asio::error::operation_aborted) {
      if (at_end) break;
      throw std::runtime_error("no complete file from the server in " +
                               std::to_string(static_cast<int>(o.receive_timeout)) + " s");
    }
    in.append(buf, n);
    if (ec) {
      if (ec == asio::error::eof && in.size() >= 8 && in.compare(in.size() - 3, 3, "END") == 0) break;
      throw std::runtime_error("the server closed the connection before the file ended (short transfer)");
    }
    if (in.size() > o.max_file + 8)
      throw std::runtime_error("the file is larger than " + std::to_string(o.max_file) + " bytes");
  }
  if (in.compare(0, 5, "START") != 0) throw std::runtime_error("the server did not begin with START");
  SeedOutcome out;
  out.file.assign(in.begin() + 5, in.end() - 3);
  if (out.file.empty()) throw std::runtime_error("the server sent an empty file");
  log("received " + std::to_string(out.file.size()) + " bytes; mining for " + std::to_string(o.seconds) + " s");

  // Sweep from a random start, wrapping once: no nonce twice, and two clients of the same
  // server are unlikely to overlap for long (the protocol cannot give them ranges).
  std::mt19937_64 gen(std::random_device{}() ^ (std::uint64_t(std::random_device{}()) << 32));
  const std::uint64_t start = gen() & 0xffffffffu;
  RunOptions ro;
  ro.backend = o.backend;
  ro.threads = o.threads;
  ro.cancel = o.cancel;
  std::optional<Hit> best;
  auto budget = netio::seconds_to<std::chrono::nanoseconds>(o.seconds);
  for (const NonceRange r : {NonceRange{start, mining::kFileNonceSpace - start}, NonceRange{0, start}}) {
    if (r.count == 0 || budget.count() <= 0) continue;
    SearchJob job = mining::file_search_job(out.file, o.identifier, r);
    job.budget = budget;
    const SearchResult res = Engine::instance().search(job, ro).value();
    out.hashes += res.hashes;
    out.seconds += res.seconds;
    out.backend = res.backend;
    budget -= netio::seconds_to<std::chrono::nanoseconds>(res.seconds);
    if (res.best && (!best || res.best->key < best->key)) best = res.best;
    if (!res.complete) break;
  }
  if (!best) throw std::runtime_error("no nonce was searched");
  out.nonce = static_cast<std::uint32_t>(best->nonce);
  out.hash = best->digest;

  const std::string answer = mining::nonce_hex8(out.nonce);
  done = false;
  asio::async_write(sock, asio::buffer(answer), [&](boost::system::error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  if (!run_until(io, sock, done, 30) || ec)
    throw std::runtime_error("could not send the answer: " + (ec ? ec.message() : std::string("timed out")));
  sock.shutdown(tcp::socket::shutdown_send, ec);
  sock.close(ec);
  return out;
}

}  // namespace hf::worker
