// Bencode (net/torrent/bencode): strict decoding with byte spans, canonical encoding.
#include <gtest/gtest.h>

#include "net/torrent/bencode.hpp"

namespace hf::torrent {
namespace {

BValue ok(std::string_view in) {
  DecodeResult r = bdecode(in);
  EXPECT_TRUE(r.value) << in << ": " << r.error;
  return r.value ? *r.value : BValue();
}

std::string refused(std::string_view in, DecodeLimits lim = {}) {
  DecodeResult r = bdecode(in, lim);
  EXPECT_FALSE(r.value) << "accepted: " << in;
  EXPECT_FALSE(r.error.empty());
  EXPECT_EQ(r.error.find('\n'), std::string::npos);
  return r.error;
}

TEST(Bencode, DecodesEveryKindAndEncodesBack) {
  const std::string text =
      "d4:infod6:lengthi12345e4:name5:a.bin12:piece lengthi16384ee4:listli-7ei0e0:e3:numi9223372036854775807ee";
  BValue v = ok(text);
  ASSERT_TRUE(v.is_dict());
  const BValue* info = v.find("info");
  ASSERT_TRUE(info && info->is_dict());
  EXPECT_EQ(info->find("length")->as_int(), 12345);
  EXPECT_EQ(info->find("name")->as_string(), "a.bin");
  const BValue* list = v.find("list");
  ASSERT_EQ(list->items().size(), 3u);
  EXPECT_EQ(list->items()[0].as_int(), -7);
  EXPECT_EQ(list->items()[2].as_string(), "");
  EXPECT_EQ(v.find("num")->as_int(), INT64_MAX);
  EXPECT_EQ(bencode(v), text);
  // The info dictionary's span is exactly its original bytes (what an info-hash covers).
  EXPECT_EQ(text.substr(info->begin(), info->end() - info->begin()),
            "d6:lengthi12345e4:name5:a.bin12:piece lengthi16384ee");
}

TEST(Bencode, ExtremeIntegersAndBinaryStrings) {
  EXPECT_EQ(ok("i-9223372036854775808e").as_int(), INT64_MIN);
  EXPECT_EQ(ok("i0e").as_int(), 0);
  std::string bin("4:\0\xff\x01:", 6);
  EXPECT_EQ(ok(bin).as_string(), std::string("\0\xff\x01:", 4));
}

TEST(Bencode, RefusesNonCanonicalAndBrokenInput) {
  for (const char* bad : {"i-0e",
                          "i03e",
                          "i-03e",
                          "ie",
                          "i-e",
                          "i12",
                          "i1x",
                          "i9223372036854775808e",
                          "i-9223372036854775809e",
                          "i99999999999999999999999e",
                          "03:abc",
                          "3:ab",
                          "3abc",
                          "-1:a",
                          "l",
                          "li1e",
                          "d",
                          "d3:abc",
                          "d3:abci1e",
                          "di1ei2ee",
                          "x",
                          "",
                          "i1ei2e",
                          "le ",
                          "d1:ai1e1:ai2ee"}) {
    refused(bad);
  }
  EXPECT_NE(refused("d1:ai1e1:ai2ee").find("duplicate"), std::string::npos);
  EXPECT_NE(refused("d1:bi1e1:ai2e1:bi3ee").find("duplicate"), std::string::npos);  // unsorted, then repeated
  EXPECT_NE(refused("i1ei2e").find("trailing"), std::string::npos);
  EXPECT_NE(refused("i-0e").find("non-canonical"), std::string::npos);
  EXPECT_NE(refused("i9223372036854775808e").find("64 bits"), std::string::npos);
  EXPECT_NE(refused("5:abc").find("truncated"), std::string::npos);
}

TEST(Bencode, UnsortedKeysAreAcceptedWithAWarningAndWrittenSorted) {
  DecodeResult r = bdecode("d1:bi1e1:ai2ee");
  ASSERT_TRUE(r.value) << r.error;
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("not sorted"), std::string::npos);
  EXPECT_EQ(bencode(*r.value), "d1:ai2e1:bi1ee");
  // Sorting is by raw bytes: "B" (0x42) before "a" (0x61), and a prefix first.
  EXPECT_TRUE(bdecode("d1:Bi1e1:ai2e2:aai3ee").warnings.empty());
}

TEST(Bencode, LimitsOnDepthSizeAndCount) {
  std::string deep(70, 'l');
  deep += std::string(70, 'e');
  EXPECT_NE(refused(deep).find("deeper"), std::string::npos);
  DecodeLimits small;
  small.max_bytes = 10;
  EXPECT_NE(refused("20:aaaaaaaaaaaaaaaaaaaa", small).find("larger"), std::string::npos);
  DecodeLimits few;
  few.max_items = 3;
  EXPECT_NE(refused("li1ei2ei3ee", few).find("values"), std::string::npos);
  // A string length far beyond the input is refused without allocating it.
  EXPECT_NE(refused("99999999999999999999:a").find("beyond"), std::string::npos);
}

TEST(Bencode, ManyUnsortedKeysStayFast) {
  // Reverse order: every key after the first is out of order; duplicates must still be
  // found without comparing every pair (this would take minutes if quadratic).
  std::string d = "d";
  for (int i = 99999; i >= 0; --i) {
    std::string k = std::to_string(i);
    d += std::to_string(k.size()) + ":" + k + "i0e";
  }
  d += "e";
  DecodeResult r = bdecode(d);
  ASSERT_TRUE(r.value) << r.error;
  EXPECT_EQ(r.value->entries().size(), 100000u);
  d.insert(d.size() - 1, "1:5i0e");
  EXPECT_NE(refused(d).find("duplicate"), std::string::npos);
}

TEST(Bencode, BuiltValuesEncodeSortedWithTheLastOfARepeatedKey) {
  BValue v = BValue::dict({{"z", BValue::integer(1)}, {"a", BValue::string("x")}, {"z", BValue::integer(2)}});
  EXPECT_EQ(bencode(v), "d1:a1:x1:zi2ee");
  v.set("a", BValue::list({BValue::integer(-1)}));
  EXPECT_EQ(bencode(v), "d1:ali-1ee1:zi2ee");
}

}  // namespace
}  // namespace hf::torrent
