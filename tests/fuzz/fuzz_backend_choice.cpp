// The backend choice file (engine/src/choice.cpp): the cache under the user's cache folder or
// the file HASHFORGE_CHOICE_FILE pins, either of which may be stale, truncated or hand-edited.
// Properties: no crash; a refusal names its line; an accepted table has only known tasks,
// plausible backend names and finite positive rates, and writing it out and reading it back
// gives the same table.
#include <cmath>
#include <string>

#include "choice.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = hf::fuzz::text_of(data, size);
  std::string why;
  auto t = hf::choice::parse(text, &why);
  if (!t) {
    HF_FUZZ_CHECK(why.rfind("line ", 0) == 0 || why.rfind("empty", 0) == 0);
    return 0;
  }
  HF_FUZZ_CHECK(t->key.find('\n') == std::string::npos);
  for (const hf::MeasuredRate& m : t->rates) {
    HF_FUZZ_CHECK(std::isfinite(m.rate) && m.rate > 0);
    HF_FUZZ_CHECK(!m.backend.empty() && !m.task.empty() && !m.unit.empty());
  }
  std::string why2;
  auto again = hf::choice::parse(hf::choice::format(*t), &why2);
  HF_FUZZ_CHECK(again.has_value());
  HF_FUZZ_CHECK(again->key == t->key);
  HF_FUZZ_CHECK(again->rates.size() == t->rates.size());
  for (std::size_t i = 0; i < t->rates.size(); ++i) {
    HF_FUZZ_CHECK(again->rates[i].task == t->rates[i].task && again->rates[i].backend == t->rates[i].backend);
    // format() keeps 6 significant digits.
    HF_FUZZ_CHECK(std::fabs(again->rates[i].rate - t->rates[i].rate) <= 1e-5 * t->rates[i].rate);
  }
  return 0;
}
