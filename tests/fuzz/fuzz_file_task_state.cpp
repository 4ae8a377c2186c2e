// The file task's saved state (net/mining/file_task.*, RESULT.state.json): a restarted
// coordinator reads it back with FileTask::from_json. The file is ours, but it lives on disk
// where a crash, a full disk or a person can change it, and a bad one must be refused with a
// reason, never crash the coordinator or resume from a state the task could not have had.
// The spec is fixed (a small file, two rounds, 2^20 nonces per round), so the fuzzer can
// learn the task id from the seeds. Properties: no crash, no exception escapes; an accepted
// state saves (to_json) and loads again to the same state.
#include <boost/json.hpp>

#include <cmath>

#include "net/mining/file_task.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace hf;

namespace {

mining::FileTaskSpec spec() {
  mining::FileTaskSpec s;
  const std::string input = "hashforge fuzz seed file\n";
  s.input.assign(input.begin(), input.end());
  s.identifier = "G06";
  s.rounds = 2;
  s.seconds = 60;
  s.nonces = 1u << 20;
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(fuzz::text_of(data, size), ec);
  if (ec) return 0;
  std::string why;
  const auto task = mining::FileTask::from_json(spec(), v, &why);
  if (!task) {
    HF_FUZZ_CHECK(!why.empty());
    return 0;
  }
  HF_FUZZ_CHECK(task->round() >= 1 && task->round() <= task->spec().rounds + 1);
  HF_FUZZ_CHECK(task->rounds().size() == std::min<std::size_t>(task->round(), task->spec().rounds));
  for (const mining::FileRoundState& r : task->rounds()) {
    HF_FUZZ_CHECK(r.book.done_count() <= task->spec().nonces);
    HF_FUZZ_CHECK(r.book.out_count() == 0);                     // nothing is out with a worker after a restart
    HF_FUZZ_CHECK(std::isfinite(r.elapsed) && r.elapsed >= 0);  // else the next save is not JSON
  }
  const boost::json::object saved = task->to_json();
  const auto again = mining::FileTask::from_json(spec(), saved, &why);
  HF_FUZZ_CHECK(again.has_value());
  HF_FUZZ_CHECK(boost::json::serialize(again->to_json()) == boost::json::serialize(saved));
  return 0;
}
