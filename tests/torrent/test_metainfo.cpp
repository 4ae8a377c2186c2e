// v1 metainfo (net/torrent/metainfo): fields, the info-hash over the original bytes (checked
// with OpenSSL), and every rejection of a hostile file list.
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include "net/torrent/bencode.hpp"
#include "net/torrent/metainfo.hpp"

namespace hf::torrent {
namespace {

Sha1 openssl_sha1(std::string_view s) {
  Sha1 out{};
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), out.data());
  return out;
}

BValue file(std::vector<std::string> path, std::int64_t length, std::string attr = {}) {
  BValue f = BValue::dict();
  f.set("length", BValue::integer(length));
  std::vector<BValue> p;
  for (auto& c : path) p.push_back(BValue::string(c));
  f.set("path", BValue::list(std::move(p)));
  if (!attr.empty()) f.set("attr", BValue::string(attr));
  return f;
}

BValue info_multi(std::vector<BValue> files, std::int64_t piece_length, std::size_t pieces) {
  BValue info = BValue::dict();
  info.set("name", BValue::string("set"));
  info.set("piece length", BValue::integer(piece_length));
  info.set("pieces", BValue::string(std::string(pieces * 20, 'h')));
  info.set("files", BValue::list(std::move(files)));
  return info;
}

std::string torrent_of(BValue info, BValue top = BValue::dict()) {
  top.set("info", std::move(info));
  return bencode(top);
}

std::string refusal(const std::string& t) {
  std::string why;
  auto m = parse_metainfo(t, &why);
  EXPECT_FALSE(m) << "accepted";
  EXPECT_FALSE(why.empty());
  EXPECT_EQ(why.find('\n'), std::string::npos);
  return why;
}

TEST(Metainfo, SingleFile) {
  BValue info = BValue::dict();
  info.set("name", BValue::string("a.bin"));
  info.set("piece length", BValue::integer(16384));
  info.set("length", BValue::integer(40000));
  info.set("pieces", BValue::string(std::string(60, 'x')));
  BValue top = BValue::dict();
  top.set("announce", BValue::string("http://t.example/announce"));
  top.set("creation date", BValue::integer(1700000000));
  top.set("comment", BValue::string("hi"));
  std::string t = torrent_of(info, top);
  std::string why;
  auto m = parse_metainfo(t, &why);
  ASSERT_TRUE(m) << why;
  EXPECT_TRUE(m->single_file);
  EXPECT_EQ(m->name, "a.bin");
  EXPECT_EQ(m->total_length, 40000u);
  EXPECT_EQ(m->piece_count(), 3u);
  EXPECT_EQ(m->piece_size(2), 40000u - 2 * 16384);
  EXPECT_EQ(m->tracker_tiers, (std::vector<std::vector<std::string>>{{"http://t.example/announce"}}));
  EXPECT_EQ(m->creation_date, 1700000000);
  EXPECT_EQ(m->comment, "hi");
  EXPECT_EQ(m->info_hash_v1, openssl_sha1(bencode(info)));
}

TEST(Metainfo, MultiFileWithPadsTiersSeedsAndPrivate) {
  BValue info = info_multi(
      {file({"d", "one"}, 100), file({".pad", "16284"}, 16284, "p"), file({"d", "two"}, 5, "x"), file({"empty"}, 0)},
      16384, 2);
  info.set("private", BValue::integer(1));
  BValue top = BValue::dict();
  top.set("announce", BValue::string("http://ignored/announce"));
  top.set("announce-list", BValue::list({BValue::list({BValue::string("http://a/1"), BValue::string("http://a/2")}),
                                         BValue::list({}), BValue::list({BValue::string("udp://b:1")})}));
  top.set("url-list", BValue::list({BValue::string("http://w/")}));
  std::string why;
  auto m = parse_metainfo(torrent_of(info, top), &why);
  ASSERT_TRUE(m) << why;
  ASSERT_EQ(m->files.size(), 4u);
  EXPECT_TRUE(m->files[1].pad);
  EXPECT_EQ(m->files[2].offset, 16384u);
  EXPECT_TRUE(m->files[2].executable);
  EXPECT_EQ(m->total_length, 16389u);
  EXPECT_TRUE(m->is_private);
  EXPECT_EQ(m->tracker_tiers, (std::vector<std::vector<std::string>>{{"http://a/1", "http://a/2"}, {"udp://b:1"}}));
  EXPECT_EQ(m->web_seeds, std::vector<std::string>{"http://w/"});
}

TEST(Metainfo, InfoHashCoversTheOriginalBytesEvenWhenUnsorted) {
  // "pieces" before "piece length": out of order, as some creators write it.
  std::string info = "d6:lengthi5e4:name1:a6:pieces20:" + std::string(20, 'p') + "12:piece lengthi16384ee";
  std::string t = "d4:info" + info + "e";
  std::string why;
  auto m = parse_metainfo(t, &why);
  ASSERT_TRUE(m) << why;
  EXPECT_EQ(m->info_hash_v1, openssl_sha1(info));
  ASSERT_FALSE(m->warnings.empty());
}

TEST(Metainfo, RefusesHostileFileLists) {
  struct Case {
    std::vector<BValue> files;
    const char* word;
  };
  std::vector<Case> cases;
  cases.push_back({{file({"..", "etc"}, 1)}, "\"..\""});
  cases.push_back({{file({".", "x"}, 1)}, "\".\""});
  cases.push_back({{file({"", "x"}, 1)}, "empty"});
  cases.push_back({{file({std::string("a\0b", 3)}, 1)}, "NUL"});
  cases.push_back({{file({"a/b"}, 1)}, "separator"});
  cases.push_back({{file({"a\\b"}, 1)}, "separator"});
  cases.push_back({{file({std::string(300, 'n')}, 1)}, "longer"});
  cases.push_back({{file({"x"}, 1), file({"x"}, 1)}, "twice"});
  cases.push_back({{file({"x"}, 1), file({"x", "y"}, 1)}, "file and a folder"});
  cases.push_back({{file({"x", "y"}, 1), file({"x"}, 1)}, "file and a folder"});
  for (auto& c : cases) {
    std::string why = refusal(torrent_of(info_multi(c.files, 16384, 1)));
    EXPECT_NE(why.find(c.word), std::string::npos) << why;
  }
  std::vector<BValue> deep;
  std::vector<std::string> path(3000, "d");
  deep.push_back(file(path, 1));
  EXPECT_NE(refusal(torrent_of(info_multi(deep, 16384, 1))).find("longer"), std::string::npos);
}

TEST(Metainfo, RefusesBrokenInfo) {
  auto base = [] {
    BValue info = BValue::dict();
    info.set("name", BValue::string("a"));
    info.set("piece length", BValue::integer(16384));
    info.set("length", BValue::integer(16385));
    info.set("pieces", BValue::string(std::string(40, 'x')));
    return info;
  };
  std::string why;
  ASSERT_TRUE(parse_metainfo(torrent_of(base()), &why)) << why;
  BValue b = base();
  b.set("pieces", BValue::string(std::string(20, 'x')));
  EXPECT_NE(refusal(torrent_of(b)).find("needs 2"), std::string::npos);
  b = base();
  b.set("pieces", BValue::string(std::string(41, 'x')));
  EXPECT_NE(refusal(torrent_of(b)).find("20-byte"), std::string::npos);
  b = base();
  b.set("piece length", BValue::integer(0));
  refusal(torrent_of(b));
  b = base();
  b.set("length", BValue::integer(-1));
  refusal(torrent_of(b));
  b = base();
  b.set("length", BValue::integer(0));
  b.set("pieces", BValue::string(""));
  EXPECT_NE(refusal(torrent_of(b)).find("no data"), std::string::npos);
  b = base();
  b.set("files", BValue::list({file({"x"}, 1)}));
  EXPECT_NE(refusal(torrent_of(b)).find("exactly one"), std::string::npos);
  b = base();
  b.set("name", BValue::string(".."));
  refusal(torrent_of(b));
  b = base();
  b.set("meta version", BValue::integer(2));
  EXPECT_NE(refusal(torrent_of(b)).find("v2"), std::string::npos);
  refusal("d4:infoi1ee");
  refusal("le");
  refusal("d4:info");
  // Lengths whose sum overflows.
  std::vector<BValue> huge{file({"a"}, INT64_MAX), file({"b"}, INT64_MAX)};
  EXPECT_NE(refusal(torrent_of(info_multi(huge, 16384, 1))).find("overflow"), std::string::npos);
}

}  // namespace
}  // namespace hf::torrent
