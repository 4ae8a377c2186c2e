// TorrentSession with scripted and in-memory peers: whole downloads between sessions wired
// back to back (bytes through the real encoders and decoder, pieces checked with OpenSSL's
// SHA-1), and hostile peers fed hand-made messages.
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <map>
#include <random>
#include <set>

#include "net/torrent/merkle.hpp"
#include "net/torrent/piece_check.hpp"
#include "net/torrent/torrent_session.hpp"

namespace {

using namespace hf::torrent;
namespace wire = hf::torrent::wire;

constexpr std::uint64_t kPiece = 64 * 1024;

struct Fixture {
  Metainfo meta;
  std::vector<std::uint8_t> data;
};

Fixture make_torrent(std::uint64_t length, std::uint64_t seed = 7) {
  Fixture f;
  f.data.resize(length);
  std::mt19937_64 rng(seed);
  for (auto& b : f.data) b = static_cast<std::uint8_t>(rng());
  f.meta.has_v1 = true;
  f.meta.single_file = true;
  f.meta.name = "data.bin";
  f.meta.piece_length = kPiece;
  f.meta.total_length = length;
  for (std::uint64_t at = 0; at < length; at += kPiece) {
    std::uint8_t h[20];
    SHA1(f.data.data() + at, std::min(kPiece, length - at), h);
    f.meta.pieces.append(reinterpret_cast<const char*>(h), 20);
  }
  for (int i = 0; i < 20; ++i) f.meta.info_hash_v1[i] = static_cast<std::uint8_t>(0xA0 + i);
  return f;
}

wire::Hash20 peer_id(int n) {
  wire::Hash20 id{};
  std::string s = "-HF0001-test" + std::to_string(1000000 + n);
  std::copy_n(s.begin(), 20, id.begin());
  return id;
}

// One node of an in-memory swarm: a session, its data (what it holds so far) and a flag per
// piece it wrote.
struct Node {
  std::unique_ptr<TorrentSession> s;
  std::vector<std::uint8_t> disk;
  std::vector<std::string> closed;  // reasons it gave for closing peers
  std::map<PeerKey, std::string> inbox;  // bytes from each peer not yet decoded
};

// A swarm wired in memory: links are (node, key) pairs both ways; `tamper` may change a
// piece message's block on its way.
struct Swarm {
  const Fixture& f;
  std::vector<Node> nodes;
  std::map<std::pair<int, PeerKey>, std::pair<int, PeerKey>> links;
  std::function<void(int from, wire::Message&, std::string& block)> tamper;
  std::vector<BlockRef> requests_seen;  // every request any node sent, in order
  double now = 0;

  explicit Swarm(const Fixture& fx) : f(fx) {}

  int add(bool seed, SessionConfig cfg = {}) {
    cfg.seed = nodes.size() + 1;
    Node n;
    n.s = std::make_unique<TorrentSession>(f.meta, peer_id(static_cast<int>(nodes.size())), cfg);
    n.disk.assign(f.data.size(), 0);
    if (seed) {
      n.disk = f.data;
      for (std::uint32_t i = 0; i < n.s->pieces(); ++i) n.s->set_have(i);
    }
    nodes.push_back(std::move(n));
    return static_cast<int>(nodes.size()) - 1;
  }

  void connect(int a, int b) {
    const PeerKey ka = 100 + b, kb = 100 + a;  // a's key for b, b's key for a
    links[{a, ka}] = {b, kb};
    links[{b, kb}] = {a, ka};
    ASSERT_EQ(nodes[a].s->peer_connected(ka, nodes[b].s->our_handshake(), "10.0.0." + std::to_string(b) + ":6881",
                                         std::nullopt, now),
              "");
    ASSERT_EQ(nodes[b].s->peer_connected(kb, nodes[a].s->our_handshake(), "10.0.0." + std::to_string(a) + ":6881",
                                         std::nullopt, now),
              "");
  }

  // Moves bytes until nothing moves; returns false if a round limit is hit.
  bool pump(int rounds = 100000) {
    for (int r = 0; r < rounds; ++r) {
      bool moved = false;
      for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
        Node& n = nodes[i];
        for (const auto& rd : n.s->take_reads([](PeerKey) { return true; })) {
          const std::uint64_t at = rd.block.piece * kPiece + rd.block.begin;
          n.s->block_read(rd.peer, rd.block, {n.disk.data() + at, rd.block.length}, now);
          moved = true;
        }
        for (auto& pc : n.s->take_pieces()) {
          std::uint8_t h[20];
          SHA1(pc.data.data(), pc.data.size(), h);
          const bool ok = std::equal(h, h + 20, f.meta.pieces.begin() + pc.index * 20,
                                     [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); });
          if (ok) std::copy(pc.data.begin(), pc.data.end(), n.disk.begin() + pc.index * kPiece);
          n.s->piece_checked(pc.index, ok, pc.data, now);
          moved = true;
        }
        for (const auto& c : n.s->take_closes()) {
          n.closed.push_back(c.why);
          auto it = links.find({i, c.peer});
          n.s->peer_gone(c.peer);
          if (it != links.end()) {
            auto [j, kj] = it->second;
            nodes[j].s->peer_gone(kj);
            links.erase({j, kj});
            links.erase(it);
          }
          moved = true;
        }
        for (PeerKey k : n.s->take_ready()) {
          std::string out = n.s->take_output(k);
          auto it = links.find({i, k});
          if (it == links.end() || out.empty()) continue;
          auto [j, kj] = it->second;
          nodes[j].inbox[kj] += out;
          moved = true;
        }
      }
      for (int j = 0; j < static_cast<int>(nodes.size()); ++j) {
        for (auto& [k, buf] : nodes[j].inbox) {
          std::size_t at = 0;
          while (true) {
            wire::Message m;
            auto d = wire::decode_message(std::string_view(buf).substr(at), &m);
            if (d.status != wire::Decode::ok) break;
            std::string copy;
            if (m.id == wire::MsgId::request && !m.keep_alive) requests_seen.push_back({m.index, m.begin, m.length});
            if (m.id == wire::MsgId::piece && !m.keep_alive && tamper) {
              auto from = links.count({j, k}) ? links[{j, k}].first : -1;
              copy.assign(m.data);
              tamper(from, m, copy);
              m.data = copy;
            }
            at += d.consumed;
            if (nodes[j].s->connected(k)) nodes[j].s->peer_message(k, m, now);
            moved = true;
          }
          buf.erase(0, at);
        }
      }
      if (!moved) {
        // Quiet: let a second pass (rechokes, timeouts); stop once even that moves nothing.
        now += 1;
        for (auto& n : nodes) n.s->tick(now);
        bool any = false;
        for (auto& n : nodes)
          if (!n.s->take_ready().empty() || !n.s->take_pieces().empty()) any = true;
        (void)any;
        bool again = false;
        for (auto& n : nodes) again |= !n.s->complete();
        if (!again) return true;
        if (now > 600) return false;
      }
    }
    return false;
  }
};

TEST(TorrentSession, LeecherGetsEveryByteFromASeed) {
  Fixture f = make_torrent(10 * kPiece + 12345);
  Swarm w(f);
  int seed = w.add(true), leech = w.add(false);
  w.connect(seed, leech);
  ASSERT_TRUE(w.pump());
  EXPECT_TRUE(w.nodes[leech].s->complete());
  EXPECT_EQ(w.nodes[leech].disk, f.data);
  EXPECT_EQ(w.nodes[leech].s->downloaded(), f.data.size());
  EXPECT_EQ(w.nodes[seed].s->uploaded(), f.data.size());
  EXPECT_EQ(w.nodes[leech].s->wasted(), 0u);
  EXPECT_EQ(w.nodes[leech].s->hash_failures(), 0u);
}

TEST(TorrentSession, BlocksKeptFromAnEarlierRunAreNeverAskedForAgain) {
  Fixture f = make_torrent(6 * kPiece + 777);
  Swarm w(f);
  int seed = w.add(true), leech = w.add(false);
  TorrentSession& s = *w.nodes[leech].s;
  const std::uint32_t B = 16 * 1024;
  auto piece_bytes = [&](std::uint32_t p) {
    return std::vector<std::uint8_t>(f.data.begin() + p * kPiece, f.data.begin() + p * kPiece + kPiece);
  };
  // Piece 2: blocks 0 and 2 kept, right. Piece 4: blocks 1 and 3 kept, but block 3 was
  // damaged on disk (the piece fails once, and no peer is blamed for it).
  EXPECT_TRUE(s.restore_blocks(2, {true, false, true, false}, piece_bytes(2)));
  auto bad = piece_bytes(4);
  bad[3 * B + 9] ^= 0x55;
  EXPECT_TRUE(s.restore_blocks(4, {false, true, false, true}, bad));
  // Nothing to take: a piece held, a shape that does not fit, blocks already in.
  s.set_have(5);
  EXPECT_FALSE(s.restore_blocks(5, {true, true, true, true}, piece_bytes(5)));
  EXPECT_FALSE(s.restore_blocks(1, {true, true}, piece_bytes(1)));
  EXPECT_FALSE(s.restore_blocks(2, {true, false, false, false}, piece_bytes(2)));
  // What a resume save would record now: exactly those blocks.
  auto parts = s.partial_pieces();
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].index, 2u);
  EXPECT_EQ(parts[0].blocks, (std::vector<bool>{true, false, true, false}));
  EXPECT_TRUE(std::equal(parts[0].data.begin(), parts[0].data.begin() + B, f.data.begin() + 2 * kPiece));
  EXPECT_EQ(parts[1].index, 4u);
  EXPECT_EQ(parts[1].blocks, (std::vector<bool>{false, true, false, true}));
  // A whole piece kept goes to be checked at once.
  EXPECT_TRUE(s.restore_blocks(3, {true, true, true, true}, piece_bytes(3)));
  auto whole = s.take_pieces();
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_EQ(whole[0].index, 3u);
  s.piece_checked(3, true, whole[0].data, 0);
  std::copy(whole[0].data.begin(), whole[0].data.end(), w.nodes[leech].disk.begin() + 3 * kPiece);
  std::copy(f.data.begin() + 5 * kPiece, f.data.begin() + 6 * kPiece, w.nodes[leech].disk.begin() + 5 * kPiece);

  w.connect(seed, leech);
  ASSERT_TRUE(w.pump());
  EXPECT_TRUE(s.complete());
  EXPECT_EQ(w.nodes[leech].disk, f.data);
  for (const BlockRef& r : w.requests_seen) {
    EXPECT_FALSE(r.piece == 2 && (r.begin == 0 || r.begin == 2 * B)) << "piece 2 block " << r.begin / B << " asked again";
    EXPECT_FALSE(r.piece == 3 || r.piece == 5) << "piece " << r.piece << " was held";
  }
  EXPECT_EQ(s.hash_failures(), 1u);  // piece 4, with its damaged block
  // The seed is not blamed for the damaged block kept on disk.
  for (const auto& why : w.nodes[leech].closed) EXPECT_EQ(why.find("bad data"), std::string::npos) << why;
}

TEST(TorrentSession, PadFileBlocksAreNeverRequested) {
  // Two files, the first padded (BEP 47) to the end of piece 1: its zeros are never asked for.
  Fixture f = make_torrent(6 * kPiece + 777);
  const std::uint64_t first = 70000, pad_end = 2 * kPiece;
  std::fill(f.data.begin() + first, f.data.begin() + pad_end, 0);
  f.meta.pieces.clear();
  for (std::uint64_t at = 0; at < f.data.size(); at += kPiece) {
    std::uint8_t h[20];
    SHA1(f.data.data() + at, std::min<std::uint64_t>(kPiece, f.data.size() - at), h);
    f.meta.pieces.append(reinterpret_cast<const char*>(h), 20);
  }
  f.meta.single_file = false;
  auto file = [](std::vector<std::string> path, std::uint64_t length, std::uint64_t offset, bool pad) {
    FileEntry e;
    e.path = std::move(path);
    e.length = length;
    e.offset = offset;
    e.pad = pad;
    return e;
  };
  f.meta.files = {file({"a"}, first, 0, false), file({".pad", "1"}, pad_end - first, first, true),
                  file({"b"}, f.data.size() - pad_end, pad_end, false)};
  Swarm w(f);
  int seed = w.add(true), leech = w.add(false);
  w.connect(seed, leech);
  ASSERT_TRUE(w.pump());
  EXPECT_EQ(w.nodes[leech].disk, f.data);
  std::uint64_t asked = 0;
  for (const auto& b : w.requests_seen) {
    const std::uint64_t at = b.piece * kPiece + b.begin;
    EXPECT_FALSE(at >= first && at + b.length <= pad_end) << "a pad block was requested: " << b.piece << "/" << b.begin;
    asked += b.length;
  }
  // Blocks 5..7 of the stream (80 KiB..128 KiB) lie wholly in the pad.
  const std::uint64_t pad_blocks = (pad_end - 5 * wire::kBlockSize) / wire::kBlockSize;
  EXPECT_EQ(pad_blocks, 3u);
  EXPECT_EQ(asked, f.data.size() - pad_blocks * wire::kBlockSize);
  EXPECT_EQ(w.nodes[leech].s->downloaded(), asked);
  EXPECT_EQ(w.nodes[leech].s->hash_failures(), 0u);
}

TEST(TorrentSession, ThreeSeedsNeverAskOneBlockTwiceOutsideEndgame) {
  Fixture f = make_torrent(40 * kPiece);
  Swarm w(f);
  int leech = w.add(false);
  for (int i = 0; i < 3; ++i) w.connect(w.add(true), leech);
  ASSERT_TRUE(w.pump());
  EXPECT_EQ(w.nodes[leech].disk, f.data);
  // Endgame copies are the only repeats: at most the last few blocks.
  std::map<std::pair<std::uint32_t, std::uint32_t>, int> count;
  for (const auto& b : w.requests_seen) ++count[{b.piece, b.begin}];
  std::size_t repeats = 0;
  for (const auto& [b, n] : count) repeats += n > 1;
  EXPECT_EQ(count.size(), f.data.size() / wire::kBlockSize);
  EXPECT_LE(repeats, 3u * 250u);  // never more than the endgame's outstanding set
  std::set<PeerKey> senders;
  for (const auto& p : w.nodes[leech].s->peer_status()) EXPECT_GT(p.downloaded, 0u) << p.address;
}

TEST(TorrentSession, LeechersTradePiecesWhileTheSeedServes) {
  Fixture f = make_torrent(30 * kPiece + 1);
  Swarm w(f);
  int seed = w.add(true);
  int a = w.add(false), b = w.add(false), c = w.add(false);
  w.connect(seed, a);
  w.connect(seed, b);
  w.connect(seed, c);
  w.connect(a, b);
  w.connect(b, c);
  w.connect(a, c);
  ASSERT_TRUE(w.pump());
  for (int n : {a, b, c}) EXPECT_EQ(w.nodes[n].disk, f.data) << n;
  // The leechers uploaded to each other: the seed did not send everything three times.
  EXPECT_LT(w.nodes[seed].s->uploaded(), 3 * f.data.size());
}

TEST(TorrentSession, CorruptDataIsBannedAndTheDownloadStillEndsRight) {
  Fixture f = make_torrent(12 * kPiece);
  Swarm w(f);
  int leech = w.add(false);
  int good = w.add(true), bad = w.add(true);
  w.tamper = [&](int from, wire::Message&, std::string& block) {
    if (from == bad) block[0] ^= 0x55;
  };
  w.connect(leech, bad);
  w.connect(leech, good);
  ASSERT_TRUE(w.pump());
  EXPECT_EQ(w.nodes[leech].disk, f.data);
  EXPECT_GE(w.nodes[leech].s->hash_failures(), 1u);
  EXPECT_TRUE(w.nodes[leech].s->banned().count("10.0.0." + std::to_string(bad)));
  EXPECT_FALSE(w.nodes[leech].s->banned().count("10.0.0." + std::to_string(good)));
  bool said = false;
  for (const auto& why : w.nodes[leech].closed) said |= why.find("bad data") != std::string::npos;
  EXPECT_TRUE(said);
  // A banned address is refused when it comes back.
  EXPECT_NE(w.nodes[leech].s->peer_connected(999, w.nodes[bad].s->our_handshake(), "10.0.0." + std::to_string(bad) + ":7000",
                                             std::nullopt, w.now),
            "");
}

// A scripted peer: messages in by hand, bytes out decoded.
struct Scripted {
  Fixture f = make_torrent(8 * kPiece);
  TorrentSession s{f.meta, peer_id(1), {}};
  PeerKey k = 7;

  explicit Scripted(bool seed, bool fast = true) {
    if (seed)
      for (std::uint32_t i = 0; i < s.pieces(); ++i) s.set_have(i);
    wire::Handshake h;
    h.info_hash = f.meta.info_hash_v1;
    h.peer_id = peer_id(2);
    if (fast) h.set(wire::kFast);
    EXPECT_EQ(s.peer_connected(k, h, "192.0.2.1:6881", std::nullopt, 0), "");
  }
  void feed(const std::string& bytes) {
    std::size_t at = 0;
    while (at < bytes.size()) {
      wire::Message m;
      auto d = wire::decode_message(std::string_view(bytes).substr(at), &m);
      ASSERT_EQ(d.status, wire::Decode::ok);
      s.peer_message(k, m, 0);
      at += d.consumed;
    }
  }
  std::vector<wire::Message> out_msgs(std::string* keep) {
    *keep = s.take_output(k);
    std::vector<wire::Message> r;
    std::size_t at = 0;
    while (at < keep->size()) {
      wire::Message m;
      auto d = wire::decode_message(std::string_view(*keep).substr(at), &m);
      EXPECT_EQ(d.status, wire::Decode::ok);
      if (d.status != wire::Decode::ok) break;
      r.push_back(m);
      at += d.consumed;
    }
    return r;
  }
  std::string closed() {
    auto c = s.take_closes();
    return c.empty() ? std::string() : c.front().why;
  }
};

std::string msg(wire::MsgId id) {
  std::string s;
  wire::encode_simple(id, &s);
  return s;
}

// BEP 5: with a DHT running, a peer that sets the DHT bit is told our DHT port, and the
// port it sends back is handed to the driver (host and port) for the DHT to ping.
TEST(TorrentSession, DhtPortsAreTradedWithDhtPeersOnly) {
  Fixture f = make_torrent(4 * kPiece);
  SessionConfig cfg;
  cfg.dht_port = 6999;
  TorrentSession s{f.meta, peer_id(1), cfg};
  wire::Handshake h;
  h.info_hash = f.meta.info_hash_v1;
  h.peer_id = peer_id(2);
  h.set(wire::kFast);
  h.set(wire::kDht);
  ASSERT_EQ(s.peer_connected(1, h, "192.0.2.1:6881", std::nullopt, 0), "");
  h.peer_id = peer_id(3);
  h.reserved = {};
  h.set(wire::kFast);
  ASSERT_EQ(s.peer_connected(2, h, "[2001:db8::2]:6881", std::nullopt, 0), "");
  auto ports_in = [](const std::string& out) {
    std::vector<std::uint16_t> ports;
    std::size_t at = 0;
    while (at < out.size()) {
      wire::Message m;
      auto d = wire::decode_message(std::string_view(out).substr(at), &m);
      if (d.status != wire::Decode::ok) break;
      if (m.id == wire::MsgId::port) ports.push_back(m.port);
      at += d.consumed;
    }
    return ports;
  };
  EXPECT_EQ(ports_in(s.take_output(1)), std::vector<std::uint16_t>{6999});
  EXPECT_TRUE(ports_in(s.take_output(2)).empty());
  std::string port;
  wire::encode_port(7777, &port);
  wire::Message m;
  ASSERT_EQ(wire::decode_message(port, &m).status, wire::Decode::ok);
  s.peer_message(1, m, 0);
  auto nodes = s.take_dht_nodes();
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].first, "192.0.2.1");
  EXPECT_EQ(nodes[0].second, 7777);
  EXPECT_TRUE(s.take_closes().empty());
}

TEST(TorrentSession, ASeedSaysHaveAllAndServesUnchokedRequestsOnly) {
  Scripted t(true);
  std::string keep;
  auto first = t.out_msgs(&keep);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].id, wire::MsgId::have_all);
  // Choked: a fast peer's request is rejected.
  std::string req;
  wire::encode_request(wire::MsgId::request, 0, 0, wire::kBlockSize, &req);
  t.feed(msg(wire::MsgId::have_none) + req);
  auto r = t.out_msgs(&keep);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].id, wire::MsgId::reject);
  // Interested: unchoked at once (a free slot), then served.
  t.feed(msg(wire::MsgId::interested));
  r = t.out_msgs(&keep);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].id, wire::MsgId::unchoke);
  t.feed(req);
  auto reads = t.s.take_reads([](PeerKey) { return true; });
  ASSERT_EQ(reads.size(), 1u);
  std::vector<std::uint8_t> block(t.f.data.begin(), t.f.data.begin() + wire::kBlockSize);
  t.s.block_read(t.k, reads[0].block, block, 0);
  r = t.out_msgs(&keep);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].id, wire::MsgId::piece);
  EXPECT_EQ(std::string(r[0].data), std::string(block.begin(), block.end()));
  EXPECT_EQ(t.closed(), "");
}

std::vector<wire::Message> decode_all(const std::string& out) {
  std::vector<wire::Message> r;
  std::size_t at = 0;
  while (at < out.size()) {
    wire::Message m;
    auto d = wire::decode_message(std::string_view(out).substr(at), &m);
    EXPECT_EQ(d.status, wire::Decode::ok);
    if (d.status != wire::Decode::ok) break;
    r.push_back(m);
    at += d.consumed;
  }
  return r;
}

// BEP 6: a fast IPv4 peer is told its allowed-fast set (the one every client computes), and
// its requests for those pieces are served while it is choked; others are rejected.
TEST(TorrentSession, AllowedFastPiecesAreOfferedAndServedWhileChoked) {
  Fixture f = make_torrent(64 * kPiece);
  TorrentSession s{f.meta, peer_id(1), {}};
  for (std::uint32_t i = 0; i < s.pieces(); ++i) s.set_have(i);
  wire::Handshake h;
  h.info_hash = f.meta.info_hash_v1;
  h.peer_id = peer_id(2);
  h.set(wire::kFast);
  const std::array<std::uint8_t, 4> ip{192, 0, 2, 1};
  ASSERT_EQ(s.peer_connected(7, h, "192.0.2.1:6881", ip, 0), "");
  std::string keep = s.take_output(7);
  auto first = decode_all(keep);
  ASSERT_EQ(first.size(), 11u);
  EXPECT_EQ(first[0].id, wire::MsgId::have_all);
  std::vector<std::uint32_t> offered;
  for (std::size_t i = 1; i < first.size(); ++i) {
    EXPECT_EQ(first[i].id, wire::MsgId::allowed_fast);
    offered.push_back(first[i].index);
  }
  const auto set = wire::allowed_fast_set(ip, f.meta.info_hash_v1, 64, 10);
  EXPECT_EQ(offered, set);
  std::uint32_t other = 0;
  while (std::find(set.begin(), set.end(), other) != set.end()) ++other;
  // Choked (not even interested): the allowed piece is served, the other one rejected.
  std::string in;
  wire::encode_simple(wire::MsgId::have_none, &in);
  wire::encode_request(wire::MsgId::request, set[0], 0, wire::kBlockSize, &in);
  wire::encode_request(wire::MsgId::request, other, 0, wire::kBlockSize, &in);
  for (const auto& m : decode_all(in)) s.peer_message(7, m, 0);
  auto r = decode_all(keep = s.take_output(7));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].id, wire::MsgId::reject);
  EXPECT_EQ(r[0].index, other);
  auto reads = s.take_reads([](PeerKey) { return true; });
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].block.piece, set[0]);
  std::vector<std::uint8_t> block(f.data.begin() + set[0] * kPiece, f.data.begin() + set[0] * kPiece + wire::kBlockSize);
  s.block_read(7, reads[0].block, block, 0);
  r = decode_all(keep = s.take_output(7));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].id, wire::MsgId::piece);
  EXPECT_EQ(r[0].index, set[0]);
  // Not a way around the choke: a piece goes twice over at most (its 4 blocks, 8 requests
  // in all: the 9th is rejected), and not at all once the peer says it has it.
  in.clear();
  for (int i = 0; i < 8; ++i) wire::encode_request(wire::MsgId::request, set[0], 0, wire::kBlockSize, &in);
  wire::encode_have(set[1], &in);
  wire::encode_request(wire::MsgId::request, set[1], 0, wire::kBlockSize, &in);
  for (const auto& m : decode_all(in)) s.peer_message(7, m, 0);
  std::vector<std::uint32_t> rejected;
  for (const auto& m : decode_all(keep = s.take_output(7)))
    if (m.id == wire::MsgId::reject) rejected.push_back(m.index);
  EXPECT_EQ(rejected, (std::vector<std::uint32_t>{set[0], set[1]}));
  // No set for an IPv6 peer (BEP 6 draws it from an IPv4 address).
  wire::Handshake h2 = h;
  h2.peer_id = peer_id(3);
  ASSERT_EQ(s.peer_connected(8, h2, "[2001:db8::1]:6881", std::nullopt, 0), "");
  for (const auto& m : decode_all(s.take_output(8))) EXPECT_NE(m.id, wire::MsgId::allowed_fast) << "IPv6 peer";
  EXPECT_TRUE(s.take_closes().empty());
}

// v2 (BEP 52): a failed piece whose blocks came from several peers is resolved by its leaf
// hashes, asked of a peer and checked against the piece layer: the sender of the wrong block
// is banned at once, named by the block. A lying answer names no one.
TEST(TorrentSession, AFailedV2PieceNamesTheSenderOfItsBadBlockByLeafHashes) {
  for (const bool lie : {false, true}) {
    SCOPED_TRACE(lie ? "lying answer" : "true answer");
    // A hybrid torrent of one file in two 64 KiB pieces: v1 hashes from make_torrent, and the
    // file's v2 piece layer and root.
    Fixture f = make_torrent(2 * kPiece);
    std::vector<Sha256> leaves = block_hashes(f.data), layer;
    for (std::size_t p = 0; p < 2; ++p)
      layer.push_back(merkle_root({leaves.begin() + 4 * p, leaves.begin() + 4 * p + 4}, Sha256{}, 4));
    FileEntry fe;
    fe.length = f.data.size();
    fe.pieces_root = root_from_piece_layer(layer, kPiece);
    for (const auto& h : layer) fe.piece_layer.append(reinterpret_cast<const char*>(h.data()), 32);
    f.meta.files = {fe};
    f.meta.has_v2 = true;
    TorrentSession s{f.meta, peer_id(1), {}};
    s.set_have(1);  // piece 0 alone is wanted: its 4 blocks go out at once, then endgame copies
    wire::Handshake h;
    h.info_hash = f.meta.info_hash_v1;
    h.set(wire::kFast);
    h.peer_id = peer_id(2);
    ASSERT_EQ(s.peer_connected(1, h, "192.0.2.1:6881", std::nullopt, 0), "");
    h.peer_id = peer_id(3);
    ASSERT_EQ(s.peer_connected(2, h, "192.0.2.2:6881", std::nullopt, 0), "");
    auto feed = [&](PeerKey k, const std::string& bytes) {
      for (const auto& m : decode_all(bytes)) s.peer_message(k, m, 0);
    };
    auto requests_to = [&](PeerKey k) {
      std::vector<wire::Message> r;
      for (const auto& m : decode_all(s.take_output(k)))
        if (m.id == wire::MsgId::request) r.push_back(m);
      return r;
    };
    std::string in;
    wire::encode_simple(wire::MsgId::have_all, &in);
    wire::encode_simple(wire::MsgId::unchoke, &in);
    feed(1, in);
    ASSERT_EQ(requests_to(1).size(), 4u);
    feed(2, in);
    auto copies = requests_to(2);  // endgame: copies asked of the second peer
    ASSERT_FALSE(copies.empty());
    const std::uint32_t bad_block = copies[0].begin / wire::kBlockSize;
    auto block_msg = [&](std::uint32_t i, bool corrupt) {
      std::string b(f.data.begin() + i * wire::kBlockSize, f.data.begin() + (i + 1) * wire::kBlockSize);
      if (corrupt) b[100] ^= 0x5A;
      std::string out;
      wire::encode_piece_header(0, i * wire::kBlockSize, wire::kBlockSize, &out);
      return out + b;
    };
    feed(2, block_msg(bad_block, true));  // the second peer's copy comes first, wrong
    for (std::uint32_t i = 0; i < 4; ++i)
      if (i != bad_block) feed(1, block_msg(i, false));
    auto pieces = s.take_pieces();
    ASSERT_EQ(pieces.size(), 1u);
    s.piece_checked(0, false, pieces[0].data, 0);  // its SHA-1 fails
    EXPECT_TRUE(s.take_closes().empty());  // two senders: no one is blamed outright
    // The leaf hashes of piece 0 asked of a peer that has it.
    std::optional<std::pair<PeerKey, wire::HashSpan>> asked;
    for (PeerKey k : {PeerKey{1}, PeerKey{2}})
      for (const auto& m : decode_all(s.take_output(k)))
        if (m.id == wire::MsgId::hash_request) asked = {k, m.span};
    ASSERT_TRUE(asked);
    EXPECT_EQ(asked->second.pieces_root, *fe.pieces_root);
    EXPECT_EQ(asked->second.base_layer, 0u);
    EXPECT_EQ(asked->second.index, 0u);
    EXPECT_EQ(asked->second.length, 4u);
    std::vector<Sha256> answer(leaves.begin(), leaves.begin() + 4);
    if (lie) answer[bad_block][0] ^= 1;  // no longer the piece layer's leaves
    std::string reply;
    wire::encode_hashes(asked->second, answer, &reply);
    feed(asked->first, reply);
    auto closes = s.take_closes();
    if (lie) {
      EXPECT_TRUE(closes.empty());
    } else {
      ASSERT_EQ(closes.size(), 1u);
      EXPECT_EQ(closes[0].peer, PeerKey{2});
      EXPECT_NE(closes[0].why.find("(block " + std::to_string(bad_block) + ")"), std::string::npos) << closes[0].why;
    }
  }
}

// BEP 6 suggest: the suggested piece is asked for first.
TEST(TorrentSession, ASuggestedPieceIsAskedForFirst) {
  Fixture f = make_torrent(64 * kPiece);
  TorrentSession s{f.meta, peer_id(1), {}};
  wire::Handshake h;
  h.info_hash = f.meta.info_hash_v1;
  h.peer_id = peer_id(2);
  h.set(wire::kFast);
  ASSERT_EQ(s.peer_connected(7, h, "192.0.2.1:6881", std::nullopt, 0), "");
  (void)s.take_output(7);
  std::string in;
  wire::encode_simple(wire::MsgId::have_all, &in);
  wire::encode_index(wire::MsgId::suggest, 41, &in);
  wire::encode_simple(wire::MsgId::unchoke, &in);
  for (const auto& m : decode_all(in)) s.peer_message(7, m, 0);
  std::vector<wire::Message> reqs;
  for (const auto& m : decode_all(s.take_output(7)))
    if (m.id == wire::MsgId::request) reqs.push_back(m);
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs[0].index, 41u);
  EXPECT_TRUE(s.take_closes().empty());
}

TEST(TorrentSession, ACancelledRequestIsNotSentAndNoRoomMeansNoReads) {
  Scripted t(true);
  std::string keep;
  t.out_msgs(&keep);
  t.feed(msg(wire::MsgId::have_none) + msg(wire::MsgId::interested));
  t.out_msgs(&keep);
  std::string req, cancel;
  for (std::uint32_t i = 0; i < 4; ++i) wire::encode_request(wire::MsgId::request, 1, i * wire::kBlockSize, wire::kBlockSize, &req);
  t.feed(req);
  EXPECT_TRUE(t.s.take_reads([](PeerKey) { return false; }).empty());  // the connection is full
  wire::encode_request(wire::MsgId::cancel, 1, 0, wire::kBlockSize, &cancel);
  t.feed(cancel);  // not read yet: forgotten
  auto reads = t.s.take_reads([](PeerKey) { return true; });
  ASSERT_EQ(reads.size(), 3u);
  std::string cancel2;
  wire::encode_request(wire::MsgId::cancel, 1, wire::kBlockSize, wire::kBlockSize, &cancel2);
  t.feed(cancel2);  // being read: dropped when it comes back
  for (const auto& rd : reads) {
    const std::uint64_t at = rd.block.piece * kPiece + rd.block.begin;
    t.s.block_read(t.k, rd.block, {t.f.data.data() + at, rd.block.length}, 0);
  }
  auto r = t.out_msgs(&keep);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].begin, 2 * wire::kBlockSize);
  EXPECT_EQ(r[1].begin, 3 * wire::kBlockSize);
}

TEST(TorrentSession, ProtocolErrorsCloseThePeer) {
  {
    // A second bitfield (aria2 sends two) adds pieces like HAVEs; have none later changes
    // nothing; neither closes the peer.
    Scripted t(false);
    std::string bits, more, none;
    wire::encode_bitfield(std::vector<std::uint8_t>(1, 0x0F), &bits);
    wire::encode_bitfield(std::vector<std::uint8_t>(1, 0xF0), &more);
    t.feed(bits);
    EXPECT_EQ(t.s.take_closes().size(), 0u);
    auto seen = [&] { return t.s.peer_status().front().pieces; };
    EXPECT_EQ(seen(), 4u);
    t.feed(more);
    EXPECT_EQ(seen(), 8u);
    t.feed(msg(wire::MsgId::have_none));
    EXPECT_EQ(seen(), 8u);
    EXPECT_EQ(t.closed(), "");
  }
  {
    Scripted t(false);
    std::string bits;
    std::vector<std::uint8_t> b(3, 0xFF);  // 8 pieces need one byte
    wire::encode_bitfield(b, &bits);
    t.feed(bits);
    EXPECT_NE(t.closed(), "");
  }
  {
    Scripted t(true);
    std::string keep;
    t.out_msgs(&keep);
    t.feed(msg(wire::MsgId::have_none) + msg(wire::MsgId::interested));
    std::string req;
    wire::encode_request(wire::MsgId::request, 0, 0, 32 * 1024, &req);
    t.feed(req);
    EXPECT_NE(t.closed().find("over 16 KiB"), std::string::npos);
  }
  {
    Scripted t(true, /*fast=*/false);
    t.feed(msg(wire::MsgId::have_all));  // fast messages from a peer that did not offer it
    EXPECT_NE(t.closed().find("without the fast extension"), std::string::npos);
  }
  {
    Scripted t(true);
    std::string have;
    for (int i = 0; i < 1000; ++i) wire::encode_have(3, &have);  // a HAVE flood: harmless
    t.feed(have);
    EXPECT_EQ(t.closed(), "");
    ASSERT_EQ(t.s.peer_status().size(), 1u);
    EXPECT_EQ(t.s.peer_status()[0].pieces, 1u);
    std::string bad;
    wire::encode_have(8, &bad);  // out of range
    t.feed(bad);
    EXPECT_NE(t.closed(), "");
  }
}

TEST(TorrentSession, HandshakesAreRefusedForTheWrongTorrentOurselvesAndTwins) {
  Scripted t(false);
  wire::Handshake h;
  h.peer_id = peer_id(3);
  EXPECT_NE(t.s.peer_connected(8, h, "192.0.2.2:1", std::nullopt, 0).find("another torrent"), std::string::npos);
  h.info_hash = t.f.meta.info_hash_v1;
  h.peer_id = peer_id(1);
  EXPECT_NE(t.s.peer_connected(8, h, "192.0.2.2:1", std::nullopt, 0).find("ourselves"), std::string::npos);
  h.peer_id = peer_id(2);
  EXPECT_NE(t.s.peer_connected(8, h, "192.0.2.2:1", std::nullopt, 0).find("connected already"), std::string::npos);
}

TEST(TorrentSession, AChokeWithoutTheFastExtensionSendsItsBlocksElsewhere) {
  Scripted t(false, /*fast=*/false);
  std::string keep;
  std::string bits;
  std::vector<std::uint8_t> b(1, 0xFF);
  wire::encode_bitfield(b, &bits);
  t.feed(bits + msg(wire::MsgId::unchoke));
  auto r = t.out_msgs(&keep);
  std::size_t asked = 0;
  for (const auto& m : r) asked += m.id == wire::MsgId::request;
  ASSERT_GT(asked, 0u);
  ASSERT_EQ(t.s.peer_status()[0].requests_out, asked);
  t.feed(msg(wire::MsgId::choke));
  EXPECT_EQ(t.s.peer_status()[0].requests_out, 0u);
  // Unchoked again, it is asked again from the start.
  t.feed(msg(wire::MsgId::unchoke));
  r = t.out_msgs(&keep);
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r[0].id, wire::MsgId::request);
}

TEST(TorrentSession, UnansweredRequestsTimeOutAndAreAskedAgain) {
  Scripted t(false, /*fast=*/false);
  std::string keep, bits;
  std::vector<std::uint8_t> b(1, 0xFF);
  wire::encode_bitfield(b, &bits);
  t.feed(bits + msg(wire::MsgId::unchoke));
  std::set<std::pair<std::uint32_t, std::uint32_t>> first;
  for (const auto& m : t.out_msgs(&keep))
    if (m.id == wire::MsgId::request) first.insert({m.index, m.begin});
  ASSERT_FALSE(first.empty());
  t.s.tick(1);
  EXPECT_TRUE(t.out_msgs(&keep).empty());  // not yet
  t.s.tick(1 + SessionConfig{}.request_timeout + 1);
  std::set<std::pair<std::uint32_t, std::uint32_t>> again;
  for (const auto& m : t.out_msgs(&keep))
    if (m.id == wire::MsgId::request) again.insert({m.index, m.begin});
  // Dropped at the timeout, then asked again (no one else has them), with the queue back at
  // its slow-start minimum: the first blocks again, fewer at once.
  ASSERT_EQ(again.size(), 2u);
  for (const auto& b : again) EXPECT_TRUE(first.count(b));
  EXPECT_EQ(t.s.peer_status()[0].requests_out, again.size());
}

}  // namespace
