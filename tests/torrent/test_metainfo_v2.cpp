// v2 and hybrid metainfo (BEP 52, BEP 47): file trees, piece layers against their roots,
// hybrids whose views must agree. The merkle trees here are built with OpenSSL, from the
// blocks up, independently of net/torrent/merkle.
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <cstring>

#include "net/torrent/bencode.hpp"
#include "net/torrent/metainfo.hpp"

namespace hf::torrent {
namespace {

constexpr std::size_t kBlock = 16384;

Sha256 h256(std::string_view s) {
  Sha256 out{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), out.data());
  return out;
}

Sha256 parent(const Sha256& a, const Sha256& b) {
  std::string pair(64, '\0');
  std::memcpy(pair.data(), a.data(), 32);
  std::memcpy(pair.data() + 32, b.data(), 32);
  return h256(pair);
}

// BEP 52 by the letter: leaves of 16 KiB blocks, padded with zero hashes to a power of two
// (at least `min_leaves`), hashed pairwise to the root.
Sha256 root_of(const std::string& data, std::size_t min_leaves = 1) {
  std::vector<Sha256> level;
  for (std::size_t at = 0; at < data.size(); at += kBlock) level.push_back(h256(data.substr(at, kBlock)));
  std::size_t n = 1;
  while (n < std::max(level.size(), min_leaves)) n *= 2;
  level.resize(n, Sha256{});
  while (level.size() > 1) {
    std::vector<Sha256> up;
    for (std::size_t i = 0; i < level.size(); i += 2) up.push_back(parent(level[i], level[i + 1]));
    level = up;
  }
  return level[0];
}

// Piece hashes: the root of each piece's blocks, each piece a full subtree of piece/16K leaves.
std::string layer_of(const std::string& data, std::size_t piece) {
  std::string out;
  for (std::size_t at = 0; at < data.size(); at += piece) {
    Sha256 r = root_of(data.substr(at, piece), piece / kBlock);
    out.append(reinterpret_cast<const char*>(r.data()), 32);
  }
  return out;
}

std::string bytes(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  unsigned x = seed;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 16);
  }
  return s;
}

BValue v2_file(const std::string& data) {
  BValue leaf = BValue::dict();
  leaf.set("length", BValue::integer(static_cast<std::int64_t>(data.size())));
  if (!data.empty()) {
    Sha256 r = root_of(data);
    leaf.set("pieces root", BValue::string(std::string(reinterpret_cast<const char*>(r.data()), 32)));
  }
  return BValue::dict({{"", leaf}});
}

std::string key_of(const std::string& data) {
  Sha256 r = root_of(data);
  return std::string(reinterpret_cast<const char*>(r.data()), 32);
}

struct Built {
  BValue top = BValue::dict();
  BValue info = BValue::dict();
  std::string text() const {
    BValue t = top;
    t.set("info", info);
    return bencode(t);
  }
};

// A v2 torrent of files named a, b, c... holding `datas`, with piece layers.
Built v2_torrent(const std::vector<std::string>& datas, std::size_t piece) {
  Built b;
  b.info.set("name", BValue::string("set"));
  b.info.set("meta version", BValue::integer(2));
  b.info.set("piece length", BValue::integer(static_cast<std::int64_t>(piece)));
  BValue tree = BValue::dict();
  BValue layers = BValue::dict();
  for (std::size_t i = 0; i < datas.size(); ++i) {
    tree.set(std::string(1, static_cast<char>('a' + i)), v2_file(datas[i]));
    if (datas[i].size() > piece) layers.set(key_of(datas[i]), BValue::string(layer_of(datas[i], piece)));
  }
  b.info.set("file tree", tree);
  b.top.set("piece layers", layers);
  return b;
}

TEST(MetainfoV2, FilesRootsAndLayersAgreeWithAnIndependentTree) {
  const std::size_t piece = 32 * 1024;
  // 5 pieces, the last short; one block; empty; exactly one piece.
  std::vector<std::string> datas{bytes(5 * piece - 100, 1), bytes(100, 2), "", bytes(piece, 3)};
  Built b = v2_torrent(datas, piece);
  std::string t = b.text();
  std::string why;
  auto m = parse_metainfo(t, &why);
  ASSERT_TRUE(m) << why;
  EXPECT_TRUE(m->has_v2);
  EXPECT_FALSE(m->has_v1);
  EXPECT_TRUE(m->has_piece_layers);
  ASSERT_EQ(m->files.size(), 4u);
  EXPECT_EQ(m->files[0].pieces_root, root_of(datas[0]));
  EXPECT_EQ(m->files[0].piece_layer, layer_of(datas[0], piece));
  EXPECT_FALSE(m->files[2].pieces_root);     // the empty file has none
  EXPECT_EQ(m->files[1].offset, 5 * piece);  // each file starts at a piece boundary
  EXPECT_EQ(m->info_hash_v2, h256(bencode(b.info)));
}

TEST(MetainfoV2, PieceCountsThatAreNotPowersOfTwoAndShortFiles) {
  for (std::size_t pieces : {2u, 3u, 7u, 9u}) {
    const std::size_t piece = 64 * 1024;
    std::string data = bytes(pieces * piece - 1, static_cast<unsigned>(pieces));
    std::string why;
    ASSERT_TRUE(parse_metainfo(v2_torrent({data}, piece).text(), &why)) << pieces << ": " << why;
  }
  std::string why;
  // Shorter than one piece: the root alone is the check, and no layer is needed.
  EXPECT_TRUE(parse_metainfo(v2_torrent({bytes(40000, 9)}, 64 * 1024).text(), &why)) << why;
}

TEST(MetainfoV2, LayersThatDoNotHashToTheirRootAreRefused) {
  const std::size_t piece = 32 * 1024;
  std::string data = bytes(3 * piece, 4);
  Built b = v2_torrent({data}, piece);
  std::string layer = layer_of(data, piece);
  layer[5] ^= 1;
  b.top.set("piece layers", BValue::dict({{key_of(data), BValue::string(layer)}}));
  std::string why;
  EXPECT_FALSE(parse_metainfo(b.text(), &why));
  EXPECT_NE(why.find("does not hash"), std::string::npos) << why;
  // A layer of the wrong length, an entry for no file, and a missing layer.
  b.top.set("piece layers", BValue::dict({{key_of(data), BValue::string(layer.substr(32))}}));
  EXPECT_FALSE(parse_metainfo(b.text(), &why));
  b.top.set("piece layers", BValue::dict({{key_of(data), BValue::string(layer_of(data, piece))},
                                          {std::string(32, 'z'), BValue::string(std::string(64, 'q'))}}));
  EXPECT_FALSE(parse_metainfo(b.text(), &why));
  EXPECT_NE(why.find("no file"), std::string::npos) << why;
  b.top.set("piece layers", BValue::dict());
  EXPECT_FALSE(parse_metainfo(b.text(), &why));
  EXPECT_NE(why.find("no piece layer"), std::string::npos) << why;
  // Without "piece layers" at all it loads, like a magnet: files check against their roots.
  Built bare = v2_torrent({data}, piece);
  bare.top = BValue::dict();
  auto m = parse_metainfo(bare.text(), &why);
  ASSERT_TRUE(m) << why;
  EXPECT_FALSE(m->has_piece_layers);
}

TEST(MetainfoV2, RefusesBadTreesAndPieceLengths) {
  std::string why;
  Built b = v2_torrent({bytes(100, 5)}, 8 * 1024);
  EXPECT_FALSE(parse_metainfo(b.text(), &why));
  EXPECT_NE(why.find("16 KiB"), std::string::npos) << why;
  b = v2_torrent({bytes(100, 5)}, 3 * 16384);
  EXPECT_FALSE(parse_metainfo(b.text(), &why));
  b = v2_torrent({bytes(100, 5)}, 16384);
  b.info.set("file tree", BValue::dict({{"..", v2_file("x")}}));
  EXPECT_FALSE(parse_metainfo(b.text(), &why));
  BValue both = v2_file("x");
  both.set("child", v2_file("y"));
  b.info.set("file tree", BValue::dict({{"d", both}}));
  EXPECT_FALSE(parse_metainfo(b.text(), &why));
  EXPECT_NE(why.find("both a file and a folder"), std::string::npos) << why;
  b.info.set("file tree", BValue::dict({{"d", BValue::dict()}}));
  EXPECT_FALSE(parse_metainfo(b.text(), &why));
  BValue short_root =
      BValue::dict({{"", BValue::dict({{"length", BValue::integer(5)}, {"pieces root", BValue::string("abc")}})}});
  b.info.set("file tree", BValue::dict({{"f", short_root}}));
  EXPECT_FALSE(parse_metainfo(b.text(), &why));
  EXPECT_NE(why.find("32 bytes"), std::string::npos) << why;
  b.info.set("meta version", BValue::integer(3));
  EXPECT_FALSE(parse_metainfo(b.text(), &why));
}

// A hybrid of files a, b (and pad files between) with both views.
Built hybrid(const std::vector<std::string>& datas, std::size_t piece, bool pads = true) {
  Built b = v2_torrent(datas, piece);
  std::string stream;
  std::vector<BValue> files;
  for (std::size_t i = 0; i < datas.size(); ++i) {
    BValue f = BValue::dict();
    f.set("length", BValue::integer(static_cast<std::int64_t>(datas[i].size())));
    f.set("path", BValue::list({BValue::string(std::string(1, static_cast<char>('a' + i)))}));
    files.push_back(f);
    stream += datas[i];
    std::size_t rest = datas[i].size() % piece;
    if (pads && i + 1 < datas.size() && rest) {
      BValue p = BValue::dict();
      p.set("length", BValue::integer(static_cast<std::int64_t>(piece - rest)));
      p.set("path", BValue::list({BValue::string(".pad"), BValue::string(std::to_string(piece - rest))}));
      p.set("attr", BValue::string("p"));
      files.push_back(p);
      stream += std::string(piece - rest, '\0');
    }
  }
  std::string pieces;
  for (std::size_t at = 0; at < stream.size(); at += piece) {
    unsigned char md[20];
    std::string chunk = stream.substr(at, piece);
    SHA1(reinterpret_cast<const unsigned char*>(chunk.data()), chunk.size(), md);
    pieces.append(reinterpret_cast<const char*>(md), 20);
  }
  b.info.set("files", BValue::list(files));
  b.info.set("pieces", BValue::string(pieces));
  return b;
}

TEST(MetainfoHybrid, BothViewsAgreeWithPadFiles) {
  const std::size_t piece = 16384;
  std::vector<std::string> datas{bytes(20000, 6), bytes(5000, 7), bytes(16384, 8)};
  Built b = hybrid(datas, piece);
  std::string why;
  auto m = parse_metainfo(b.text(), &why);
  ASSERT_TRUE(m) << why;
  EXPECT_TRUE(m->has_v1 && m->has_v2);
  ASSERT_EQ(m->files.size(), 5u);  // a, pad, b, pad, c
  EXPECT_TRUE(m->files[1].pad);
  EXPECT_EQ(m->files[2].offset, 2 * piece);
  EXPECT_EQ(m->files[2].pieces_root, root_of(datas[1]));
  unsigned char md[20];
  std::string info = bencode(b.info);
  SHA1(reinterpret_cast<const unsigned char*>(info.data()), info.size(), md);
  EXPECT_EQ(0, std::memcmp(m->info_hash_v1.data(), md, 20));
  EXPECT_EQ(m->info_hash_v2, h256(info));
}

TEST(MetainfoHybrid, ViewsThatDisagreeAreRefused) {
  const std::size_t piece = 16384;
  std::vector<std::string> datas{bytes(20000, 6), bytes(5000, 7)};
  std::string why;
  EXPECT_FALSE(parse_metainfo(hybrid(datas, piece, false).text(), &why));  // no pad: b is not aligned
  EXPECT_NE(why.find("disagree"), std::string::npos) << why;
  Built b = hybrid(datas, piece);
  b.info.set("file tree", BValue::dict({{"a", v2_file(datas[0])}, {"b", v2_file(bytes(5001, 7))}}));
  EXPECT_FALSE(parse_metainfo(b.text(), &why));
  EXPECT_NE(why.find("disagree"), std::string::npos) << why;
  b = hybrid(datas, piece);
  b.info.set("file tree", BValue::dict({{"a", v2_file(datas[0])}}));
  EXPECT_FALSE(parse_metainfo(b.text(), &why));
}

}  // namespace
}  // namespace hf::torrent
