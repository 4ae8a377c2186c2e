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
