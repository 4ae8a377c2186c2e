// Pure-code pieces of the coordinator: the Stratum JSON-RPC line codec (parse and encode,
// hostile input rejected with a reason), the JobBook of live jobs, job files
// (examples/jobs/*.json), DecayingRate / WorkerStats hash-rate averages, and Vardiff::set.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "net/io/accept.hpp"
#include "net/io/connect.hpp"
#include "net/io/printable.hpp"
#include "net/mining/job_book.hpp"
#include "net/mining/job_file.hpp"
#include "net/mining/share_check.hpp"
#include "net/mining/vardiff.hpp"
#include "net/mining/worker_stats.hpp"
#include "net/stratum/extranonce.hpp"
#include "net/stratum/json_rpc.hpp"
#include "net/stratum/notify.hpp"

using namespace hf::mining;
using namespace hf::stratum;

namespace {
std::optional<Message> parse(std::string_view line) {
  std::string why;
  auto m = parse_message(line, &why);
  EXPECT_TRUE(m) << "line: " << line << " why: " << why;
  return m;
}

// An encoder's output: exactly one '\n', at the end, and no '\r'; parsed without it.
std::optional<Message> decode(const std::string& s) {
  EXPECT_TRUE(!s.empty() && s.back() == '\n') << s;
  EXPECT_EQ(s.find('\n'), s.size() - 1) << s;
  EXPECT_EQ(s.find('\r'), std::string::npos) << s;
  return parse(std::string_view(s).substr(0, s.size() - 1));
}

void expect_rejected(std::string_view line, const char* what) {
  std::string why;
  EXPECT_FALSE(parse_message(line, &why)) << what;
  EXPECT_FALSE(why.empty()) << what;
}
}  // namespace

// ---- JSON-RPC -------------------------------------------------------------------------

TEST(JsonRpc, SubmitRequestRoundTripsWithIntAndStringIds) {
  const json::array params{"worker.1", "1a", "00000001", "4d1b2237", "9962e301"};
  for (const json::value& id : {json::value(7), json::value("abc")}) {
    auto m = decode(encode_request(id, "mining.submit", params));
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->is_request());
    EXPECT_EQ(m->id, id);
    EXPECT_EQ(m->method, "mining.submit");
    EXPECT_EQ(m->params, params);
  }
  // Written by hand, with the trailing '\r' some miners send.
  auto m = parse("{\"id\": 3, \"method\": \"mining.subscribe\", \"params\": [\"cgminer/4\"]}\r");
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->id == json::value(3) && m->method == "mining.subscribe" && m->params == json::array{"cgminer/4"});
}

TEST(JsonRpc, RepliesAndErrors) {
  auto m = decode(encode_result(5, true));
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->is_request());
  EXPECT_EQ(m->id, json::value(5));
  EXPECT_EQ(m->result, json::value(true));
  EXPECT_FALSE(reply_error(*m));

  m = decode(encode_error("x", 21, "Job not found"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->id, json::value("x"));
  EXPECT_TRUE(m->result.is_null());
  EXPECT_EQ(m->error, (json::value(json::array{21, "Job not found", nullptr})));
  auto e = reply_error(*m);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->code == 21 && e->message == "Job not found");

  // JSON-RPC 2.0 style, which a few pools send.
  m = parse(R"({"id":2,"result":null,"error":{"code":-32601,"message":"Method not found"}})");
  ASSERT_TRUE(m);
  e = reply_error(*m);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->code == -32601 && e->message == "Method not found");
}

TEST(JsonRpc, CkpoolsRejectReasonIsKeptAndStaleOnesAreTold) {
  auto m = parse(R"({"id":7,"result":false,"error":null,"reject-reason":"Stale"})");
  ASSERT_TRUE(m);
  EXPECT_FALSE(reply_error(*m));
  EXPECT_EQ(m->reject_reason, "Stale");
  EXPECT_TRUE(says_stale(m->reject_reason));
  EXPECT_TRUE(says_stale("stale-prevblk"));
  EXPECT_FALSE(says_stale("Above target"));
  m = parse(R"({"id":7,"result":false,"error":null,"reject-reason":)" + std::string("\"") + std::string(300, 'x') +
            "\"}");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->reject_reason.size(), 256u) << "capped";
  m = parse(R"({"id":7,"result":true,"error":null,"reject-reason":5})");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->reject_reason, "") << "only a string is a reason";
}

TEST(JsonRpc, SubmitAnswersReadTheSameWhereverTheReasonComesFrom) {
  auto answer = [](const std::string& line) {
    auto m = parse(line);
    EXPECT_TRUE(m) << line;
    return m ? submit_answer(*m) : SubmitAnswer{};
  };
  SubmitAnswer a = answer(R"({"id":1,"result":true,"error":null})");
  EXPECT_TRUE(a.accepted && !a.stale && !a.coded && a.reason.empty());
  a = answer(R"({"id":1,"result":true,"error":[23,"Low difficulty share",null]})");
  EXPECT_FALSE(a.accepted) << "an error refuses whatever the result says";
  EXPECT_TRUE(a.coded && a.code == 23 && a.reason == "Low difficulty share" && !a.stale);
  a = answer(R"({"id":1,"result":null,"error":[21,"Job not found",null]})");
  EXPECT_TRUE(!a.accepted && a.stale && a.code == 21) << "code 21 is stale whatever its text";
  a = answer(R"({"id":1,"result":null,"error":[20,"Stale share",null]})");
  EXPECT_TRUE(a.stale && a.code == 20) << "the pool's own code is kept";
  a = answer(R"({"id":1,"result":false,"error":null,"reject-reason":"Stale"})");
  EXPECT_TRUE(!a.accepted && a.stale && !a.coded && a.code == 21 && a.reason == "Stale");
  a = answer(R"({"id":1,"result":false,"error":null,"reject-reason":"Above target"})");
  EXPECT_TRUE(!a.stale && a.code == 20 && a.reason == "Above target");
  a = answer(R"({"id":1,"result":false,"error":null})");
  EXPECT_TRUE(!a.accepted && !a.stale && a.code == 20 && a.reason.empty()) << "a bare false";
  a = answer(R"({"id":1,"result":"yes","error":null})");
  EXPECT_FALSE(a.accepted) << "only true accepts";
}

TEST(Extranonce, FromSubscribeAndSetExtranonceWithTheSizeAsANumberOrAString) {
  std::string why;
  auto en = extranonce_of(json::array{json::array{}, "08000002", 4}, 1, &why);
  ASSERT_TRUE(en) << why;
  EXPECT_EQ(hf::to_hex(en->extranonce1), "08000002");
  EXPECT_EQ(en->extranonce2_size, 4u);
  en = extranonce_of(json::array{"cafe", "8"}, 0, &why);
  ASSERT_TRUE(en) << why;
  EXPECT_EQ(en->extranonce2_size, 8u);
  EXPECT_TRUE(extranonce_of(json::array{"", 1}, 0, &why)) << "an empty extranonce1 is allowed";
  for (const json::array& bad :
       {json::array{"cafe"}, json::array{"cafe", 0}, json::array{"cafe", 17}, json::array{"cafe", 4.5},
        json::array{"cafe", "four"}, json::array{"xyz", 4}, json::array{std::string(66, 'a'), 4}, json::array{7, 4}}) {
    why.clear();
    EXPECT_FALSE(extranonce_of(bad, 0, &why)) << json::serialize(bad);
    EXPECT_FALSE(why.empty());
  }
}

TEST(JsonRpc, NotificationsHaveANullId) {
  const std::string line = encode_notification("mining.set_difficulty", json::array{1024});
  auto m = decode(line);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->id.is_null());
  EXPECT_TRUE(m->is_request());
  EXPECT_EQ(m->method, "mining.set_difficulty");
  EXPECT_EQ(m->params, (json::array{1024}));
  EXPECT_TRUE(parse(line.substr(0, line.size() - 1) + "\r"));
}

TEST(JsonRpc, EncodersWriteOneLineEvenWithNewlinesInStrings) {
  const std::string msg = "two\nlines\r\n";
  auto e = decode(encode_error(1, 20, msg));
  ASSERT_TRUE(e && reply_error(*e));
  EXPECT_EQ(reply_error(*e)->message, msg);  // the newlines survive, escaped
  auto r = decode(encode_result(1, json::value(msg)));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result, json::value(msg));
  for (const std::string& s :
       {encode_request(1, "client.show_message", {msg}), encode_notification("client.show_message", {msg})}) {
    auto m = decode(s);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->params, (json::array{msg}));
  }
}

TEST(JsonRpc, RejectsMalformedLinesWithAReason) {
  expect_rejected("mining.submit worker 1", "not JSON");
  expect_rejected(R"({"id":1,"method":"mining.submit","params":["w",)", "truncated");
  expect_rejected(R"([{"id":1,"method":"mining.submit","params":[]}])", "array");
  expect_rejected("42", "number");
  expect_rejected("", "empty line");
  expect_rejected(R"({"id":1,"method":"mining.submit","params":{"user":"w"}})", "params object");
  expect_rejected(R"({"id":1,"method":"mining.submit","params":"w"})", "params string");
  expect_rejected(R"({"id":1,"method":7,"params":[]})", "method number");
  expect_rejected(R"({"id":1,"method":"","params":[]})", "method empty");
  expect_rejected(R"({"id":{"a":1},"method":"mining.submit","params":[]})", "id object");
  expect_rejected(R"({"id":true,"method":"mining.submit","params":[]})", "id bool");
  expect_rejected(R"({"id":[1],"method":"mining.submit","params":[]})", "id array");
  expect_rejected(R"({"id":1})", "neither request nor reply");
  // Boost.JSON reads these as infinity and would write them back as "Infinity" (not JSON).
  expect_rejected(R"({"id":1,"method":"mining.suggest_difficulty","params":[1e400]})", "number too large");
  expect_rejected(R"({"id":1,"result":[{"d":-1e999}],"error":null})", "nested number too large");
}

TEST(JsonRpc, LineLengthCapIs16KiB) {
  const std::string head = R"({"id":1,"method":"m","params":[")", tail = R"("]})";
  auto line = [&](std::size_t n) { return head + std::string(n - head.size() - tail.size(), 'a') + tail; };
  ASSERT_EQ(line(kMaxLine).size(), 16384u);
  EXPECT_TRUE(parse(line(kMaxLine)));
  EXPECT_TRUE(parse(line(kMaxLine) + "\r"));  // the '\r' is not counted
  expect_rejected(line(kMaxLine + 1), "16385 bytes");
  expect_rejected(std::string(1 << 20, '['), "1 MiB of brackets");
}

TEST(JsonRpc, APoolsLinesAreReadUnderTheirOwnCap) {
  const std::string head = R"({"id":null,"method":"mining.notify","params":[")", tail = R"("]})";
  auto line = [&](std::size_t n) { return head + std::string(n - head.size() - tail.size(), 'a') + tail; };
  std::string why;
  EXPECT_TRUE(parse_message(line(kMaxPoolLine), &why, nullptr, kMaxPoolLine)) << why;
  EXPECT_TRUE(parse_message(line(kMaxPoolLine) + "\r", &why, nullptr, kMaxPoolLine)) << why;
  EXPECT_FALSE(parse_message(line(kMaxPoolLine + 1), &why, nullptr, kMaxPoolLine));
  EXPECT_EQ(why, "line longer than 512 KiB");
  EXPECT_FALSE(parse_message(line(kMaxLine + 1), &why));
  EXPECT_EQ(why, "line longer than 16 KiB");
}

TEST(JsonRpc, NestingDeeperThan16IsRejected) {
  auto nested = [](int depth) {  // the object is level 1, params level 2
    return R"({"id":1,"method":"m","params":)" + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "}";
  };
  EXPECT_TRUE(parse(nested(16)));
  expect_rejected(nested(17), "depth 17");
  expect_rejected(nested(100), "depth 100");
}

TEST(JsonRpc, BinaryGarbageIsRejected) {
  using namespace std::string_literals;
  expect_rejected("\0\0\0\0"s, "NULs");
  expect_rejected("\xff\xfe\x00\x01\x80"s, "bytes");
  expect_rejected(R"({"id":1,"method":"m","params":[]})"s + "\0"s, "trailing NUL");
  expect_rejected("{\"id\":1,\"method\":\"m\0\",\"params\":[]}"s, "NUL in a string");
  expect_rejected("{\"id\":1,\"method\":\"m\xff\",\"params\":[]}"s, "0xff in a string");
  expect_rejected("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"s, "a TLS ClientHello");
}

TEST(JsonRpc, TextThatIsNotJsonIsToldFromJsonOfTheWrongShape) {
  using namespace std::string_literals;
  // Not JSON at all: the coordinator closes the connection at once.
  for (const std::string& line : {"\0\xff\xfe garbage"s, "GET / HTTP/1.1"s, "{not json"s, std::string(100, '['),
                                  "\x16\x03\x01\x02\x00"s, "{\"id\":1,\"method\":\"m\xff\"}"s}) {
    std::string why;
    bool not_json = false;
    EXPECT_FALSE(parse_message(line, &why, &not_json));
    EXPECT_TRUE(not_json) << line;
  }
  // JSON of the wrong shape: answered with an error, the connection goes on (up to a limit).
  for (const std::string& line : {"[1,2,3]"s, R"({"id":1,"method":5})"s, R"({"id":{},"method":"x"})"s,
                                  R"({"id":1,"method":"mining.subscribe","params":{"a":1}})"s, "42"s}) {
    std::string why;
    bool not_json = true;
    EXPECT_FALSE(parse_message(line, &why, &not_json));
    EXPECT_FALSE(not_json) << line;
  }
  bool not_json = true;
  std::string why;
  EXPECT_TRUE(parse_message(R"({"id":1,"method":"mining.subscribe","params":[]})", &why, &not_json));
  EXPECT_FALSE(not_json);
}

// ---- Text from peers in log lines ------------------------------------------------------

TEST(Printable, EscapesControlCharactersAndBytesThatAreNotText) {
  using namespace std::string_literals;
  using hf::netio::printable;
  EXPECT_EQ(printable("miner/1.0 (x86_64)"), "miner/1.0 (x86_64)");
  EXPECT_EQ(printable("a\nforged line"), "a\\x0aforged line");
  EXPECT_EQ(printable("\r\t\x1b[31mred\x7f"), "\\x0d\\x09\\x1b[31mred\\x7f");
  EXPECT_EQ(printable("nul\0here"s), "nul\\x00here");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  // C1 controls: U+009B (CSI) as UTF-8, and a lone 0x9b byte (CSI to an 8-bit terminal).
  EXPECT_EQ(printable("\xc2\x9b[2J"), "\\xc2\\x9b[2J");
  EXPECT_EQ(printable("\x9b[2J"), "\\x9b[2J");
  // Not UTF-8: overlong, surrogate, truncated.
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");
  EXPECT_EQ(printable("ab\xe2\x82"), "ab\\xe2\\x82");
}

TEST(Printable, CapsTheLengthAtACharacterBoundary) {
  using hf::netio::printable;
  EXPECT_EQ(printable(std::string(300, 'a')), std::string(256, 'a') + "...");
  EXPECT_EQ(printable("abcdef", 6), "abcdef");
  EXPECT_EQ(printable("abcdefg", 6), "abcdef...");
  EXPECT_EQ(printable("abcde\xc3\xa9", 6), "abcde...");  // the two-byte character is not split
  EXPECT_EQ(printable("", 6), "");
}

// ---- Connection limits under the descriptor limit --------------------------------------

TEST(PlanDescriptors, LimitsThatFitAreKeptAndOthersShrinkWithAReason) {
  using hf::netio::plan_descriptors;
  auto p = plan_descriptors(65536, 20000, 128);
  EXPECT_EQ(p.stratum, 20000u);
  EXPECT_EQ(p.http, 128u);
  EXPECT_TRUE(p.note.empty());
  // ulimit -n 1024: 992 after the reserve of 32; HTTP keeps its 128 (under a quarter), Stratum the rest.
  p = plan_descriptors(1024, 20000, 128);
  EXPECT_EQ(p.stratum, 1024u - 32 - 128);
  EXPECT_EQ(p.http, 128u);
  EXPECT_NE(p.note.find("ulimit -n"), std::string::npos) << p.note;
  // A small limit: HTTP is held to a quarter of what is left.
  p = plan_descriptors(256, 20000, 128);
  EXPECT_EQ(p.http, (256u - 32) / 4);
  EXPECT_EQ(p.stratum, 256u - 32 - (256u - 32) / 4);
  EXPECT_EQ(p.stratum + p.http + 32, 256u);
  // Exactly full fits; fewer descriptors than the reserve still leave one of each.
  EXPECT_TRUE(plan_descriptors(1000 + 100 + 32, 1000, 100).note.empty());
  p = plan_descriptors(10, 5, 5);
  EXPECT_EQ(p.stratum, 1u);
  EXPECT_EQ(p.http, 1u);
}

// ---- JobBook --------------------------------------------------------------------------

TEST(JobBook, IdsInOrderCleanDropsAllOthersKeepOnlyTheNewest) {
  JobBook book(3);
  EXPECT_EQ(book.current(), nullptr);
  std::vector<std::string> ids, dropped;
  for (int i = 0; i < 3; ++i) ids.push_back(book.add(StratumJob{}, &dropped)->id);
  EXPECT_EQ(ids, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_TRUE(dropped.empty());
  EXPECT_EQ(book.live(), 3u);

  // Non-clean beyond `keep`: the oldest go first.
  ids.push_back(book.add(StratumJob{}, &dropped)->id);
  ids.push_back(book.add(StratumJob{}, &dropped)->id);
  EXPECT_EQ(dropped, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(book.live(), 3u);
  EXPECT_TRUE(!book.find("1") && !book.find("2") && book.find("3") && book.find("3")->id == "3");
  EXPECT_EQ(book.current()->id, "5");

  // Clean: every older job goes, the new one is the only live one.
  dropped.clear();
  StratumJob clean;
  clean.clean = true;
  auto c = book.add(clean, &dropped);
  EXPECT_EQ(c->id, "6");
  EXPECT_EQ(dropped, (std::vector<std::string>{"3", "4", "5"}));
  EXPECT_EQ(book.live(), 1u);
  EXPECT_EQ(book.current(), c);
  EXPECT_EQ(book.find("6"), c.get());
  for (const auto& id : ids) EXPECT_EQ(book.find(id), nullptr) << id;

  // Ids never repeat across many adds.
  std::set<std::string> seen{ids.begin(), ids.end()};
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(seen.insert(book.add(StratumJob{}, nullptr)->id).second) << i;
  EXPECT_EQ(book.live(), 3u);
}

TEST(JobBook, ClearEndsEveryLiveJobAndIdsGoOn) {
  JobBook book(4);
  std::vector<std::string> dropped;
  book.add(StratumJob{}, nullptr);
  book.add(StratumJob{}, nullptr);
  book.clear(&dropped);
  EXPECT_EQ(dropped, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(book.live(), 0u);
  EXPECT_EQ(book.current(), nullptr);
  EXPECT_EQ(book.find("2"), nullptr);
  // A share naming a job from before the clear must never match a new one.
  EXPECT_EQ(book.add(StratumJob{}, nullptr)->id, "3");
}

// ---- mining.notify params ---------------------------------------------------------------

TEST(Notify, ParamsRoundTripAndBadShapesGiveAReason) {
  const json::array p{"job7",
                      "1901125004612a1701c3a621d930d31d36b607df1fccc2160002d01c00000000",
                      "0100",
                      "ffff",
                      json::array{"c40297f730dd7b5a99567eb8d27b78758f607507c52292d02d4031895b52f2ff"},
                      "20000000",
                      "1b04864c",
                      "4d1b2237",
                      true};
  std::string why;
  auto job = hf::stratum::job_from_notify(p, &why);
  ASSERT_TRUE(job) << why;
  EXPECT_EQ(job->id, "job7");
  EXPECT_EQ(job->version, 0x20000000u);
  EXPECT_EQ(job->merkle_branch.size(), 1u);
  EXPECT_TRUE(job->clean);
  EXPECT_EQ(hf::stratum::notify_params(*job), p);
  for (std::size_t drop = 0; drop < p.size(); ++drop) {
    json::array q = p;
    q.erase(q.begin() + static_cast<std::ptrdiff_t>(drop));
    why.clear();
    EXPECT_FALSE(hf::stratum::job_from_notify(q, &why)) << drop;
    EXPECT_FALSE(why.empty());
  }
  json::array q = p;
  q[4] = json::array{42};
  EXPECT_FALSE(hf::stratum::job_from_notify(q, &why));
  q = p;
  q[1] = "zz";
  EXPECT_FALSE(hf::stratum::job_from_notify(q, &why));
}

// ---- Failover between pool URLs -------------------------------------------------------------

TEST(Failover, NextUrlAtOnceThenBackoffPerRoundAndBackToThePrimary) {
  using ms = std::chrono::milliseconds;
  hf::netio::Failover f(3, ms(500), ms(4000));
  EXPECT_EQ(f.current(), 0u);
  EXPECT_EQ(f.next(false), ms(0));  // primary failed: the first backup at once
  EXPECT_EQ(f.current(), 1u);
  EXPECT_EQ(f.next(false), ms(0));
  EXPECT_EQ(f.current(), 2u);
  EXPECT_EQ(f.next(false), ms(1000));  // a whole round failed: back off
  EXPECT_EQ(f.current(), 0u);
  f.next(false);
  f.next(false);
  EXPECT_EQ(f.next(false), ms(2000));
  for (int i = 0; i < 8; ++i) f.next(false);
  EXPECT_EQ(f.next(false), ms(4000)) << "capped";
  f.next(false);
  EXPECT_EQ(f.current(), 1u);
  // A connection that worked: start over at the primary, shortest pause, backoff reset.
  EXPECT_EQ(f.next(true), ms(500));
  EXPECT_EQ(f.current(), 0u);
  f.next(false);
  f.next(false);
  EXPECT_EQ(f.next(false), ms(1000));
  hf::netio::Failover one(1, ms(500), ms(30000));
  EXPECT_EQ(one.next(false), ms(1000));
  EXPECT_EQ(one.current(), 0u);
}

TEST(Reconnect, ParamsGiveTheUrlAndWaitAndKeepTls) {
  auto r = hf::netio::parse_reconnect(json::array{"pool.example", 3334, 5}, true);
  ASSERT_TRUE(r.url);
  EXPECT_EQ(r.url->text, "stratum+ssl://pool.example:3334");
  EXPECT_TRUE(r.url->tls);
  EXPECT_EQ(r.wait, std::chrono::milliseconds(5000));
  r = hf::netio::parse_reconnect(json::array{"10.0.0.1", "3333"}, false);
  ASSERT_TRUE(r.url);
  EXPECT_EQ(r.url->text, "stratum+tcp://10.0.0.1:3333");
  EXPECT_EQ(r.wait.count(), 0);
  r = hf::netio::parse_reconnect(json::array{}, false);  // the same pool again, at once
  EXPECT_FALSE(r.url);
  r = hf::netio::parse_reconnect(json::array{"h", 1, 999999}, false);
  EXPECT_EQ(r.wait, std::chrono::milliseconds(3600 * 1000)) << "at most an hour";
  r = hf::netio::parse_reconnect(json::array{"h", 1, -5}, false);
  EXPECT_EQ(r.wait.count(), 0);
  r = hf::netio::parse_reconnect(json::array{"h", "1", "7"}, false);
  EXPECT_EQ(r.wait, std::chrono::milliseconds(7000)) << "a wait sent as a string";
  EXPECT_EQ(hf::netio::parse_reconnect(json::array{"h", 1, "7s"}, false).wait.count(), 0);
  r = hf::netio::parse_reconnect(json::array{"", "", 4}, false);  // no place: the same pool, after the wait
  EXPECT_FALSE(r.url);
  EXPECT_EQ(r.wait, std::chrono::milliseconds(4000));
  r = hf::netio::parse_reconnect(json::array{42, json::array{}}, false);
  EXPECT_FALSE(r.url) << "a malformed host is ignored";
  // Only what a pool URL could hold is dialled (found by fuzzing: a host with a '/').
  EXPECT_FALSE(hf::netio::parse_reconnect(json::array{"evil/x", 3333}, false).url);
  EXPECT_FALSE(hf::netio::parse_reconnect(json::array{"h", 70000}, false).url);
  EXPECT_FALSE(hf::netio::parse_reconnect(json::array{"h", -1}, false).url);
  EXPECT_FALSE(hf::netio::parse_reconnect(json::array{"", 3333}, false).url);
  r = hf::netio::parse_reconnect(json::array{"2001:db8::7", "3333"}, false);
  ASSERT_TRUE(r.url);
  EXPECT_EQ(r.url->host, "2001:db8::7");
  EXPECT_EQ(r.url->text, "stratum+tcp://[2001:db8::7]:3333");
}

TEST(MeetsDifficulty, AgreesWithHashDifficulty) {
  Hash32 h{};
  h[29] = 0xff;  // as a little-endian number: 0xff << 232
  const double d = hash_difficulty(h);
  EXPECT_TRUE(meets_difficulty(h, d * 0.999));
  EXPECT_FALSE(meets_difficulty(h, d * 1.001));
  EXPECT_TRUE(meets_difficulty(Hash32{}, 1e15));
  EXPECT_FALSE(meets_difficulty(h, 0)) << "no target can be made from 0";
}

// ---- Job files ------------------------------------------------------------------------

namespace {
const char* kJob = R"({"prevhash":"1901125004612a1701c3a621d930d31d36b607df1fccc2160002d01c00000000",
  "coinb1":"0100","coinb2":"ffff","merkle_branch":[],"version":"00000001","nbits":"1b04864c","ntime":"4d1b2237")";
// The test job with `from` replaced by `to` and `extra` fields appended.
std::string job(const std::string& from = "", const std::string& to = "", const std::string& extra = "") {
  std::string s = std::string(kJob) + extra + "}";
  if (!from.empty()) s.replace(s.find(from), from.size(), to);
  return s;
}
void expect_file_error(const std::string& text, const std::string& names) {
  std::string why;
  EXPECT_FALSE(parse_job_file(text, &why)) << text;
  EXPECT_NE(why.find(names), std::string::npos) << "reason '" << why << "' should name " << names;
}
}  // namespace

TEST(JobFile, Block100000MatchesParseNotify) {
  std::ifstream in(std::string(HF_SOURCE_DIR) + "/examples/jobs/block100000.json");
  const std::string text{std::istreambuf_iterator<char>(in), {}};
  std::string why;
  auto jobs = parse_job_file(text, &why);
  ASSERT_TRUE(jobs) << why;
  ASSERT_EQ(jobs->size(), 1u);
  const JobTemplate& t = (*jobs)[0];
  EXPECT_FALSE(t.ntime_now);
  EXPECT_EQ(t.extranonce2_size, 4u);

  const json::object o = json::parse(text).as_object();
  NotifyFields f;
  f.job_id = "x";
  for (auto [key, out] : {std::pair{"prevhash", &f.prevhash},
                          {"coinb1", &f.coinb1},
                          {"coinb2", &f.coinb2},
                          {"version", &f.version},
                          {"nbits", &f.nbits},
                          {"ntime", &f.ntime}})
    *out = o.at(key).as_string();
  for (const auto& h : o.at("merkle_branch").as_array()) f.merkle_branch.emplace_back(h.as_string());
  auto n = parse_notify(f, &why);
  ASSERT_TRUE(n) << why;
  EXPECT_EQ(t.job.prevhash, n->prevhash);
  EXPECT_EQ(t.job.coinb1, n->coinb1);
  EXPECT_EQ(t.job.coinb2, n->coinb2);
  EXPECT_EQ(t.job.merkle_branch, n->merkle_branch);
  EXPECT_EQ(t.job.merkle_branch.size(), 2u);
  EXPECT_EQ(t.job.version, n->version);
  EXPECT_EQ(t.job.nbits, n->nbits);
  EXPECT_EQ(t.job.ntime, n->ntime);
  EXPECT_EQ(t.job.nbits, 0x1b04864cu);
}

TEST(JobFile, JobsArrayNtimeNowAndExtranonce2Size) {
  std::string why;
  auto jobs =
      parse_job_file(R"({"jobs":[)" + job() + "," + job("4d1b2237", "now", R"(,"extranonce2_size":16)") + "]}", &why);
  ASSERT_TRUE(jobs) << why;
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_FALSE((*jobs)[0].ntime_now);
  EXPECT_EQ((*jobs)[0].job.ntime, 0x4d1b2237u);
  EXPECT_EQ((*jobs)[0].extranonce2_size, 4u);
  EXPECT_TRUE((*jobs)[1].ntime_now);
  EXPECT_EQ((*jobs)[1].extranonce2_size, 16u);  // the largest allowed
  EXPECT_EQ((*jobs)[1].job.coinb1, (hf::Bytes{0x01, 0x00}));
}

TEST(JobFile, ErrorsGiveAReasonNamingTheField) {
  expect_file_error("prevhash=00", "JSON");
  expect_file_error(job().substr(0, 40), "JSON");
  expect_file_error(job(R"("coinb2":"ffff",)", ""), "coinb2");
  expect_file_error(job(R"("1b04864c")", "453281356"), "nbits");
  expect_file_error(job("[]", R"("ab")"), "merkle_branch");
  expect_file_error(job("[]", R"(["00"])"), "merkle branch");
  expect_file_error(job(R"("0100")", R"("01zz")"), "coinb1");
  expect_file_error(job(R"("00000001")", R"("0000001")"), "version");
  expect_file_error(R"({"jobs":[]})", "jobs");
  expect_file_error(R"({"jobs":{}})", "jobs");
  expect_file_error(R"({"jobs":[)" + job() + ",7]}", "job 1");
  expect_file_error(R"({"jobs":[)" + job() + "," + job("\"0100\"", "5") + "]}", "job 1: field 'coinb1'");
  for (const char* n : {"0", "17", "-1", "4.5", "\"4\""})
    expect_file_error(job("", "", std::string(",\"extranonce2_size\":") + n), "extranonce2_size");
}

// ---- DecayingRate, WorkerStats, Vardiff::set ------------------------------------------

TEST(DecayingRate, SteadyStreamNewStreamAndDecay) {
  const double W = 1e9;
  for (double tau : {60.0, 300.0}) {
    DecayingRate r(tau, 0);
    const int n = static_cast<int>(10 * tau);
    for (int t = 1; t <= n; ++t) r.add(W, t);
    EXPECT_NEAR(r.rate(n), W, 0.05 * W) << tau;
    const double before = r.rate(n);
    EXPECT_NEAR(r.rate(n + tau) / before, std::exp(-1.0), 0.1 * std::exp(-1.0)) << tau;
    EXPECT_LT(r.rate(n + 5 * tau), 0.01 * W) << tau;

    DecayingRate fresh(tau, 0);
    const int m = static_cast<int>(tau / 10);
    for (int t = 1; t <= m; ++t) fresh.add(W, t);
    EXPECT_NEAR(fresh.rate(m), W, 0.15 * W) << tau;
  }
}

TEST(WorkerStats, AcceptedShareAddsDifficultyTimes2To32) {
  WorkerStats w(100);
  w.on_accepted(2.0, 110);
  w.on_accepted(0.5, 120);
  EXPECT_EQ(w.accepted, 2u);
  EXPECT_DOUBLE_EQ(w.accepted_work, 2.5 * 4294967296.0);
  EXPECT_EQ(w.last_seen, 120);
  DecayingRate ref(60, 100);
  ref.add(2.0 * 4294967296.0, 110);
  ref.add(0.5 * 4294967296.0, 120);
  EXPECT_DOUBLE_EQ(w.r1m.rate(130), ref.rate(130));
  EXPECT_GT(w.r1m.rate(130), 0);
}

TEST(Vardiff, SetClampsAndReturnsTheValueUsed) {
  VardiffConfig cfg;
  cfg.min_difficulty = 0.5;
  cfg.max_difficulty = 1000;
  Vardiff v(cfg, 8, 0);
  for (auto [asked, used] : {std::pair{64.0, 64.0}, {0.001, 0.5}, {1e9, 1000.0}, {0.5, 0.5}, {1000.0, 1000.0}}) {
    EXPECT_EQ(v.set(asked, 1), used) << asked;
    EXPECT_EQ(v.difficulty(), used) << asked;
  }
}

TEST(PoolTls, FingerprintInTheFormsOpensslPrints) {
  const std::string hex = "923cb59216b38b1d7a957045d087dc8535bfeed7fee7f80dbe4ed57e201fe8f0";
  std::string why;
  for (const std::string& text :
       {hex,
        std::string("92:3C:B5:92:16:B3:8B:1D:7A:95:70:45:D0:87:DC:85:35:BF:EE:D7:FE:E7:F8:0D:BE:4E:D5:7E:20:1F:E8:F0"),
        std::string("sha256 Fingerprint=92:3C:B5:92:16:B3:8B:1D:7A:95:70:45:D0:87:DC:85:35:BF:EE:D7:FE:E7:F8:0D:BE:4E:"
                    "D5:7E:20:1F:E8:F0")}) {
    auto fp = hf::netio::parse_fingerprint(text, &why);
    ASSERT_TRUE(fp) << text << ": " << why;
    EXPECT_EQ(*fp, hex);
  }
  for (const std::string& bad : {std::string(), hex.substr(2), hex + "00", std::string(64, 'g')})
    EXPECT_FALSE(hf::netio::parse_fingerprint(bad, &why)) << bad;
}

TEST(PoolTls, ContextsForEachWayOfChecking) {
  using hf::netio::TlsVerify;
  EXPECT_NE(hf::netio::make_client_tls(TlsVerify{})->native_handle(), nullptr);  // the system store loads
  TlsVerify missing;
  missing.ca_file = "/nonexistent/ca.pem";
  try {
    hf::netio::make_client_tls(missing);
    ADD_FAILURE() << "an unreadable CA file must be refused";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--tls-ca /nonexistent/ca.pem"), std::string::npos) << e.what();
  }
  TlsVerify pin;
  pin.fingerprints = {std::string(64, 'a')};
  EXPECT_EQ(SSL_CTX_get_verify_mode(hf::netio::make_client_tls(pin)->native_handle()), SSL_VERIFY_NONE);
  EXPECT_EQ(SSL_CTX_get_verify_mode(hf::netio::make_client_tls(TlsVerify{})->native_handle()), SSL_VERIFY_PEER);
}
