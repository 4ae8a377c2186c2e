// A downloading torrent's files (net/torrent/storage.hpp) on a real temporary folder: writes
// split across files and skipping pads, files made sparse at full size in nested folders,
// reads back with pads and short files as zeros, more files than may stay open, and clear
// errors for bad ranges and paths that cannot be files.
#include "net/torrent/storage.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <numeric>

namespace fs = std::filesystem;
using hf::torrent::DataFile;
using hf::torrent::Storage;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string name = "hf-storage-";
    name += std::to_string(::getpid());
    name += '-';
    name += ::testing::UnitTest::GetInstance()->current_test_info()->name();
    path = fs::temp_directory_path() / name;
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::vector<std::uint8_t> pattern(std::size_t n, std::uint8_t seed) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(seed + i * 7);
  return v;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST(Storage, WritesSplitAcrossFilesAndSkipPads) {
  TempDir t;
  // a (1000 bytes), a pad of 24, b in a sub-folder (5000 bytes), an empty file, c (10 bytes).
  const std::vector<DataFile> files = {{(t.path / "a").string(), 0, 1000, false},
                                       {"", 1000, 24, true},
                                       {(t.path / "sub" / "dir" / "b").string(), 1024, 5000, false},
                                       {(t.path / "empty").string(), 6024, 0, false},
                                       {(t.path / "c").string(), 6024, 10, false}};
  Storage s(files, 6034);
  std::string why;
  ASSERT_TRUE(s.allocate(&why)) << why;
  EXPECT_EQ(fs::file_size(t.path / "a"), 1000u);
  EXPECT_EQ(fs::file_size(t.path / "sub" / "dir" / "b"), 5000u);
  EXPECT_EQ(fs::file_size(t.path / "empty"), 0u);
  struct stat st {};
  ASSERT_EQ(::stat((t.path / "sub" / "dir" / "b").c_str(), &st), 0);
  EXPECT_LT(st.st_blocks * 512, 5000) << "allocated, not written: a hole";
  EXPECT_EQ(std::distance(fs::directory_iterator(t.path), fs::directory_iterator{}), 4) << "no pad file on disk";

  const auto all = pattern(6034, 3);
  // Written as three uneven pieces, the middle one crossing a, the pad and b.
  ASSERT_TRUE(s.write(0, std::span(all).subspan(0, 900), &why)) << why;
  ASSERT_TRUE(s.write(900, std::span(all).subspan(900, 4000), &why)) << why;
  ASSERT_TRUE(s.write(4900, std::span(all).subspan(4900), &why)) << why;
  ASSERT_TRUE(s.sync(&why)) << why;
  EXPECT_EQ(slurp(t.path / "a"), std::string(all.begin(), all.begin() + 1000));
  EXPECT_EQ(slurp(t.path / "sub" / "dir" / "b"), std::string(all.begin() + 1024, all.begin() + 6024));
  EXPECT_EQ(slurp(t.path / "c"), std::string(all.begin() + 6024, all.end()));

  std::vector<std::uint8_t> back(6034);
  ASSERT_TRUE(s.read(0, back, &why)) << why;
  for (std::size_t i = 0; i < back.size(); ++i) {
    const bool in_pad = i >= 1000 && i < 1024;
    ASSERT_EQ(back[i], in_pad ? 0 : all[i]) << i;
  }
  EXPECT_FALSE(s.write(6000, std::span(all).subspan(0, 100), &why));
  EXPECT_NE(why.find("past the torrent's 6034"), std::string::npos) << why;
  EXPECT_FALSE(s.read(6035, std::span(back).subspan(0, 0), &why));
}

TEST(Storage, ShortFilesReadAsZerosAndFewFilesStayOpen) {
  TempDir t;
  std::vector<DataFile> files;
  for (int i = 0; i < 10; ++i) {
    const std::string name{'f', static_cast<char>('0' + i)};
    files.push_back({(t.path / name).string(), i * 100u, 100, false});
  }
  Storage s(files, 1000, 3);  // at most 3 open at once
  std::string why;
  const auto data = pattern(1000, 9);
  for (int round = 0; round < 2; ++round)
    for (int i = 9; i >= 0; --i) ASSERT_TRUE(s.write(i * 100u, std::span(data).subspan(i * 100u, 100), &why)) << why;
  ASSERT_TRUE(s.sync(&why)) << why;
  std::vector<std::uint8_t> back(1000);
  ASSERT_TRUE(s.read(0, back, &why)) << why;
  EXPECT_EQ(back, data);
  // Someone cuts a file short: its missing bytes read as zeros (a recheck then fails those
  // pieces), not as an error.
  fs::resize_file(t.path / "f4", 30);
  ASSERT_TRUE(s.read(400, std::span(back).subspan(0, 100), &why)) << why;
  EXPECT_TRUE(std::equal(back.begin(), back.begin() + 30, data.begin() + 400));
  EXPECT_TRUE(std::all_of(back.begin() + 30, back.begin() + 100, [](std::uint8_t b) { return b == 0; }));
}

TEST(Storage, PathsThatCannotBeFilesAreClearErrors) {
  TempDir t;
  { std::ofstream(t.path / "blocker") << "x"; }
  Storage s({{(t.path / "blocker" / "inside").string(), 0, 10, false}}, 10);
  std::string why;
  EXPECT_FALSE(s.allocate(&why));
  EXPECT_NE(why.find("blocker"), std::string::npos) << why;
  fs::create_directories(t.path / "adir");
  Storage d({{(t.path / "adir").string(), 0, 10, false}}, 10);
  EXPECT_FALSE(d.allocate(&why));
  EXPECT_NE(why.find("adir"), std::string::npos) << why;
}

TEST(Storage, DirectWritesKeepEveryByteWhateverTheAlignment) {
  TempDir t;
  // Two files: a (3 x 64 KiB + 1000 bytes) and b at an unaligned stream offset, written in
  // pieces of 64 KiB from buffers at odd addresses, then overwritten in part: what is read
  // back (through the page cache, after direct writes) is what was written last.
  const std::uint64_t a_len = 3 * 65536 + 1000, b_len = 70001;
  const std::vector<DataFile> files = {{(t.path / "a").string(), 0, a_len, false},
                                       {(t.path / "b").string(), a_len, b_len, false}};
  const std::uint64_t total = a_len + b_len;
  Storage s(files, total);
  s.set_direct_writes(true);
  std::string why;
  ASSERT_TRUE(s.allocate(&why)) << why;
  auto all = pattern(total + 1, 9);
  const std::span<const std::uint8_t> odd(all.data() + 1, total);  // never 4 KiB-aligned
  for (std::uint64_t at = 0; at < total; at += 65536)
    ASSERT_TRUE(s.write(at, odd.subspan(at, std::min<std::uint64_t>(65536, total - at)), &why)) << why;
  auto again = pattern(100000, 77);
  ASSERT_TRUE(s.write(65536 + 123, std::span(again).subspan(0, 100000), &why)) << why;  // crosses a 4 KiB grid
  std::vector<std::uint8_t> want(odd.begin(), odd.end());
  std::copy(again.begin(), again.end(), want.begin() + 65536 + 123);
  ASSERT_TRUE(s.sync(&why)) << why;
  std::vector<std::uint8_t> back(total);
  ASSERT_TRUE(s.read(0, back, &why)) << why;
  EXPECT_TRUE(back == want);
  EXPECT_EQ(slurp(t.path / "a"), std::string(want.begin(), want.begin() + static_cast<std::ptrdiff_t>(a_len)));
  EXPECT_EQ(slurp(t.path / "b"), std::string(want.begin() + static_cast<std::ptrdiff_t>(a_len), want.end()));
  // Where the file system takes O_DIRECT (ext4, xfs, tmpfs on Linux 6.6+), most bytes went
  // around the cache; elsewhere all of them through it, and the data is the same.
  const int probe = ::open((t.path / "a").c_str(), O_WRONLY | O_DIRECT);
  if (probe >= 0) {
    ::close(probe);
    EXPECT_GT(s.direct_bytes(), total / 2);
  } else {
    EXPECT_EQ(s.direct_bytes(), 0u);
  }
}
