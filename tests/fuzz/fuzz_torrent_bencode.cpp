// Bencode (net/torrent/bencode.*): every .torrent file, tracker reply and extension message
// goes through it. Properties: no crash; a refusal has a reason; an accepted value's spans lie
// inside the input; input that was canonical (no warning) encodes back to the same bytes;
// any accepted value's encoding decodes to the same value and encodes identically.
#include "net/torrent/bencode.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in = hf::fuzz::text_of(data, size);
  hf::torrent::DecodeLimits lim;
  lim.max_items = 100'000;
  auto r = hf::torrent::bdecode(in, lim);
  if (!r.value) {
    HF_FUZZ_CHECK(!r.error.empty());
    return 0;
  }
  HF_FUZZ_CHECK(r.value->begin() == 0 && r.value->end() == in.size());
  std::string once = hf::torrent::bencode(*r.value);
  if (r.warnings.empty()) HF_FUZZ_CHECK(once == in);
  auto again = hf::torrent::bdecode(once, lim);
  HF_FUZZ_CHECK(again.value.has_value() && again.warnings.empty());
  HF_FUZZ_CHECK(hf::torrent::bencode(*again.value) == once);
  return 0;
}
