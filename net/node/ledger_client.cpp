#include "net/node/ledger_client.hpp"

#include <thread>

#include "net/node/ledger_json.hpp"
#include "net/node/node.hpp"

namespace hf::node::ledger {

LedgerClient::LedgerClient(const ChainSpec& spec, ClientConfig cfg)
    : spec_(spec), cfg_(std::move(cfg)), headers_(spec_) {
  for (const auto& url : cfg_.nodes)
    sessions_.push_back(std::make_unique<netio::HttpSession>(url, cfg_.tls, cfg_.timeout, &io_));
  synced_.assign(sessions_.size(), 0);
  suspect_until_.assign(sessions_.size(), 0);
}

std::optional<Json> LedgerClient::get_json(std::size_t i, const std::string& path, std::string* why) {
  try {
    netio::HttpResult r = sessions_[i]->get(path);
    ParseResult pr = parse_json(r.body, {.max_depth = 64, .max_bytes = r.body.size() + 1});
    if (!pr.value) {
      *why = sessions_[i]->base() + ": HTTP " + std::to_string(r.status) + ", not JSON";
      return std::nullopt;
    }
    if (r.status != 200) {
      const Json* e = pr.value->is_object() ? pr.value->find("error") : nullptr;
      *why = sessions_[i]->base() + ": HTTP " + std::to_string(r.status) +
             (e && e->is_string() ? ": " + e->as_string() : std::string());
      return std::nullopt;
    }
    return std::move(pr.value);
  } catch (const std::runtime_error& e) {
    *why = e.what();
    return std::nullopt;
  }
}

void LedgerClient::sync_headers() {
  for (std::size_t i = 0; i < sessions_.size(); ++i) {
    for (int round = 0; round < 10000; ++round) {
      std::string why;
      // Back up a few blocks so a branch that forks just below what was fetched still links.
      const std::int64_t from = std::max<std::int64_t>(1, synced_[i] - 8);
      auto j = get_json(i, "/api/headers?from=" + std::to_string(from) + "&count=2000", &why);
      if (!j) {
        warn("headers: " + why);
        break;
      }
      const Json* list = j->find("headers");
      if (!list || !list->is_array()) {
        warn(sessions_[i]->base() + ": headers: malformed reply");
        break;
      }
      std::string bad;
      for (const Json& h : list->items()) {
        bad = headers_.add(h);
        if (!bad.empty()) break;
      }
      if (!bad.empty()) {
        if (synced_[i] > 0 && bad.rfind("unknown previous", 0) == 0) {
          synced_[i] = 0;  // forked deeper than the back-up: fetch it all again
          continue;
        }
        warn(sessions_[i]->base() + " sent a header that does not check (" + bad + "); its headers are ignored");
        break;
      }
      const std::int64_t got = static_cast<std::int64_t>(list->items().size());
      synced_[i] = from + got;
      if (got < 2000 - 8) break;
    }
  }
}

std::uint64_t LedgerClient::next_seq(const PublicKey& account) {
  for (std::size_t i = 0; i < sessions_.size(); ++i) {
    std::string why;
    auto j = get_json(i, "/api/account/" + hex_of(account), &why);
    if (!j) {
      warn(why);
      continue;
    }
    const Json* s = j->find("pool_next_seq");
    if (s && s->is_int() && *s->as_int64() > 0) return static_cast<std::uint64_t>(*s->as_int64());
  }
  throw std::runtime_error("no node answered with the account's next sequence number");
}

SubmitResult LedgerClient::submit(const Operation& op) {
  const std::string body = dump_python(op_to_json(op));
  SubmitResult out;
  for (std::size_t i = 0; i < sessions_.size(); ++i) {
    try {
      netio::HttpResult r = sessions_[i]->post("/api/ops", body);
      ParseResult pr = parse_json(r.body, {.max_depth = 16, .max_bytes = r.body.size() + 1});
      out.status = r.status;
      out.body = pr.value ? std::move(*pr.value) : Json::object({{"error", Json::string("reply not JSON")}});
      out.node = sessions_[i]->base();
      if (r.status >= 500) {
        warn(out.node + ": HTTP " + std::to_string(r.status));
        continue;
      }
      return out;
    } catch (const std::runtime_error& e) {
      warn(e.what());
    }
  }
  return out;
}

std::optional<Json> LedgerClient::wait_confirmed(const std::string& id, std::int64_t k,
                                                 std::chrono::milliseconds deadline, bool* unreached,
                                                 std::string* first_why) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  const std::size_t n = sessions_.size();
  const std::size_t need = (n - 1) / 3 + 1;
  for (;;) {
    // block hash -> (nodes saying it holds the operation with k confirmations, a status)
    std::map<std::string, std::pair<std::size_t, Json>> votes;
    std::size_t answered = 0;
    std::string round_why;
    for (std::size_t i = 0; i < n; ++i) {
      std::string why;
      auto j = get_json(i, "/api/ops/" + id, &why);
      if (!j) {
        if (round_why.empty()) round_why = why;
        continue;
      }
      ++answered;
      const Json* st = j->find("status");
      const Json* conf = j->find("confirmations");
      const Json* block = j->find("block");
      if (st && st->is_string() && st->as_string() == "committed" && conf && conf->is_int() &&
          *conf->as_int64() >= k && block && block->is_string()) {
        auto& v = votes[block->as_string()];
        if (++v.first == 1) v.second = *j;
      }
    }
    for (auto& [block, v] : votes)
      if (v.first >= need) return v.second;
    if (std::chrono::steady_clock::now() >= until) {
      if (unreached) *unreached = answered == 0;
      if (first_why) *first_why = round_why;
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

CheckedValue LedgerClient::read_proven(const std::string& path, const std::string& key, EntryKind kind) {
  CheckedValue last;
  last.why = "no node answered";
  // Nodes that lied lately are asked last.
  const double now = now_seconds();
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < sessions_.size(); ++i)
    if (suspect_until_[i] <= now) order.push_back(i);
  for (std::size_t i = 0; i < sessions_.size(); ++i)
    if (suspect_until_[i] > now) order.push_back(i);
  for (std::size_t i : order) {
    std::string why;
    auto j = get_json(i, path + "?depth=" + std::to_string(cfg_.rules.k), &why);
    if (!j) {
      warn(why);
      continue;
    }
    ProofRules rules = cfg_.rules;
    rules.now = now_seconds();
    CheckedValue v = check_proven(*j, key, kind, headers_, rules);
    if (v.ok) return v;
    if (v.headers_short) {
      // A warm client checks against the headers it holds; when they fall short (a block it
      // has not seen, not deep enough yet, an old tip) it fetches more and judges again.
      sync_headers();
      rules.now = now_seconds();
      v = check_proven(*j, key, kind, headers_, rules);
      if (v.ok) return v;
    }
    warn(sessions_[i]->base() + " gave an answer that does not check: " + v.why);
    if (!v.headers_short) suspect_until_[i] = now_seconds() + 60;
    last = v;
  }
  return last;
}

QuorumResult LedgerClient::read_quorum(const std::string& path, EntryKind kind) {
  const std::int64_t k = cfg_.rules.k;
  std::vector<netio::HttpSession*> all;
  for (auto& s : sessions_) all.push_back(s.get());
  auto ask = [&](const std::string& query) {
    std::vector<netio::HttpResult> replies = netio::HttpSession::call_all(all, path + query);
    std::vector<NodeAnswer> answers(sessions_.size());
    for (std::size_t i = 0; i < sessions_.size(); ++i) {
      answers[i].node = sessions_[i]->base();
      const netio::HttpResult& r = replies[i];
      ParseResult pr = parse_json(r.body, {.max_depth = 64, .max_bytes = r.body.size() + 1});
      answers[i].reachable = r.status == 200 && pr.value.has_value();
      answers[i].error = r.status == 0 ? r.error : "HTTP " + std::to_string(r.status);
      if (answers[i].reachable) answers[i].reply = std::move(*pr.value);
    }
    return answers;
  };
  auto answers = ask("?depth=" + std::to_string(k));
  QuorumResult q = quorum(answers, kind, k);
  if (!q.ok) {
    // Tips differ, so the k-deep blocks do: ask everyone at the lowest of those heights.
    std::int64_t low = -1;
    for (const auto& a : answers) {
      const Json* b = a.reachable && a.reply.is_object() ? a.reply.find("block") : nullptr;
      const Json* h = b && b->is_object() ? b->find("height") : nullptr;
      if (h && h->is_int() && (low < 0 || *h->as_int64() < low)) low = *h->as_int64();
    }
    if (low >= 0) q = quorum(ask("?height=" + std::to_string(low)), kind, k);
  }
  for (const auto& d : q.disagreed) warn(d + " disagreed with the quorum (it said " + q.disagreement + ")");
  return q;
}

}  // namespace hf::node::ledger
