// ut_metadata (BEP 9): the messages, MetadataFetch against scripted peers (honest, slow,
// rejecting and lying ones), and a magnet link's whole path in memory: MagnetSession fetching
// the info dictionary from a seeding TorrentSession, then the same connection handed to a
// new TorrentSession that downloads the data. Hashes checked with OpenSSL.
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <cstring>
#include <optional>
#include <random>

#include "net/torrent/bencode.hpp"
#include "net/torrent/hash_tree.hpp"
#include "net/torrent/layer_fetch.hpp"
#include "net/torrent/merkle.hpp"
#include "net/torrent/magnet_session.hpp"
#include "net/torrent/torrent_session.hpp"
#include "net/torrent/ut_metadata.hpp"

namespace {

using namespace hf::torrent;
namespace wire = hf::torrent::wire;

Sha1 sha1(std::string_view s) {
  Sha1 h{};
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), h.data());
  return h;
}

Sha256 sha256(std::string_view s) {
  Sha256 h{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), h.data());
  return h;
}

std::string random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

wire::MetadataMsg data_msg(const std::string& meta, std::uint32_t piece) {
  wire::MetadataMsg m;
  m.type = wire::MetadataType::data;
  m.piece = piece;
  m.total_size = meta.size();
  m.data = wire::metadata_piece(meta, piece);
  return m;
}

TEST(UtMetadata, MessagesRoundTrip) {
  std::string why;
  auto r = wire::parse_metadata_msg(wire::encode_metadata_request(7), &why);
  ASSERT_TRUE(r) << why;
  EXPECT_EQ(r->type, wire::MetadataType::request);
  EXPECT_EQ(r->piece, 7u);
  EXPECT_EQ(wire::encode_metadata_request(7), "d8:msg_typei0e5:piecei7ee");
  r = wire::parse_metadata_msg(wire::encode_metadata_reject(3), &why);
  ASSERT_TRUE(r) << why;
  EXPECT_EQ(r->type, wire::MetadataType::reject);
  EXPECT_EQ(r->piece, 3u);
  const std::string bytes = random_bytes(1000, 1);
  const std::string d = wire::encode_metadata_data(2, 33768, bytes);
  EXPECT_EQ(d.substr(0, d.size() - 1000), "d8:msg_typei1e5:piecei2e10:total_sizei33768ee");
  r = wire::parse_metadata_msg(d, &why);
  ASSERT_TRUE(r) << why;
  EXPECT_EQ(r->type, wire::MetadataType::data);
  EXPECT_EQ(r->piece, 2u);
  EXPECT_EQ(r->total_size, 33768u);
  EXPECT_EQ(r->data, bytes);
}

TEST(UtMetadata, MalformedMessagesAreRefused) {
  const std::vector<std::string> bad = {
      "",
      "le",
      "i3e",
      "d5:piecei0ee",                                          // no msg_type
      "d8:msg_typei0ee",                                       // no piece
      "d8:msg_typei3e5:piecei0ee",                             // unknown type
      "d8:msg_typei0e5:piecei-1ee",                            // negative piece
      "d8:msg_typei0e5:piecei99999999ee",                      // past any metadata we take
      "d8:msg_typei1e5:piecei0ee",                             // data without total_size
      "d8:msg_typei1e5:piecei0e10:total_sizei0ee",             // an empty whole
      "d8:msg_typei1e5:piecei0e10:total_sizei999999999999ee",  // over the limit
      "d8:msg_typei0e5:piecei0e",                              // truncated
      "d8:msg_type1:05:piecei0ee",                             // a string for a number
  };
  for (const auto& b : bad) {
    std::string why;
    EXPECT_FALSE(wire::parse_metadata_msg(b, &why)) << b;
    EXPECT_FALSE(why.empty()) << b;
  }
  std::string why;
  const std::string too_long = wire::encode_metadata_data(0, 40000, std::string(16385, 'x'));
  EXPECT_FALSE(wire::parse_metadata_msg(too_long, &why));
}

TEST(UtMetadata, PiecesSplitTheWhole) {
  const std::string m = random_bytes(40000, 2);
  EXPECT_EQ(wire::metadata_piece(m, 0), m.substr(0, 16384));
  EXPECT_EQ(wire::metadata_piece(m, 2), m.substr(32768));
  EXPECT_TRUE(wire::metadata_piece(m, 3).empty());
}

TEST(MetadataFetch, SpreadsPiecesAndChecksTheWhole) {
  const std::string meta = random_bytes(40000, 3);  // 3 pieces
  MetadataFetch f({sha1(meta), std::nullopt});
  EXPECT_EQ(f.add_peer(1, meta.size()), "");
  EXPECT_EQ(f.add_peer(2, meta.size()), "");
  auto reqs = f.take_requests(0);
  ASSERT_EQ(reqs.size(), 3u);
  std::set<PeerKey> used;
  for (auto& r : reqs) used.insert(r.peer);
  EXPECT_EQ(used.size(), 2u);  // both peers asked
  EXPECT_TRUE(f.take_requests(0).empty());  // nothing asked twice
  for (auto& r : reqs) EXPECT_EQ(f.on_data(r.peer, data_msg(meta, r.piece), 0), "");
  ASSERT_TRUE(f.done());
  EXPECT_EQ(f.metadata(), meta);
  EXPECT_TRUE(f.take_bad().empty());
}

TEST(MetadataFetch, ChecksBothHashesOfAHybridLink) {
  const std::string meta = random_bytes(20000, 4);
  Sha256 wrong = sha256(meta);
  wrong[0] ^= 1;
  MetadataFetch f({sha1(meta), wrong});
  f.add_peer(1, meta.size());
  for (auto& r : f.take_requests(0)) f.on_data(r.peer, data_msg(meta, r.piece), 0);
  EXPECT_FALSE(f.done());  // SHA-1 matched, SHA-256 did not
  EXPECT_EQ(f.take_bad(), std::vector<PeerKey>{1});

  MetadataFetch g({sha1(meta), sha256(meta)});
  g.add_peer(1, meta.size());
  for (auto& r : g.take_requests(0)) g.on_data(r.peer, data_msg(meta, r.piece), 0);
  EXPECT_TRUE(g.done());
}

TEST(MetadataFetch, RejectedAndUnansweredPiecesGoElsewhere) {
  const std::string meta = random_bytes(40000, 5);
  MetadataFetch f({std::nullopt, sha256(meta)}, wire::kMaxMetadataSize, 20);
  f.add_peer(1, meta.size());
  auto reqs = f.take_requests(0);
  ASSERT_EQ(reqs.size(), 3u);
  f.on_reject(1, reqs[0].piece, 1);
  EXPECT_TRUE(f.take_requests(1).empty());  // the only peer said no to it
  f.add_peer(2, meta.size());
  auto again = f.take_requests(2);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].peer, 2u);
  EXPECT_EQ(again[0].piece, reqs[0].piece);
  // Peer 1 never answers the rest: after the timeout they go to peer 2.
  f.tick(21);
  auto late = f.take_requests(21);
  EXPECT_EQ(late.size(), 2u);
  for (auto& r : late) EXPECT_EQ(r.peer, 2u);
  for (auto& r : again) f.on_data(r.peer, data_msg(meta, r.piece), 21);
  // Peer 1 answers one of them late: taken, the whole is checked anyway.
  EXPECT_EQ(f.on_data(1, data_msg(meta, late[0].piece), 22), "");
  EXPECT_FALSE(f.done());
  f.on_data(2, data_msg(meta, late[1].piece), 22);
  EXPECT_TRUE(f.done());
  EXPECT_EQ(f.metadata(), meta);
}

TEST(MetadataFetch, ALiarAloneIsNamed) {
  const std::string meta = random_bytes(30000, 6);
  std::string lie = meta;
  lie[100] ^= 1;
  MetadataFetch f({sha1(meta), std::nullopt});
  f.add_peer(9, meta.size());
  for (auto& r : f.take_requests(0)) f.on_data(r.peer, data_msg(lie, r.piece), 0);
  EXPECT_FALSE(f.done());
  EXPECT_EQ(f.failures(), 1u);
  EXPECT_EQ(f.take_bad(), std::vector<PeerKey>{9});
  EXPECT_TRUE(f.take_requests(1).empty());  // never asked again
  f.add_peer(4, meta.size());
  for (auto& r : f.take_requests(2)) {
    EXPECT_EQ(r.peer, 4u);
    f.on_data(r.peer, data_msg(meta, r.piece), 2);
  }
  EXPECT_TRUE(f.done());
}

TEST(MetadataFetch, ALiarAmongSeveralIsPinnedByTheNextTries) {
  const std::string meta = random_bytes(16384 * 4, 7);
  std::string lie = meta;
  lie[16384 * 3 + 5] ^= 1;  // only its pieces past the third are wrong
  MetadataFetch f({sha1(meta), std::nullopt});
  for (PeerKey k : {1, 2, 3}) f.add_peer(k, meta.size());
  const PeerKey liar = 2;
  std::vector<PeerKey> named;
  for (int round = 0; round < 8 && !f.done(); ++round) {
    for (auto& r : f.take_requests(round)) {
      const std::string& src = r.peer == liar ? lie : meta;
      EXPECT_EQ(f.on_data(r.peer, data_msg(src, r.piece), round), "");
    }
    for (PeerKey b : f.take_bad()) named.push_back(b);
  }
  EXPECT_TRUE(f.done());
  EXPECT_EQ(f.metadata(), meta);
  for (PeerKey b : named) EXPECT_EQ(b, liar);  // nobody honest is named
}

TEST(MetadataFetch, SizesAreChecked) {
  const std::string meta = random_bytes(20000, 8);
  MetadataFetch f({sha1(meta), std::nullopt}, 1 << 20);
  EXPECT_NE(f.add_peer(1, 0), "");
  EXPECT_NE(f.add_peer(1, 2u << 20), "");
  EXPECT_EQ(f.add_peer(1, meta.size()), "");
  auto reqs = f.take_requests(0);
  ASSERT_EQ(reqs.size(), 2u);
  wire::MetadataMsg m = data_msg(meta, reqs[0].piece);
  m.total_size = meta.size() + 1;
  EXPECT_NE(f.on_data(1, m, 0), "");  // another size than offered
  m = data_msg(meta, 1);
  m.data = m.data.substr(1);
  EXPECT_NE(f.on_data(1, m, 0), "");  // a short last piece
}

// The info dictionary of a one-file torrent over `data`, 32 KiB pieces.
std::string info_dict_for(const std::string& data) {
  std::string pieces;
  for (std::size_t at = 0; at < data.size(); at += 32768) {
    const Sha1 h = sha1(std::string_view(data).substr(at, 32768));
    pieces.append(reinterpret_cast<const char*>(h.data()), h.size());
  }
  BValue info = BValue::dict({{"length", BValue::integer(static_cast<std::int64_t>(data.size()))},
                              {"name", BValue::string("payload.bin")},
                              {"piece length", BValue::integer(32768)},
                              {"pieces", BValue::string(pieces)}});
  return bencode(info);
}

wire::Hash20 id_of(char c) {
  wire::Hash20 id{};
  id.fill(static_cast<std::uint8_t>(c));
  return id;
}

// Decodes every whole frame in `bytes` (appended to `inbox`) and hands each to `take`.
template <class Take>
void deliver(std::string& inbox, const std::string& bytes, Take take) {
  inbox += bytes;
  for (;;) {
    wire::Message m;
    auto r = wire::decode_message(inbox, &m);
    if (r.status != wire::Decode::ok) {
      ASSERT_NE(r.status, wire::Decode::error) << r.why;
      return;
    }
    const std::string frame = inbox.substr(4, r.consumed - 4);
    wire::Message copy;
    ASSERT_EQ(wire::decode_payload(frame, &copy), "");
    take(frame, copy);
    inbox.erase(0, r.consumed);
  }
}

// A seed of a 20-piece torrent and a magnet session for it, connected to each other.
struct SeedAndMagnet {
  static constexpr PeerKey kS = 1, kM = 2;  // the magnet's key for the seed, the seed's for the magnet
  std::string data, info;
  std::optional<Metainfo> meta;
  std::optional<TorrentSession> seed;
  std::optional<MagnetSession> mag;
  std::string to_mag, to_seed;

  explicit SeedAndMagnet(std::uint64_t data_seed) : data(random_bytes(32768 * 20 + 999, data_seed)) {
    // Long enough for two metadata pieces: a long name in the info dictionary would do too,
    // but many pieces are what real info dictionaries are made of.
    info = info_dict_for(data);
    std::string why;
    meta = parse_metainfo(torrent_from_info(info, {}, {}), &why);
    EXPECT_TRUE(meta) << why;
    if (!meta) return;
    EXPECT_EQ(meta->info_dict, info);
    seed.emplace(*meta, id_of('S'), SessionConfig{});
    for (std::uint32_t i = 0; i < seed->pieces(); ++i) seed->set_have(i);
    Magnet link;
    link.btih = sha1(info);
    mag.emplace(link, id_of('M'));
    EXPECT_EQ(mag->info_hash(), seed->info_hash());
    EXPECT_EQ(mag->peer_connected(kS, seed->our_handshake(), "10.0.0.1:6881", 0), "");
    EXPECT_EQ(seed->peer_connected(kM, mag->our_handshake(), "10.0.0.2:6881", std::nullopt, 0), "");
  }

  // Trades messages until the magnet has the dictionary; returns the bytes of the seed's
  // ut_metadata frames, length prefixes included.
  std::uint64_t fetch() {
    std::uint64_t metadata_sent = 0;
    for (int round = 0; round < 20 && !mag->done(); ++round) {
      deliver(to_seed, mag->take_output(kS),
              [&](const std::string&, const wire::Message& m) { seed->peer_message(kM, m, 0); });
      deliver(to_mag, seed->take_output(kM), [&](const std::string& frame, const wire::Message& m) {
        std::string why_not;
        if (m.id == wire::MsgId::extended && m.ext_id != 0 && wire::parse_metadata_msg(m.data, &why_not))
          metadata_sent += 4 + frame.size();
        mag->peer_message(kS, frame, m, 0);
      });
      for (const auto& c : mag->take_closes()) ADD_FAILURE() << "the magnet closed: " << c.why;
      for (const auto& c : seed->take_closes()) ADD_FAILURE() << "the seed closed: " << c.why;
    }
    return metadata_sent;
  }
};

TEST(MagnetSession, FetchesFromASeederAndHandsThePeerOver) {
  SeedAndMagnet t(9);
  ASSERT_TRUE(t.meta);
  auto& seed = *t.seed;
  auto& mag = *t.mag;
  const auto& data = t.data;
  const auto& info = t.info;
  const PeerKey kS = SeedAndMagnet::kS, kM = SeedAndMagnet::kM;
  std::string& to_mag = t.to_mag;
  std::string& to_seed = t.to_seed;
  std::string why;
  const std::uint64_t metadata_sent = t.fetch();
  ASSERT_TRUE(mag.done());
  EXPECT_EQ(mag.metadata(), info);
  EXPECT_GE(seed.metadata_pieces_served(), 1u);
  // Every byte of the metadata messages is reported for the driver's upload limit, once.
  EXPECT_GT(metadata_sent, info.size());
  EXPECT_EQ(seed.take_reply_bytes(), metadata_sent);
  EXPECT_EQ(seed.take_reply_bytes(), 0u);

  // The handover: a TorrentSession for the torrent, the peer replayed into it.
  auto made = parse_metainfo(torrent_from_info(mag.metadata(), {}, {}), &why);
  ASSERT_TRUE(made) << why;
  TorrentSession leech(*made, id_of('M'), {});
  auto peers = mag.take_peers();
  ASSERT_EQ(peers.size(), 1u);
  const auto& h = peers.at(kS);
  ASSERT_EQ(leech.peer_connected(kS, h.handshake, h.address, std::nullopt, 1, true), "");
  for (const std::string& f : h.frames) {
    wire::Message m;
    ASSERT_EQ(wire::decode_payload(f, &m), "");
    leech.peer_message(kS, m, 1);
  }
  // The seed's have all came in the magnet phase: the leech asks at once.
  std::string disk(data.size(), '\0');
  for (int round = 0; round < 2000 && !leech.complete(); ++round) {
    deliver(to_seed, leech.take_output(kS), [&](const std::string&, const wire::Message& m) {
      seed.peer_message(kM, m, 1);
    });
    for (const auto& rd : seed.take_reads([](PeerKey) { return true; })) {
      const std::uint64_t at = std::uint64_t{rd.block.piece} * 32768 + rd.block.begin;
      seed.block_read(rd.peer, rd.block,
                      {reinterpret_cast<const std::uint8_t*>(data.data()) + at, rd.block.length}, 1);
    }
    deliver(to_mag, seed.take_output(kM), [&](const std::string&, const wire::Message& m) {
      leech.peer_message(kS, m, 1);
    });
    for (auto& pc : leech.take_pieces()) {
      const std::string got(pc.data.begin(), pc.data.end());
      const bool ok = sha1(got) == sha1(std::string_view(data).substr(std::size_t{pc.index} * 32768, 32768));
      if (ok) std::copy(got.begin(), got.end(), disk.begin() + std::size_t{pc.index} * 32768);
      leech.piece_checked(pc.index, ok, pc.data, 1);
    }
    for (const auto& c : leech.take_closes())  // once complete, it leaves the seed: fine
      if (!leech.complete()) ADD_FAILURE() << "the leech closed: " << c.why;
    for (const auto& c : seed.take_closes()) ADD_FAILURE() << "the seed closed: " << c.why;
    if (HasFailure()) return;
  }
  EXPECT_TRUE(leech.complete());
  EXPECT_EQ(disk, data);
}

TEST(MagnetSession, ASeedServesAPeerTheDictionaryAtMostTwice) {
  SeedAndMagnet t(11);
  ASSERT_TRUE(t.meta);
  auto& seed = *t.seed;
  const auto& info = t.info;
  const PeerKey kM = SeedAndMagnet::kM;
  std::string why;
  t.fetch();
  ASSERT_TRUE(t.mag->done());
  // The peer asks for every piece again, twice over: the first time is answered (a retry),
  // the second rejected, and only answers count towards the upload limit.
  (void)seed.take_reply_bytes();
  const auto pieces = static_cast<std::uint32_t>((info.size() + wire::kMetadataPiece - 1) / wire::kMetadataPiece);
  for (int again = 0; again < 2; ++again) {
    for (std::uint32_t i = 0; i < pieces; ++i) {
      std::string ask, inbox;
      wire::encode_extended(wire::kUtMetadataId, wire::encode_metadata_request(i), &ask);
      deliver(inbox, ask, [&](const std::string&, const wire::Message& m) { seed.peer_message(kM, m, 0); });
      bool answered = false;
      deliver(inbox, seed.take_output(kM), [&](const std::string&, const wire::Message& m) {
        auto msg = wire::parse_metadata_msg(m.data, &why);
        ASSERT_TRUE(msg) << why;
        EXPECT_EQ(msg->piece, i);
        EXPECT_EQ(msg->type, again == 0 ? wire::MetadataType::data : wire::MetadataType::reject) << "ask " << again;
        answered = true;
      });
      EXPECT_TRUE(answered) << "piece " << i << ", ask " << again;
    }
    if (again == 0) {
      EXPECT_GT(seed.take_reply_bytes(), info.size());
    }
  }
  EXPECT_EQ(seed.take_reply_bytes(), 0u);
  for (const auto& c : seed.take_closes()) ADD_FAILURE() << "the seed closed: " << c.why;
}

TEST(MagnetSession, ALiarIsBannedAndTheTruthWins) {
  const std::string data = random_bytes(32768 * 4, 10);
  const std::string info = info_dict_for(data);
  Magnet link;
  link.btih = sha1(info);
  MagnetSession mag(link, id_of('M'));
  wire::Handshake liar;
  liar.info_hash = mag.info_hash();
  liar.peer_id = id_of('L');
  liar.set(wire::kExtensionProtocol);
  ASSERT_EQ(mag.peer_connected(5, liar, "10.0.0.5:1000", 0), "");
  // Its extension handshake offers the metadata; every piece it sends is wrong.
  wire::ExtHandshake eh;
  eh.extensions["ut_metadata"] = 3;
  eh.metadata_size = info.size();
  auto say = [&](PeerKey k, const std::string& payload, std::uint8_t ext) {
    std::string frame;
    wire::encode_extended(ext, payload, &frame);
    frame.erase(0, 4);
    wire::Message m;
    ASSERT_EQ(wire::decode_payload(frame, &m), "");
    mag.peer_message(k, frame, m, 0);
  };
  say(5, wire::encode_ext_handshake(eh), 0);
  std::string out = mag.take_output(5);
  EXPECT_NE(out.find("msg_typei0e"), std::string::npos);  // asked for the pieces
  std::string lie = info;
  lie[10] ^= 1;
  for (std::uint32_t p = 0; p * 16384 < info.size(); ++p)
    say(5, wire::encode_metadata_data(p, info.size(), wire::metadata_piece(lie, p)), wire::kUtMetadataId);
  auto closes = mag.take_closes();
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(closes[0].peer, 5u);
  EXPECT_TRUE(mag.banned().count("10.0.0.5"));
  mag.peer_gone(5);
  EXPECT_NE(mag.peer_connected(6, liar, "10.0.0.5:2000", 0), "");  // banned by address
}

}  // namespace

namespace {

// A v2 file of `pieces` pieces of 32 KiB with a random piece layer, its root from the layer.
struct V2File {
  Metainfo meta;
  std::string layer;
};

V2File v2_file(std::uint64_t pieces, std::uint64_t seed) {
  V2File v;
  v.layer = random_bytes(pieces * 32, seed);
  std::vector<Sha256> hashes(pieces);
  for (std::uint64_t i = 0; i < pieces; ++i) std::memcpy(hashes[i].data(), v.layer.data() + 32 * i, 32);
  v.meta.has_v2 = true;
  v.meta.piece_length = 32768;
  FileEntry f;
  f.path = {"big.bin"};
  f.length = pieces * 32768 - 100;
  f.pieces_root = root_from_piece_layer(hashes, 32768);
  v.meta.files.push_back(f);
  return v;
}

void answer_all(LayerFetch& lf, const HashTree& tree, double now, PeerKey liar = 0) {
  for (int round = 0; round < 50 && !lf.done(); ++round) {
    for (const auto& r : lf.take_requests(now)) {
      auto a = tree.answer(r.span.base_layer, r.span.index, r.span.length, r.span.proof_layers);
      ASSERT_TRUE(a) << "a request the serving side refuses";
      std::string bytes;
      for (const auto& h : *a) bytes.append(reinterpret_cast<const char*>(h.data()), 32);
      if (r.peer == liar) bytes[40] ^= 1;
      const std::string why = lf.on_hashes(r.peer, r.span, bytes);
      EXPECT_EQ(why.empty(), r.peer != liar) << why;
    }
  }
}

}  // namespace

TEST(LayerFetch, ProvesSpansWithUnclesAgainstTheRoot) {
  const V2File v = v2_file(1000, 11);  // 1024 wide: two spans of 512, each with one uncle
  LayerFetch lf(v.meta);
  EXPECT_FALSE(lf.done());
  EXPECT_EQ(lf.spans(), 2u);
  lf.add_peer(1);
  const HashTree tree(v.layer, 32768);
  answer_all(lf, tree, 0);
  ASSERT_TRUE(lf.done());
  EXPECT_EQ(lf.layers().at(*v.meta.files[0].pieces_root), v.layer);
}

TEST(LayerFetch, ASmallFileTakesOneSpanWithoutProof) {
  const V2File v = v2_file(5, 12);
  LayerFetch lf(v.meta);
  lf.add_peer(1);
  auto reqs = lf.take_requests(0);
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].span.length, 8u);
  EXPECT_EQ(reqs[0].span.proof_layers, 0u);
  const HashTree tree(v.layer, 32768);
  auto a = tree.answer(reqs[0].span.base_layer, 0, 8, 0);
  ASSERT_TRUE(a);
  std::string bytes;
  for (const auto& h : *a) bytes.append(reinterpret_cast<const char*>(h.data()), 32);
  EXPECT_EQ(lf.on_hashes(1, reqs[0].span, bytes), "");
  ASSERT_TRUE(lf.done());
  EXPECT_EQ(lf.layers().at(*v.meta.files[0].pieces_root), v.layer);
}

TEST(LayerFetch, ALiarIsNamedAndAnotherPeerAsked) {
  const V2File v = v2_file(700, 13);
  LayerFetch lf(v.meta);
  lf.add_peer(1);
  const HashTree tree(v.layer, 32768);
  answer_all(lf, tree, 0, /*liar=*/1);
  EXPECT_FALSE(lf.done());
  EXPECT_TRUE(lf.take_requests(1).empty());  // peer 1 is not asked again for those spans
  lf.add_peer(2);
  answer_all(lf, tree, 2, /*liar=*/1);
  ASSERT_TRUE(lf.done());
  EXPECT_EQ(lf.layers().at(*v.meta.files[0].pieces_root), v.layer);
}

TEST(LayerFetch, RejectsAndSilenceGoToOtherPeers) {
  const V2File v = v2_file(40, 14);
  LayerFetch lf(v.meta, 20);
  lf.add_peer(1);
  lf.add_peer(2);
  auto reqs = lf.take_requests(0);
  ASSERT_EQ(reqs.size(), 1u);
  const PeerKey first = reqs[0].peer;
  lf.on_reject(first, reqs[0].span);
  auto again = lf.take_requests(1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_NE(again[0].peer, first);
  lf.tick(30);  // the second never answers: both said no, so both may be asked again
  EXPECT_EQ(lf.take_requests(30).size(), 1u);
}

TEST(MagnetToTorrent, PieceLayersGoIntoTheTorrentFile) {
  const V2File v = v2_file(3, 15);
  std::map<Sha256, std::string> layers{{*v.meta.files[0].pieces_root, v.layer}};
  const std::string t = torrent_from_info("d4:name1:xe", {"http://t/a", "udp://u:1"}, {"http://w/"}, layers);
  std::string why;
  auto d = bdecode(t);
  ASSERT_TRUE(d.value) << d.error;
  EXPECT_TRUE(d.warnings.empty());  // keys in order
  EXPECT_EQ(d.value->find("announce")->as_string(), "http://t/a");
  EXPECT_EQ(d.value->find("announce-list")->items().size(), 2u);
  EXPECT_EQ(d.value->find("piece layers")->entries().front().second.as_string(), v.layer);
  EXPECT_EQ(d.value->find("url-list")->items().front().as_string(), "http://w/");
}
