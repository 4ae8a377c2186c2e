// Published SHA-1 / SHA-256 vectors through the streaming hashers, and the hex helpers.
#include <string>
#include <vector>

#include "hashforge/engine.hpp"
#include "hashforge/hasher.hpp"
#include "hashforge/hex.hpp"
#include "oracle.hpp"
#include "registry.hpp"
#include "single_stream.hpp"

namespace {

using hf::Algo;

struct Vector {
  const char* name;
  std::string message;
  const char* sha1;
  const char* sha256;
};

// FIPS 180-4 example vectors, as published by NIST (csrc.nist.gov, "Cryptographic Standards
// and Guidelines: Examples with Intermediate Values": SHA1.pdf, SHA256.pdf; the one-million-'a'
// message is the long-message example of FIPS 180-2 Appendix A/B), listed in
// /work/shared/reference/vectors.md.
const std::vector<Vector>& fips_vectors() {
  static const std::vector<Vector> v{
      {"abc", "abc", "a9993e364706816aba3e25717850c26c9cd0d89d",
       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"448bit", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {"million_a", std::string(1000000, 'a'), "34aa973cd4c4daa4f61eeb2bdbad27316534016f",
       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
  };
  return v;
}

struct FnsCase {
  const char* name;
  const hf::SingleStreamFns* (*get)();
};
const hf::SingleStreamFns* ref_fns() { return &hf::reference_fns(); }
const hf::SingleStreamFns* engine_fns() { return &hf::Engine::instance().impl().single(); }
const hf::SingleStreamFns* default_fns() { return nullptr; }  // Hasher's own default

class VectorTest : public ::testing::TestWithParam<FnsCase> {};

hf::ByteView view(const std::string& s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

// Feeds `data` to a hasher in pieces whose sizes cycle through `pattern`.
hf::Digest hash_in_pieces(Algo algo, const hf::SingleStreamFns* fns, hf::ByteView data,
                          const std::vector<std::size_t>& pattern) {
  hf::Hasher h(algo, fns);
  std::size_t pos = 0, k = 0;
  while (pos < data.size()) {
    const std::size_t n = std::min(pattern[k++ % pattern.size()], data.size() - pos);
    h.update(data.subspan(pos, n));
    pos += n;
  }
  return h.final();
}

const std::vector<std::vector<std::size_t>>& piece_patterns() {
  static const std::vector<std::vector<std::size_t>> p{{1},
                                                       {63},
                                                       {64},
                                                       {65},
                                                       {1000},
                                                       {1, 63, 64, 65, 1000},
                                                       {0, 3, 0, 127, 128, 129, 7},
                                                       {55, 56, 57, 119, 120},
                                                       {4096, 1},
                                                       {1u << 20}};
  return p;
}

TEST_P(VectorTest, Fips180_4WholeMessage) {
  const hf::SingleStreamFns* fns = GetParam().get();
  for (const Vector& v : fips_vectors()) {
    EXPECT_EQ(hft::hex(hf::hash_once(Algo::sha1, view(v.message), fns)), v.sha1) << v.name;
    EXPECT_EQ(hft::hex(hf::hash_once(Algo::sha256, view(v.message), fns)), v.sha256) << v.name;
    // The vectors themselves agree with the oracle (guards against a mistyped vector).
    EXPECT_EQ(hft::hex(hft::ossl(Algo::sha1, v.message)), v.sha1) << v.name;
    EXPECT_EQ(hft::hex(hft::ossl(Algo::sha256, v.message)), v.sha256) << v.name;
  }
}

TEST_P(VectorTest, Fips180_4InIrregularPieces) {
  const hf::SingleStreamFns* fns = GetParam().get();
  for (const Vector& v : fips_vectors()) {
    for (const auto& pat : piece_patterns()) {
      if (v.message.size() > 100000 && pat.size() == 1 && pat[0] == 1) continue;  // keep it quick
      std::string p;
      for (auto x : pat) p += std::to_string(x) + ",";
      EXPECT_EQ(hft::hex(hash_in_pieces(Algo::sha1, fns, view(v.message), pat)), v.sha1) << v.name << " pieces " << p;
      EXPECT_EQ(hft::hex(hash_in_pieces(Algo::sha256, fns, view(v.message), pat)), v.sha256)
          << v.name << " pieces " << p;
    }
  }
}

TEST_P(VectorTest, MillionAOneByteAtATime) {
  // The FIPS 180-2 long message fed one byte per update() call (NIST example, vectors.md).
  const hf::SingleStreamFns* fns = GetParam().get();
  const Vector& v = fips_vectors()[2];
  hf::Hasher h1(Algo::sha1, fns), h256(Algo::sha256, fns);
  const std::uint8_t a = 'a';
  for (int i = 0; i < 1000000; ++i) {
    h1.update({&a, 1});
    h256.update({&a, 1});
  }
  EXPECT_EQ(hft::hex(h1.final()), v.sha1);
  EXPECT_EQ(hft::hex(h256.final()), v.sha256);
}

TEST_P(VectorTest, Sha256dAbcMatchesOpenSslDoubleHash) {
  const hf::SingleStreamFns* fns = GetParam().get();
  std::uint8_t first[32];
  const hf::Digest once = hft::ossl(Algo::sha256, std::string_view("abc"));
  std::copy(once.bytes.begin(), once.bytes.begin() + 32, first);
  const hf::Digest twice = hft::ossl(Algo::sha256, first, 32);
  const hf::Digest got = hf::hash_once(Algo::sha256d, view("abc"), fns);
  EXPECT_EQ(got.size, 32);
  EXPECT_EQ(hft::hex(got), hft::hex(twice));
  // SHA-256 of the FIPS "abc" digest: the first stage is the published vector.
  EXPECT_EQ(hft::hex(once), fips_vectors()[0].sha256);
}

TEST_P(VectorTest, RandomLengthsRandomPiecesMatchOpenSsl) {
  const hf::SingleStreamFns* fns = GetParam().get();
  hft::Rng rng(0x5eed0001);
  const hft::Bytes buf = rng.bytes(9000);
  for (int iter = 0; iter < 300; ++iter) {
    const std::size_t len = iter < 200 ? static_cast<std::size_t>(iter) : rng.below(8000);
    const std::size_t start = rng.below(64);
    hf::ByteView data(buf.data() + start, len);
    for (Algo algo : {Algo::sha1, Algo::sha256, Algo::sha256d}) {
      hf::Hasher h(algo, fns);
      std::size_t pos = 0;
      while (pos < len) {
        const std::size_t n = std::min<std::size_t>(rng.below(200), len - pos);
        h.update(data.subspan(pos, n));
        pos += n;
      }
      const hf::Digest want = hft::ossl(algo, data);
      const hf::Digest got = h.final();
      EXPECT_EQ(hft::hex(got), hft::hex(want)) << hf::algo_name(algo) << " len " << len;
      EXPECT_EQ(got.size, hf::digest_size(algo));
    }
  }
}

TEST_P(VectorTest, ResetStartsOver) {
  const hf::SingleStreamFns* fns = GetParam().get();
  hf::Hasher h(Algo::sha256, fns);
  h.update(view("some other data that must be forgotten"));
  h.reset();
  h.update(view("abc"));
  EXPECT_EQ(hft::hex(h.final()), fips_vectors()[0].sha256);  // FIPS 180-4 "abc"
  h.reset();
  EXPECT_EQ(hft::hex(h.final()), hft::hex(hft::ossl(Algo::sha256, std::string_view(""))));
  hf::Hasher s1(Algo::sha1, fns);
  s1.update(view("xyz"));
  s1.reset();
  s1.update(view("abc"));
  EXPECT_EQ(hft::hex(s1.final()), fips_vectors()[0].sha1);  // FIPS 180-4 "abc"
}

INSTANTIATE_TEST_SUITE_P(Fns, VectorTest,
                         ::testing::Values(FnsCase{"reference", &ref_fns}, FnsCase{"engine_single_stream", &engine_fns},
                                           FnsCase{"hasher_default", &default_fns}),
                         [](const ::testing::TestParamInfo<FnsCase>& i) { return std::string(i.param.name); });

TEST(SingleStream, IsAUsableBackendOrTheReference) {
  const hf::SingleStreamFns& fns = hf::Engine::instance().impl().single();
  ASSERT_NE(fns.name, nullptr);
  ASSERT_NE(fns.sha256, nullptr);
  ASSERT_NE(fns.sha1, nullptr);
  const std::string name = fns.name;
  EXPECT_TRUE(name == "scalar" || hf::find_backend(name) != nullptr) << name;
}

// ---- hex helpers ----

TEST(Hex, ToHexLowercaseAndRoundTrip) {
  hft::Rng rng(7);
  for (std::size_t n = 0; n < 70; ++n) {
    hft::Bytes b = rng.bytes(n);
    const std::string h = hf::to_hex(b);
    EXPECT_EQ(h, hft::hex(b));
    std::string why;
    auto back = hf::from_hex(h, &why);
    ASSERT_TRUE(back.has_value()) << why;
    EXPECT_EQ(*back, b);
  }
  EXPECT_EQ(hf::to_hex(hft::Bytes{0x00, 0x0f, 0xf0, 0xff, 0xab}), std::string("000ff0ffab"));
}

TEST(Hex, FromHexAcceptsUppercaseAndEmpty) {
  auto b = hf::from_hex("DEADbeef09");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*b, (hft::Bytes{0xde, 0xad, 0xbe, 0xef, 0x09}));
  auto e = hf::from_hex("");
  ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(e->empty());
}

TEST(Hex, FromHexRejectsOddLength) {
  for (const char* s : {"a", "abc", "0123456", "fffffffffffffffffffffffffffffffff"}) {
    std::string why;
    EXPECT_FALSE(hf::from_hex(s, &why).has_value()) << s;
    EXPECT_FALSE(why.empty()) << s;
    EXPECT_EQ(why.find('\n'), std::string::npos);
    EXPECT_FALSE(hf::from_hex(s).has_value()) << "without a why pointer: " << s;
  }
}

TEST(Hex, FromHexRejectsBadCharacters) {
  const std::vector<std::string> bad{
      "0g",       "g0",      "zz", "12 4", " 1", "0x12", "12-4", "ab\n1", "+1", "1.", std::string("a\0", 2),
      "\xff\xff", "ABCDEFGH"};
  for (const std::string& s : bad) {
    std::string why;
    EXPECT_FALSE(hf::from_hex(s, &why).has_value()) << "accepted " << hft::hex(hft::bytes_of(s));
    EXPECT_FALSE(why.empty());
  }
  // Every single non-hex byte value, in either nibble position.
  for (int c = 0; c < 256; ++c) {
    const bool is_hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    const std::string hi{static_cast<char>(c), '0'};
    const std::string lo{'0', static_cast<char>(c)};
    EXPECT_EQ(hf::from_hex(hi).has_value(), is_hex) << "char " << c;
    EXPECT_EQ(hf::from_hex(lo).has_value(), is_hex) << "char " << c;
  }
}

TEST(Hex, ReversedHexIsByteReversed) {
  // Bitcoin genesis block (vectors.md: Bitcoin Core chainparams / btcrelay firstEleven.txt):
  // the block hash is the byte-reversed SHA256d of the header.
  const hft::Bytes header = hft::unhex(
      "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f61"
      "7fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c");
  const hf::Digest d = hft::ossl(Algo::sha256d, header);
  EXPECT_EQ(hf::reversed_hex(d.view()), "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f");
  EXPECT_EQ(hf::reversed_hex(hft::Bytes{1, 2, 3}), "030201");
  EXPECT_EQ(hf::reversed_hex(hft::Bytes{}), "");
}

TEST(Hex, DigestHexUsesSize) {
  const hf::Digest d1 = hf::hash_once(Algo::sha1, view("abc"));
  EXPECT_EQ(d1.size, 20);
  EXPECT_EQ(d1.hex(), "a9993e364706816aba3e25717850c26c9cd0d89d");  // FIPS 180-4 "abc"
}

}  // namespace
