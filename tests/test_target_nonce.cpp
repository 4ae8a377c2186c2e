// Targets (compact bits, pool difficulty, hex), comparison keys, and nonce fields
// (encodings, widths, range splitting).
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "hashforge/engine.hpp"
#include "hashforge/nonce.hpp"
#include "hashforge/target.hpp"
#include "oracle.hpp"

namespace {

using hf::Encoding;
using hf::Key;
using hft::Num;

std::string zeros(std::size_t n) { return std::string(n, '0'); }

Key compact(std::uint32_t bits) {
  Key k;
  const std::string why = hf::target_from_compact(bits, &k);
  EXPECT_EQ(why, "") << std::hex << bits;
  return k;
}

// ---- compact bits ----

TEST(Compact, DifficultyOneBits) {
  // vectors.md: 0x1d00ffff is the difficulty-1 target (genesis block bits, Bitcoin Core chainparams).
  EXPECT_EQ(hft::key_hex(compact(0x1d00ffff)), "00000000ffff" + zeros(52));
}

TEST(Compact, Block100000Bits) {
  // vectors.md: block 100000 has bits 0x1b04864c (ethereum/btcrelay test_btcrelay.py, `getblock`).
  const Key t = compact(0x1b04864c);
  EXPECT_EQ(hft::key_hex(t), "000000000004864c" + zeros(48));
  // Its published hash meets it.
  const Num hash = hft::num_from_hex("000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506");
  EXPECT_LE(hash, hft::num_of_key(t));
}

TEST(Compact, BitcoinCoreSetCompactVectors) {
  // Bitcoin Core src/test/arith_uint256_tests.cpp (bignum_SetCompact): non-negative,
  // non-overflowing, non-zero cases.
  EXPECT_EQ(hft::key_hex(compact(0x01123456)), zeros(62) + "12");
  EXPECT_EQ(hft::key_hex(compact(0x02123456)), zeros(60) + "1234");
  EXPECT_EQ(hft::key_hex(compact(0x03123456)), zeros(58) + "123456");
  EXPECT_EQ(hft::key_hex(compact(0x04123456)), zeros(56) + "12345600");
  EXPECT_EQ(hft::key_hex(compact(0x05009234)), zeros(56) + "92340000");
  EXPECT_EQ(hft::key_hex(compact(0x20123456)), "123456" + zeros(58));
}

TEST(Compact, LargestExponentsWithoutOverflow) {
  // bits = mantissa * 256^(exponent-3) (vectors.md): these still fit in 256 bits.
  EXPECT_EQ(hft::key_hex(compact(0x2200007f)), "7f" + zeros(62));
  EXPECT_EQ(hft::key_hex(compact(0x21007fff)), "7fff" + zeros(60));
  EXPECT_EQ(hft::key_hex(compact(0x207fffff)), "7fffff" + zeros(58));
}

TEST(Compact, SignBitOverflowAndZeroAreRejected) {
  // Negative (sign bit 0x00800000 set): Bitcoin Core arith_uint256_tests 0x04923456 is negative.
  // Overflow: 0xff123456 overflows there. Zero: 0x01003456 (Bitcoin Core) and plain zeros.
  for (std::uint32_t bits : {0x04923456u, 0x1d80ffffu, 0x1dffffffu, 0xff123456u, 0x23000001u, 0x2301ffffu, 0x22000100u,
                             0x227fffffu, 0x21010000u, 0x00000000u, 0x1d000000u, 0x01003456u, 0x02000056u}) {
    Key k = Key::max();
    const std::string why = hf::target_from_compact(bits, &k);
    EXPECT_FALSE(why.empty()) << std::hex << bits << " accepted as " << hft::key_hex(k);
    EXPECT_EQ(why.find('\n'), std::string::npos);
  }
}

// ---- pool difficulty ----

// floor(a / d) of a 256-bit number by a small divisor (long division, byte by byte).
Num num_div(const Num& a, std::uint32_t d) {
  Num q{};
  std::uint64_t r = 0;
  for (int i = 0; i < 32; ++i) {
    r = (r << 8) | a[i];
    q[i] = static_cast<std::uint8_t>(r / d);
    r %= d;
  }
  return q;
}
Num num_sub(const Num& a, const Num& b) {  // a >= b
  Num r{};
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int x = a[i] - b[i] - borrow;
    borrow = x < 0;
    r[i] = static_cast<std::uint8_t>(x + (borrow ? 256 : 0));
  }
  return r;
}
int bit_length(const Num& a) {
  for (int i = 0; i < 32; ++i)
    if (a[i])
      for (int b = 7; b >= 0; --b)
        if (a[i] >> b & 1) return (31 - i) * 8 + b + 1;
  return 0;
}

// Stratum's difficulty-1 target, from vectors.md.
const char* kDiff1 = "00000000FFFF0000000000000000000000000000000000000000000000000000";

Key difficulty(double d) {
  Key k;
  const std::string why = hf::target_from_difficulty(d, &k);
  EXPECT_EQ(why, "") << d;
  return k;
}

TEST(Difficulty, OneIsStratumDiff1) {
  const Num diff1 = hft::num_from_hex(kDiff1);
  EXPECT_EQ(hft::num_of_key(difficulty(1.0)), diff1);
  // The same number as compact 0x1d00ffff (vectors.md).
  EXPECT_EQ(difficulty(1.0), compact(0x1d00ffff));
}

TEST(Difficulty, PowersOfTwoShiftDiff1) {
  const Num diff1 = hft::num_from_hex(kDiff1);
  EXPECT_EQ(hft::num_of_key(difficulty(2.0)), hft::num_shr1(diff1)) << "difficulty 2 is half of diff1";
  EXPECT_EQ(hft::num_of_key(difficulty(0.5)), hft::num_shl1(diff1)) << "difficulty 0.5 is double diff1";
  Num up = diff1, down = diff1;
  for (int k = 1; k <= 32; ++k) {
    up = hft::num_shl1(up);
    down = hft::num_shr1(down);
    EXPECT_EQ(hft::num_of_key(difficulty(std::ldexp(1.0, -k))), up) << "2^-" << k;
    EXPECT_EQ(hft::num_of_key(difficulty(std::ldexp(1.0, k))), down) << "2^" << k;
  }
  // 2^-32 moves the leading ffff to the top of the 256 bits.
  EXPECT_EQ(hft::key_hex(difficulty(std::ldexp(1.0, -32))), "ffff" + zeros(60));
}

TEST(Difficulty, IntegerDifficultiesAreDiff1DividedClosely) {
  const Num diff1 = hft::num_from_hex(kDiff1);
  for (std::uint32_t d : {3u, 5u, 7u, 10u, 1000u, 65535u, 65536u, 1000003u, 123456789u}) {
    const Num exact = num_div(diff1, d);
    const Num got = hft::num_of_key(difficulty(static_cast<double>(d)));
    const Num diff = got >= exact ? num_sub(got, exact) : num_sub(exact, got);
    // Within about 2^-60 of the exact quotient (the engine works in 64-bit floating point).
    EXPECT_LE(bit_length(diff), bit_length(exact) - 60)
        << "difficulty " << d << ": got " << hft::hex(got) << " exact " << hft::hex(exact);
  }
  // 3 divides 0xffff: exact.
  EXPECT_EQ(hft::key_hex(difficulty(3.0)), "000000005555" + zeros(52));
}

TEST(Difficulty, LargerDifficultyNeverGivesALargerTarget) {
  Num prev = hft::num_of_key(difficulty(1e-9));
  for (double d = 1e-9; d < 1e15; d *= 1.37) {
    const Num t = hft::num_of_key(difficulty(d));
    EXPECT_LE(t, prev) << d;
    prev = t;
  }
}

TEST(Difficulty, NonPositiveAndNonFiniteAreRejected) {
  for (double d : {0.0, -0.0, -1.0, -1e-300, std::numeric_limits<double>::quiet_NaN(),
                   std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
    Key k;
    const std::string why = hf::target_from_difficulty(d, &k);
    EXPECT_FALSE(why.empty()) << d;
    EXPECT_EQ(why.find('\n'), std::string::npos);
  }
  // So high that the target would be zero.
  Key k;
  EXPECT_FALSE(hf::target_from_difficulty(1e80, &k).empty());
}

TEST(Difficulty, TinyDifficultyAdmitsEverything) {
  // diff1 / d above 2^256 - 1: every hash meets it.
  Key k;
  EXPECT_EQ(hf::target_from_difficulty(1e-30, &k), "");
  EXPECT_EQ(k, Key::max());
}

// ---- hex targets and keys ----

TEST(TargetHex, ParsesAndRejects) {
  Key k;
  EXPECT_EQ(hf::target_from_hex("00000000FFFF0000000000000000000000000000000000000000000000000000", &k), "");
  EXPECT_EQ(hft::key_hex(k), "00000000ffff" + zeros(52));
  EXPECT_EQ(hf::target_from_hex("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", &k), "");
  EXPECT_EQ(k.w[0], 0x01234567u);
  EXPECT_EQ(k.w[7], 0x89abcdefu);
  for (std::string bad : {zeros(60) + "ff", zeros(64) + "ff", zeros(63), zeros(63) + "g", std::string(""), zeros(64)}) {
    EXPECT_FALSE(hf::target_from_hex(bad, &k).empty()) << "accepted '" << bad << "'";
  }
}

TEST(Keys, KeyOfMatchesBothByteOrders) {
  hft::Rng rng(0x6e7);
  for (int i = 0; i < 200; ++i) {
    hf::Digest d;
    d.size = 32;
    rng.fill(d.bytes.data(), 32);
    for (hf::ByteOrder o : {hf::ByteOrder::bitcoin, hf::ByteOrder::digest}) {
      const Key k = hf::key_of(d, o);
      EXPECT_EQ(hft::num_of_key(k), hft::num_of(d, o));
      std::uint32_t h[8];
      for (int j = 0; j < 8; ++j)
        h[j] = std::uint32_t(d.bytes[4 * j]) << 24 | d.bytes[4 * j + 1] << 16 | d.bytes[4 * j + 2] << 8 |
               d.bytes[4 * j + 3];
      EXPECT_EQ(hf::key_of_words(h, o), k);
      EXPECT_EQ(k.hex(), hft::hex(hft::num_of(d, o)));
    }
  }
  // Bitcoin order: the genesis block's SHA256d read little-endian is its displayed hash
  // (vectors.md).
  const hf::Digest g = hft::ossl(
      hf::Algo::sha256d,
      hft::unhex(
          "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f61"
          "7fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c"));
  EXPECT_EQ(hf::key_of(g, hf::ByteOrder::bitcoin).hex(),
            "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f");
}

TEST(Keys, OrderIsNumericOrder) {
  hft::Rng rng(0x0d);
  for (int i = 0; i < 2000; ++i) {
    Num a{}, b{};
    rng.fill(a.data(), 32);
    b = a;
    if (i % 3) rng.fill(b.data() + rng.below(32), 1);  // often equal prefixes
    const Key ka = hft::key_of_num(a), kb = hft::key_of_num(b);
    EXPECT_EQ(ka < kb, a < b);
    EXPECT_EQ(ka == kb, a == b);
  }
  EXPECT_TRUE(Key{}.is_zero());
  EXPECT_FALSE(Key::max().is_zero());
  EXPECT_EQ(Key::max().hex(), std::string(64, 'f'));
}

TEST(Keys, LeadingZeroBits) {
  EXPECT_EQ(hf::leading_zero_bits(Key{}), 256);
  EXPECT_EQ(hf::leading_zero_bits(Key::max()), 0);
  for (int bit = 0; bit < 256; ++bit) {
    Num n{};
    n[31 - bit / 8] = static_cast<std::uint8_t>(1u << (bit % 8));
    EXPECT_EQ(hf::leading_zero_bits(hft::key_of_num(n)), 255 - bit) << "bit " << bit;
    // Lower bits do not change the count.
    for (int k = 31 - bit / 8 + 1; k < 32; ++k) n[k] = 0xff;
    EXPECT_EQ(hf::leading_zero_bits(hft::key_of_num(n)), 255 - bit) << "bit " << bit << " with low bits";
  }
  EXPECT_EQ(hf::leading_zero_bits(compact(0x1d00ffff)), 32);
  // 000000000004864c...: eleven zero hex digits, then 0x4 = 0100.
  EXPECT_EQ(hf::leading_zero_bits(compact(0x1b04864c)), 11 * 4 + 1);
}

// ---- nonce encodings ----

hf::NonceField field(Encoding e, std::size_t w = 0) { return {0, e, w}; }

// encode_nonce writes exactly field_width bytes, equal to the definition's text.
::testing::AssertionResult encodes(const hf::NonceField& f, std::uint64_t n) {
  const hft::Bytes want = hft::encode_ref(f.encoding, f.width, n);
  if (hf::field_width(f, n) != want.size())
    return ::testing::AssertionFailure() << "field_width " << hf::field_width(f, n) << " want " << want.size();
  std::uint8_t buf[64];
  std::memset(buf, 0xee, sizeof buf);
  hf::encode_nonce(f, n, buf + 8);
  for (int i = 0; i < 8; ++i)
    if (buf[i] != 0xee) return ::testing::AssertionFailure() << "wrote before the field";
  for (std::size_t i = 8 + want.size(); i < sizeof buf; ++i)
    if (buf[i] != 0xee) return ::testing::AssertionFailure() << "wrote past the field at " << i - 8;
  if (!std::equal(want.begin(), want.end(), buf + 8))
    return ::testing::AssertionFailure() << hf::encoding_name(f.encoding) << " w" << f.width << " n " << n << ": got "
                                         << hft::hex(buf + 8, want.size()) << " want " << hft::hex(want);
  return ::testing::AssertionSuccess();
}

TEST(Nonce, PublishedExamples) {
  // vectors.md: genesis nonce 2083236893 (0x7c2bac1d) is stored little-endian as 1dac2b7c.
  std::uint8_t b[4];
  hf::encode_nonce(field(Encoding::u32le), 2083236893, b);
  EXPECT_EQ(hft::hex(b, 4), "1dac2b7c");
  // vectors.md: block 100000 nonce 274148111 is 0x10572b0f; its header ends in 0f2b5710.
  hf::encode_nonce(field(Encoding::u32le), 274148111, b);
  EXPECT_EQ(hft::hex(b, 4), "0f2b5710");
  // seed-systems.md: the mining task's line "9ba04820 G06" holds the nonce as 8 hex digits.
  std::uint8_t h[8];
  hf::encode_nonce(field(Encoding::hex, 8), 0x9ba04820, h);
  EXPECT_EQ(std::string(h, h + 8), "9ba04820");
}

TEST(Nonce, EveryEncodingMatchesItsDefinition) {
  hft::Rng rng(0x17);
  const std::uint64_t u64max = ~0ull;
  for (std::uint64_t n : {0ull, 1ull, 0x7c2bac1dull, 0xffffffffull, 0x80000000ull}) {
    EXPECT_TRUE(encodes(field(Encoding::u32le), n));
    EXPECT_TRUE(encodes(field(Encoding::u32le, 4), n));
    EXPECT_TRUE(encodes(field(Encoding::u32be), n));
  }
  for (std::uint64_t n : std::initializer_list<std::uint64_t>{0, 1, 0x100000000ull, 0x0123456789abcdefull, u64max})
    EXPECT_TRUE(encodes(field(Encoding::u64le), n));
  for (std::size_t w = 1; w <= 16; ++w) {
    const std::uint64_t max = w == 16 ? u64max : (1ull << (4 * w)) - 1;
    for (std::uint64_t n : std::initializer_list<std::uint64_t>{0, 1, 9, 10, 15, max, max / 3, max - 1})
      EXPECT_TRUE(encodes(field(Encoding::hex, w), n & max)) << "hex w" << w;
    for (int i = 0; i < 50; ++i) EXPECT_TRUE(encodes(field(Encoding::hex, w), rng.next() & max)) << "hex w" << w;
  }
  for (std::uint64_t n : {0ull, 0xabcdefull, 0xffffffffull}) EXPECT_TRUE(encodes(field(Encoding::hex), n));
  std::uint64_t p10 = 1;
  for (std::size_t w = 1; w <= 20; ++w) {
    const std::uint64_t max = w >= 20 ? u64max : p10 * 10 - 1;
    for (std::uint64_t n : std::initializer_list<std::uint64_t>{0, 1, 9, max, max / 7, max - 1})
      EXPECT_TRUE(encodes(field(Encoding::dec, w), n)) << "dec w" << w;
    for (int i = 0; i < 50; ++i)
      EXPECT_TRUE(encodes(field(Encoding::dec, w), rng.next() % (max == u64max ? max : max + 1)));
    if (w < 20) p10 *= 10;
  }
  for (std::uint64_t n : std::initializer_list<std::uint64_t>{0, 9, 10, 99, 100, 999, 1000, 1234567,
                                                              9999999999999999999ull, 10000000000000000000ull, u64max})
    EXPECT_TRUE(encodes(field(Encoding::dec, 0), n));
}

TEST(Nonce, WidthsAndMaxima) {
  EXPECT_EQ(hf::fixed_width(field(Encoding::u32le)), 4u);
  EXPECT_EQ(hf::fixed_width(field(Encoding::u32be)), 4u);
  EXPECT_EQ(hf::fixed_width(field(Encoding::u64le)), 8u);
  EXPECT_EQ(hf::fixed_width(field(Encoding::hex)), 8u);
  EXPECT_EQ(hf::fixed_width(field(Encoding::hex, 3)), 3u);
  EXPECT_EQ(hf::fixed_width(field(Encoding::dec)), 0u);
  EXPECT_EQ(hf::fixed_width(field(Encoding::dec, 7)), 7u);
  EXPECT_EQ(hf::encoding_max(field(Encoding::u32le)), 0xffffffffull);
  EXPECT_EQ(hf::encoding_max(field(Encoding::u32be)), 0xffffffffull);
  EXPECT_EQ(hf::encoding_max(field(Encoding::u64le)), ~0ull);
  EXPECT_EQ(hf::encoding_max(field(Encoding::hex)), 0xffffffffull);
  EXPECT_EQ(hf::encoding_max(field(Encoding::dec)), ~0ull);
  EXPECT_EQ(hf::encoding_max(field(Encoding::dec, 20)), ~0ull);
  std::uint64_t p = 1;
  for (std::size_t w = 1; w <= 19; ++w) {
    p *= 10;
    EXPECT_EQ(hf::encoding_max(field(Encoding::dec, w)), p - 1) << w;
  }
  for (std::size_t w = 1; w <= 16; ++w)
    EXPECT_EQ(hf::encoding_max(field(Encoding::hex, w)), w == 16 ? ~0ull : (1ull << (4 * w)) - 1) << w;
  std::uint64_t n = 1;
  for (int d = 1; d <= 20; ++d) {
    EXPECT_EQ(hf::decimal_digits(n), d) << n;
    EXPECT_EQ(hf::decimal_digits(n - 1), d == 1 ? 1 : d - 1) << n - 1;
    if (d < 20) n *= 10;
  }
  EXPECT_EQ(hf::decimal_digits(~0ull), 20);
}

TEST(Nonce, NamesRoundTrip) {
  for (Encoding e : {Encoding::u32le, Encoding::u32be, Encoding::u64le, Encoding::hex, Encoding::dec}) {
    Encoding back = Encoding::u32le;
    ASSERT_TRUE(hf::parse_encoding(hf::encoding_name(e), &back)) << hf::encoding_name(e);
    EXPECT_EQ(back, e);
  }
  Encoding e;
  EXPECT_FALSE(hf::parse_encoding("u16le", &e));
  EXPECT_FALSE(hf::parse_encoding("", &e));
  hf::ByteOrder o;
  ASSERT_TRUE(hf::parse_order("bitcoin", &o));
  EXPECT_EQ(o, hf::ByteOrder::bitcoin);
  ASSERT_TRUE(hf::parse_order("digest", &o));
  EXPECT_EQ(o, hf::ByteOrder::digest);
  EXPECT_FALSE(hf::parse_order("little", &o));
  for (hf::Algo a : {hf::Algo::sha1, hf::Algo::sha256, hf::Algo::sha256d})
    EXPECT_EQ(hf::parse_algo(hf::algo_name(a)), a);
  EXPECT_FALSE(hf::parse_algo("md5").has_value());
}

// ---- split_range ----

struct PartW {
  std::uint64_t first, count;
  std::size_t width;
};
::testing::AssertionResult splits(const hf::NonceField& f, hf::NonceRange r, std::size_t msg,
                                  const std::vector<PartW>& want) {
  std::vector<hf::FieldPart> parts{{{1, 1}, 99}};  // must be replaced
  const std::string why = hf::split_range(f, r, msg, &parts);
  if (!why.empty()) return ::testing::AssertionFailure() << "error: " << why;
  if (parts.size() != want.size())
    return ::testing::AssertionFailure() << parts.size() << " parts, want " << want.size();
  for (std::size_t i = 0; i < want.size(); ++i)
    if (parts[i].range.first != want[i].first || parts[i].range.count != want[i].count ||
        parts[i].width != want[i].width)
      return ::testing::AssertionFailure()
             << "part " << i << ": " << parts[i].range.first << "+" << parts[i].range.count << " w" << parts[i].width
             << ", want " << want[i].first << "+" << want[i].count << " w" << want[i].width;
  return ::testing::AssertionSuccess();
}

TEST(SplitRange, VaryingDecimalSplitsByDigitCount) {
  const hf::NonceField f{3, Encoding::dec, 0};
  // 5..1234 -> 5..9, 10..99, 100..999, 1000..1234.
  EXPECT_TRUE(splits(f, {5, 1230}, 10, {{5, 5, 1}, {10, 90, 2}, {100, 900, 3}, {1000, 235, 4}}));
  EXPECT_TRUE(splits(f, {0, 1}, 10, {{0, 1, 1}}));
  EXPECT_TRUE(splits(f, {0, 10}, 10, {{0, 10, 1}}));
  EXPECT_TRUE(splits(f, {9, 2}, 10, {{9, 1, 1}, {10, 1, 2}}));
  EXPECT_TRUE(splits(f, {10, 90}, 10, {{10, 90, 2}}));
  EXPECT_TRUE(
      splits(f, {9999999999999999998ull, 4}, 10, {{9999999999999999998ull, 2, 19}, {10000000000000000000ull, 2, 20}}));
  EXPECT_TRUE(splits(f, {~0ull - 9, 10}, 10, {{~0ull - 9, 10, 20}}));
  EXPECT_TRUE(splits(f, {0, ~0ull}, 10, [] {
    std::vector<PartW> v{{0, 10, 1}};
    std::uint64_t p = 10;
    for (std::size_t d = 2; d <= 19; ++d, p *= 10) v.push_back({p, p * 9, d});
    v.push_back({p, ~0ull - p, 20});  // up to 2^64 - 2
    return v;
  }()));
  // Inserted at the very end of the template is fine.
  EXPECT_TRUE(splits({10, Encoding::dec, 0}, {1, 5}, 10, {{1, 5, 1}}));
}

TEST(SplitRange, FixedWidthEncodingsGiveOnePart) {
  EXPECT_TRUE(splits({76, Encoding::u32le, 0}, {0, 1ull << 32}, 80, {{0, 1ull << 32, 4}}));
  EXPECT_TRUE(splits({0, Encoding::u32be, 4}, {7, 9}, 4, {{7, 9, 4}}));
  EXPECT_TRUE(splits({2, Encoding::u64le, 0}, {0, ~0ull}, 10, {{0, ~0ull, 8}}));
  EXPECT_TRUE(splits({0, Encoding::hex, 0}, {0, 1}, 8, {{0, 1, 8}}));
  EXPECT_TRUE(splits({1, Encoding::hex, 5}, {0xffff0, 16}, 6, {{0xffff0, 16, 5}}));
  EXPECT_TRUE(splits({0, Encoding::dec, 7}, {5, 1234567}, 7, {{5, 1234567, 7}}));
}

TEST(SplitRange, EmptyRangeHasNoParts) {
  std::vector<hf::FieldPart> parts{{{1, 1}, 4}};
  EXPECT_EQ(hf::split_range({0, Encoding::u32le, 0}, {5, 0}, 80, &parts), "");
  EXPECT_TRUE(parts.empty());
}

TEST(SplitRange, Errors) {
  struct Bad {
    const char* what;
    hf::NonceField f;
    hf::NonceRange r;
    std::size_t msg;
  };
  const std::vector<Bad> bad{
      {"u32 past 2^32-1", {0, Encoding::u32le, 0}, {0xfffffff0ull, 17}, 80},
      {"u32 first past 2^32-1", {0, Encoding::u32be, 0}, {1ull << 32, 1}, 80},
      {"hex width 2 nonce 256", {0, Encoding::hex, 2}, {256, 1}, 80},
      {"hex width 1 range 0..16", {0, Encoding::hex, 1}, {0, 17}, 80},
      {"hex width 17", {0, Encoding::hex, 17}, {0, 1}, 80},
      {"dec width 2 nonce 100", {0, Encoding::dec, 2}, {99, 2}, 80},
      {"dec width 21", {0, Encoding::dec, 21}, {0, 1}, 80},
      {"u64 past 2^64-1", {0, Encoding::u64le, 0}, {2, ~0ull}, 80},
      {"varying decimal past 2^64-1", {0, Encoding::dec, 0}, {2, ~0ull}, 80},
      {"u32 field past the end", {77, Encoding::u32le, 0}, {0, 1}, 80},
      {"hex field past the end", {75, Encoding::hex, 8}, {0, 1}, 80},
      {"dec field past the end", {70, Encoding::dec, 11}, {0, 1}, 80},
      {"field offset huge", {~std::size_t(0) - 2, Encoding::u32le, 0}, {0, 1}, 80},
      {"varying decimal offset past the end", {81, Encoding::dec, 0}, {0, 1}, 80},
      {"u32 width 8", {0, Encoding::u32le, 8}, {0, 1}, 80},
      {"u64 width 4", {0, Encoding::u64le, 4}, {0, 1}, 80},
  };
  for (const Bad& b : bad) {
    std::vector<hf::FieldPart> parts{{{1, 1}, 4}};
    const std::string why = hf::split_range(b.f, b.r, b.msg, &parts);
    EXPECT_FALSE(why.empty()) << b.what;
    EXPECT_EQ(why.find('\n'), std::string::npos) << b.what;
    EXPECT_TRUE(parts.empty()) << b.what;
  }
}

}  // namespace
