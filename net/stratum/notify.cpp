#include "net/stratum/notify.hpp"

#include "net/stratum/json_rpc.hpp"

namespace hf::stratum {

namespace json = boost::json;

json::array notify_params(const mining::StratumJob& job) {
  const mining::NotifyFields f = mining::to_notify(job);
  json::array branch;
  for (const std::string& h : f.merkle_branch) branch.emplace_back(h);
  return json::array{f.job_id, f.prevhash, f.coinb1, f.coinb2, branch, f.version, f.nbits, f.ntime, f.clean};
}

// Every job parse_notify accepts makes a mining.notify line a pool-line reader takes: both
// coinbase parts in hex, the branch (64 hex digits, quotes and a comma each), a job id with
// every character escaped (\u00XX, or a coordinator's own id with a resend suffix), and the
// fixed fields and framing with room to spare. So a proxy forwards whatever job it could parse.
static_assert(2 * 2 * mining::kMaxCoinbasePart + mining::kMaxBranch * (64 + 3) + 6 * mining::kMaxJobId + 1024 <=
              kMaxPoolLine);

std::optional<mining::StratumJob> job_from_notify(const json::array& p, std::string* why) {
  mining::NotifyFields f;
  auto str = [&](std::size_t i, std::string* out) {
    if (i >= p.size() || !p[i].is_string()) return false;
    *out = p[i].as_string();
    return true;
  };
  bool ok = p.size() >= 9 && str(0, &f.job_id) && str(1, &f.prevhash) && str(2, &f.coinb1) && str(3, &f.coinb2) &&
            p[4].is_array() && str(5, &f.version) && str(6, &f.nbits) && str(7, &f.ntime) && p[8].is_bool();
  if (ok)
    for (const json::value& b : p[4].as_array()) {
      if (!b.is_string())
        ok = false;
      else
        f.merkle_branch.emplace_back(b.as_string());
    }
  if (!ok) {
    *why = "mining.notify params have the wrong shape";
    return std::nullopt;
  }
  f.clean = p[8].as_bool();
  return mining::parse_notify(f, why);
}

}  // namespace hf::stratum
