// The creator, the piece hasher and the verifier over real files: every v1 piece and v2
// root checked against OpenSSL (the merkle trees built here from the blocks up), corrupted,
// missing and short data named piece by piece, mapped and read() input alike, and a file
// that shrinks under its mapping (SIGBUS) read as zeros and reported, not a crash.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <tuple>

#include "hashforge/engine.hpp"
#include "net/torrent/bencode.hpp"
#include "net/torrent/create.hpp"
#include "net/torrent/data_reader.hpp"
#include "net/torrent/verify.hpp"

namespace hf::torrent {
namespace {

namespace fs = std::filesystem;
constexpr std::size_t kBlock = 16384;

Sha256 h256(std::string_view s) {
  Sha256 out{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), out.data());
  return out;
}

Sha256 reduce(std::vector<Sha256> level, std::size_t min_leaves, const Sha256& pad = {});

Sha256 root_of(const std::string& data, std::size_t min_leaves = 1) {
  std::vector<Sha256> level;
  for (std::size_t at = 0; at < data.size(); at += kBlock) level.push_back(h256(data.substr(at, kBlock)));
  return reduce(level, min_leaves);
}

// Pairwise up to one node, padded with `pad` to a power of two (at least min_leaves).
Sha256 reduce(std::vector<Sha256> level, std::size_t min_leaves, const Sha256& pad) {
  std::size_t n = 1;
  while (n < std::max(level.size(), min_leaves)) n *= 2;
  level.resize(n, pad);
  while (level.size() > 1) {
    std::vector<Sha256> up;
    for (std::size_t i = 0; i < level.size(); i += 2) {
      std::string pair(64, '\0');
      std::memcpy(pair.data(), level[i].data(), 32);
      std::memcpy(pair.data() + 32, level[i + 1].data(), 32);
      up.push_back(h256(pair));
    }
    level = up;
  }
  return level[0];
}

// A file's v2 root by the letter of BEP 52: for a file longer than a piece, the piece layer
// (full subtrees of piece/16K leaves) padded with the root of an all-zero piece.
Sha256 file_root(const std::string& data, std::size_t piece) {
  if (data.size() <= piece) return root_of(data);
  std::vector<Sha256> layer;
  for (std::size_t at = 0; at < data.size(); at += piece) layer.push_back(root_of(data.substr(at, piece), piece / kBlock));
  // An all-zero piece subtree: zero leaf hashes (not hashes of zero blocks) reduced.
  const Sha256 pad = reduce(std::vector<Sha256>(piece / kBlock), 1);
  return reduce(layer, 1, pad);
}

std::string bytes(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  unsigned x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 23);
  }
  return s;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/hf_piece_check_XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  void write(const std::string& rel, const std::string& data) const {
    const fs::path p = fs::path(path_) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
  }

 private:
  std::string path_;
};

struct Content {
  std::vector<std::pair<std::string, std::string>> files;  // in byte order of their paths
};

// Files chosen for the awkward cases: not a power of two of pieces, shorter than a piece,
// exactly one block, empty, and several pieces long.
Content sample(std::size_t piece) {
  Content c;
  c.files = {{"a/long.bin", bytes(piece * 5 + 12345, 1)},
             {"a/one_block", bytes(kBlock, 2)},
             {"b/empty", ""},
             {"b/short", bytes(1000, 3)},
             {"c", bytes(piece * 2, 4)},
             {"d", bytes(piece + 1, 5)}};
  return c;
}

CreateOptions opts(TorrentFormat f, std::size_t piece, bool map) {
  CreateOptions o;
  o.format = f;
  o.piece_length = piece;
  o.pass.use_mmap = map;
  o.pass.chunk_bytes = piece * 3;  // many chunk boundaries
  return o;
}

// Checks a created torrent against OpenSSL: the v1 pieces over the stream (pads as zeros)
// and each v2 root.
void check_against_openssl(const Metainfo& m, const Content& c) {
  std::string stream;
  std::size_t k = 0;
  for (const FileEntry& f : m.files) {
    ASSERT_EQ(stream.size(), f.offset);
    if (f.pad) {
      stream.append(f.length, '\0');
      continue;
    }
    ASSERT_LT(k, c.files.size());
    const std::string& data = c.files[k++].second;
    ASSERT_EQ(f.length, data.size());
    if (m.has_v2) {
      if (data.empty()) {
        EXPECT_FALSE(f.pieces_root);
      } else {
        ASSERT_TRUE(f.pieces_root);
        EXPECT_EQ(*f.pieces_root, file_root(data, m.piece_length)) << "file " << k;
      }
    }
    stream += data;
    if (m.has_v2 && !m.has_v1) stream.resize((stream.size() + m.piece_length - 1) / m.piece_length * m.piece_length);
  }
  EXPECT_EQ(k, c.files.size());
  if (!m.has_v1) return;
  ASSERT_EQ(m.pieces.size(), (stream.size() + m.piece_length - 1) / m.piece_length * 20);
  for (std::size_t i = 0; i * m.piece_length < stream.size(); ++i) {
    unsigned char d[20];
    const std::string piece = stream.substr(i * m.piece_length, m.piece_length);
    SHA1(reinterpret_cast<const unsigned char*>(piece.data()), piece.size(), d);
    EXPECT_EQ(0, std::memcmp(d, m.pieces.data() + 20 * i, 20)) << "piece " << i;
  }
}

using Fmt = std::tuple<TorrentFormat, std::size_t, bool>;
class Roundtrip : public ::testing::TestWithParam<Fmt> {};

TEST_P(Roundtrip, CreatedTorrentsMatchOpensslAndVerify) {
  const auto [format, piece, map] = GetParam();
  TempDir dir;
  const Content c = sample(piece);
  for (const auto& [rel, data] : c.files) dir.write("share/" + rel, data);
  const CreateResult r = create_torrent(dir.path() + "/share", opts(format, piece, map));
  EXPECT_EQ(r.meta.name, "share");
  EXPECT_EQ(r.meta.has_v1, format != TorrentFormat::v2);
  EXPECT_EQ(r.meta.has_v2, format != TorrentFormat::v1);
  check_against_openssl(r.meta, c);

  PassOptions po;
  po.use_mmap = map;
  po.chunk_bytes = piece * 2;
  const VerifyReport ok = verify_data(r.meta, dir.path() + "/share", po);
  EXPECT_TRUE(ok.ok());
  EXPECT_TRUE(ok.bad.empty());
  if (r.meta.has_v1) {
    EXPECT_EQ(ok.v1_pieces, r.meta.piece_count());
  }

  // One byte flipped in long.bin's piece 3 and one in d's second piece.
  const std::string root = dir.path() + "/share";
  auto flip = [&](const std::string& rel, std::uint64_t at) {
    std::fstream f(root + "/" + rel, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(at));
    char ch = 0;
    f.read(&ch, 1);
    ch = static_cast<char>(ch ^ 0x40);
    f.seekp(static_cast<std::streamoff>(at));
    f.write(&ch, 1);
  };
  flip("a/long.bin", piece * 3 + 7);
  flip("d", piece + 0);
  const VerifyReport bad = verify_data(r.meta, root, po);
  EXPECT_FALSE(bad.ok());
  std::set<std::tuple<bool, std::string, std::uint64_t>> got, want;
  for (const BadPiece& b : bad.bad) {
    ASSERT_FALSE(b.whole_file);
    got.insert({b.v2, b.v2 ? r.meta.files[b.file].path.back() : "", b.index});
  }
  auto offset_of = [&](const std::string& last) {
    for (const FileEntry& f : r.meta.files)
      if (!f.pad && !f.path.empty() && f.path.back() == last) return f.offset;
    return std::uint64_t{0};
  };
  if (r.meta.has_v1) {
    want.insert({false, "", (offset_of("long.bin") + piece * 3 + 7) / piece});
    want.insert({false, "", (offset_of("d") + piece) / piece});
  }
  if (r.meta.has_v2) {
    want.insert({true, "long.bin", 3});
    want.insert({true, "d", 1});
  }
  EXPECT_EQ(got, want);
}

INSTANTIATE_TEST_SUITE_P(Formats, Roundtrip,
                         ::testing::Combine(::testing::Values(TorrentFormat::v1, TorrentFormat::v2, TorrentFormat::hybrid),
                                            ::testing::Values(std::size_t{16384}, std::size_t{65536},
                                                              std::size_t{1} << 20),
                                            ::testing::Bool()));

TEST(PieceCheck, SingleFileTorrentNamesTheFileItself) {
  TempDir dir;
  const std::string data = bytes(300000, 9);
  dir.write("movie.mkv", data);
  for (TorrentFormat f : {TorrentFormat::v1, TorrentFormat::v2, TorrentFormat::hybrid}) {
    const CreateResult r = create_torrent(dir.path() + "/movie.mkv", opts(f, 32768, true));
    EXPECT_TRUE(r.meta.single_file);
    EXPECT_EQ(r.meta.name, "movie.mkv");
    check_against_openssl(r.meta, Content{{{"movie.mkv", data}}});
    EXPECT_TRUE(verify_data(r.meta, dir.path() + "/movie.mkv", {}).ok());
  }
}

TEST(PieceCheck, MissingAndShortFilesSpoilTheirPiecesEvenWhenZerosMatch) {
  TempDir dir;
  const std::size_t piece = 32768;
  dir.write("s/zeros", std::string(piece * 2, '\0'));  // missing later: its zeros would still hash right
  dir.write("s/tail", bytes(piece * 3 + 5, 6));
  const CreateResult r = create_torrent(dir.path() + "/s", opts(TorrentFormat::hybrid, piece, true));
  fs::remove(dir.path() + "/s/zeros");
  fs::resize_file(dir.path() + "/s/tail", piece + 10);
  const VerifyReport v = verify_data(r.meta, dir.path() + "/s", {});
  EXPECT_FALSE(v.ok());
  ASSERT_EQ(v.problems.size(), 2u);
  EXPECT_EQ(v.problems[0].kind, FileIssue::short_file);  // tail sorts first
  EXPECT_EQ(v.problems[0].on_disk, piece + 10);
  EXPECT_EQ(v.problems[1].kind, FileIssue::missing);
  std::set<std::pair<bool, std::uint64_t>> v1bad, v2bad;
  for (const BadPiece& b : v.bad) (b.v2 ? v2bad : v1bad).insert({b.v2, b.index + (b.v2 ? b.file * 100 : 0)});
  // tail: pieces 0..3 in the stream, 1..3 spoilt; zeros: pieces 4..5 (after tail's pad).
  EXPECT_EQ(v1bad, (std::set<std::pair<bool, std::uint64_t>>{{false, 1}, {false, 2}, {false, 3}, {false, 4}, {false, 5}}));
  EXPECT_EQ(v2bad.size(), 5u);
}

TEST(PieceCheck, LongerFileIsAWarningNotAFailure) {
  TempDir dir;
  dir.write("f", bytes(50000, 7));
  const CreateResult r = create_torrent(dir.path() + "/f", opts(TorrentFormat::v1, 16384, true));
  std::ofstream(dir.path() + "/f", std::ios::app | std::ios::binary) << "extra";
  const VerifyReport v = verify_data(r.meta, dir.path() + "/f", {});
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_EQ(v.problems[0].kind, FileIssue::long_file);
  EXPECT_TRUE(v.ok());
}

TEST(PieceCheck, FileShrinkingUnderItsMappingReadsAsZerosAndIsReported) {
  TempDir dir;
  const std::string data = bytes(1 << 20, 8);
  dir.write("f", data);
  DataReader reader({DataFile{dir.path() + "/f", 0, data.size(), false}}, data.size());
  Chunk c(data.size());
  reader.load(0, data.size(), c, true);
  ASSERT_EQ(c.mappings().size(), 1u);
  fs::resize_file(dir.path() + "/f", 4096);
  // Past the new end the mapping has no page behind it: the guard must turn the fault into zeros.
  auto v = c.view(0, data.size());
  std::size_t nonzero_tail = 0;
  for (std::size_t i = 8192; i < v.size(); ++i) nonzero_tail += v[i] != 0;
  EXPECT_EQ(nonzero_tail, 0u);
  EXPECT_EQ(0, std::memcmp(v.data(), data.data(), 4096));
  reader.unload(c);
  ASSERT_FALSE(reader.problems().empty());
  EXPECT_EQ(reader.problems().back().kind, FileIssue::changed);
}

TEST(PieceCheck, RateLimitAndCancelStillGiveConsistentResults) {
  TempDir dir;
  dir.write("f", bytes(2 << 20, 10));
  CreateOptions o = opts(TorrentFormat::hybrid, 65536, true);
  o.pass.rate_limit = 64u << 20;  // about 30 ms for 2 MiB: paced, in read() slices
  const CreateResult paced = create_torrent(dir.path() + "/f", o);
  const CreateResult free_run = create_torrent(dir.path() + "/f", opts(TorrentFormat::hybrid, 65536, true));
  EXPECT_EQ(paced.torrent, free_run.torrent);

  std::atomic<bool> cancel{true};
  PassOptions po;
  po.cancel = &cancel;
  const VerifyReport v = verify_data(free_run.meta, dir.path() + "/f", po);
  EXPECT_TRUE(v.stats.cancelled);
}

TEST(PieceCheck, CreatorRefusesWhatCannotBeShared) {
  TempDir dir;
  fs::create_directories(dir.path() + "/empty_dir/sub");
  EXPECT_THROW(create_torrent(dir.path() + "/empty_dir", {}), std::runtime_error);
  dir.write("zero/a", "");
  EXPECT_THROW(create_torrent(dir.path() + "/zero", {}), std::runtime_error);
  dir.write("ok/a", "x");
  CreateOptions o;
  o.piece_length = 30000;
  EXPECT_THROW(create_torrent(dir.path() + "/ok", o), std::runtime_error);
  EXPECT_THROW(create_torrent(dir.path() + "/nope", {}), std::runtime_error);
}

// Every CPU backend (and the OpenCL device PoCL gives, where there is one) hashes the same
// torrent: the multi-buffer lanes, the SHA extensions and the scalar reference agree.
TEST(PieceCheck, EveryBackendMakesTheSameTorrent) {
  TempDir dir;
  const Content c = sample(32768);
  for (const auto& [rel, data] : c.files) dir.write("share/" + rel, data);
  CreateOptions o = opts(TorrentFormat::hybrid, 32768, true);
  o.pass.backend = "scalar";
  const CreateResult ref = create_torrent(dir.path() + "/share", o);
  check_against_openssl(ref.meta, c);
  std::size_t tried = 0;
  for (const BackendStatus& b : Engine::instance().backends()) {
    if (!b.usable() || b.device || !b.supports(Op::hash_sha1) || !b.supports(Op::hash_sha256)) continue;
    o.pass.backend = b.name;
    const CreateResult r = create_torrent(dir.path() + "/share", o);
    EXPECT_EQ(r.torrent, ref.torrent) << b.name;
    EXPECT_EQ(r.stats.backend_v1, b.name);
    ++tried;
  }
  EXPECT_GE(tried, 1u);
}

// A v2 torrent without its piece layers (as a client holds one fetched by magnet link) is
// checked file by file against the roots.
TEST(PieceCheck, WithoutPieceLayersFilesAreCheckedAgainstTheirRoots) {
  TempDir dir;
  const std::size_t piece = 32768;
  const Content c = sample(piece);
  for (const auto& [rel, data] : c.files) dir.write("share/" + rel, data);
  const CreateResult r = create_torrent(dir.path() + "/share", opts(TorrentFormat::v2, piece, true));
  DecodeResult d = bdecode(r.torrent);
  ASSERT_TRUE(d.value);
  auto& top = d.value->entries();
  const auto before = top.size();
  top.erase(std::remove_if(top.begin(), top.end(), [](const BValue::Entry& e) { return e.first == "piece layers"; }),
            top.end());
  ASSERT_EQ(top.size(), before - 1);
  std::string why;
  const auto bare = parse_metainfo(bencode(*d.value), &why);
  ASSERT_TRUE(bare) << why;
  EXPECT_FALSE(bare->has_piece_layers);
  EXPECT_EQ(bare->info_hash_v2, r.meta.info_hash_v2);  // the layers are outside the info dictionary
  const VerifyReport ok = verify_data(*bare, dir.path() + "/share", {});
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.v2_pieces, 0u);
  EXPECT_EQ(ok.v2_roots, 5u);  // every file but the empty one
  {
    std::fstream f(dir.path() + "/share/c", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(piece + 3);
    f.put('\x7f');
  }
  const VerifyReport bad = verify_data(*bare, dir.path() + "/share", {});
  ASSERT_EQ(bad.bad.size(), 1u);
  EXPECT_TRUE(bad.bad[0].whole_file);
  EXPECT_EQ(bare->files[bad.bad[0].file].path.back(), "c");
}

TEST(PieceCheck, DefaultPieceLengthLikeCommonClients) {
  EXPECT_EQ(default_piece_length(1000), 16384u);
  EXPECT_EQ(default_piece_length(std::uint64_t{4} << 30), std::uint64_t{4} << 20);
  EXPECT_EQ(default_piece_length(std::uint64_t{1} << 40), std::uint64_t{16} << 20);
  for (std::uint64_t t : {std::uint64_t{1} << 20, std::uint64_t{700} << 20, std::uint64_t{50} << 30}) {
    const std::uint64_t p = default_piece_length(t);
    EXPECT_EQ(p & (p - 1), 0u);
  }
}

}  // namespace
}  // namespace hf::torrent
