// A ledger client's view of a node cluster (`hashforge auction`, the load generator): one
// keep-alive HTTP(S) session per node, the header chain gathered from all of them, and the
// checked reads of net/node/ledger_reads.hpp. Blocking; one per thread.
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/io/http_session.hpp"
#include "net/node/header_chain.hpp"
#include "net/node/ledger_op.hpp"
#include "net/node/ledger_reads.hpp"

namespace hf::node::ledger {

struct ClientConfig {
  std::vector<std::string> nodes;  // base URLs
  netio::TlsVerify tls;
  std::chrono::milliseconds timeout{10'000};
  ProofRules rules;  // rules.now is filled in per read
  std::function<void(const std::string&)> warn;  // a node that lied or failed, one line
};

struct SubmitResult {
  int status = 0;    // the node's HTTP status (0: unreachable)
  Json body;         // its receipt or {"error": ...}
  std::string node;  // which node answered
};

class LedgerClient {
 public:
  LedgerClient(const ChainSpec& spec, ClientConfig cfg);

  const ChainSpec& spec() const { return spec_; }
  const HeaderChain& headers() const { return headers_; }
  // Fetches new headers from every node (from the height this client holds, backing up
  // when a node's chain forks below it). A node whose headers do not check is reported.
  void sync_headers();

  // The account's next sequence number as the first answering node's pool sees it.
  std::uint64_t next_seq(const PublicKey& account);
  // Posts to the nodes in turn until one answers (a 4xx is an answer).
  SubmitResult submit(const Operation& op);
  // Polls until `op_id_hex` is committed with k confirmations on a block that f+1 nodes
  // agree on (one node when only one is known), or the deadline passes. The status object;
  // at the deadline nullopt, and *unreached (when given) says whether no node answered at all
  // in the last round (with the first node's reason in *why).
  std::optional<Json> wait_confirmed(const std::string& op_id_hex, std::int64_t k, std::chrono::milliseconds deadline,
                                     bool* unreached = nullptr, std::string* why = nullptr);

  // Checked reads. `path` is the API path ("/api/account/<hex>"), `key` the raw entry key.
  CheckedValue read_proven(const std::string& path, const std::string& key, EntryKind kind);
  QuorumResult read_quorum(const std::string& path, EntryKind kind);

 private:
  std::optional<Json> get_json(std::size_t node, const std::string& path, std::string* why);
  const ChainSpec& spec_;
  ClientConfig cfg_;
  HeaderChain headers_;
  boost::asio::io_context io_;  // every session's: quorum reads ask all nodes at once
  std::vector<std::unique_ptr<netio::HttpSession>> sessions_;
  std::vector<std::int64_t> synced_;  // per node: the height fetched up to
  std::vector<double> suspect_until_;  // per node: gave a wrong answer; asked last until then
  void warn(const std::string& line) const {
    if (cfg_.warn) cfg_.warn(line);
  }
};

}  // namespace hf::node::ledger
