// --tls-ca, --tls-fingerprint and --tls-insecure: how a client of a stratum+ssl pool (the
// worker, or the coordinator in proxy mode) checks the pool's certificate. The default is the
// system CA store and the URL's host name (netio::TlsVerify).
#pragma once
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "apps/cli_util.hpp"
#include "net/io/connect.hpp"

namespace hf::cli {

struct TlsOptions {
  std::string ca;
  std::vector<std::string> fingerprints;
  bool insecure = false;
};

// `pool` names the server in the help text ("the pool", "the upstream pool").
inline void add_tls_options(CLI::App* sub, TlsOptions& o, const std::string& pool) {
  sub->add_option("--tls-ca", o.ca,
                  "stratum+ssl: trust the CA certificates in this PEM file for " + pool +
                      " instead of the system's (a private CA)");
  sub->add_option("--tls-fingerprint", o.fingerprints,
                  "stratum+ssl: accept exactly the certificate with this SHA-256 (64 hex digits, colons allowed, as "
                  "openssl x509 -fingerprint -sha256 prints it); no CA or name check. Give it again for each "
                  "failover pool's certificate: any pinned one is accepted")
      ->allow_extra_args(false);
  sub->add_flag("--tls-insecure", o.insecure,
                "stratum+ssl: do not check " + pool + "'s certificate at all (encrypted, but anyone on the path " +
                    "can pose as " + pool + ")");
}

// Each --tls-fingerprint given, parsed; a usage error for one that is not a SHA-256.
inline std::vector<std::string> fingerprints_of(const std::vector<std::string>& given) {
  std::vector<std::string> out;
  for (const std::string& text : given) {
    std::string why;
    auto fp = netio::parse_fingerprint(text, &why);
    if (!fp) usage_error("--tls-fingerprint: " + why);
    out.push_back(*fp);
  }
  return out;
}

// Usage errors for a bad or contradictory choice; `who` prefixes the warning that
// --tls-insecure always prints (even with --quiet), so an unchecked link never goes unseen.
inline netio::TlsVerify tls_verify(const TlsOptions& o, const char* who, const std::string& pool) {
  netio::TlsVerify v;
  if (o.insecure + !o.ca.empty() + !o.fingerprints.empty() > 1)
    usage_error("--tls-ca, --tls-fingerprint and --tls-insecure are three ways to check " + pool + ": give one");
  v.fingerprints = fingerprints_of(o.fingerprints);
  v.ca_file = o.ca;
  v.insecure = o.insecure;
  if (v.insecure)
    std::fprintf(stderr,
                 "%s: warning: --tls-insecure: %s's TLS certificate is not checked; anyone on the path can "
                 "pose as %s\n",
                 who, pool.c_str(), pool.c_str());
  return v;
}

}  // namespace hf::cli
