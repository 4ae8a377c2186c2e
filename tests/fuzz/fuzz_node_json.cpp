// The node's Python-exact JSON (net/node/json.*): every request body and every block a peer
// sends goes through parse_json, and what it dumps is what gets hashed. Properties: no crash
// on any input; a refusal has a one-line reason; an accepted value dumps (both with and
// without sort_keys) to ASCII that parses back and dumps the same again.
#include <string>

#include "net/node/json.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using hf::node::dump_python;
using hf::node::DumpOptions;
using hf::node::Json;
using hf::node::parse_json;

bool ascii_printable(const std::string& s) {
  for (const char c : s)
    if (c < 0x20 || c > 0x7E) return false;  // json.dumps escapes everything else
  return true;
}

// Raw encoded surrogates (ED A0..BF): the one input whose first round trip may change the
// value, since Python also joins "\ud83d\ude00" on the way back but not the raw bytes.
bool has_raw_surrogate(std::string_view s) {
  for (std::size_t i = 0; i + 1 < s.size(); ++i)
    if (static_cast<unsigned char>(s[i]) == 0xED && static_cast<unsigned char>(s[i + 1]) >= 0xA0) return true;
  return false;
}

Json reparse(const std::string& dumped) {
  const auto r = parse_json(dumped);
  HF_FUZZ_CHECK(r.value.has_value());
  return *r.value;
}

void check_mode(const Json& v, bool exact, DumpOptions opt) {
  const std::string once = dump_python(v, opt);
  HF_FUZZ_CHECK(ascii_printable(once));
  std::string appended = "x";
  dump_python(v, &appended, opt);
  HF_FUZZ_CHECK(appended.compare(1, std::string::npos, once) == 0);
  const Json v2 = reparse(once);
  const std::string twice = dump_python(v2, opt);
  if (exact) {
    HF_FUZZ_CHECK(twice == once);
    if (!opt.sort_keys) HF_FUZZ_CHECK(v2 == v);
  }
  // After one trip every surrogate pair is joined, so from there on the dump is a fixed point.
  HF_FUZZ_CHECK(dump_python(reparse(twice), opt) == twice);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = hf::fuzz::text_of(data, size);
  const auto r = parse_json(text);
  if (!r.value) {
    HF_FUZZ_CHECK(!r.error.empty());
    HF_FUZZ_CHECK(r.error.find('\n') == std::string::npos);
    return 0;
  }
  HF_FUZZ_CHECK(r.error.empty());
  HF_FUZZ_CHECK(*r.value == *r.value);
  const bool exact = !has_raw_surrogate(text);
  check_mode(*r.value, exact, {.sort_keys = false});
  check_mode(*r.value, exact, {.sort_keys = true});
  return 0;
}
