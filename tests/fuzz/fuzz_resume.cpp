// Resume data read back from disk (net/torrent/resume.*): a file anything may have written
// over. Properties: no crash; an accepted record fits the torrent (piece and block counts, no
// piece both complete and partial, the file count) and encodes back to what decodes the same.
#include "net/torrent/resume.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {
std::uint32_t blocks(std::uint32_t piece) { return 1 + piece % 9; }
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint32_t pieces = 1 + data[0] % 40;
  const std::size_t files = data[1] % 4;
  hf::torrent::tracker::InfoHash ih;
  ih.fill(0x42);
  const std::string_view text(reinterpret_cast<const char*>(data) + 2, size - 2);
  std::string why;
  const auto r = hf::torrent::decode_resume(text, ih, pieces, blocks, files, &why);
  if (!r) {
    HF_FUZZ_CHECK(!why.empty());
    return 0;
  }
  HF_FUZZ_CHECK(r->have.size() == pieces && r->files.size() == files);
  for (const auto& [piece, bits] : r->partial) {
    HF_FUZZ_CHECK(piece < pieces && !r->have[piece] && bits.size() == blocks(piece));
  }
  const auto again = hf::torrent::decode_resume(hf::torrent::encode_resume(*r), ih, pieces, blocks, files, &why);
  HF_FUZZ_CHECK(again && again->have == r->have && again->partial == r->partial && again->files == r->files);
  return 0;
}
