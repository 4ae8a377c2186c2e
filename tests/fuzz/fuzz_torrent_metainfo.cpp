// .torrent files through the metainfo reader (net/torrent/metainfo.*). Properties: no crash;
// a refusal has a reason; what is accepted is self-consistent (piece count matches the
// length, file offsets add up, no file outside the name, no path twice).
#include <set>

#include "net/torrent/metainfo.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string why;
  auto m = hf::torrent::parse_metainfo(hf::fuzz::text_of(data, size), &why);
  if (!m) {
    HF_FUZZ_CHECK(!why.empty());
    return 0;
  }
  HF_FUZZ_CHECK(m->piece_length > 0 && m->total_length > 0);
  HF_FUZZ_CHECK(m->piece_count() == (m->total_length + m->piece_length - 1) / m->piece_length);
  std::uint64_t offset = 0;
  std::set<std::vector<std::string>> seen;
  for (const auto& f : m->files) {
    HF_FUZZ_CHECK(f.offset == offset);
    offset += f.length;
    for (const auto& c : f.path) HF_FUZZ_CHECK(hf::torrent::check_component(c).empty());
    if (!f.pad) HF_FUZZ_CHECK(seen.insert(f.path).second);
  }
  HF_FUZZ_CHECK(offset == m->total_length);
  return 0;
}
