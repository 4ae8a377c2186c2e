#include "net/io/connect.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

namespace hf::netio {

using namespace boost::asio::experimental::awaitable_operators;

std::optional<PoolUrl> parse_pool_url(const std::string& url, std::string* why) {
  PoolUrl u;
  u.text = url;
  std::string rest;
  for (const char* p : {"stratum+tcp://", "stratum+ssl://", "stratum+tls://"}) {
    if (url.rfind(p, 0) == 0) {
      u.tls = std::string(p) != "stratum+tcp://";
      rest = url.substr(std::string(p).size());
    }
  }
  if (rest.empty()) {
    *why = "'" + url + "' is not stratum+tcp://host:port or stratum+ssl://host:port";
    return std::nullopt;
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  if (!split_host_port(rest, &u.host, &u.port, why)) return std::nullopt;
  // Port 0 is "any port" to a listener; no pool can be reached there.
  if (u.port.find_first_not_of('0') == std::string::npos) {
    *why = "'" + url + "' has a bad port (1..65535)";
    return std::nullopt;
  }
  return u;
}

Reconnect parse_reconnect(const boost::json::array& p, bool tls) {
  Reconnect r;
  if (p.size() >= 2 && p[0].is_string() && (p[1].is_int64() || p[1].is_string())) {
    const std::string host(p[0].as_string());
    const std::string port = p[1].is_int64() ? std::to_string(p[1].as_int64()) : std::string(p[1].as_string());
    // Only a place a pool URL could name: a bad port or a host with '/' or brackets in it
    // is ignored like a malformed request (the same pool again), never dialled.
    const std::string where = host.find(':') != std::string::npos ? "[" + host + "]:" + port : host + ":" + port;
    std::string why;
    auto u = parse_pool_url(std::string(tls ? "stratum+ssl://" : "stratum+tcp://") + where, &why);
    if (u && u->host == host && u->port == port) r.url = std::move(u);
  }
  // Seconds: a whole number, or a string holding one ("5"), as some pools send it.
  std::int64_t wait = 0;
  if (p.size() >= 3 && p[2].is_int64()) {
    wait = p[2].as_int64();
  } else if (p.size() >= 3 && p[2].is_string()) {
    const std::string_view s = p[2].as_string();
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), wait);
    if (ec != std::errc() || end != s.data() + s.size()) wait = 0;
  }
  r.wait = std::chrono::milliseconds(std::clamp<std::int64_t>(wait, 0, 3600) * 1000);
  return r;
}

std::optional<std::string> parse_fingerprint(const std::string& text, std::string* why) {
  std::string t = text;
  if (auto eq = t.find('='); eq != std::string::npos) t.erase(0, eq + 1);  // "sha256 Fingerprint=AB:CD:..."
  std::string hex;
  for (char c : t) {
    if (c == ':' || std::isspace(static_cast<unsigned char>(c))) continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      *why = "a SHA-256 fingerprint is 64 hex digits (colons allowed)";
      return std::nullopt;
    }
    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (hex.size() != 64) {
    *why = "a SHA-256 fingerprint is 64 hex digits (colons allowed), not " + std::to_string(hex.size());
    return std::nullopt;
  }
  return hex;
}

std::unique_ptr<ssl::context> make_client_tls(const TlsVerify& v) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  if (v.insecure || !v.fingerprints.empty()) {
    // Nothing to check during the handshake: a pin is compared after it.
    ctx->set_verify_mode(ssl::verify_none);
    return ctx;
  }
  ctx->set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  if (!v.ca_file.empty()) {
    ctx->load_verify_file(v.ca_file, ec);
    if (ec) throw std::runtime_error("--tls-ca " + v.ca_file + ": cannot load CA certificates: " + ec.message());
  } else {
    ctx->set_default_verify_paths(ec);
    if (ec) throw std::runtime_error("cannot load the system CA store: " + ec.message());
  }
  return ctx;
}

namespace {
bool is_ip_address(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

std::string sha256_of_peer_certificate(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  const bool ok = X509_digest(cert, EVP_sha256(), md, &n) == 1;
  X509_free(cert);
  if (!ok) return {};
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < n; ++i) {
    hex += digits[md[i] >> 4];
    hex += digits[md[i] & 15];
  }
  return hex;
}

// The handshake's failure as a value, for use with `||` (see connect_stream()).
awaitable<boost::system::error_code> handshake(Stream& s) {
  try {
    co_await s.handshake();
  } catch (const boost::system::system_error& e) {
    co_return e.code();
  }
  co_return boost::system::error_code{};
}
}  // namespace

std::string no_address_of_family(const std::string& host, Family f) {
  return "'" + host + "' has no " + (f == Family::v6 ? "IPv6" : "IPv4") + " address";
}

awaitable<std::unique_ptr<Stream>> connect_stream(const PoolUrl& url, ssl::context& tls, const TlsVerify& verify,
                                                  std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  const auto resolved = co_await resolver.async_resolve(url.host, url.port, asio::use_awaitable);
  std::vector<tcp::endpoint> eps;
  for (const auto& e : resolved)
    if (family_allows(url.family, e.endpoint().address().is_v6())) eps.push_back(e.endpoint());
  if (eps.empty()) throw std::runtime_error(no_address_of_family(url.host, url.family));
  tcp::socket sock(ex);
  asio::steady_timer deadline(ex, timeout);
  // Errors come back as codes, not exceptions: `||` waits for the first operation that
  // succeeds, so a refused connection would otherwise sit out the whole timeout.
  boost::system::error_code ec;
  auto connected = co_await (asio::async_connect(sock, eps, asio::redirect_error(asio::use_awaitable, ec)) ||
                             deadline.async_wait(asio::use_awaitable));
  if (connected.index() == 1) throw std::runtime_error("connect timed out");
  if (ec) throw std::runtime_error("cannot connect: " + ec.message());
  if (!url.tls) co_return make_tcp_stream(std::move(sock));
  // SNI names hosts, never addresses (RFC 6066).
  const bool ip = is_ip_address(url.host);
  auto stream = make_tls_stream(std::move(sock), tls, false, ip ? std::string() : url.host);
  SSL* ssl = stream->tls_native();
  const bool check_chain = !verify.insecure && verify.fingerprints.empty();
  if (check_chain) {
    // The certificate must name the host the URL does (OpenSSL checks it with the chain).
    const int set = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url.host.c_str())
                       : SSL_set1_host(ssl, url.host.c_str());
    if (set != 1) throw std::runtime_error("TLS: cannot check the certificate against '" + url.host + "'");
  }
  deadline.expires_after(timeout);
  auto hs = co_await (handshake(*stream) || deadline.async_wait(asio::use_awaitable));
  if (hs.index() == 1) throw std::runtime_error("TLS handshake timed out");
  if (const auto& e = std::get<0>(hs)) {
    const long result = SSL_get_verify_result(ssl);
    if (check_chain && result != X509_V_OK)
      throw std::runtime_error(std::string("TLS: certificate verify failed: ") + X509_verify_cert_error_string(result) +
                               " (" + url.host +
                               "; --tls-ca FILE trusts a private CA, --tls-fingerprint pins a certificate)");
    throw std::runtime_error("TLS handshake failed: " + e.message());
  }
  if (const auto& pins = verify.fingerprints; !pins.empty()) {
    const std::string got = sha256_of_peer_certificate(ssl);
    if (got.empty() || std::find(pins.begin(), pins.end(), got) == pins.end()) {
      std::string wanted = pins[0];
      for (std::size_t i = 1; i < pins.size(); ++i) wanted += (i + 1 == pins.size() ? " or " : ", ") + pins[i];
      throw std::runtime_error("TLS: certificate fingerprint mismatch: the pool's certificate has SHA-256 " +
                               (got.empty() ? std::string("(none)") : got) + ", --tls-fingerprint wants " + wanted);
    }
  }
  co_return stream;
}

}  // namespace hf::netio
