// The peer wire codec (net/torrent/peer_wire.hpp): handshakes and every message id round-trip
// byte for byte; truncated input asks for more, hostile lengths and wrong-sized payloads are
// errors; messages are checked against a torrent's shape; BEP 6's published allowed-fast
// vectors; peer ids as other clients show them.
#include "net/torrent/peer_wire.hpp"
#include "net/torrent/peer_extensions.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

namespace w = hf::torrent::wire;

namespace {

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

w::Message decode_one(const std::string& frame) {
  w::Message m;
  const w::DecodeResult r = w::decode_message(frame, &m);
  EXPECT_EQ(r.status, w::Decode::ok) << r.why;
  EXPECT_EQ(r.consumed, frame.size());
  return m;
}

// Every proper prefix of a frame asks for more and consumes nothing.
void expect_prefixes_need_more(const std::string& frame) {
  for (std::size_t n = 0; n < frame.size(); ++n) {
    w::Message m;
    const w::DecodeResult r = w::decode_message(std::string_view(frame).substr(0, n), &m);
    ASSERT_EQ(r.status, w::Decode::need_more) << "prefix of " << n << " bytes";
    ASSERT_EQ(r.consumed, 0u);
  }
}

w::Hash32 hash32(std::uint8_t fill) {
  w::Hash32 h;
  h.fill(fill);
  return h;
}

}  // namespace

TEST(PeerWire, HandshakeRoundTripsWithFeatureBits) {
  w::Handshake h;
  h.info_hash.fill(0xAB);
  h.peer_id = w::make_peer_id("0100", std::vector<std::uint8_t>(12, 7));
  h.set(w::kFast);
  h.set(w::kExtensionProtocol);
  const std::string b = w::encode_handshake(h);
  ASSERT_EQ(b.size(), w::kHandshakeSize);
  EXPECT_EQ(b.substr(0, 20), std::string("\x13" "BitTorrent protocol"));
  EXPECT_EQ(static_cast<std::uint8_t>(b[25]), 0x10);  // reserved byte 5
  EXPECT_EQ(static_cast<std::uint8_t>(b[27]), 0x04);  // reserved byte 7
  std::string why;
  const auto back = w::parse_handshake(bytes(b), &why);
  ASSERT_TRUE(back) << why;
  EXPECT_TRUE(back->has(w::kFast));
  EXPECT_TRUE(back->has(w::kExtensionProtocol));
  EXPECT_FALSE(back->has(w::kDht));
  EXPECT_FALSE(back->has(w::kV2Upgrade));
  EXPECT_EQ(back->info_hash, h.info_hash);
  EXPECT_EQ(back->peer_id, h.peer_id);

  std::string other = b;
  other[1] = 'b';
  EXPECT_FALSE(w::parse_handshake(bytes(other), &why));
  EXPECT_NE(why.find("not the BitTorrent protocol"), std::string::npos);
  EXPECT_FALSE(w::parse_handshake(bytes(b.substr(0, 67)), &why));
}

TEST(PeerWire, EveryMessageRoundTrips) {
  std::string s;
  for (w::MsgId id : {w::MsgId::choke, w::MsgId::unchoke, w::MsgId::interested, w::MsgId::not_interested,
                      w::MsgId::have_all, w::MsgId::have_none}) {
    s.clear();
    w::encode_simple(id, &s);
    EXPECT_EQ(s, std::string("\0\0\0\1", 4) + static_cast<char>(id));
    const w::Message m = decode_one(s);
    EXPECT_EQ(m.id, id);
    EXPECT_TRUE(m.known);
    expect_prefixes_need_more(s);
  }
  s.clear();
  w::encode_keep_alive(&s);
  EXPECT_EQ(s, std::string(4, '\0'));
  EXPECT_TRUE(decode_one(s).keep_alive);

  s.clear();
  w::encode_have(0x01020304, &s);
  EXPECT_EQ(s, std::string("\0\0\0\5\4\1\2\3\4", 9));
  EXPECT_EQ(decode_one(s).index, 0x01020304u);

  for (w::MsgId id : {w::MsgId::suggest, w::MsgId::allowed_fast}) {
    s.clear();
    w::encode_index(id, 77, &s);
    const w::Message m = decode_one(s);
    EXPECT_EQ(m.id, id);
    EXPECT_EQ(m.index, 77u);
  }

  const std::vector<std::uint8_t> bits = {0xFF, 0x80};
  s.clear();
  w::encode_bitfield(bits, &s);
  EXPECT_EQ(decode_one(s).data, std::string("\xFF\x80", 2));

  for (w::MsgId id : {w::MsgId::request, w::MsgId::cancel, w::MsgId::reject}) {
    s.clear();
    w::encode_request(id, 5, 16384, 16384, &s);
    ASSERT_EQ(s.size(), 17u);
    const w::Message m = decode_one(s);
    EXPECT_EQ(m.id, id);
    EXPECT_EQ(m.index, 5u);
    EXPECT_EQ(m.begin, 16384u);
    EXPECT_EQ(m.length, 16384u);
    expect_prefixes_need_more(s);
  }

  const std::string block(1000, 'x');
  s.clear();
  w::encode_piece_header(3, 2000, static_cast<std::uint32_t>(block.size()), &s);
  ASSERT_EQ(s.size(), 13u);
  s += block;
  {
    const w::Message m = decode_one(s);
    EXPECT_EQ(m.id, w::MsgId::piece);
    EXPECT_EQ(m.index, 3u);
    EXPECT_EQ(m.begin, 2000u);
    EXPECT_EQ(m.data, block);
    EXPECT_EQ(m.length, block.size());
  }

  s.clear();
  w::encode_port(6881, &s);
  EXPECT_EQ(decode_one(s).port, 6881);

  s.clear();
  w::encode_extended(0, "d1:md11:ut_metadatai1eee", &s);
  {
    const w::Message m = decode_one(s);
    EXPECT_EQ(m.ext_id, 0);
    EXPECT_EQ(m.data, "d1:md11:ut_metadatai1eee");
  }

  w::HashSpan span;
  span.pieces_root = hash32(0x5A);
  span.base_layer = 2;
  span.index = 8;
  span.length = 4;
  span.proof_layers = 3;
  for (w::MsgId id : {w::MsgId::hash_request, w::MsgId::hash_reject}) {
    s.clear();
    w::encode_hash_span(id, span, &s);
    ASSERT_EQ(s.size(), 53u);
    const w::Message m = decode_one(s);
    EXPECT_EQ(m.id, id);
    EXPECT_EQ(m.span.pieces_root, span.pieces_root);
    EXPECT_EQ(m.span.base_layer, 2u);
    EXPECT_EQ(m.span.index, 8u);
    EXPECT_EQ(m.span.length, 4u);
    EXPECT_EQ(m.span.proof_layers, 3u);
  }
  const std::vector<w::Hash32> hs = {hash32(1), hash32(2), hash32(3), hash32(4), hash32(5), hash32(6)};
  s.clear();
  w::encode_hashes(span, hs, &s);
  {
    const w::Message m = decode_one(s);
    EXPECT_EQ(m.id, w::MsgId::hashes);
    ASSERT_EQ(m.data.size(), 6u * 32);
    EXPECT_EQ(static_cast<std::uint8_t>(m.data[5 * 32]), 6);
    EXPECT_EQ(w::check_message(m, {}), "");  // 4 hashes and 2 of the 3 proof layers
  }
}

TEST(PeerWire, AStreamOfMessagesDecodesInOrder) {
  std::string s;
  w::encode_simple(w::MsgId::unchoke, &s);
  w::encode_keep_alive(&s);
  w::encode_have(9, &s);
  std::string_view rest = s;
  std::vector<std::string> seen;
  while (!rest.empty()) {
    w::Message m;
    const w::DecodeResult r = w::decode_message(rest, &m);
    ASSERT_EQ(r.status, w::Decode::ok);
    seen.push_back(m.keep_alive ? "keep-alive" : std::string(w::msg_name(m.id)));
    rest.remove_prefix(r.consumed);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"unchoke", "keep-alive", "have"}));
}

TEST(PeerWire, HostileFramesAreErrors) {
  w::Message m;
  // A length of 0xFFFFFFFF is refused from its four bytes alone: nothing is buffered for it.
  w::DecodeResult r = w::decode_message(std::string("\xFF\xFF\xFF\xFF", 4), &m);
  EXPECT_EQ(r.status, w::Decode::error);
  EXPECT_NE(r.why.find("4294967295 bytes"), std::string::npos) << r.why;
  r = w::decode_message(std::string("\0\0\x40\x0E", 4), &m, 16384 + 13);  // 16398 > 16397
  EXPECT_EQ(r.status, w::Decode::error);

  struct Bad {
    const char* what;
    std::string frame;
  };
  const Bad bad[] = {
      {"choke with a byte", std::string("\0\0\0\2\0\0", 6)},
      {"have of 3 bytes", std::string("\0\0\0\4\4\0\0\1", 8)},
      {"request of 8 bytes", std::string("\0\0\0\x09\6\0\0\0\1\0\0\0\0", 13)},
      {"piece without a block", std::string("\0\0\0\x09\7\0\0\0\1\0\0\0\0", 13)},
      {"port of 1 byte", std::string("\0\0\0\2\x09\1", 6)},
      {"extended without an id", std::string("\0\0\0\1\x14", 5)},
      {"hashes with half a hash", std::string("\0\0\0\x41\x16", 5) + std::string(48 + 16, '\0')},
      {"hash request of 47 bytes", std::string("\0\0\0\x30\x15", 5) + std::string(47, '\0')},
  };
  for (const Bad& b : bad) {
    r = w::decode_message(b.frame, &m);
    EXPECT_EQ(r.status, w::Decode::error) << b.what;
    EXPECT_EQ(r.consumed, 0u) << b.what;
    EXPECT_FALSE(r.why.empty()) << b.what;
  }
  // An id nobody defined is skipped, not an error (BEP 3).
  r = w::decode_message(std::string("\0\0\0\3\x63zz", 7), &m);
  ASSERT_EQ(r.status, w::Decode::ok);
  EXPECT_FALSE(m.known);
  EXPECT_EQ(m.raw_id, 0x63);
  EXPECT_EQ(r.consumed, 7u);
}

TEST(PeerWire, MessagesAreCheckedAgainstTheTorrent) {
  // 10 pieces of 32 KiB, the last one 5,000 bytes.
  const w::TorrentShape t{10, 32768, 9 * 32768 + 5000};
  EXPECT_EQ(t.piece_size(9), 5000u);
  EXPECT_EQ(t.piece_size(10), 0u);
  auto req = [](std::uint32_t index, std::uint32_t begin, std::uint32_t length) {
    w::Message m;
    m.id = w::MsgId::request;
    m.index = index;
    m.begin = begin;
    m.length = length;
    return m;
  };
  EXPECT_EQ(w::check_message(req(0, 16384, 16384), t), "");
  EXPECT_EQ(w::check_message(req(9, 0, 5000), t), "");
  EXPECT_NE(w::check_message(req(0, 0, 16385), t).find("over 16 KiB"), std::string::npos);
  EXPECT_NE(w::check_message(req(10, 0, 16384), t).find("the torrent has 10"), std::string::npos);
  EXPECT_NE(w::check_message(req(9, 4096, 1000), t).find("past the end"), std::string::npos);
  EXPECT_NE(w::check_message(req(0, 0, 0), t).find("0 bytes"), std::string::npos);
  EXPECT_NE(w::check_message(req(0, 0xFFFFFFFF, 16), t).find("past the end"), std::string::npos);

  w::Message bf;
  bf.id = w::MsgId::bitfield;
  const std::string good("\xFF\xC0", 2), spare("\xFF\xE0", 2), longer("\xFF\xC0\x00", 3);
  bf.data = good;
  EXPECT_EQ(w::check_message(bf, t), "");
  bf.data = spare;
  EXPECT_EQ(w::check_message(bf, t), "a bitfield with spare bits set");
  bf.data = longer;
  EXPECT_NE(w::check_message(bf, t).find("needs 2"), std::string::npos);

  w::Message have;
  have.id = w::MsgId::have;
  have.index = 10;
  EXPECT_FALSE(w::check_message(have, t).empty());

  w::Message hr;
  hr.id = w::MsgId::hash_request;
  hr.span.length = 3;
  EXPECT_NE(w::check_message(hr, t).find("power of two"), std::string::npos);
  hr.span.length = 1024;
  EXPECT_FALSE(w::check_message(hr, t).empty());
  hr.span.length = 4;
  hr.span.index = 2;
  EXPECT_NE(w::check_message(hr, t).find("aligned"), std::string::npos);
  hr.span.index = 4;
  EXPECT_EQ(w::check_message(hr, t), "");
}

// BEP 6's own example: 80.4.4.200, an info hash of 20 bytes 0xAA, 1313 pieces.
TEST(PeerWire, AllowedFastSetMatchesBep6) {
  w::Hash20 ih;
  ih.fill(0xAA);
  EXPECT_EQ(w::allowed_fast_set({80, 4, 4, 200}, ih, 1313, 7),
            (std::vector<std::uint32_t>{1059, 431, 808, 1217, 287, 376, 1188}));
  EXPECT_EQ(w::allowed_fast_set({80, 4, 4, 200}, ih, 1313, 9),
            (std::vector<std::uint32_t>{1059, 431, 808, 1217, 287, 376, 1188, 353, 508}));
  // The /24 is what counts; a torrent with fewer pieces than k gives every piece once.
  EXPECT_EQ(w::allowed_fast_set({80, 4, 4, 1}, ih, 1313, 7), w::allowed_fast_set({80, 4, 4, 200}, ih, 1313, 7));
  auto few = w::allowed_fast_set({10, 0, 0, 1}, ih, 3, 10);
  std::sort(few.begin(), few.end());
  EXPECT_EQ(few, (std::vector<std::uint32_t>{0, 1, 2}));
}

TEST(PeerWire, PeerIdsNameTheirClients) {
  auto id = [](const std::string& s) {
    w::Hash20 h{};
    std::copy_n(s.begin(), std::min<std::size_t>(20, s.size()), h.begin());
    return h;
  };
  EXPECT_EQ(w::client_name(id("-TR4050-abcdefghijkl")), "Transmission 4.0.5");
  EXPECT_EQ(w::client_name(id("-qB4560-abcdefghijkl")), "qBittorrent 4.5.6");
  EXPECT_EQ(w::client_name(id("-LT2080-abcdefghijkl")), "libtorrent 2.0.8");
  EXPECT_EQ(w::client_name(id("-DE211s-abcdefghijkl")), "Deluge 2.1.1");
  EXPECT_EQ(w::client_name(id("A2-1-36-0-abcdefghij")), "aria2 1.36.0");
  EXPECT_EQ(w::client_name(id("M7-4-3--abcdefghijkl")), "BitTorrent 7.4.3");
  EXPECT_EQ(w::client_name(id("-ZZ1000-abcdefghijkl")), "unknown (-ZZ1000-)");
  EXPECT_EQ(w::client_name(id(std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8))), "unknown (" + std::string(8, '?') + ")");
  const w::Hash20 ours = w::make_peer_id("0100", std::vector<std::uint8_t>{0, 1, 2, 61, 62, 255, 9, 9, 9, 9, 9, 9});
  EXPECT_EQ(std::string(ours.begin(), ours.begin() + 8), "-HF0100-");
  EXPECT_EQ(w::client_name(ours), "hashforge 0.1.0");
  for (std::size_t i = 8; i < 20; ++i) EXPECT_TRUE(std::isalnum(ours[i])) << i;
}

// BEP 10's handshake: a round trip, and what real clients send read tolerantly (BEP 10's own
// example dictionary, odd ids and foreign keys skipped, control characters in names hidden).
TEST(PeerWire, ExtensionHandshake) {
  w::ExtHandshake h;
  h.extensions = {{"ut_metadata", 2}, {"ut_pex", 1}};
  h.client = "hashforge 0.1.0";
  h.listen_port = 51413;
  h.request_queue = 500;
  h.your_ip = std::string("\x7F\0\0\x01", 4);
  h.metadata_size = 31337;
  h.upload_only = true;
  std::string why;
  const auto back = w::parse_ext_handshake(w::encode_ext_handshake(h), &why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(back->extensions, h.extensions);
  EXPECT_EQ(back->client, h.client);
  EXPECT_EQ(back->listen_port, h.listen_port);
  EXPECT_EQ(back->request_queue, h.request_queue);
  EXPECT_EQ(back->your_ip, h.your_ip);
  EXPECT_EQ(back->metadata_size, h.metadata_size);
  EXPECT_TRUE(back->upload_only);

  // BEP 10's example, with extras a client may send.
  const auto ex = w::parse_ext_handshake(
      "d1:md11:LT_metadatai1e7:µT_PEXi2e3:badi300e4:nulli0ee1:pi6881e1:v12:\x01Torrent 1.2e", &why);
  ASSERT_TRUE(ex) << why;
  EXPECT_EQ(ex->extensions.size(), 3u);  // "bad" (id 300) skipped; "null" kept as turned off
  EXPECT_EQ(ex->extensions.at("LT_metadata"), 1);
  EXPECT_EQ(ex->extensions.at("null"), 0);
  EXPECT_EQ(ex->listen_port, 6881);
  EXPECT_EQ(ex->client, "?Torrent 1.2");
  EXPECT_FALSE(w::parse_ext_handshake("li1ee", &why));
  EXPECT_FALSE(w::parse_ext_handshake("d1:m", &why));
}
