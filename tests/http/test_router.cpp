// The pure half of net/http: routing, targets and query strings, header lookups, the
// compiled-in asset table and the response head writer. No sockets.
#include <gtest/gtest.h>

#include <stdexcept>

#include "net/http/assets.hpp"
#include "net/http/query.hpp"
#include "net/http/router.hpp"
#include "net/http/serialize.hpp"

namespace hf::http::test {
const AssetTable& test_assets();  // tests/http/assets, compiled in by hf_embed_assets
}

namespace hf::http {
namespace {

Request req(std::string method, std::string path) {
  Request r;
  r.method = std::move(method);
  r.target = path;
  r.path = std::move(path);
  return r;
}

Handler says(std::string what) {
  return [what](const Request&) { return Response::text(200, what); };
}

TEST(Router, ExactPathRunsItsHandler) {
  Router r;
  r.get("/api/stats", says("stats"));
  Request q = req("GET", "/api/stats");
  const Response res = r.route(q);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "stats\n");
}

TEST(Router, UnknownPathIs404) {
  Router r;
  r.get("/a", says("a"));
  Request q = req("GET", "/b");
  EXPECT_EQ(r.route(q).status, 404);
  Request q2 = req("GET", "/a/");
  EXPECT_EQ(r.route(q2).status, 404);
}

TEST(Router, WrongMethodIs405WithAllow) {
  Router r;
  r.get("/a", says("get"));
  r.post("/a", says("post"));
  Request q = req("DELETE", "/a");
  const Response res = r.route(q);
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.headers.get("allow").value_or(""), "GET, HEAD, POST");
  Request p = req("POST", "/a");
  EXPECT_EQ(r.route(p).body, "post\n");
}

TEST(Router, HeadIsServedByGetUnlessItHasItsOwnRoute) {
  Router r;
  r.get("/a", says("get a"));
  r.get("/b", says("get b"));
  r.add("HEAD", "/b", says("head b"));
  Request a = req("HEAD", "/a");
  EXPECT_EQ(r.route(a).body, "get a\n");
  Request b = req("HEAD", "/b");
  EXPECT_EQ(r.route(b).body, "head b\n");
  Request post_only = req("HEAD", "/c");
  r.post("/c", says("c"));
  const Response res = r.route(post_only);
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.headers.get("Allow").value_or(""), "POST");
}

TEST(Router, ParameterSegmentsAreCaptured) {
  Router r;
  r.get("/blocks/{hash}/tx/{n}", [](const Request& q) {
    return Response::text(200,
                          std::string(q.param("hash").value_or("?")) + " " + std::string(q.param("n").value_or("?")));
  });
  Request ok = req("GET", "/blocks/00ab/tx/3");
  EXPECT_EQ(r.route(ok).body, "00ab 3\n");
  for (const char* miss : {"/blocks//tx/3", "/blocks/00ab/tx", "/blocks/00ab/tx/3/4", "/blocks/00ab/rx/3"}) {
    Request q = req("GET", miss);
    EXPECT_EQ(r.route(q).status, 404) << miss;
  }
}

TEST(Router, PrefixRouteCapturesTheRest) {
  Router r;
  r.get("/static/*", [](const Request& q) { return Response::text(200, "[" + std::string(*q.param("*")) + "]"); });
  Request deep = req("GET", "/static/css/site.css");
  EXPECT_EQ(r.route(deep).body, "[css/site.css]\n");
  Request bare = req("GET", "/static/");
  EXPECT_EQ(r.route(bare).body, "[]\n");
  Request none = req("GET", "/static");
  EXPECT_EQ(r.route(none).status, 404);
  Request other = req("GET", "/staticx/a");
  EXPECT_EQ(r.route(other).status, 404);
}

TEST(Router, ExactBeatsPatternAndPatternsGoInOrder) {
  Router r;
  r.get("/blocks/{hash}", says("by hash"));
  r.get("/blocks/latest", says("latest"));
  r.get("/blocks/*", says("rest"));
  Request latest = req("GET", "/blocks/latest");
  EXPECT_EQ(r.route(latest).body, "latest\n");
  Request h = req("GET", "/blocks/ff");
  EXPECT_EQ(r.route(h).body, "by hash\n");
  Request deep = req("GET", "/blocks/ff/x");
  EXPECT_EQ(r.route(deep).body, "rest\n");
}

TEST(Router, HandlerThatThrowsGives500) {
  Router r;
  r.get("/boom", [](const Request&) -> Response { throw std::runtime_error("boom"); });
  r.get("/int", [](const Request&) -> Response { throw 42; });
  Request a = req("GET", "/boom");
  EXPECT_EQ(r.route(a).status, 500);
  Request b = req("GET", "/int");
  EXPECT_EQ(r.route(b).status, 500);
}

TEST(Router, BadPatternsAreRefused) {
  Router r;
  for (const char* bad : {"nope", "", "/a/*/b", "/a/{}", "/a/x*", "/a/{b", "/a/{b}c", "/{a{b}}"})
    EXPECT_THROW(r.get(bad, says("x")), std::invalid_argument) << bad;
  EXPECT_TRUE(r.empty());
}

TEST(Query, PercentDecoding) {
  std::string out;
  EXPECT_TRUE(percent_decode("a%20b%2Fc%41", &out, false));
  EXPECT_EQ(out, "a b/cA");
  EXPECT_TRUE(percent_decode("a+b", &out, false));
  EXPECT_EQ(out, "a+b");
  EXPECT_TRUE(percent_decode("a+b", &out, true));
  EXPECT_EQ(out, "a b");
  for (const char* bad : {"%", "%4", "%zz", "a%g1", "%%"}) EXPECT_FALSE(percent_decode(bad, &out, true)) << bad;
}

TEST(Query, Pairs) {
  Params p;
  ASSERT_TRUE(parse_query("a=1&b=two+words&c&d=&&e=%41%2b%3D&a=2", &p));
  const Params want = {{"a", "1"}, {"b", "two words"}, {"c", ""}, {"d", ""}, {"e", "A+="}, {"a", "2"}};
  EXPECT_EQ(p, want);
  Params bad;
  EXPECT_FALSE(parse_query("a=%zz", &bad));
  Params many;
  EXPECT_FALSE(parse_query("a&b&c&d", &many, 3));
  Params empty;
  EXPECT_TRUE(parse_query("", &empty));
  EXPECT_TRUE(empty.empty());
}

TEST(Query, Targets) {
  std::string path, why;
  std::string_view query;
  ASSERT_TRUE(split_target("/p%20a/b?x=1&y", &path, &query, &why));
  EXPECT_EQ(path, "/p a/b");
  EXPECT_EQ(query, "x=1&y");
  ASSERT_TRUE(split_target("http://host:8080/x/y?q=1", &path, &query, &why));
  EXPECT_EQ(path, "/x/y");
  EXPECT_EQ(query, "q=1");
  ASSERT_TRUE(split_target("HTTPS://host", &path, &query, &why));
  EXPECT_EQ(path, "/");
  ASSERT_TRUE(split_target("http://host?z", &path, &query, &why));
  EXPECT_EQ(path, "/");
  EXPECT_EQ(query, "z");
  ASSERT_TRUE(split_target("*", &path, &query, &why));
  EXPECT_EQ(path, "*");
  ASSERT_TRUE(split_target("/a#frag?x", &path, &query, &why));
  EXPECT_EQ(path, "/a");
  EXPECT_EQ(query, "");
  EXPECT_FALSE(split_target("abc", &path, &query, &why));
  EXPECT_FALSE(split_target("", &path, &query, &why));
  EXPECT_FALSE(split_target("/a%00b", &path, &query, &why));
  EXPECT_EQ(why, "NUL byte in the path");
  EXPECT_FALSE(split_target("/a%2", &path, &query, &why));
}

TEST(Message, HeadersIgnoreCase) {
  Headers h;
  h.add("Content-Type", "a");
  h.add("X-One", "1");
  h.add("x-one", "2");
  EXPECT_EQ(h.get("content-type").value_or(""), "a");
  EXPECT_EQ(h.get("X-ONE").value_or(""), "1");
  EXPECT_FALSE(h.get("missing"));
  h.set("X-One", "3");
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(h.get("x-one").value_or(""), "3");
  h.erase("CONTENT-TYPE");
  EXPECT_FALSE(h.has("Content-Type"));
  Request r;
  r.query = {{"k", "v"}};
  EXPECT_EQ(r.query_value("k").value_or(""), "v");
  EXPECT_FALSE(r.query_value("K"));
}

TEST(Assets, ContentTypes) {
  EXPECT_EQ(content_type_for("/index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("/app.JS"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("/x.png"), "image/png");
  EXPECT_EQ(content_type_for("/noext"), "application/octet-stream");
  EXPECT_EQ(content_type_for("/dir.d/file"), "application/octet-stream");
}

TEST(Assets, EtagMatching) {
  EXPECT_TRUE(etag_matches("\"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_matches("\"x\", W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_matches("*", "\"abc\""));
  EXPECT_FALSE(etag_matches("\"abd\"", "\"abc\""));
  EXPECT_FALSE(etag_matches("", "\"abc\""));
}

TEST(Assets, EmbeddedTableServesWithEtagAnd304) {
  const AssetTable& t = test::test_assets();
  ASSERT_EQ(t.assets().size(), 2u);
  const Asset* index = t.find("/index.html");
  ASSERT_NE(index, nullptr);
  EXPECT_NE(index->data.find("<title>hf test</title>"), std::string_view::npos);
  EXPECT_EQ(index->etag.size(), 26u);  // 24 hex digits in quotes

  Request q = req("GET", "/index.html");
  const Response ok = t.serve(q, *index);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(ok.payload(), index->data);
  EXPECT_EQ(ok.headers.get("ETag").value_or(""), index->etag);
  EXPECT_EQ(ok.headers.get("Cache-Control").value_or(""), "no-cache");

  q.headers.add("If-None-Match", std::string(index->etag));
  const Response same = t.serve(q, *index);
  EXPECT_EQ(same.status, 304);
  EXPECT_TRUE(same.payload().empty());

  Router r;
  t.add_routes(r, "/ui");
  Request root = req("GET", "/ui/");
  EXPECT_EQ(r.route(root).payload(), index->data);
  Request css = req("GET", "/ui/style.css");
  const Response c = r.route(css);
  EXPECT_EQ(c.content_type, "text/css; charset=utf-8");
  EXPECT_EQ(c.payload(), "body { color: #123; }\n");
}

TEST(Serialize, HeadFields) {
  Response res = Response::text(200, "hi");
  res.headers.add("X-Ok", "yes");
  res.headers.add("X-Bad", "a\r\nInjected: 1");
  res.headers.add("Bad Name", "v");
  res.headers.add("Content-Length", "999");
  std::string out;
  append_head(out, res, res.payload().size(), {});
  EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\nServer: hashforge\r\nDate: ", 0), 0u) << out;
  EXPECT_NE(out.find("\r\nContent-Type: text/plain; charset=utf-8\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nContent-Length: 3\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nX-Ok: yes\r\n"), std::string::npos);
  EXPECT_EQ(out.find("Injected"), std::string::npos);
  EXPECT_EQ(out.find("Bad Name"), std::string::npos);
  EXPECT_EQ(out.find("999"), std::string::npos);
  EXPECT_EQ(out.find("Connection"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");

  std::string closing;
  append_head(closing, res, 3, {.keep_alive = false});
  EXPECT_NE(closing.find("\r\nConnection: close\r\n"), std::string::npos);
  std::string old;
  append_head(old, res, 3, {.keep_alive = true, .client_http10 = true});
  EXPECT_NE(old.find("\r\nConnection: keep-alive\r\n"), std::string::npos);

  Response nm;
  nm.status = 304;
  std::string n;
  append_head(n, nm, 0, {.server = ""});
  EXPECT_EQ(n.rfind("HTTP/1.1 304 Not Modified\r\nDate: ", 0), 0u) << n;
  EXPECT_EQ(n.find("Content-Length"), std::string::npos);
  EXPECT_EQ(n.find("Content-Type"), std::string::npos);
}

TEST(Serialize, DateIsImfFixdate) {
  const std::string_view d = http_date_now();
  ASSERT_EQ(d.size(), 29u) << d;
  EXPECT_EQ(d.substr(d.size() - 4), " GMT");
  EXPECT_EQ(d[3], ',');
}

}  // namespace
}  // namespace hf::http
