// Piece checks for the client (net/torrent/piece_check.hpp) against OpenSSL: a v1 piece by
// its SHA-1; v2 pieces against a piece layer built here from OpenSSL's SHA-256 (a full piece,
// a file's short last piece, a single-piece file against its root); and a corrupted block
// found by its hash.
#include "net/torrent/piece_check.hpp"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <random>

using hf::torrent::Sha1;
using hf::torrent::Sha256;

namespace {

Sha256 ossl256(const std::uint8_t* p, std::size_t n) {
  Sha256 h{};
  SHA256(p, n, h.data());
  return h;
}

Sha256 parent(const Sha256& a, const Sha256& b) {
  std::uint8_t buf[64];
  std::copy(a.begin(), a.end(), buf);
  std::copy(b.begin(), b.end(), buf + 32);
  return ossl256(buf, 64);
}

// The root over `leaves` padded with zero hashes to `width`, by the definition.
Sha256 root(std::vector<Sha256> level, std::size_t width) {
  level.resize(width, Sha256{});
  while (level.size() > 1) {
    std::vector<Sha256> up;
    for (std::size_t i = 0; i < level.size(); i += 2) up.push_back(parent(level[i], level[i + 1]));
    level = up;
  }
  return level[0];
}

std::vector<Sha256> leaves(const std::vector<std::uint8_t>& d) {
  std::vector<Sha256> out;
  for (std::size_t at = 0; at < d.size(); at += 16384) out.push_back(ossl256(d.data() + at, std::min<std::size_t>(16384, d.size() - at)));
  return out;
}

std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint8_t> v(n);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}

}  // namespace

TEST(ClientPieceCheck, V1PiecesBySha1) {
  const auto piece = random_bytes(262144, 1);
  Sha1 h{};
  SHA1(piece.data(), piece.size(), h.data());
  EXPECT_TRUE(hf::torrent::v1_piece_ok(piece, h));
  auto bad = piece;
  bad[70000] ^= 1;
  EXPECT_FALSE(hf::torrent::v1_piece_ok(bad, h));
}

TEST(ClientPieceCheck, V2PiecesAgainstThePieceLayerAndBadBlocksNamed) {
  const std::uint64_t piece_length = 65536;  // 4 blocks
  const auto full = random_bytes(piece_length, 2);
  EXPECT_TRUE(hf::torrent::v2_piece_ok(full, 4, root(leaves(full), 4)));
  // A file's last piece of 1.5 blocks: zero hashes for the missing two and a half.
  const auto tail = random_bytes(16384 + 8192, 3);
  EXPECT_TRUE(hf::torrent::v2_piece_ok(tail, 4, root(leaves(tail), 4)));
  EXPECT_FALSE(hf::torrent::v2_piece_ok(tail, 4, root(leaves(tail), 2)));  // a narrower tree is another root
  // A single-piece file of 3 blocks and a bit: width 4, its root the file's pieces root.
  const auto small = random_bytes(3 * 16384 + 100, 4);
  EXPECT_EQ(hf::torrent::v2_single_piece_width(small.size()), 4u);
  EXPECT_EQ(hf::torrent::v2_single_piece_width(1), 1u);
  EXPECT_TRUE(hf::torrent::v2_piece_ok(small, 4, root(leaves(small), 4)));
  // One flipped bit: the piece fails and its block is the one named.
  auto bad = full;
  bad[2 * 16384 + 5] ^= 0x10;
  EXPECT_FALSE(hf::torrent::v2_piece_ok(bad, 4, root(leaves(full), 4)));
  EXPECT_EQ(hf::torrent::failing_blocks(bad, leaves(full)), (std::vector<std::uint32_t>{2}));
  EXPECT_TRUE(hf::torrent::failing_blocks(full, leaves(full)).empty());
  EXPECT_EQ(hf::torrent::block_hashes(tail), leaves(tail));
  EXPECT_FALSE(hf::torrent::v2_piece_ok({}, 4, Sha256{}));
}

namespace {

// A v2-only torrent of two files in 64 KiB pieces: a (70,000 bytes: two pieces, a piece
// layer) at 0 and b (20,000 bytes: one piece, its root) at the next piece boundary, 131,072;
// on the wire b's piece is whole too, its tail zeros.
struct TwoFiles {
  hf::torrent::Metainfo m;
  std::vector<std::uint8_t> a = random_bytes(70000, 3), b = random_bytes(20000, 4);
  std::vector<std::uint8_t> piece(std::uint32_t i) const {  // the wire stream's piece i
    std::vector<std::uint8_t> p;
    if (i < 2) {
      p.assign(a.begin() + i * 65536, a.begin() + std::min<std::size_t>(a.size(), (i + 1) * 65536));
      p.resize(65536, 0);  // the gap to b is zeros
    } else {
      p = b;
      p.resize(65536, 0);
    }
    return p;
  }
  TwoFiles() {
    m.has_v2 = true;
    m.piece_length = 65536;
    hf::torrent::FileEntry fa, fb;
    fa.path = {"a"};
    fa.length = a.size();
    fb.path = {"b"};
    fb.length = b.size();
    fb.offset = 131072;
    std::vector<std::uint8_t> a0(a.begin(), a.begin() + 65536), a1(a.begin() + 65536, a.end());
    const Sha256 l0 = root(leaves(a0), 4), l1 = root(leaves(a1), 4);
    fa.piece_layer.append(reinterpret_cast<const char*>(l0.data()), 32);
    fa.piece_layer.append(reinterpret_cast<const char*>(l1.data()), 32);
    fa.pieces_root = parent(l0, l1);
    fb.pieces_root = root(leaves(b), 2);
    m.files = {fa, fb};
    m.total_length = 131072 + 65536;  // as the parser gives it: every file's span rounded up
  }
};

}  // namespace

TEST(ClientPieceCheck, V2OnlyWirePiecesAlignedToFiles) {
  TwoFiles t;
  EXPECT_EQ(t.m.wire_length(), 196608u);
  EXPECT_EQ(t.m.wire_pieces(), 3u);
  const auto zeros = t.m.zero_ranges();
  ASSERT_EQ(zeros.size(), 2u);
  EXPECT_EQ(zeros[0], std::make_pair(std::uint64_t{70000}, std::uint64_t{131072}));
  EXPECT_EQ(zeros[1], std::make_pair(std::uint64_t{151072}, std::uint64_t{196608}));
  hf::torrent::PieceVerifier v(t.m);
  ASSERT_EQ(v.unusable(), "");
  for (std::uint32_t i = 0; i < 3; ++i) EXPECT_TRUE(v.ok(i, t.piece(i))) << i;
  auto bad = t.piece(0);
  bad[40000] ^= 1;
  EXPECT_FALSE(v.ok(0, bad));
  auto gap = t.piece(1);
  gap[60000] = 7;  // a byte in the gap after a's end: not zero, not accepted
  EXPECT_FALSE(v.ok(1, gap));
  auto last = t.piece(2);
  last[19999] ^= 0x80;
  EXPECT_FALSE(v.ok(2, last));
  last[19999] ^= 0x80;
  last.back() = 1;  // the tail after the last file: zeros too
  EXPECT_FALSE(v.ok(2, last));
  EXPECT_FALSE(v.ok(3, t.piece(2)));  // past the end
  // Without the piece layer a's pieces cannot be checked one by one: refused, not guessed.
  t.m.files[0].piece_layer.clear();
  EXPECT_NE(hf::torrent::PieceVerifier(t.m).unusable(), "");
}

TEST(ClientPieceCheck, HybridPiecesMustPassBothHashes) {
  TwoFiles t;
  // The same files as a hybrid: a pad file fills the gap, and each v1 piece has its SHA-1.
  t.m.has_v1 = true;
  hf::torrent::FileEntry pad;
  pad.path = {".pad", "61072"};
  pad.length = 131072 - 70000;
  pad.offset = 70000;
  pad.pad = true;
  t.m.files.insert(t.m.files.begin() + 1, pad);
  pad.path = {".pad", "45536"};  // and one after b, as libtorrent makes them
  pad.length = 196608 - 151072;
  pad.offset = 151072;
  t.m.files.push_back(pad);
  for (std::uint32_t i = 0; i < 3; ++i) {
    const auto p = t.piece(i);
    std::uint8_t h[20];
    SHA1(p.data(), p.size(), h);
    t.m.pieces.append(reinterpret_cast<const char*>(h), 20);
  }
  EXPECT_EQ(t.m.wire_pieces(), 3u);
  EXPECT_EQ(t.m.zero_ranges().size(), 2u);  // the pad file, and the tail after b
  hf::torrent::PieceVerifier v(t.m);
  for (std::uint32_t i = 0; i < 3; ++i) EXPECT_TRUE(v.ok(i, t.piece(i))) << i;
  // A piece whose v1 hash in the torrent disagrees with its v2 hash fails.
  t.m.pieces[20] ^= 1;
  EXPECT_FALSE(hf::torrent::PieceVerifier(t.m).ok(1, t.piece(1)));
  // A hybrid without piece layers falls back to the v1 hashes alone.
  t.m.pieces[20] ^= 1;
  t.m.files[0].piece_layer.clear();
  hf::torrent::PieceVerifier v1_only(t.m);
  EXPECT_EQ(v1_only.unusable(), "");
  EXPECT_TRUE(v1_only.ok(1, t.piece(1)));
}
