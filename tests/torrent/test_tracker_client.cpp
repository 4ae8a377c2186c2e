// The client's side of trackers (net/torrent/tracker_client.hpp): announce URLs read back by
// the tracker's own query parser, replies written by the tracker's encoders read back here,
// hand-made replies (compact and dictionary peers, IPv6, failures, hostile values), UDP
// packets both ways through the UDP tracker's codec, scrape URLs, and BEP 12 tiers.
#include "net/torrent/tracker_client.hpp"

#include <gtest/gtest.h>

#include <set>

#include "net/torrent/tracker_response.hpp"
#include "net/torrent/tracker_udp.hpp"

namespace tr = hf::torrent::tracker;

namespace {

tr::AnnounceParams params() {
  tr::AnnounceParams p;
  for (int i = 0; i < 20; ++i) {
    p.info_hash[i] = static_cast<std::uint8_t>(i * 13 + 7);  // every kind of byte: letters, %, NUL...
    p.peer_id[i] = static_cast<std::uint8_t>("-HF0100-abcdefghijkl"[i]);
  }
  p.info_hash[3] = '%';
  p.info_hash[4] = '&';
  p.info_hash[5] = 0;
  p.port = 51413;
  p.uploaded = 1;
  p.downloaded = 1ull << 40;
  p.left = 12345;
  p.event = tr::Event::started;
  p.numwant = 80;
  p.key = 0xDEADBEEF;
  return p;
}

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

TEST(TrackerClient, AnnounceUrlsReadBackThroughTheTrackersParser) {
  const tr::AnnounceParams p = params();
  const std::string u = tr::announce_url("http://t.example:6969/announce", p);
  ASSERT_EQ(u.rfind("http://t.example:6969/announce?info_hash=", 0), 0u) << u;
  EXPECT_NE(u.find("&event=started"), std::string::npos);
  EXPECT_NE(u.find("&compact=1"), std::string::npos);
  EXPECT_NE(u.find("&key=DEADBEEF"), std::string::npos);
  std::string why;
  const auto q = tr::parse_announce_query(u.substr(u.find('?') + 1), &why);
  ASSERT_TRUE(q) << why;
  EXPECT_EQ(q->info_hash, p.info_hash);
  EXPECT_EQ(q->peer_id, p.peer_id);
  EXPECT_EQ(q->port, p.port);
  EXPECT_EQ(q->downloaded, static_cast<std::int64_t>(p.downloaded));
  EXPECT_EQ(q->left, 12345);
  EXPECT_EQ(q->event, tr::Event::started);
  EXPECT_EQ(q->numwant, 80);
  // A base URL with a query of its own (private trackers put a passkey there) keeps it.
  const std::string priv = tr::announce_url("https://t.example/announce?passkey=abc", p);
  EXPECT_EQ(priv.rfind("https://t.example/announce?passkey=abc&info_hash=", 0), 0u) << priv;
}

TEST(TrackerClient, RepliesFromTheTrackersEncodersReadBack) {
  tr::AnnounceReply r;
  r.interval = 900;
  r.min_interval = 60;
  r.counts.complete = 3;
  r.counts.incomplete = 4;
  r.peers4.push_back({tr::v4_addr(0x7F000001, 6881), {}});
  r.peers4.push_back({tr::v4_addr(0x0A000002, 51413), {}});
  r.peers6.push_back({*tr::parse_endpoint("[2001:db8::1]:6882"), {}});
  for (bool compact : {true, false}) {
    std::string body;
    tr::encode_announce(r, compact, false, &body);
    std::string why;
    const auto got = tr::parse_announce_reply(body, &why);
    ASSERT_TRUE(got) << why;
    EXPECT_EQ(got->interval, 900);
    EXPECT_EQ(got->min_interval, 60);
    EXPECT_EQ(got->seeders, 3);
    EXPECT_EQ(got->leechers, 4);
    std::set<std::string> seen;
    for (const auto& a : got->peers) seen.insert(tr::endpoint_text(a));
    EXPECT_EQ(seen, (std::set<std::string>{"127.0.0.1:6881", "10.0.0.2:51413", "[2001:db8::1]:6882"})) << compact;
  }
  std::string why;
  const auto fail = tr::parse_announce_reply(tr::encode_failure("unregistered torrent"), &why);
  ASSERT_TRUE(fail);
  EXPECT_EQ(fail->failure, "unregistered torrent");

  std::string scrape;
  tr::InfoHash h{};
  h.fill(0x11);
  tr::encode_scrape({{h, tr::SwarmCounts{5, 6, 7}}}, &scrape);
  const auto counts = tr::parse_scrape_reply(scrape, &why);
  ASSERT_TRUE(counts) << why;
  ASSERT_EQ(counts->size(), 1u);
  EXPECT_EQ((*counts)[0].info_hash, h);
  EXPECT_EQ((*counts)[0].complete, 5);
  EXPECT_EQ((*counts)[0].incomplete, 6);
  EXPECT_EQ((*counts)[0].downloaded, 7);
}

TEST(TrackerClient, HandMadeAndHostileReplies) {
  std::string why;
  // Compact peers with a zero port and a trailing partial entry: both skipped.
  const std::string peers = std::string("\x7F\0\0\x01\x1A\xE1", 6) + std::string("\x01\x02\x03\x04\0\0", 6) + "abc";
  const std::string body = "d8:intervali5e5:peers" + std::to_string(peers.size()) + ":" + peers + "e";
  const auto r = tr::parse_announce_reply(body, &why);
  ASSERT_TRUE(r) << why;
  ASSERT_EQ(r->peers.size(), 1u);
  EXPECT_EQ(tr::endpoint_text(r->peers[0]), "127.0.0.1:6881");
  EXPECT_EQ(r->interval, 30);  // 5 s held up to 30: a tracker cannot make us hammer it
  EXPECT_FALSE(tr::parse_announce_reply("d5:peers0:e", &why));  // no interval
  EXPECT_NE(why.find("no interval"), std::string::npos);
  EXPECT_FALSE(tr::parse_announce_reply("<html>502</html>", &why));
  EXPECT_FALSE(tr::parse_announce_reply("li1ee", &why));
  // Dictionary peers with a bad address, a bad port: skipped.
  const auto d = tr::parse_announce_reply(
      "d8:intervali99999999e5:peersld2:ip9:127.0.0.14:porti6881eed2:ip3:x.y4:porti1eed2:ip7:1.2.3.44:porti0eeee",
      &why);
  ASSERT_TRUE(d) << why;
  EXPECT_EQ(d->peers.size(), 1u);
  EXPECT_EQ(d->interval, 6 * 3600);
  // A failure reason with control characters is shown printable.
  const auto f = tr::parse_announce_reply(std::string("d14:failure reason3:a\nbe"), &why);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->failure, "a?b");
}

TEST(TrackerClient, UdpPacketsBothWaysThroughTheUdpTrackersCodec) {
  const tr::AnnounceParams p = params();
  std::string why;
  tr::UdpRequest req;
  ASSERT_EQ(tr::parse_udp_request(bytes(tr::udp_connect_request(77)), &req, &why), tr::UdpParse::ok) << why;
  EXPECT_EQ(req.action, tr::UdpAction::connect);
  EXPECT_EQ(req.transaction, 77u);
  std::string reply;
  tr::encode_udp_connect(77, 0x1122334455667788ULL, &reply);
  EXPECT_EQ(tr::parse_udp_connect_reply(bytes(reply), 77, &why), 0x1122334455667788ULL);
  EXPECT_FALSE(tr::parse_udp_connect_reply(bytes(reply), 78, &why));  // another request's

  const std::string ann = tr::udp_announce_request(0x1122334455667788ULL, 99, p);
  ASSERT_EQ(ann.size(), 98u);
  ASSERT_EQ(tr::parse_udp_request(bytes(ann), &req, &why), tr::UdpParse::ok) << why;
  EXPECT_EQ(req.action, tr::UdpAction::announce);
  EXPECT_EQ(req.connection, 0x1122334455667788ULL);
  EXPECT_EQ(req.announce.info_hash, p.info_hash);
  EXPECT_EQ(req.announce.peer_id, p.peer_id);
  EXPECT_EQ(req.announce.port, p.port);
  EXPECT_EQ(req.announce.left, 12345);
  EXPECT_EQ(req.announce.event, tr::Event::started);
  EXPECT_EQ(req.announce.numwant, 80);
  EXPECT_EQ(req.key, 0xDEADBEEFu);

  tr::AnnounceReply r;
  r.interval = 1200;
  r.counts.complete = 2;
  r.counts.incomplete = 9;
  r.peers4.push_back({tr::v4_addr(0x0A000001, 6881), {}});
  reply.clear();
  tr::encode_udp_announce(99, r, false, &reply);
  const auto got = tr::parse_udp_announce_reply(bytes(reply), 99, false, &why);
  ASSERT_TRUE(got) << why;
  EXPECT_EQ(got->interval, 1200);
  EXPECT_EQ(got->seeders, 2);
  EXPECT_EQ(got->leechers, 9);
  ASSERT_EQ(got->peers.size(), 1u);
  EXPECT_EQ(tr::endpoint_text(got->peers[0]), "10.0.0.1:6881");

  const std::vector<tr::InfoHash> hashes = {p.info_hash};
  ASSERT_EQ(tr::parse_udp_request(bytes(tr::udp_scrape_request(5, 6, hashes)), &req, &why), tr::UdpParse::ok);
  EXPECT_EQ(req.hashes, hashes);
  reply.clear();
  tr::encode_udp_scrape(6, {tr::SwarmCounts{1, 2, 3}}, &reply);
  const auto sc = tr::parse_udp_scrape_reply(bytes(reply), 6, hashes, &why);
  ASSERT_TRUE(sc) << why;
  EXPECT_EQ((*sc)[0].complete, 1);
  EXPECT_EQ((*sc)[0].incomplete, 2);
  EXPECT_EQ((*sc)[0].downloaded, 3);

  reply.clear();
  tr::encode_udp_error(6, "no such torrent", &reply);
  EXPECT_FALSE(tr::parse_udp_scrape_reply(bytes(reply), 6, hashes, &why));
  EXPECT_EQ(why, "tracker error: no such torrent");
  EXPECT_FALSE(tr::parse_udp_announce_reply(bytes(std::string(7, '\0')), 0, false, &why));

  EXPECT_EQ(tr::udp_timeout(0), 15);
  EXPECT_EQ(tr::udp_timeout(2), 60);
  EXPECT_EQ(tr::udp_timeout(30), 15 * 256);
}

TEST(TrackerClient, ScrapeUrlsFollowBep48) {
  const std::vector<tr::InfoHash> none;
  EXPECT_EQ(tr::scrape_url("http://t.example/announce", none), "http://t.example/scrape");
  EXPECT_EQ(tr::scrape_url("http://t.example/x/announce.php?passkey=1", none), "http://t.example/x/scrape.php?passkey=1");
  EXPECT_FALSE(tr::scrape_url("http://t.example/a", none));
  EXPECT_FALSE(tr::scrape_url("http://t.example/announce/x", none));
  tr::InfoHash h{};
  h.fill('A');
  EXPECT_EQ(*tr::scrape_url("http://t.example/announce", std::vector<tr::InfoHash>{h}),
            "http://t.example/scrape?info_hash=" + std::string(20, 'A'));
}

TEST(TrackerClient, TiersKeepTheirOrderAndPromoteWhatAnswers) {
  tr::TrackerTiers t({{"a1", "a2", "a3"}, {}, {"b1"}}, 7);
  auto order = t.order();
  ASSERT_EQ(order.size(), 4u);
  EXPECT_EQ(order.back(), "b1");  // tier by tier
  EXPECT_EQ((std::set<std::string>(order.begin(), order.begin() + 3)), (std::set<std::string>{"a1", "a2", "a3"}));
  const std::string third = order[2];
  t.succeeded(third);
  order = t.order();
  EXPECT_EQ(order[0], third);
  EXPECT_EQ(order.back(), "b1");
  t.succeeded("b1");
  EXPECT_EQ(t.order().back(), "b1");  // first of its own tier, still after tier one
}

TEST(TrackerClient, TrackerUrlsSplitOrRefused) {
  auto u = tr::split_tracker_url("http://t.example/announce");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "t.example");
  EXPECT_EQ(u->port, "80");
  EXPECT_EQ(u->target, "/announce");
  u = tr::split_tracker_url("https://t.example:8443/a/announce?passkey=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, "8443");
  EXPECT_EQ(u->target, "/a/announce?passkey=1");
  u = tr::split_tracker_url("udp://[2001:db8::1]:6969/announce");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "2001:db8::1");
  EXPECT_EQ(u->port, "6969");
  u = tr::split_tracker_url("http://t.example?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->target, "/?x=1");
  for (const char* bad : {"udp://t.example/announce", "http://[::1/announce", "http://[::1]x/", "http://:80/",
                          "http://t:99999/", "http://t:0/", "http://t:8a/", "t.example/announce", "://t/",
                          "http:///announce", "http://us er@t/"})
    EXPECT_FALSE(tr::split_tracker_url(bad)) << bad;
}

TEST(TrackerClient, HttpReplyBodiesByTheirFraming) {
  std::string why;
  auto b = tr::http_reply_body("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello, and more", &why);
  ASSERT_TRUE(b) << why;
  EXPECT_EQ(*b, "hello");
  b = tr::http_reply_body("HTTP/1.0 200 OK\r\nServer: x\r\n\r\nto the close", &why);
  ASSERT_TRUE(b) << why;
  EXPECT_EQ(*b, "to the close");
  b = tr::http_reply_body("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\nA\r\n in chunks\r\n0\r\n\r\n",
                          &why);
  ASSERT_TRUE(b) << why;
  EXPECT_EQ(*b, "Wikipedia in chunks");
  EXPECT_FALSE(tr::http_reply_body("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort", &why));
  EXPECT_NE(why.find("truncated"), std::string::npos) << why;
  EXPECT_FALSE(tr::http_reply_body("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nWiki", &why));
  EXPECT_FALSE(tr::http_reply_body("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", &why));
  EXPECT_FALSE(tr::http_reply_body("HTTP/1.1 404 Not Found\r\n\r\nno", &why));
  EXPECT_EQ(why, "HTTP 404");
  EXPECT_FALSE(tr::http_reply_body("HTTP/1.1 2x0 OK\r\n\r\n", &why));
  EXPECT_FALSE(tr::http_reply_body("SSH-2.0-OpenSSH\r\n\r\n", &why));
  EXPECT_FALSE(tr::http_reply_body("HTTP/1.1 200 OK\r\nContent-Length: 5", &why));  // no end of head
  EXPECT_FALSE(tr::http_reply_body("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\nhello", &why));
}
