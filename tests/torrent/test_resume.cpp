// Resume data (net/torrent/resume.hpp): a round trip, every kind of record that does not fit
// the torrent refused with its reason, and the pieces a changed file takes back.
#include "net/torrent/resume.hpp"

#include <gtest/gtest.h>

using hf::torrent::FileStamp;
using hf::torrent::ResumeData;

namespace {

// 10 pieces of 4 blocks, the last of 1.
std::uint32_t blocks(std::uint32_t piece) { return piece == 9 ? 1 : 4; }

ResumeData sample() {
  ResumeData r;
  r.info_hash.fill(0x42);
  r.have.assign(10, false);
  r.have[0] = r.have[3] = r.have[9] = true;
  r.partial[4] = {true, false, true, false};
  r.files = {{1000, 1700000000123456789}, {0, 5}};
  return r;
}

}  // namespace

TEST(Resume, RoundTripsAndRefusesWhatDoesNotFit) {
  const ResumeData r = sample();
  const std::string b = hf::torrent::encode_resume(r);
  std::string why;
  const auto back = hf::torrent::decode_resume(b, r.info_hash, 10, blocks, 2, &why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(back->have, r.have);
  EXPECT_EQ(back->partial, r.partial);
  EXPECT_EQ(back->files, r.files);

  auto refused = [&](const std::string& bytes, const hf::torrent::tracker::InfoHash& ih, std::uint32_t pieces,
                     std::size_t files, const std::string& needle) {
    std::string w;
    EXPECT_FALSE(hf::torrent::decode_resume(bytes, ih, pieces, blocks, files, &w)) << needle;
    EXPECT_NE(w.find(needle), std::string::npos) << w;
  };
  hf::torrent::tracker::InfoHash other = r.info_hash;
  other[0] ^= 1;
  refused(b, other, 10, 2, "another torrent");
  refused(b, r.info_hash, 17, 2, "does not fit 17 pieces");
  refused(b, r.info_hash, 10, 3, "3 files");
  refused(b.substr(0, b.size() - 1), r.info_hash, 10, 2, "not bencode");
  refused("i1e", r.info_hash, 10, 2, "not a dictionary");

  ResumeData bad = r;
  bad.partial[3] = {true, true, false, false};  // piece 3 is complete already
  refused(hf::torrent::encode_resume(bad), r.info_hash, 10, 2, "both complete and partial");
  bad = r;
  bad.partial[4] = std::vector<bool>(9, true);  // piece 4 has 4 blocks
  refused(hf::torrent::encode_resume(bad), r.info_hash, 10, 2, "block bitfield of piece 4");
  bad = r;
  bad.partial[12] = {true};
  refused(hf::torrent::encode_resume(bad), r.info_hash, 10, 2, "not in the torrent");
  // Spare bits set in the piece bitfield.
  std::string spare = b;
  const std::string field = "4:have2:";
  const std::size_t at = spare.find(field);
  ASSERT_NE(at, std::string::npos);
  spare[at + field.size() + 1] = static_cast<char>(spare[at + field.size() + 1] | 0x01);
  refused(spare, r.info_hash, 10, 2, "does not fit 10 pieces");
}

TEST(Resume, AChangedFileTakesBackItsPieces) {
  const ResumeData r = sample();
  // File 0 covers pieces 0..4, file 1 pieces 4..9.
  const std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges = {{0, 4}, {4, 9}};
  EXPECT_TRUE(hf::torrent::pieces_to_recheck(r, r.files, ranges).empty());
  std::vector<FileStamp> now = r.files;
  now[0].mtime_ns += 1;
  EXPECT_EQ(hf::torrent::pieces_to_recheck(r, now, ranges), (std::vector<std::uint32_t>{0, 3, 4}));
  now = r.files;
  now[1].size = 7;
  EXPECT_EQ(hf::torrent::pieces_to_recheck(r, now, ranges), (std::vector<std::uint32_t>{4, 9}));
  EXPECT_EQ(hf::torrent::pieces_to_recheck(r, {}, ranges), (std::vector<std::uint32_t>{0, 3, 4, 9}));
}
