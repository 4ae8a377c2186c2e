// BEP 52 hash requests: HashTree's answers checked against a tree built here with OpenSSL
// (the span's hashes and uncles must lead to the file's root), malformed requests refused,
// and a session answering a peer's hash request with hashes or a hash reject.
#include "net/torrent/hash_tree.hpp"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <cstring>
#include <random>

#include "net/torrent/torrent_session.hpp"

using hf::torrent::HashTree;
using hf::torrent::Sha256;
namespace wire = hf::torrent::wire;

namespace {

Sha256 parent(const Sha256& a, const Sha256& b) {
  std::uint8_t buf[64];
  std::memcpy(buf, a.data(), 32);
  std::memcpy(buf + 32, b.data(), 32);
  Sha256 h{};
  SHA256(buf, 64, h.data());
  return h;
}

// Every layer from `level` up, padded with `pad` to a power of two, by the definition.
std::vector<std::vector<Sha256>> layers(std::vector<Sha256> level, const Sha256& pad) {
  std::size_t w = 1;
  while (w < level.size()) w *= 2;
  level.resize(w, pad);
  std::vector<std::vector<Sha256>> out{level};
  while (out.back().size() > 1) {
    std::vector<Sha256> up;
    for (std::size_t i = 0; i < out.back().size(); i += 2) up.push_back(parent(out.back()[i], out.back()[i + 1]));
    out.push_back(up);
  }
  return out;
}

// 64 KiB pieces (4 blocks: the piece layer is layer 2), five pieces of random hashes.
struct File {
  static constexpr std::uint64_t kPiece = 65536;
  std::vector<Sha256> pieces;
  std::string layer;
  Sha256 zero_piece{}, root{};
  std::vector<std::vector<Sha256>> tree;
  File() {
    std::mt19937_64 rng(11);
    pieces.resize(5);
    for (auto& h : pieces)
      for (auto& b : h) b = static_cast<std::uint8_t>(rng());
    for (const auto& h : pieces) layer.append(reinterpret_cast<const char*>(h.data()), 32);
    zero_piece = parent(parent(Sha256{}, Sha256{}), parent(Sha256{}, Sha256{}));  // 4 zero leaves
    tree = layers(pieces, zero_piece);
    root = tree.back()[0];
  }
};

// Folds an answer (span hashes, then uncles nearest first) up to a root.
Sha256 fold(const std::vector<Sha256>& got, std::uint32_t index, std::uint32_t length) {
  std::vector<Sha256> level(got.begin(), got.begin() + length);
  while (level.size() > 1) {
    std::vector<Sha256> up;
    for (std::size_t i = 0; i < level.size(); i += 2) up.push_back(parent(level[i], level[i + 1]));
    level = up;
  }
  Sha256 node = level[0];
  std::uint32_t at = index / length;
  for (std::size_t u = length; u < got.size(); ++u, at /= 2) node = (at & 1) ? parent(got[u], node) : parent(node, got[u]);
  return node;
}

}  // namespace

TEST(HashTree, AnswersProveTheirHashesAgainstTheRoot) {
  File f;
  HashTree t(f.layer, File::kPiece);
  EXPECT_EQ(t.piece_layer(), 2u);
  EXPECT_EQ(t.top_layer(), 5u);  // 8 padded pieces: layers 2 (8), 3 (4), 4 (2), 5 (the root)
  EXPECT_EQ(t.root(), f.root);
  // Two hashes, no proof: just the hashes.
  auto a = t.answer(2, 2, 2, 0);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0], f.pieces[2]);
  EXPECT_EQ((*a)[1], f.pieces[3]);
  // Two hashes with every proof layer: uncles at layers 3 and 4, and the fold gives the root.
  a = t.answer(2, 2, 2, 10);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->size(), 4u);
  EXPECT_EQ((*a)[2], f.tree[1][0]);  // the sibling of (2,3)'s parent
  EXPECT_EQ((*a)[3], f.tree[2][1]);
  EXPECT_EQ(fold(*a, 2, 2), f.root);
  // Four hashes from index 4 (one real piece, three padding): the first proof layer is
  // covered by the span itself, the second gives one uncle.
  a = t.answer(2, 4, 4, 2);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->size(), 5u);
  EXPECT_EQ((*a)[0], f.pieces[4]);
  EXPECT_EQ((*a)[1], f.zero_piece);
  EXPECT_EQ(fold(*a, 4, 4), f.root);
  a = t.answer(2, 4, 4, 1);  // proof layer 1 is inside the span: nothing added
  ASSERT_TRUE(a);
  EXPECT_EQ(a->size(), 4u);
  // A layer above the pieces.
  a = t.answer(3, 0, 2, 5);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->size(), 3u);
  EXPECT_EQ(fold(*a, 0, 2), f.root);
  // Refused: below the piece layer, lengths not a power of two from 2 to 512, an index not
  // a multiple of the length, past the layer's end, above the root.
  EXPECT_FALSE(t.answer(0, 0, 2, 0));
  EXPECT_FALSE(t.answer(1, 0, 2, 0));
  EXPECT_FALSE(t.answer(2, 0, 3, 0));
  EXPECT_FALSE(t.answer(2, 0, 1, 0));
  EXPECT_FALSE(t.answer(2, 0, 1024, 0));
  EXPECT_FALSE(t.answer(2, 1, 2, 0));
  EXPECT_FALSE(t.answer(2, 8, 2, 0));
  EXPECT_FALSE(t.answer(2, 0, 16, 0));
  EXPECT_FALSE(t.answer(6, 0, 2, 0));
  EXPECT_FALSE(t.answer(2, 0xFFFFFFFEu, 2, 0));
}

TEST(HashTree, ASessionAnswersHashRequestsOrRejectsThem) {
  File f;
  hf::torrent::Metainfo m;
  m.has_v2 = true;
  m.piece_length = File::kPiece;
  hf::torrent::FileEntry fe;
  fe.length = 4 * File::kPiece + 1000;
  fe.pieces_root = f.root;
  fe.piece_layer = f.layer;
  m.files = {fe};
  m.single_file = true;
  m.name = "v2.bin";
  m.total_length = 5 * File::kPiece;
  m.info_hash_v2 = Sha256{};
  (*m.info_hash_v2)[0] = 0x52;
  wire::Hash20 me{}, them{};
  me[0] = 1, them[0] = 2;
  hf::torrent::TorrentSession s(m, me, {});
  wire::Handshake h;
  std::memcpy(h.info_hash.data(), m.info_hash_v2->data(), 20);
  h.peer_id = them;
  h.set(wire::kFast);
  ASSERT_EQ(s.peer_connected(7, h, "192.0.2.9:6881", std::nullopt, 0), "");
  (void)s.take_output(7);
  auto ask = [&](const wire::HashSpan& span) {
    std::string req;
    wire::encode_hash_span(wire::MsgId::hash_request, span, &req);
    wire::Message in;
    EXPECT_EQ(wire::decode_message(req, &in).status, wire::Decode::ok);
    s.peer_message(7, in, 1);
    return s.take_output(7);
  };
  wire::HashSpan span;
  span.pieces_root = f.root;
  span.base_layer = 2;
  span.index = 0;
  span.length = 4;
  span.proof_layers = 3;
  std::string out = ask(span);
  wire::Message reply;
  ASSERT_EQ(wire::decode_message(out, &reply).status, wire::Decode::ok);
  ASSERT_EQ(reply.id, wire::MsgId::hashes);
  EXPECT_EQ(reply.span.index, 0u);
  EXPECT_EQ(reply.span.length, 4u);
  ASSERT_EQ(reply.data.size(), 5u * 32);
  std::vector<Sha256> got(5);
  for (std::size_t i = 0; i < 5; ++i) std::memcpy(got[i].data(), reply.data.data() + 32 * i, 32);
  EXPECT_EQ(fold(got, 0, 4), f.root);
  EXPECT_EQ(s.hash_requests_served(), 1u);
  EXPECT_EQ(s.take_reply_bytes(), out.size());  // the hashes message, for the upload limit
  // Leaves (the data would be needed) and an unknown file: hash reject, same span.
  span.base_layer = 0;
  out = ask(span);
  ASSERT_EQ(wire::decode_message(out, &reply).status, wire::Decode::ok);
  EXPECT_EQ(reply.id, wire::MsgId::hash_reject);
  EXPECT_EQ(reply.span.base_layer, 0u);
  span.base_layer = 2;
  span.pieces_root[5] ^= 1;
  out = ask(span);
  ASSERT_EQ(wire::decode_message(out, &reply).status, wire::Decode::ok);
  EXPECT_EQ(reply.id, wire::MsgId::hash_reject);
  EXPECT_TRUE(s.take_closes().empty());
}

namespace {

// A v2 file of real data: 4 pieces of 64 KiB and 1,000 bytes more (a fifth piece of one
// short block), its leaves, piece layer and root built here with OpenSSL.
struct DataFile2 {
  std::vector<std::uint8_t> data;
  std::vector<Sha256> leaves;  // one per block of data
  std::string layer;
  Sha256 root{};
  hf::torrent::Metainfo m;
  DataFile2() {
    std::mt19937_64 rng(5);
    data.resize(4 * File::kPiece + 1000);
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    for (std::size_t at = 0; at < data.size(); at += 16384) {
      Sha256 h{};
      SHA256(data.data() + at, std::min<std::size_t>(16384, data.size() - at), h.data());
      leaves.push_back(h);
    }
    std::vector<Sha256> pieces;
    for (std::size_t k = 0; k < 5; ++k) {
      std::vector<Sha256> four(leaves.begin() + static_cast<std::ptrdiff_t>(4 * k),
                               leaves.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(leaves.size(), 4 * k + 4)));
      four.resize(4, Sha256{});
      pieces.push_back(parent(parent(four[0], four[1]), parent(four[2], four[3])));
    }
    for (const auto& h : pieces) layer.append(reinterpret_cast<const char*>(h.data()), 32);
    const Sha256 zero_piece = parent(parent(Sha256{}, Sha256{}), parent(Sha256{}, Sha256{}));
    root = layers(pieces, zero_piece).back()[0];
    m.has_v2 = true;
    m.piece_length = File::kPiece;
    hf::torrent::FileEntry fe;
    fe.length = data.size();
    fe.pieces_root = root;
    fe.piece_layer = layer;
    m.files = {fe};
    m.single_file = true;
    m.name = "leaves.bin";
    m.total_length = 5 * File::kPiece;
    m.info_hash_v2 = Sha256{};
    (*m.info_hash_v2)[0] = 0x77;
  }
  // What the driver does for a hash read: each piece's blocks of the file's bytes, hashed.
  std::vector<Sha256> read(const hf::torrent::TorrentSession::HashRead& r) const {
    std::vector<Sha256> out;
    for (std::uint32_t i = 0; i < r.pieces; ++i) {
      const std::size_t start = (r.first_piece + i) * File::kPiece;
      const std::size_t end = std::min<std::size_t>(data.size(), start + File::kPiece);
      for (std::size_t at = start; at < end; at += 16384) out.push_back(leaves[at / 16384]);
    }
    return out;
  }
};

struct Seeder {
  DataFile2 f;
  hf::torrent::TorrentSession s;
  explicit Seeder(bool seed) : s(f.m, wire::Hash20{1}, {}) {
    if (seed)
      for (std::uint32_t i = 0; i < s.pieces(); ++i) s.set_have(i);
    wire::Handshake h;
    std::memcpy(h.info_hash.data(), f.m.info_hash_v2->data(), 20);
    h.peer_id = wire::Hash20{2};
    h.set(wire::kFast);
    EXPECT_EQ(s.peer_connected(7, h, "192.0.2.9:6881", std::nullopt, 0), "");
    (void)s.take_output(7);
  }
  void ask(std::uint32_t index, std::uint32_t length, std::uint32_t proofs) {
    wire::HashSpan span;
    span.pieces_root = f.root;
    span.base_layer = 0;
    span.index = index;
    span.length = length;
    span.proof_layers = proofs;
    std::string req;
    wire::encode_hash_span(wire::MsgId::hash_request, span, &req);
    wire::Message in;
    ASSERT_EQ(wire::decode_message(req, &in).status, wire::Decode::ok);
    s.peer_message(7, in, 1);
  }
  // The reply as hashes (empty for a reject).
  std::vector<Sha256> reply(std::string* keep, int line) {
    *keep = s.take_output(7);
    wire::Message m;
    EXPECT_EQ(wire::decode_message(*keep, &m).status, wire::Decode::ok) << "no reply, line " << line;
    std::vector<Sha256> got(m.data.size() / 32);
    if (m.id != wire::MsgId::hashes) return {};
    for (std::size_t i = 0; i < got.size(); ++i) std::memcpy(got[i].data(), m.data.data() + 32 * i, 32);
    return got;
  }
};

}  // namespace

TEST(HashTree, LeafHashesAreReadFromTheDataAndProvedToTheRoot) {
  Seeder t(true);
  std::string keep;
  // Two leaves inside piece 1, every proof layer: uncles from the piece's own blocks, then
  // from the tree above the piece layer.
  t.ask(6, 2, 10);
  EXPECT_TRUE(t.s.take_output(7).empty());  // nothing until the data is read
  auto reads = t.s.take_hash_reads();
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].first_piece, 1u);
  EXPECT_EQ(reads[0].pieces, 1u);
  t.s.leaf_hashes_ready(reads[0], t.f.read(reads[0]), 2);
  auto got = t.reply(&keep, __LINE__);
  ASSERT_EQ(got.size(), 2u + 4u);  // 2 leaves; uncles at layers 1, 2 (in the piece), 3, 4 (above); 5 is the root
  EXPECT_EQ(t.s.take_reply_bytes(), keep.size());  // the hashes message, for the upload limit
  EXPECT_EQ(got[0], t.f.leaves[6]);
  EXPECT_EQ(got[1], t.f.leaves[7]);
  EXPECT_EQ(fold(got, 6, 2), t.f.root);
  // Eight leaves over pieces 2 and 3.
  t.ask(8, 8, 10);
  reads = t.s.take_hash_reads();
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].pieces, 2u);
  t.s.leaf_hashes_ready(reads[0], t.f.read(reads[0]), 2);
  got = t.reply(&keep, __LINE__);
  ASSERT_EQ(got.size(), 8u + 2u);  // uncles at layers 3 and 4
  EXPECT_EQ(fold(got, 8, 8), t.f.root);
  // The short last piece: one real leaf, the rest zero hashes.
  t.ask(16, 4, 10);
  reads = t.s.take_hash_reads();
  ASSERT_EQ(reads.size(), 1u);
  t.s.leaf_hashes_ready(reads[0], t.f.read(reads[0]), 2);
  got = t.reply(&keep, __LINE__);
  ASSERT_GE(got.size(), 4u);
  EXPECT_EQ(got[0], t.f.leaves[16]);
  EXPECT_EQ(got[1], Sha256{});
  EXPECT_EQ(fold(got, 16, 4), t.f.root);
  // Data on disk that does not match the torrent: refused, not answered with a lie.
  t.ask(0, 2, 0);
  reads = t.s.take_hash_reads();
  ASSERT_EQ(reads.size(), 1u);
  auto wrong = t.f.read(reads[0]);
  wrong[3][0] ^= 1;
  t.s.leaf_hashes_ready(reads[0], wrong, 2);
  EXPECT_TRUE(t.reply(&keep, __LINE__).empty());
  // A read that failed: reject.
  t.ask(0, 2, 0);
  reads = t.s.take_hash_reads();
  ASSERT_EQ(reads.size(), 1u);
  t.s.leaf_hashes_failed(reads[0], 2);
  EXPECT_TRUE(t.reply(&keep, __LINE__).empty());
  // One read at a time per peer: a second request while one is out is rejected.
  t.ask(0, 2, 0);
  t.ask(4, 2, 0);
  EXPECT_TRUE(t.reply(&keep, __LINE__).empty());
  EXPECT_EQ(t.s.take_hash_reads().size(), 1u);
  // Past the padded leaves (8 pieces x 4 = 32). (Lengths that are not a power of two and
  // misaligned indices never get this far: the wire decoder refuses them.)
  Seeder u(true);
  u.ask(32, 2, 0);
  EXPECT_TRUE(u.reply(&keep, __LINE__).empty());
  u.ask(20, 2, 0);  // leaves of padding pieces only: the piece layer answers for them
  EXPECT_TRUE(u.reply(&keep, __LINE__).empty());
  EXPECT_TRUE(u.s.take_hash_reads().empty());
}

TEST(HashTree, LeavesOfPiecesNotHeldAreRejected) {
  Seeder t(false);
  std::string keep;
  t.ask(4, 2, 0);
  EXPECT_TRUE(t.s.take_hash_reads().empty());
  EXPECT_TRUE(t.reply(&keep, __LINE__).empty());
}

// Replies drawn from memory and leaf reads drawn from disk are both bounded per peer: a peer
// asking the same spans over and over is rejected once it has had the piece layers (with the
// layers above) twice over, or has made the seed read all the data twice.
TEST(HashTree, APeerAskingOverAndOverIsRejectedInTheEnd) {
  Seeder t(true);
  std::string keep;
  std::uint64_t served = 0;
  int answered = 0;
  for (int i = 0; i < 2000; ++i) {
    wire::HashSpan span;
    span.pieces_root = t.f.root;
    span.base_layer = 2;  // the piece layer
    span.index = 0;
    span.length = 8;
    span.proof_layers = 3;
    std::string req;
    wire::encode_hash_span(wire::MsgId::hash_request, span, &req);
    wire::Message in;
    ASSERT_EQ(wire::decode_message(req, &in).status, wire::Decode::ok);
    t.s.peer_message(7, in, 1);
    if (t.reply(&keep, __LINE__).empty()) break;
    served += keep.size();
    ++answered;
  }
  // The cap: 4 x the 160-byte piece layer + 64 KiB; each reply is 8 hashes and a header.
  EXPECT_GT(answered, 100);
  EXPECT_LT(answered, 2000);
  EXPECT_LE(served, 4u * 160 + 64 * 1024);
  EXPECT_EQ(t.s.take_reply_bytes(), served);

  // Leaves: the torrent is 5 x 64 KiB; a whole piece's leaves read 64 KiB each time, so the
  // tenth read is the last one allowed (10 x 64 KiB = 2 x 320 KiB) and the eleventh is refused.
  int reads_done = 0;
  for (int i = 0; i < 20; ++i) {
    t.ask(0, 4, 0);
    auto reads = t.s.take_hash_reads();
    if (reads.empty()) {
      EXPECT_TRUE(t.reply(&keep, __LINE__).empty());
      break;
    }
    t.s.leaf_hashes_ready(reads[0], t.f.read(reads[0]), 2);
    EXPECT_FALSE(t.reply(&keep, __LINE__).empty());
    ++reads_done;
  }
  EXPECT_EQ(reads_done, 10);
  EXPECT_TRUE(t.s.take_closes().empty());  // rejected, not thrown out: it may still trade
}
