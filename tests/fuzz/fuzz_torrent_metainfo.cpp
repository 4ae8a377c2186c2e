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
  HF_FUZZ_CHECK(m->piece_length > 0 && m->total_length > 0 && (m->has_v1 || m->has_v2));
  if (m->has_v1) HF_FUZZ_CHECK(m->piece_count() == (m->total_length + m->piece_length - 1) / m->piece_length);
  std::uint64_t offset = 0;
  std::set<std::vector<std::string>> seen;
  for (const auto& f : m->files) {
    // v1: one stream of files; v2 alone: each file starts at a piece boundary.
    if (m->has_v1)
      HF_FUZZ_CHECK(f.offset == offset);
    else
      HF_FUZZ_CHECK(f.offset >= offset && f.offset % m->piece_length == 0);
    offset = m->has_v1 ? offset + f.length : f.offset + f.length;
    if (m->has_v2 && f.length > 0 && !f.pad) HF_FUZZ_CHECK(f.pieces_root.has_value());
    for (const auto& c : f.path) HF_FUZZ_CHECK(hf::torrent::check_component(c).empty());
    if (!f.pad) HF_FUZZ_CHECK(seen.insert(f.path).second);
  }
  HF_FUZZ_CHECK(m->has_v1 ? offset == m->total_length : offset <= m->total_length);
  return 0;
}
