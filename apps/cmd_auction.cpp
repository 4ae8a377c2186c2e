// `hashforge auction`: the auction ledger's client (docs/auction.md). Keys, signed
// operations, waiting for confirmations, and reads a lying node cannot fake (proof-checked
// or quorum). Parses options and prints; net/node/ledger_client does the talking.

#include <filesystem>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "apps/cli_checks.hpp"
#include "apps/cli_util.hpp"
#include "apps/commands.hpp"
#include "apps/tls_options.hpp"
#include "hashforge/hex.hpp"
#include "net/node/ledger_client.hpp"
#include "net/node/ledger_json.hpp"
#include "net/node/spec.hpp"

namespace hf::cli {
namespace {

using namespace hf::node;
using namespace hf::node::ledger;

struct Opts {
  std::string action;
  std::string key_file, spec_file, ca;
  std::vector<std::string> fingerprints;
  std::vector<std::string> nodes;
  std::string to, item, auction, account, op_id, check = "proof";
  std::uint64_t amount = 0, closes_at = 0, seq = 0;
  std::int64_t k = 6;
  double wait = 0, timeout = 10, max_tip_age = 60;
  bool insecure = false, quiet = false, force = false;
};

KeyPair load_key(const std::string& path) {
  Bytes text = read_file(path, 4096);
  std::string s(text.begin(), text.end());
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  auto raw = from_hex(s);
  if (!raw || raw->size() != 32) failure("key file " + path + ": expected 64 hex digits (an Ed25519 seed)");
  std::array<std::uint8_t, 32> seed{};
  std::copy(raw->begin(), raw->end(), seed.begin());
  auto kp = keypair_from_seed(seed);
  if (!kp) failure("key file " + path + ": OpenSSL refused the seed");
  return *kp;
}

Hash hex32_arg(const std::string& s, const char* what) {
  auto h = hash_of_hex(s);
  if (!h) usage_error(std::string(what) + " must be 64 lowercase hex digits");
  return *h;
}

void print(const Json& j) { std::printf("%s\n", dump_python(j).c_str()); }

int keygen(const Opts& o) {
  // A key file is an account: writing over one loses it for good.
  std::error_code ec;
  if (!o.force && std::filesystem::exists(std::filesystem::symlink_status(o.key_file, ec)))
    failure(o.key_file + " exists: keygen does not replace a key (--force to do so)");
  auto kp = generate_keypair();
  if (!kp) failure("OpenSSL could not make a key");
  std::string text = to_hex(ByteView(kp->seed.data(), kp->seed.size())) + "\n";
  // Private from its first byte: the seed is the account.
  write_file_atomic(o.key_file, {ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size())},
                    netio::kPrivateFile);
  print(Json::object({{"account", Json::string(hex_of(kp->pub))}, {"user_id", Json::string(user_id(kp->pub))},
                      {"key_file", Json::string(o.key_file)}}));
  return 0;
}

int run_auction(const Opts& o) {
  if (o.action == "keygen") return keygen(o);
  if (o.action == "id") {
    KeyPair kp = load_key(o.key_file);
    print(Json::object({{"account", Json::string(hex_of(kp.pub))}, {"user_id", Json::string(user_id(kp.pub))}}));
    return 0;
  }
  if (o.spec_file.empty()) usage_error("--chain-spec FILE is needed: it names the network and its rules");
  if (o.nodes.empty()) usage_error("give the nodes with --node URL (repeatable)");
  Bytes text = read_file(o.spec_file, 1024 * 1024);
  std::string why;
  auto spec = parse_spec(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()), &why);
  if (!spec) usage_error("chain spec " + o.spec_file + ": " + why);
  if (!spec->ledger) usage_error("chain spec " + o.spec_file + " has no \"ledger\"");
  ClientConfig cfg;
  cfg.nodes = o.nodes;
  cfg.tls.ca_file = o.ca;
  cfg.tls.insecure = o.insecure;
  cfg.tls.fingerprints = fingerprints_of(o.fingerprints);
  cfg.timeout = std::chrono::milliseconds(static_cast<long long>(o.timeout * 1000));
  cfg.rules.k = o.k;
  cfg.rules.max_tip_age_seconds = o.max_tip_age;
  cfg.warn = [q = o.quiet](const std::string& l) {
    if (!q) std::fprintf(stderr, "hashforge: warning: %s\n", l.c_str());
  };
  std::unique_ptr<LedgerClient> client;
  try {
    client = std::make_unique<LedgerClient>(*spec, cfg);
  } catch (const std::runtime_error& e) {
    usage_error(e.what());
  }

  // Reads.
  auto read = [&](const std::string& path, const std::string& key, EntryKind kind) {
    Json out;
    if (o.check == "quorum") {
      QuorumResult q = client->read_quorum(path, kind);
      if (!q.ok) failure("no quorum: " + q.why);
      Json agreed = Json::array(), disagreed = Json::array();
      for (const auto& n : q.agreed) agreed.push(Json::string(n));
      for (const auto& n : q.disagreed) disagreed.push(Json::string(n));
      out = Json::object({{"found", Json::boolean(q.value.found)},
                          {"value", q.value.value},
                          {"height", Json::integer(q.value.height)},
                          {"block", Json::string(q.value.block)},
                          {"checked", Json::string("quorum")},
                          {"agreed", std::move(agreed)},
                          {"disagreed", std::move(disagreed)}});
    } else {
      CheckedValue v = client->read_proven(path, key, kind);
      if (!v.ok) failure("no node gave an answer that checks: " + v.why);
      out = Json::object({{"found", Json::boolean(v.found)},
                          {"value", v.value},
                          {"height", Json::integer(v.height)},
                          {"block", Json::string(v.block)},
                          {"checked", Json::string("proof")},
                          {"tip_height", Json::integer(client->headers().tip().height)}});
    }
    print(out);
    return 0;
  };
  if (o.action == "balance") {
    Hash acct = hex32_arg(o.account, "the account");
    return read("/api/account/" + hex_of(acct), account_key(acct), EntryKind::account);
  }
  if (o.action == "show") {
    Hash id = hex32_arg(o.auction, "the auction id");
    return read("/api/auction/" + hex_of(id), auction_key(id), EntryKind::auction);
  }
  if (o.action == "escrow") {
    Hash id = hex32_arg(o.auction, "the auction id");
    Hash acct = hex32_arg(o.account, "the account");
    return read("/api/auction/" + hex_of(id) + "/bid/" + hex_of(acct), escrow_key(id, acct), EntryKind::escrow);
  }
  if (o.action == "status") {
    hex32_arg(o.op_id, "the operation id");
    bool unreached = false;
    std::string why;
    auto st = client->wait_confirmed(o.op_id, o.k, std::chrono::milliseconds(static_cast<long long>(o.wait * 1000)),
                                     &unreached, &why);
    if (!st && unreached) failure("no node answered (" + why + ")");
    if (!st) failure("operation " + o.op_id + " is not confirmed " + std::to_string(o.k) + " deep by a quorum of nodes");
    print(*st);
    return 0;
  }

  // Operations.
  KeyPair kp = load_key(o.key_file);
  Operation op;
  if (o.action == "money") {
    op.kind = OpKind::create_money;
    op.to = hex32_arg(o.to, "--to");
    op.amount = o.amount;
  } else if (o.action == "transfer") {
    op.kind = OpKind::transfer;
    op.to = hex32_arg(o.to, "--to");
    op.amount = o.amount;
  } else if (o.action == "create") {
    op.kind = OpKind::create_auction;
    op.item = o.item;
    op.amount = o.amount;
    op.closes_at = o.closes_at;
  } else if (o.action == "bid") {
    op.kind = OpKind::bid;
    op.auction = hex32_arg(o.auction, "--auction");
    op.amount = o.amount;
  } else if (o.action == "close" || o.action == "cancel") {
    op.kind = o.action == "close" ? OpKind::close_auction : OpKind::cancel_auction;
    op.auction = hex32_arg(o.auction, "--auction");
  }
  op.account = kp.pub;
  try {
    op.seq = o.seq ? o.seq : client->next_seq(kp.pub);
  } catch (const std::runtime_error& e) {
    failure(e.what());
  }
  if (std::string bad = check_shape(op); !bad.empty()) usage_error(bad);
  sign_op(op, kp, spec->id);
  SubmitResult r = client->submit(op);
  if (r.status == 0) failure("no node took the operation");
  if (r.status != 200 && r.status != 202) {
    const Json* e = r.body.is_object() ? r.body.find("error") : nullptr;
    failure(r.node + " refused the operation (HTTP " + std::to_string(r.status) +
            "): " + (e && e->is_string() ? e->as_string() : std::string("no reason given")));
  }
  const std::string id = hex_of(op_id(op, spec->id));
  Json out = Json::object({{"op_id", Json::string(id)}, {"receipt", r.body}});
  if (op.kind == OpKind::create_auction) out.set("auction", Json::string(id));
  if (o.wait > 0) {
    auto st = client->wait_confirmed(id, o.k, std::chrono::milliseconds(static_cast<long long>(o.wait * 1000)));
    if (!st) {
      print(out);
      failure("not confirmed " + std::to_string(o.k) + " deep within " + std::to_string(o.wait) + " s");
    }
    out.set("committed", *st);
  }
  print(out);
  return 0;
}

}  // namespace

void add_auction(CLI::App& app, Runner& run) {
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("auction", "The auction ledger's client: keys, signed operations, checked reads");
  sub->require_subcommand(1);
  auto common = [&](CLI::App* c, bool key) {
    if (key) c->add_option("--key", o->key_file, "The account's key file (from keygen)")->required();
    c->add_option("--chain-spec", o->spec_file, "The network's chain spec (JSON)")->required();
    c->add_option("--node", o->nodes, "A node's API URL (http:// or https://); repeatable, every node for quorum reads")
        ->required();
    c->add_option("--tls-ca", o->ca, "https: trust the CA certificates in this PEM file");
    c->add_option("--tls-fingerprint", o->fingerprints,
                  "https: accept exactly the certificate with this SHA-256; again for each node's certificate")
        ->allow_extra_args(false);
    c->add_flag("--tls-insecure", o->insecure, "https: do not check certificates (anyone on the path can pose as a node)");
    c->add_option("--k", o->k, "Confirmations: blocks an answer or an operation must be buried under (default 6)")
        ->check(check::whole(0, 100));
    c->add_option("--timeout", o->timeout, "Seconds per request (default 10)")->check(check::seconds(0.01, 3600));
    c->add_flag("--quiet", o->quiet, "No warnings on stderr");
  };
  auto action = [&](const char* name, const char* help, bool key) {
    CLI::App* c = sub->add_subcommand(name, help);
    common(c, key);
    c->callback([o, name] { o->action = name; });
    return c;
  };
  CLI::App* kg = sub->add_subcommand("keygen", "Make a new account key (an Ed25519 seed, hex, mode 0600)");
  kg->add_option("--out", o->key_file, "Where to write the key (an existing file is kept: see --force)")->required();
  kg->add_flag("--force", o->force, "Replace an existing key file (its account is lost unless saved elsewhere)");
  kg->callback([o] { o->action = "keygen"; });
  CLI::App* id = sub->add_subcommand("id", "Print the account (public key) and user id of a key file");
  id->add_option("--key", o->key_file, "The key file")->required();
  id->callback([o] { o->action = "id"; });

  auto wait_opt = [&](CLI::App* c) {
    c->add_option("--wait", o->wait, "Wait up to this many seconds for --k confirmations agreed by a quorum")
        ->check(check::seconds(0, check::kDay, false, true));
    c->add_option("--seq", o->seq, "The operation's sequence number (default: the account's next, asked of a node)")
        ->check(check::whole(1, kMaxAmount));
  };
  CLI::App* c = action("money", "Create money (administrators only) for an account", true);
  c->add_option("--to", o->to, "The receiving account")->required();
  c->add_option("--amount", o->amount, "How much")->required()->check(check::whole(1, kMaxAmount));
  wait_opt(c);
  c = action("transfer", "Send money from the key's account", true);
  c->add_option("--to", o->to, "The receiving account")->required();
  c->add_option("--amount", o->amount, "How much")->required()->check(check::whole(1, kMaxAmount));
  wait_opt(c);
  c = action("create", "Open an auction; its id is the operation's", true);
  c->add_option("--item", o->item, "What is sold (1..200 bytes)")->required();
  c->add_option("--min-bid", o->amount, "The lowest bid taken")->required()->check(check::whole(1, kMaxAmount));
  c->add_option("--closes-at", o->closes_at, "The block height it closes at")
      ->required()
      ->check(check::whole(0, kMaxAmount));
  wait_opt(c);
  c = action("bid", "Bid on an auction (the amount is held until it closes)", true);
  c->add_option("--auction", o->auction, "The auction id")->required();
  c->add_option("--amount", o->amount, "The bid")->required()->check(check::whole(1, kMaxAmount));
  wait_opt(c);
  c = action("close", "Close your auction at or after its closing height", true);
  c->add_option("--auction", o->auction, "The auction id")->required();
  wait_opt(c);
  c = action("cancel", "Cancel your auction before any bid", true);
  c->add_option("--auction", o->auction, "The auction id")->required();
  wait_opt(c);

  auto check_opt = [&](CLI::App* c) {
    c->add_option("--check", o->check, "proof: one node's merkle proof against the header chain; quorum: every node")
        ->check(CLI::IsMember({"proof", "quorum"}));
    c->add_option("--max-tip-age", o->max_tip_age, "proof: the newest block seen may be at most this old (default 60 s)")
        ->check(check::seconds(1, check::kYear));
  };
  c = action("balance", "An account's balance, held and free money, checked", false);
  c->add_option("account", o->account, "The account (64 hex digits)")->required();
  check_opt(c);
  c = action("show", "An auction, checked", false);
  c->add_option("auction", o->auction, "The auction id")->required();
  check_opt(c);
  c = action("escrow", "What a bidder holds on an auction, checked", false);
  c->add_option("auction", o->auction, "The auction id")->required();
  c->add_option("account", o->account, "The bidder")->required();
  check_opt(c);
  c = action("status", "Whether an operation is committed --k deep (a quorum of nodes agreeing)", false);
  c->add_option("op_id", o->op_id, "The operation id")->required();
  c->add_option("--wait", o->wait, "Wait up to this many seconds")->check(check::seconds(0, check::kDay, false, true));

  sub->callback([o, &run] { run = [o] { return run_auction(*o); }; });
}

}  // namespace hf::cli
