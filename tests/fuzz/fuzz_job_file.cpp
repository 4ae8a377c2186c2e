// The coordinator's header-job file (net/mining/job_file.*, --header-job): JSON written by
// a person or a script. Properties: no crash, no exception; an accepted file has at least
// one job, each with a sane extranonce2 size, and each job survives the trip to
// mining.notify fields and back unchanged (what workers get is what the file said).
#include "net/mining/job_file.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/job_same.hpp"

using namespace hf;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string why;
  const auto jobs = mining::parse_job_file(fuzz::text_of(data, size), &why);
  if (!jobs) {
    HF_FUZZ_CHECK(!why.empty());
    return 0;
  }
  HF_FUZZ_CHECK(!jobs->empty());
  for (const mining::JobTemplate& t : *jobs) {
    HF_FUZZ_CHECK(t.extranonce2_size >= 1 && t.extranonce2_size <= 16);
    if (t.ntime_now) HF_FUZZ_CHECK(t.job.ntime == 0);
    const auto again = mining::parse_notify(mining::to_notify(t.job), &why);
    HF_FUZZ_CHECK(again.has_value());
    HF_FUZZ_CHECK(fuzz::job_same(t.job, *again));
  }
  return 0;
}
