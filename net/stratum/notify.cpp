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

bool notify_fits(const mining::StratumJob& job, std::string* why) {
  mining::StratumJob probe = job;
  probe.id = "ffffffff";  // JobBook ids are a 32-bit counter in hex: at most 8 characters
  probe.clean = false;    // "false" is the longer of the two
  const std::size_t line = encode_notification("mining.notify", notify_params(probe)).size() - 1;  // no newline
  if (line <= kMaxLine) return true;
  *why = "its mining.notify line would be " + std::to_string(line) + " bytes, over the " + std::to_string(kMaxLine) +
         "-byte Stratum line cap (coinbase parts and merkle branch too long)";
  return false;
}

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
