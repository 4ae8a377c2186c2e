// mining.notify as a worker or the proxy receives it (net/stratum/notify.*): a pool's line
// through parse_message under the pool-line cap, then job_from_notify. Properties: no crash,
// no exception, bounded sizes on what is accepted (the limits in stratum_job.hpp), and
// notify_params of the job, sent and read again under the same cap, gives the same job (every
// job accepted makes a line that fits it).
#include "net/stratum/json_rpc.hpp"
#include "net/stratum/notify.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/job_same.hpp"

using namespace hf;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string why;
  const auto m = stratum::parse_message(fuzz::text_of(data, size), &why, nullptr, stratum::kMaxPoolLine);
  if (!m || !m->is_request()) return 0;
  const auto job = stratum::job_from_notify(m->params, &why);
  if (!job) {
    HF_FUZZ_CHECK(!why.empty());
    return 0;
  }
  HF_FUZZ_CHECK(!job->id.empty() && job->id.size() <= mining::kMaxJobId);
  HF_FUZZ_CHECK(job->coinb1.size() <= mining::kMaxCoinbasePart && job->coinb2.size() <= mining::kMaxCoinbasePart);
  HF_FUZZ_CHECK(job->merkle_branch.size() <= mining::kMaxBranch);

  // What the coordinator would send for this job, as a line, read back by a worker.
  const std::string line = stratum::encode_notification("mining.notify", stratum::notify_params(*job));
  const auto m2 =
      stratum::parse_message(std::string_view(line).substr(0, line.size() - 1), &why, nullptr, stratum::kMaxPoolLine);
  HF_FUZZ_CHECK(m2.has_value() && m2->method == "mining.notify");
  const auto again = stratum::job_from_notify(m2->params, &why);
  HF_FUZZ_CHECK(again.has_value());
  HF_FUZZ_CHECK(fuzz::job_same(*job, *again));
  return 0;
}
