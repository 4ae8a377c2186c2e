// net/node/json: reading as Python's json.loads and writing as json.dumps, byte for byte.
// The expected strings are what Python 3.11 prints; tests/node/test_json_golden.py checks
// thousands more against the real interpreter.
#include "net/node/json.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace {

using hf::node::dump_python;
using hf::node::Json;
using hf::node::parse_json;
using hf::node::ParseLimits;
using hf::node::python_float_repr;

Json parse_ok(std::string_view text) {
  auto r = parse_json(text);
  EXPECT_TRUE(r.value.has_value()) << "refused: " << r.error << "\n  input: " << text;
  return r.value ? *r.value : Json();
}

// json.dumps(json.loads(text)) and with sort_keys=True.
std::string dumps(std::string_view text) { return dump_python(parse_ok(text)); }
std::string dumps_sorted(std::string_view text) { return dump_python(parse_ok(text), {.sort_keys = true}); }

std::string refusal(std::string_view text, const ParseLimits& limits = {}) {
  auto r = parse_json(text, limits);
  EXPECT_FALSE(r.value.has_value()) << "accepted: " << text;
  EXPECT_FALSE(r.error.empty());
  EXPECT_EQ(r.error.find('\n'), std::string::npos);
  return r.error;
}

TEST(NodeJson, ScalarsAndLayout) {
  EXPECT_EQ(dumps("null"), "null");
  EXPECT_EQ(dumps(" true "), "true");
  EXPECT_EQ(dumps("false"), "false");
  EXPECT_EQ(dumps("[]"), "[]");
  EXPECT_EQ(dumps("{}"), "{}");
  EXPECT_EQ(dumps("[1,2,[3,{}]]"), "[1, 2, [3, {}]]");
  EXPECT_EQ(dumps("{\"a\":1,\"b\":[true,null]}"), "{\"a\": 1, \"b\": [true, null]}");
  EXPECT_EQ(dumps(" \t\r\n{ \"a\" :\n1 } \r\n"), "{\"a\": 1}");
}

TEST(NodeJson, RoundTripsAreStable) {
  const char* docs[] = {
      "{\"index\": 1, \"transactions\": [{\"amount\": 1.5, \"recipient\": \"b\", \"sender\": \"a\"}], "
      "\"proof\": 35293, \"previous_hash\": \"1\", \"timestamp\": 1700000000.1234567}",
      "[NaN, Infinity, -Infinity, -0.0, 0, 1e+16, 1e-05, \"\\u00e9\\ud83d\\ude00\"]",
      "{\"z\": {\"b\": 1, \"a\": [2, {\"d\": 3, \"c\": 4}]}, \"y\": null}",
  };
  for (const char* d : docs) {
    const Json v = parse_ok(d);
    const std::string once = dump_python(v);
    EXPECT_EQ(once, d);
    EXPECT_EQ(parse_ok(once), v);
    const std::string sorted = dump_python(v, {.sort_keys = true});
    EXPECT_EQ(dump_python(parse_ok(sorted), {.sort_keys = true}), sorted);
  }
}

TEST(NodeJson, SortKeysAtEveryDepthByCodePoint) {
  EXPECT_EQ(dumps_sorted("{\"b\":1,\"a\":{\"y\":2,\"x\":[{\"d\":1,\"c\":2}]},\"B\":0}"),
            "{\"B\": 0, \"a\": {\"x\": [{\"c\": 2, \"d\": 1}], \"y\": 2}, \"b\": 1}");
  // U+FFFF < U+10000 by code point (UTF-16 order would put the astral key first), and a
  // lone surrogate U+D800 comes before both.
  EXPECT_EQ(dumps_sorted("{\"\\ud83d\\ude00\":1,\"\\uffff\":2,\"\\ud800\":3,\"\\u00e9\":4}"),
            "{\"\\u00e9\": 4, \"\\ud800\": 3, \"\\uffff\": 2, \"\\ud83d\\ude00\": 1}");
  // Insertion order without sort_keys.
  EXPECT_EQ(dumps("{\"b\":1,\"a\":2}"), "{\"b\": 1, \"a\": 2}");
}

TEST(NodeJson, FloatReprBoundaries) {
  EXPECT_EQ(python_float_repr(1e-05), "1e-05");
  EXPECT_EQ(python_float_repr(0.0001), "0.0001");
  EXPECT_EQ(python_float_repr(0.00012345), "0.00012345");
  EXPECT_EQ(python_float_repr(1.5e-05), "1.5e-05");
  EXPECT_EQ(python_float_repr(1e16), "1e+16");
  EXPECT_EQ(python_float_repr(1.5e16), "1.5e+16");
  EXPECT_EQ(python_float_repr(1e15), "1000000000000000.0");
  EXPECT_EQ(python_float_repr(9999999999999998.0), "9999999999999998.0");  // the last below 1e16
  EXPECT_EQ(python_float_repr(1e16 - 1), "1e+16");                         // rounds up, as in Python
  EXPECT_EQ(python_float_repr(5e-324), "5e-324");
  EXPECT_EQ(python_float_repr(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(python_float_repr(0.1), "0.1");
  EXPECT_EQ(python_float_repr(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(python_float_repr(2.0 / 3), "0.6666666666666666");
  EXPECT_EQ(python_float_repr(-0.0), "-0.0");
  EXPECT_EQ(python_float_repr(0.0), "0.0");
  EXPECT_EQ(python_float_repr(100.0), "100.0");
  EXPECT_EQ(python_float_repr(123456789012345680.0), "1.2345678901234568e+17");
  EXPECT_EQ(python_float_repr(1e100), "1e+100");
  EXPECT_EQ(python_float_repr(-2.5e-300), "-2.5e-300");
  EXPECT_EQ(python_float_repr(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(python_float_repr(std::numeric_limits<double>::infinity()), "Infinity");
  EXPECT_EQ(python_float_repr(-std::numeric_limits<double>::infinity()), "-Infinity");
}

TEST(NodeJson, NumbersReadAsPython) {
  EXPECT_EQ(dumps("1E400"), "Infinity");
  EXPECT_EQ(dumps("-1e400"), "-Infinity");
  EXPECT_EQ(dumps("1e-400"), "0.0");
  EXPECT_EQ(dumps("-1e-400"), "-0.0");
  EXPECT_EQ(dumps("0e999999999999999999999"), "0.0");
  EXPECT_EQ(dumps("1e99999999999999999999999"), "Infinity");
  EXPECT_EQ(dumps("4e-320"), "4e-320");  // subnormal
  EXPECT_EQ(dumps("2.4703282292062328e-324"), "5e-324");
  EXPECT_EQ(dumps("1.7976931348623159e308"), "Infinity");
  EXPECT_EQ(dumps("-0"), "0");
  EXPECT_EQ(dumps("-0.0"), "-0.0");
  EXPECT_EQ(dumps("1.0"), "1.0");
  EXPECT_EQ(dumps("1E+2"), "100.0");
  EXPECT_EQ(dumps("12345678901234567890123456789"), "12345678901234567890123456789");
  EXPECT_EQ(dumps("[-Infinity,NaN]"), "[-Infinity, NaN]");

  const Json i = parse_ok("-9223372036854775808");
  ASSERT_TRUE(i.is_int());
  EXPECT_EQ(i.as_int64(), std::numeric_limits<std::int64_t>::min());
  EXPECT_FALSE(parse_ok("9223372036854775808").as_int64().has_value());
  EXPECT_EQ(parse_ok("9007199254740993").as_double(), 9007199254740992.0);  // rounds to even
  EXPECT_EQ(parse_ok(std::string(400, '9')).as_double(), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(parse_ok("1.0").is_real());
  EXPECT_TRUE(parse_ok("1").is_int());
  EXPECT_NE(parse_ok("1"), parse_ok("1.0"));

  for (const char* bad : {"01", "-", "+1", ".5", "1.", "1.e5", "1e", "1e+", "0x10", "-NaN", "nan", "inf", "-Inf",
                          "Infinit", "1 2", "--1", "00"})
    refusal(bad);
}

TEST(NodeJson, IntegerDigitLimit) {
  const std::string ok(4300, '7');
  EXPECT_EQ(dumps(ok), ok);
  EXPECT_EQ(dumps("-" + ok), "-" + ok);  // the sign is not a digit
  EXPECT_NE(refusal(std::string(4301, '7')).find("digits"), std::string::npos);
  // Floats have no digit limit.
  EXPECT_EQ(dumps(std::string(5000, '1') + ".0"), "Infinity");
  EXPECT_EQ(dumps("0." + std::string(5000, '0') + "1"), "0.0");
}

TEST(NodeJson, StringEscapesOnOutput) {
  EXPECT_EQ(dumps(R"("a\"b\\c\/d")"), R"("a\"b\\c/d")");
  EXPECT_EQ(dumps(R"("\n\r\t\b\f")"), R"("\n\r\t\b\f")");
  EXPECT_EQ(dumps(R"("\u0000\u001f\u007f\u0080")"), R"("\u0000\u001f\u007f\u0080")");
  EXPECT_EQ(dumps("\"\x7f\""), R"("\u007f")");
  EXPECT_EQ(dumps("\"caf\xc3\xa9 \xe2\x82\xac \xef\xbf\xbf\""), R"("caf\u00e9 \u20ac \uffff")");
  EXPECT_EQ(dumps("\"\xf0\x9f\x98\x80\""), R"("\ud83d\ude00")");
  EXPECT_EQ(dumps("\"\xf4\x8f\xbf\xbf\""), R"("\udbff\udfff")");
  EXPECT_EQ(dumps(R"("\u00E9\uABCD")"), R"("\u00e9\uabcd")");  // hex read in either case
  EXPECT_EQ(dumps("\"~ !#\""), "\"~ !#\"");
  std::string out;
  hf::node::dump_python_string("x\xffy", &out);  // not WTF-8: only hand-made strings
  EXPECT_EQ(out, R"("x\ufffdy")");
}

TEST(NodeJson, SurrogatesAsPythonHoldsThem) {
  // An escaped pair is one astral character.
  const Json pair = parse_ok(R"("\ud83d\ude00")");
  EXPECT_EQ(pair.as_string(), "\xf0\x9f\x98\x80");
  // Lone ones, escaped or raw (as surrogatepass decodes ED A0..BF xx), stay lone.
  EXPECT_EQ(parse_ok(R"("\ud800")").as_string(), "\xed\xa0\x80");
  EXPECT_EQ(dumps(R"("\ud800")"), R"("\ud800")");
  EXPECT_EQ(dumps(R"("\udc00\ud800")"), R"("\udc00\ud800")");
  EXPECT_EQ(dumps(R"("\ud800x\udc00")"), R"("\ud800x\udc00")");
  EXPECT_EQ(dumps(R"("\ud800\ud83d\ude00")"), R"("\ud800\ud83d\ude00")");
  EXPECT_EQ(dumps("\"\xed\xa0\x80\""), R"("\ud800")");
  EXPECT_EQ(dumps("\"\xed\xbf\xbf\""), R"("\udfff")");
  // A raw pair is two characters in Python (not joined); it prints like the astral one.
  const Json raw = parse_ok("\"\xed\xa0\xbd\xed\xb8\x80\"");
  EXPECT_EQ(raw.as_string(), "\xed\xa0\xbd\xed\xb8\x80");
  EXPECT_EQ(dump_python(raw), R"("\ud83d\ude00")");
  EXPECT_NE(raw, pair);
  // An escaped high surrogate does not pair with a raw low one.
  EXPECT_EQ(parse_ok("\"\\ud83d\xed\xb8\x80\"").as_string(), "\xed\xa0\xbd\xed\xb8\x80");
  // So they are different keys, and sort by their first code point.
  EXPECT_EQ(dumps_sorted("{\"\\ud83d\\ude00\": 1, \"\xed\xa0\xbd\xed\xb8\x80\": 2}"),
            R"({"\ud83d\ude00": 2, "\ud83d\ude00": 1})");
  refusal(R"("\ud800\u12")");
  refusal(R"("\ud800\uzzzz")");
}

TEST(NodeJson, BadStringsRefused) {
  refusal("\"abc");
  refusal("\"abc\\");
  refusal("\"a\x01\"");
  refusal("\"a\nb\"");
  refusal("\"a\tb\"");
  refusal(R"("\x41")");
  refusal(R"("\u12")");
  refusal(R"("\u12g4")");
  refusal(R"("\U0041")");
  refusal("'a'");
  EXPECT_EQ(dumps("\"a\x7f\""), R"("a\u007f")");  // DEL is no control character to json
}

TEST(NodeJson, InvalidUtf8Refused) {
  const char* bad[] = {
      "\"\xff\"",
      "\"\xc0\xaf\"",
      "\"\xc1\xbf\"",
      "\"\xe0\x80\xaf\"",
      "\"\xf0\x80\x80\xaf\"",
      "\"\xf4\x90\x80\x80\"",
      "\"\xf5\x80\x80\x80\"",
      "\"\x80\"",
      "\"\xc3\"",
      "\"\xe2\x82\"",
      "\"\xed\xa0\"",
      "\"\xf0\x9f\x98\"",
      "\xef\xbb\xbf{}",
      "[1]\xff",
      "\"\xc3\x28\"",
  };
  for (const char* b : bad) refusal(b);
  EXPECT_EQ(dumps("\"\xed\x9f\xbf\""), R"("\ud7ff")");
  EXPECT_EQ(dumps("\"\xee\x80\x80\""), R"("\ue000")");
}

TEST(NodeJson, DuplicateKeysFirstPlaceLastValue) {
  EXPECT_EQ(dumps(R"({"a": 1, "b": 2, "a": 3})"), R"({"a": 3, "b": 2})");
  EXPECT_EQ(dumps(R"({"a": 1, "a": {"x": 1, "x": 2}, "a": [1]})"), R"({"a": [1]})");
  // Large objects take the sorting path.
  std::string big = "{";
  for (int i = 0; i < 100; ++i) big += "\"k" + std::to_string(i % 40) + "\": " + std::to_string(i) + ",";
  big.back() = '}';
  const Json v = parse_ok(big);
  ASSERT_EQ(v.members().size(), 40u);
  EXPECT_EQ(v.members()[0].first, "k0");
  EXPECT_EQ(v.members()[0].second, Json::integer(80));
  EXPECT_EQ(v.members()[39].first, "k39");
  EXPECT_EQ(v.members()[39].second, Json::integer(79));
}

TEST(NodeJson, DepthLimit) {
  ParseLimits lim;
  lim.max_depth = 64;
  const auto nest = [](int n) { return std::string(n, '[') + std::string(n, ']'); };
  EXPECT_TRUE(parse_json(nest(64), lim).value.has_value());
  EXPECT_NE(refusal(nest(65), lim).find("deeper"), std::string::npos);
  std::string objs;
  for (int i = 0; i < 65; ++i) objs += "{\"a\":";
  objs += '1';
  objs.append(65, '}');
  refusal(objs, lim);
  // Far past any stack: refused at the cap, without recursing further.
  refusal(std::string(1'000'000, '['), lim);
  refusal(std::string(1'000'000, '{'), lim);
}

TEST(NodeJson, SizeLimit) {
  ParseLimits lim;
  lim.max_bytes = 10;
  EXPECT_TRUE(parse_json("[1,2,3,44]", lim).value.has_value());
  refusal("[1,2,3,444]", lim);
}

TEST(NodeJson, TrailingGarbageAndStructure) {
  using namespace std::string_view_literals;  // some of these hold NUL bytes
  for (const auto bad :
       {""sv,          " "sv,           "[1] x"sv,      "{} {}"sv,   "1,"sv,        "nulll"sv, "truex"sv,
        "[1,]"sv,      "[,1]"sv,        "{\"a\":1,}"sv, "{,}"sv,     "{\"a\" 1}"sv, "{a:1}"sv, "{1:1}"sv,
        "[1 2]"sv,     "["sv,           "{"sv,          "{\"a\":"sv, "]"sv,         "\x00"sv,  "[1]\x00"sv,
        "\"a\x00\""sv, "\xc2\xa0[1]"sv, "/* */1"sv,     "\v1"sv,     "\f1"sv})
    refusal(bad);
  EXPECT_EQ(refusal("[1,]"), "line 1 column 4: expecting value");
  EXPECT_EQ(refusal("{\n  \"a\": 1 x"), "line 2 column 10: expecting ',' delimiter");
  EXPECT_EQ(refusal("\"\xc3\xa9\" 1"), "line 1 column 5: extra data");  // columns count characters
}

TEST(NodeJson, Truthy) {
  for (const char* f : {"false", "null", "0", "-0", "0.0", "-0.0", "1e-400", "\"\"", "[]", "{}"})
    EXPECT_FALSE(parse_ok(f).truthy()) << f;
  for (const char* t : {"true", "1", "-1", "0.5", "NaN", "Infinity", "\"0\"", "[0]", "{\"\": 0}"})
    EXPECT_TRUE(parse_ok(t).truthy()) << t;
}

TEST(NodeJson, BuildFindAndSet) {
  Json o = Json::object();
  o.set("b", Json::integer(1));
  o.set("a", Json::string("x"));
  o.set("b", Json::real(2.5));  // keeps its place, as d["b"] = 2.5
  EXPECT_EQ(dump_python(o), R"({"b": 2.5, "a": "x"})");
  EXPECT_EQ(dump_python(o, {.sort_keys = true}), R"({"a": "x", "b": 2.5})");
  ASSERT_NE(o.find("a"), nullptr);
  EXPECT_EQ(o.find("a")->as_string(), "x");
  EXPECT_EQ(o.find("c"), nullptr);
  o.find("a")->push(Json());  // a string ignores it in the dump
  Json arr = Json::array();
  arr.push(Json::boolean(true));
  arr.push(Json::big_integer("-123456789012345678901234567890"));
  arr.push(Json());
  EXPECT_EQ(dump_python(arr), "[true, -123456789012345678901234567890, null]");
  Json d;
  d.set("k", Json::integer(-5));
  EXPECT_EQ(dump_python(d), R"({"k": -5})");
}

TEST(NodeJson, BigIntegerValidates) {
  EXPECT_EQ(Json::big_integer("-0").int_text(), "0");
  EXPECT_EQ(Json::big_integer("0").int_text(), "0");
  EXPECT_EQ(Json::big_integer("-17").int_text(), "-17");
  for (const char* bad : {"", "-", "+1", "01", "-01", "1.0", "1e3", " 1", "12a"})
    EXPECT_TRUE(Json::big_integer(bad).is_null()) << bad;
  EXPECT_EQ(Json::integer(std::numeric_limits<std::int64_t>::min()).int_text(), "-9223372036854775808");
}

TEST(NodeJson, StructuralEquality) {
  EXPECT_EQ(parse_ok("[NaN]"), parse_ok("[NaN]"));
  EXPECT_NE(parse_ok("0.0"), parse_ok("-0.0"));
  EXPECT_NE(parse_ok(R"({"a":1,"b":2})"), parse_ok(R"({"b":2,"a":1})"));
  EXPECT_EQ(parse_ok(R"({"a":[1,{"b":null}]})"), parse_ok(R"( { "a" : [ 1 , { "b" : null } ] } )"));
}

}  // namespace
