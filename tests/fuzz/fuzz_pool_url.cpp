// Pool URLs (net/io/connect.*): parse_pool_url reads --url / --upstream, and
// parse_reconnect reads client.reconnect's params from a pool. The input is tried as both: as
// a URL, and, when it is a JSON array, as reconnect params (TLS or not by its length).
// Properties: no crash, no exception; an accepted URL has a host and a port 1..5 digits at
// most 65535, and printing it back (IPv6 in brackets) parses to the same host, port and TLS;
// a reconnect waits at most an hour, and the URL it names is one parse_pool_url accepts
// with the same host, port and TLS (every address the client dials is a well-formed one).
#include <boost/json.hpp>

#include "net/io/connect.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace hf;

namespace {

std::string print(const netio::PoolUrl& u) {
  const std::string host = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  return std::string(u.tls ? "stratum+ssl://" : "stratum+tcp://") + host + ":" + u.port;
}

void check_well_formed(const netio::PoolUrl& u) {
  HF_FUZZ_CHECK(!u.host.empty());
  HF_FUZZ_CHECK(!u.port.empty() && u.port.size() <= 5 && u.port.find_first_not_of("0123456789") == std::string::npos);
  HF_FUZZ_CHECK(std::stoul(u.port) <= 65535);
}

void check_url(const std::string& text) {
  std::string why;
  const auto u = netio::parse_pool_url(text, &why);
  if (!u) {
    HF_FUZZ_CHECK(!why.empty());
    return;
  }
  HF_FUZZ_CHECK(u->text == text);
  HF_FUZZ_CHECK(u->tls == (text.rfind("stratum+tcp://", 0) != 0));
  check_well_formed(*u);
  // A host with brackets in it cannot be printed back unambiguously; it names no real host.
  if (u->host.find_first_of("[]") != std::string::npos) return;
  const auto again = netio::parse_pool_url(print(*u), &why);
  HF_FUZZ_CHECK(again.has_value());
  HF_FUZZ_CHECK(again->host == u->host && again->port == u->port && again->tls == u->tls);
}

void check_reconnect(const boost::json::array& params, bool tls) {
  const netio::Reconnect r = netio::parse_reconnect(params, tls);
  HF_FUZZ_CHECK(r.wait.count() >= 0 && r.wait <= std::chrono::hours(1));
  if (!r.url) return;
  HF_FUZZ_CHECK(r.url->tls == tls);
  check_well_formed(*r.url);
  std::string why;
  const auto again = netio::parse_pool_url(r.url->text, &why);
  HF_FUZZ_CHECK(again.has_value());
  HF_FUZZ_CHECK(again->host == r.url->host && again->port == r.url->port && again->tls == tls);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::text_of(data, size);
  check_url(std::string(text));
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(text, ec);
  if (!ec && v.is_array()) check_reconnect(v.as_array(), size % 2 == 1);
  return 0;
}
