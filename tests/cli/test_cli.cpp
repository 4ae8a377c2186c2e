// End-to-end tests of the hashforge command: real files, real processes, OpenSSL and
// coreutils as independent oracles. HASHFORGE_BIN names the binary under test.
#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

namespace {

struct Proc {
  int code = -1;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hf_cli_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path file(const std::string& name, const std::string& content) {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

  // Runs a shell command line with the binary as $HF; captures stdout and stderr.
  Proc sh(const std::string& cmdline) {
    const fs::path out = dir_ / ".out", err = dir_ / ".err";
    const std::string full = "HF='" + std::string(HASHFORGE_BIN) + "'; cd '" + dir_.string() + "' && (" + cmdline +
                             ") >'" + out.string() + "' 2>'" + err.string() + "' </dev/null";
    const int st = std::system(full.c_str());
    Proc r;
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }
  Proc hf(const std::string& args) { return sh("\"$HF\" " + args); }

  fs::path dir_;
};

std::string sha256_hex(const std::string& data) {
  unsigned char d[32];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
  char buf[65];
  for (int i = 0; i < 32; ++i) std::snprintf(buf + 2 * i, 3, "%02x", d[i]);
  return std::string(buf, 64);
}

std::uint64_t u64(const boost::json::value& v) { return v.to_number<std::uint64_t>(); }

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// A usage or input error: the exit code, exactly one line on stderr naming the problem,
// nothing on stdout.
void expect_one_line_error(const Proc& r, int code, const std::string& needle) {
  EXPECT_EQ(r.code, code) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

constexpr const char* kGenesis =
    "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f61"
    "7fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

TEST_F(Cli, HashMatchesCoreutilsByteForByte) {
  file("a.txt", "hello world\n");
  file("empty", "");
  file("with space.bin", std::string(1000, 'z'));
  file("back\\slash", "x");
  std::string big(20u << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + (i >> 10));
  file("big.bin", big);  // over the batch limit: streamed in pieces
  const std::string files = "a.txt empty 'with space.bin' 'back\\slash' big.bin";
  for (const char* algo : {"sha1", "sha256"}) {
    Proc ours = hf(std::string("hash --algo ") + algo + " " + files);
    Proc theirs = sh(std::string(algo) + "sum " + files);
    ASSERT_EQ(theirs.code, 0) << theirs.err;
    EXPECT_EQ(ours.code, 0) << ours.err;
    EXPECT_EQ(ours.out, theirs.out) << algo;
  }
}

TEST_F(Cli, HashEscapesNamesLikeCoreutils) {
  file("cr\rname", "x");
  file("nl\nname", "y");
  Proc ours = hf("hash \"$(printf 'cr\\rname')\" \"$(printf 'nl\\nname')\"");
  Proc theirs = sh("sha256sum \"$(printf 'cr\\rname')\" \"$(printf 'nl\\nname')\"");
  ASSERT_EQ(theirs.code, 0) << theirs.err;
  EXPECT_EQ(ours.code, 0) << ours.err;
  EXPECT_EQ(ours.out, theirs.out);
}

TEST_F(Cli, WriteErrorsOnStdoutFail) {
  file("a.txt", "abc");
  Proc r = sh("\"$HF\" hash a.txt >/dev/full");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("write error"), std::string::npos) << r.err;
  // The help text too (it once went nowhere with status 0).
  for (const char* help : {"--help", "torrent --help", "torrent create --help"}) {
    r = sh(std::string("\"$HF\" ") + help + " >/dev/full");
    EXPECT_EQ(r.code, 1) << help;
    EXPECT_NE(r.err.find("write error"), std::string::npos) << help << ": " << r.err;
  }
}

TEST_F(Cli, HashReadsStdinAndReportsMissingFiles) {
  file("a.txt", "abc");
  Proc r = sh("printf abc | \"$HF\" hash");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  -\n");  // FIPS 180-4 "abc"
  Proc m = hf("hash a.txt missing.txt");
  EXPECT_EQ(m.code, 1);
  EXPECT_NE(m.out.find("a.txt"), std::string::npos);
  EXPECT_EQ(count_lines(m.err), 1);
  EXPECT_NE(m.err.find("missing.txt"), std::string::npos);
}

TEST_F(Cli, Sha256dHashIsDoubleSha256) {
  file("a.txt", "hashforge");
  Proc r = hf("hash --algo sha256d a.txt");
  ASSERT_EQ(r.code, 0);
  unsigned char d1[32], d2[32];
  const std::string m = "hashforge";
  SHA256(reinterpret_cast<const unsigned char*>(m.data()), m.size(), d1);
  SHA256(d1, 32, d2);
  char hex[65];
  for (int i = 0; i < 32; ++i) std::snprintf(hex + 2 * i, 3, "%02x", d2[i]);
  EXPECT_EQ(r.out, std::string(hex, 64) + "  a.txt\n");
}

TEST_F(Cli, FileJobWritesTheTrueMinimumAtomically) {
  // 50 bytes: the line straddles the 64-byte block boundary.
  const std::string input = "a block of text that the miners extend by one line";
  file("block.txt", input);
  Proc r = hf("search file block.txt --start 4000 --count 600 --json -q --out result.txt");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = boost::json::parse(r.out).as_object();
  const std::string result = slurp(dir_ / "result.txt");
  const std::string line = std::string(j["line"].as_string());
  EXPECT_EQ(result, input + line);
  EXPECT_EQ(sha256_hex(result), std::string(j["hash"].as_string()));
  EXPECT_EQ(u64(j["nonces"]), 600u);
  // Brute force with OpenSSL over the same nonces.
  std::string best_hash(64, 'g');
  unsigned best_nonce = 0;
  for (unsigned n = 4000; n < 4600; ++n) {
    char l[32];
    std::snprintf(l, sizeof l, "%08x G06", n);
    const std::string h = sha256_hex(input + l);
    if (h < best_hash) {
      best_hash = h;
      best_nonce = n;
    }
  }
  EXPECT_EQ(std::string(j["hash"].as_string()), best_hash);
  EXPECT_EQ(u64(j["nonce"]), best_nonce);
  int zeros = 0;
  while (best_hash[static_cast<std::size_t>(zeros)] == '0') ++zeros;
  EXPECT_EQ(static_cast<int>(u64(j["leading_zero_hex"])), zeros);
  // No temporary files are left beside the result.
  for (auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

TEST_F(Cli, FileJobCustomIdAndFormatAndWrapAround) {
  file("b.txt", "x");
  Proc r = hf("search file b.txt --id TEAM7 --format '%04x-%s' --start 65530 --count 20 --json -q");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = boost::json::parse(r.out).as_object();
  EXPECT_EQ(u64(j["nonces"]), 20u);  // 65530..65535 then 0..13: wraps once, no repeats
  const std::string line = std::string(j["line"].as_string());
  ASSERT_EQ(line.size(), 10u);
  EXPECT_EQ(line.substr(4), "-TEAM7");
  EXPECT_EQ(slurp(dir_ / "b.txt.result"), "x" + line);
}

TEST_F(Cli, FileJobWrapsAtTheTopOfA64BitSpace) {
  file("c.txt", "z");
  Proc r = hf("search file c.txt --format '%016x %s' --start 0xffffffffffffffff --count 2 --json -q");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = boost::json::parse(r.out).as_object();
  EXPECT_EQ(u64(j["nonces"]), 2u);
  const auto& cov = j["covered"].as_array();
  ASSERT_EQ(cov.size(), 2u);
  EXPECT_EQ(u64(cov[0].as_object().at("first")), ~0ull);
  EXPECT_EQ(u64(cov[0].as_object().at("count")), 1u);
  EXPECT_EQ(u64(cov[1].as_object().at("first")), 0u);
  EXPECT_EQ(u64(cov[1].as_object().at("count")), 1u);
  EXPECT_TRUE(j["complete"].as_bool());
}

TEST_F(Cli, HeaderScanFindsGenesis) {
  Proc r = hf(std::string("search header ") + kGenesis + " --first 2083230000 --count 10000 -q");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("2083236893 7c2bac1d 000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("# 1 hits"), std::string::npos) << r.out;
}

TEST_F(Cli, HeaderScanCapsHits) {
  // A target with four leading zero bits: about one nonce in 16 qualifies.
  Proc r = hf(
      std::string("search header ") + kGenesis +
      " --target 0fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff --count 2000 --max-hits 5 --json -q");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = boost::json::parse(r.out).as_object();
  const auto& hits = j["hits"].as_array();
  EXPECT_EQ(hits.size(), 5u);
  EXPECT_GT(u64(j["dropped_hits"]), 50u);  // about 1/16 of 2000 nonces qualify
  for (std::size_t i = 1; i < hits.size(); ++i)
    EXPECT_LT(u64(hits[i - 1].as_object().at("nonce")), u64(hits[i].as_object().at("nonce")));
}

TEST_F(Cli, ForcingABackendTakesEffect) {
  Proc r = hf(std::string("search header ") + kGenesis + " --count 1000 --json -q --backend scalar");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(boost::json::parse(r.out).as_object()["backend"].as_string(), "scalar");
  Proc e = sh(std::string("HASHFORGE_BACKEND=scalar \"$HF\" search header ") + kGenesis + " --count 1000 --json -q");
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_EQ(boost::json::parse(e.out).as_object()["backend"].as_string(), "scalar");
  Proc bad = sh(std::string("HASHFORGE_BACKEND=warp9 \"$HF\" search header ") + kGenesis + " --count 10");
  expect_one_line_error(bad, 2, "unknown backend");
}

TEST_F(Cli, BackendsListsEveryBackendAsJson) {
  Proc r = hf("backends --json");
  ASSERT_EQ(r.code, 0);
  auto j = boost::json::parse(r.out).as_object();
  std::set<std::string> names;
  for (auto& b : j["backends"].as_array()) names.insert(std::string(b.as_object().at("name").as_string()));
  for (const char* cpu : {"scalar", "shani", "shani-sse", "avx2", "avx512"}) EXPECT_TRUE(names.count(cpu)) << cpu;
  for (const std::string& n : names) {  // anything else is a device: opencl:N or cuda:N
    if (n != "scalar" && n != "shani" && n != "shani-sse" && n != "avx2" && n != "avx512") {
      EXPECT_TRUE(n.rfind("opencl:", 0) == 0 || n.rfind("cuda:", 0) == 0) << n;
    }
  }
  EXPECT_TRUE(j["chosen"].as_object().contains("search-sha256d"));
}

// A device whose kernels fail to build is listed with the compiler's message and left out
// of `all`; the job runs on the others. The build is broken for real, through the OpenCL
// compiler: HF_VW=3 hits the kernels' own #error.
TEST_F(Cli, KernelBuildFailureDisablesOnlyThatDevice) {
  Proc probe = hf("backends --json");
  ASSERT_EQ(probe.code, 0);
  bool have_cl = false;
  const boost::json::value listed = boost::json::parse(probe.out);
  for (auto& b : listed.at("backends").as_array()) have_cl |= b.as_object().at("name").as_string() == "opencl:0";
  if (!have_cl) GTEST_SKIP() << "no OpenCL device here: " << probe.out;
  const std::string broken_hf = "HASHFORGE_OPENCL_OPTIONS='-D HF_VW=3' \"$HF\" ";
  Proc r = sh(broken_hf + "backends --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const boost::json::value broken = boost::json::parse(r.out);
  for (auto& b : broken.at("backends").as_array()) {
    const auto& o = b.as_object();
    if (o.at("name").as_string() != "opencl:0") continue;
    EXPECT_FALSE(o.at("usable").as_bool());
    const std::string why(o.at("why_unavailable").as_string());
    EXPECT_NE(why.find("kernel build failed"), std::string::npos) << why;
    EXPECT_NE(why.find("HF_VW must be"), std::string::npos) << "the build log is shown: " << why;
  }
  Proc all = sh(broken_hf + "search header " + kGenesis + " --first 2083230000 --count 10000 --backend all --json -q");
  ASSERT_EQ(all.code, 0) << all.err;
  auto j = boost::json::parse(all.out).as_object();
  EXPECT_EQ(j["backend"].as_string().find("opencl"), std::string::npos) << j["backend"];
  EXPECT_EQ(j["hits"].as_array().size(), 1u);
  Proc forced = sh(broken_hf + "search header " + kGenesis + " --count 10 --backend opencl:0");
  // PoCL's compiler prints its own summary line to stderr; hashforge's error is the last.
  EXPECT_EQ(forced.code, 2);
  EXPECT_EQ(forced.err.rfind("hashforge: --backend opencl:0: backend unavailable: kernel build failed", 0) == 0 ||
                forced.err.find("\nhashforge: --backend opencl:0: backend unavailable: kernel build failed") !=
                    std::string::npos,
            true)
      << forced.err;
}

TEST_F(Cli, ChoiceIsPerOperationWithoutAvx512) {
  // As on a CPU with SHA-NI and AVX2 but no AVX-512: SHA-NI wins SHA-256 work, AVX2 bulk SHA-1.
  // On a CPU without AVX-512 the backend is unusable for that reason first.
  Proc plain = sh("\"$HF\" backends --json");
  ASSERT_EQ(plain.code, 0) << plain.err;
  bool cpu_avx512 = false;
  const boost::json::value all = boost::json::parse(plain.out);
  for (const auto& b : all.as_object().at("backends").as_array())
    if (b.as_object().at("name") == "avx512") cpu_avx512 = b.as_object().at("usable").as_bool();
  const std::string reason = cpu_avx512 ? "disabled by HASHFORGE_DISABLE" : "CPU lacks AVX512";
  Proc r = sh("HASHFORGE_DISABLE=avx512 \"$HF\" backends --json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = boost::json::parse(r.out).as_object();
  auto chosen = j["chosen"].as_object();
  bool have_shani = false, have_avx2 = false;
  for (auto& b : j["backends"].as_array()) {
    const auto& o = b.as_object();
    if (o.at("name") == "avx512") {
      EXPECT_FALSE(o.at("usable").as_bool());
      EXPECT_EQ(std::string(o.at("why_unavailable").as_string()).rfind(reason, 0), 0u) << o.at("why_unavailable");
    }
    if (o.at("name") == "shani") have_shani = o.at("usable").as_bool();
    if (o.at("name") == "avx2") have_avx2 = o.at("usable").as_bool();
  }
  Proc forced = sh("HASHFORGE_DISABLE=avx512 \"$HF\" hash --backend avx512 /dev/null");
  expect_one_line_error(forced, 2, reason);
  if (!have_shani || !have_avx2) GTEST_SKIP() << "this CPU lacks SHA-NI or AVX2";
  EXPECT_EQ(chosen["search-sha256d"], "shani");
  EXPECT_EQ(chosen["hash-sha256"], "shani");
  EXPECT_EQ(chosen["hash-sha1"], "avx2");
}

TEST_F(Cli, BadEngineSettingsAreNamedNotIgnored) {
  // A calibration budget that is not a number, and a backend name that matches nothing, each
  // get one line on stderr; the command still works, with the default budget / with the
  // names that do match disabled. (`hash` needs the choice but probes no devices.)
  file("a.txt", "abc");
  Proc cal = sh("env -u HASHFORGE_CHOICE_FILE -u HASHFORGE_BACKEND -u HASHFORGE_DISABLE XDG_CACHE_HOME='" +
                dir_.string() + "/cache2' HASHFORGE_CALIBRATE_MS=fast \"$HF\" hash a.txt");
  ASSERT_EQ(cal.code, 0) << cal.err;
  EXPECT_EQ(cal.out.substr(0, 64), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(cal.err, "hashforge: HASHFORGE_CALIBRATE_MS=fast is not a whole number from 1 to 60000; using 300\n");
  EXPECT_TRUE(fs::exists(dir_ / "cache2" / "hashforge" / "backend-choice"));  // it did calibrate

  Proc typo = sh("HASHFORGE_DISABLE=avx5l2,scalar \"$HF\" hash --backend scalar a.txt");
  EXPECT_EQ(typo.code, 2);
  const std::string warning = "HASHFORGE_DISABLE names no backend 'avx5l2'";
  const std::size_t at = typo.err.find(warning);
  ASSERT_NE(at, std::string::npos) << typo.err;
  EXPECT_EQ(typo.err.find("names no backend", at + warning.size()), std::string::npos) << typo.err;  // once
  EXPECT_EQ(typo.err.find("names no backend 'scalar'"), std::string::npos) << typo.err;  // a real name is used
  EXPECT_NE(typo.err.find("disabled by HASHFORGE_DISABLE"), std::string::npos) << typo.err;
}

TEST_F(Cli, DisablingShaniDisablesBothItsBuilds) {
  // shani and shani-sse are one instruction set in two encodings: HASHFORGE_DISABLE=shani is
  // "a CPU without SHA-NI" and takes both away; naming the variant takes only the variant.
  auto usable = [&](const std::string& disable) {
    Proc r = sh("HASHFORGE_DISABLE=" + disable + " \"$HF\" backends --json");
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err.find("names no backend"), std::string::npos) << r.err;
    std::map<std::string, std::string> why;
    const boost::json::value listed = boost::json::parse(r.out);
    for (const auto& b : listed.at("backends").as_array()) {
      const auto& o = b.as_object();
      why[std::string(o.at("name").as_string())] =
          o.at("usable").as_bool() ? "usable" : std::string(o.at("why_unavailable").as_string());
    }
    return why;
  };
  auto both = usable("shani");
  for (const char* n : {"shani", "shani-sse"}) {
    ASSERT_TRUE(both.count(n)) << n;
    EXPECT_NE(both[n], "usable") << n;
  }
  EXPECT_EQ(both["scalar"], "usable");
  auto plain = usable("");  // nothing disabled
  auto one = usable("shani-sse");
  EXPECT_NE(one["shani-sse"], "usable");
  EXPECT_EQ(one["shani"], plain["shani"]);  // untouched: usable exactly where it was before
  if (plain["shani-sse"] != "usable") GTEST_SKIP() << "this CPU lacks SHA-NI: " << plain["shani-sse"];
  EXPECT_EQ(both["shani-sse"], "disabled by HASHFORGE_DISABLE");
}

TEST_F(Cli, MeasuredChoiceIsCachedShownAndRecalibrated) {
  // Unpinned, with a cache folder of its own: the first run measures and caches, the second
  // reads the cache, `bench --calibrate` measures again; the rates are what `backends` shows.
  const std::string env = "env -u HASHFORGE_CHOICE_FILE -u HASHFORGE_BACKEND XDG_CACHE_HOME='" + dir_.string() +
                          "/cache' HASHFORGE_CALIBRATE_MS=40 \"$HF\" ";
  Proc first = sh(env + "backends --json");
  ASSERT_EQ(first.code, 0) << first.err;
  auto j = boost::json::parse(first.out).as_object();
  auto measured = j["measured"].as_object();
  EXPECT_EQ(std::string(measured["source"].as_string()).rfind("measured now", 0), 0u) << measured["source"];
  EXPECT_TRUE(fs::exists(dir_ / "cache" / "hashforge" / "backend-choice"));
  // Each operation's choice is the fastest backend measured for it.
  for (auto& [op, chosen] : j["chosen"].as_object()) {
    std::string fastest;
    double top = 0;
    for (auto& r : measured["rates"].as_array()) {
      const auto& o = r.as_object();
      if (o.at("task").as_string() == op && o.at("rate").to_number<double>() > top) {
        top = o.at("rate").to_number<double>();
        fastest = std::string(o.at("backend").as_string());
      }
    }
    EXPECT_EQ(chosen.as_string(), fastest) << std::string(op);
  }
  Proc second = sh(env + "backends");
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_NE(second.out.find("Measured choice: cached in " + dir_.string() + "/cache/hashforge/backend-choice"),
            std::string::npos)
      << second.out;
  EXPECT_NE(second.out.find("search-sha256d"), std::string::npos) << second.out;
  Proc again = sh(env + "bench --calibrate --json");
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(std::string(boost::json::parse(again.out).at("source").as_string()).rfind("measured now", 0), 0u)
      << again.out;
  // A pinned choice is not measured over.
  file("pin", "hashforge-choice 1\nrate search-sha256d scalar 5\n");
  expect_one_line_error(sh("HASHFORGE_CHOICE_FILE=pin \"$HF\" bench --calibrate"), 2, "the choice is pinned");
  Proc pinned = sh("HASHFORGE_CHOICE_FILE=pin \"$HF\" backends --json");
  ASSERT_EQ(pinned.code, 0) << pinned.err;
  EXPECT_EQ(boost::json::parse(pinned.out).at("chosen").at("search-sha256d").as_string(), "scalar");
}

TEST_F(Cli, BadInputGetsOneLineAndNoResultFile) {
  file("block.txt", "some text");
  file("empty.txt", "");
  expect_one_line_error(hf("search raw --message 0g --offset 0 --best --count 10"), 2, "invalid hex");
  expect_one_line_error(hf("search raw --message abc --offset 0 --best --count 10"), 2, "odd-length");
  expect_one_line_error(hf("search raw --message 00112233 --offset 2 --best --count 10"), 2, "outside");
  expect_one_line_error(hf("search raw --message 0011223344 --offset 0 --target " + std::string(64, '0')), 2, "zero");
  expect_one_line_error(hf("search raw --message 0011223344 --offset 0 --best --first 4294967290 --count 100"), 2,
                        "overflows");
  expect_one_line_error(hf("search header 0011 --count 10"), 2, "80 bytes");
  expect_one_line_error(hf("search file empty.txt --count 10"), 1, "empty");
  expect_one_line_error(hf("search file nothere.txt --count 10"), 1, "nothere.txt");
  expect_one_line_error(hf("search file block.txt --count 10 --backend nosuch"), 2, "unknown backend");
  expect_one_line_error(hf("search file block.txt --count 10 --bogus-option"), 2, "bogus");
  expect_one_line_error(hf("frobnicate"), 2, "frobnicate");
  // The unknown-command line names every command there is (auction was once left out).
  for (const char* cmd :
       {"backends", "hash", "search", "bench", "coordinator", "worker", "node", "tracker", "torrent", "auction"})
    expect_one_line_error(hf("frobnicate"), 2, cmd);
  expect_one_line_error(hf("search header " + std::string(kGenesis) + " --difficulty -3"), 2, "difficulty");
  expect_one_line_error(hf("search header " + std::string(kGenesis) + " --first 0x100000000"), 2, "outside");
  expect_one_line_error(hf("search raw --message 00112233 --offset 9 --count 0 --best"), 2, "outside");
  expect_one_line_error(hf("search raw --message 00112233 --offset 0 --best --first ' -5' --count 1"), 2, "--first");
  expect_one_line_error(hf("search raw --message 00112233 --offset 0 --best --first 0x-5 --count 1"), 2, "--first");
  expect_one_line_error(hf("search file block.txt --count 10 --threads 5000"), 2, "threads");
  expect_one_line_error(hf("search file block.txt --count 10 --format '%018446744073709551624x'"), 2, "width");
  expect_one_line_error(hf("search file block.txt --count 10 --format 'abc%'"), 2, "--format");
  expect_one_line_error(hf("search file block.txt --count 10 --format '%x'"), 2, "--format");
  expect_one_line_error(hf("search file block.txt --seconds nan"), 2, "seconds");
  expect_one_line_error(hf("hash --algo md5 block.txt"), 2, "--algo");
  // The torrent commands name an unknown backend before they touch anything.
  expect_one_line_error(hf("torrent create block.txt -o b.torrent --backend nosuch"), 2, "unknown backend");
  EXPECT_FALSE(fs::exists(dir_ / "b.torrent"));
  ASSERT_EQ(hf("torrent create block.txt -o b.torrent -q").code, 0);
  expect_one_line_error(hf("torrent verify b.torrent block.txt --backend nosuch"), 2, "unknown backend");
  expect_one_line_error(hf("torrent download b.torrent -o dl --no-trackers --backend nosuch"), 2, "unknown backend");
  expect_one_line_error(hf("torrent seed b.torrent block.txt --no-trackers --backend nosuch"), 2, "unknown backend");
  expect_one_line_error(hf("torrent daemon --root droot --backend nosuch"), 2, "unknown backend");
  // Seeding serves whole data only: a short copy is refused and left as it was.
  fs::create_directories(dir_ / "short");
  file("short/block.txt", "some");
  expect_one_line_error(hf("torrent seed b.torrent short/block.txt --no-trackers"), 1, "0 of 1 pieces");
  EXPECT_EQ(fs::file_size(dir_ / "short/block.txt"), 4u);
  // The plain protocol has no rests and no TLS: such options are refused, not ignored.
  expect_one_line_error(hf("worker --url seed://127.0.0.1:1 --intensity 50"), 2, "--intensity");
  expect_one_line_error(hf("worker --url seed://127.0.0.1:1 --tls-insecure"), 2, "stratum+ssl");
  EXPECT_FALSE(fs::exists(dir_ / "block.txt.result"));
  EXPECT_FALSE(fs::exists(dir_ / "empty.txt.result"));
}

TEST_F(Cli, PlainProgressLinesWhenNotATerminal) {
  file("block.txt", "progress test");
  Proc r = hf("search file block.txt --seconds 1.2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("progress:"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos);  // no bar redraws into a pipe
  EXPECT_NE(r.out.find("best line:"), std::string::npos);
  EXPECT_NE(r.out.find("time budget"), std::string::npos);
}

// ---- option ranges, ports, input caps, result paths, memory ----

// A header job (Bitcoin block 100000, as in examples/jobs/) for coordinator command lines.
constexpr const char* kJob =
    R"({"prevhash": "1901125004612a1701c3a621d930d31d36b607df1fccc2160002d01c00000000",
"coinb1": "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff0804",
"coinb2": "ffffff0100f2052a010000004341041b0e8c2567c12536aa13357b79a073dc4444acb83c4ec7a0e2f99dd7457516c5817242da796924ca4e99947d087fedf9ce467cb9f7c6287078f801df276fdf84ac00000000",
"merkle_branch": ["c40297f730dd7b5a99567eb8d27b78758f607507c52292d02d4031895b52f2ff",
"49aef42d78e3e9999c9e6ec9e1dddd6cb880bf3b076a03be1318ca789089308e"],
"version": "00000001", "nbits": "1b04864c", "ntime": "4d1b2237"})";

// Servers that a bad option fails to stop would run until `timeout` ends them (exit 124).
constexpr const char* kCoordinator = "timeout 20 \"$HF\" coordinator --listen 127.0.0.1:0 -q ";
constexpr const char* kWorker = "timeout 20 \"$HF\" worker -q ";

TEST_F(Cli, DurationOptionsAreRangeCheckedWhenParsed) {
  file("job.json", kJob);
  file("block.txt", "some text");
  const std::string co = std::string(kCoordinator) + "--header-job job.json ";
  // inf and 1e10 once wrapped into negative limits: every connection closed within 0.5 s.
  for (const char* arg : {"--idle-timeout inf", "--idle-timeout 1e10", "--auth-timeout 1e10", "--line-timeout 1e300",
                          "--idle-timeout 0", "--auth-timeout nan", "--line-timeout -1", "--idle-timeout 604801",
                          "--job-interval inf", "--share-interval nan", "--stats-interval -5", "--stats-interval 1e300",
                          "--file-seconds 1e300", "--range-seconds -1"}) {
    const std::string name = std::string(arg).substr(0, std::string(arg).find(' '));
    expect_one_line_error(sh(co + arg), 2, name);
  }
  const std::string wk = std::string(kWorker) + "--url stratum+tcp://127.0.0.1:1 ";
  for (const char* arg : {"--seconds inf", "--seconds 1e10", "--seconds -1", "--stats-interval -5",
                          "--stats-interval nan", "--stats-interval 1e300"}) {
    const std::string name = std::string(arg).substr(0, std::string(arg).find(' '));
    expect_one_line_error(sh(wk + arg), 2, name);
  }
  expect_one_line_error(hf("search file block.txt --count 10 --seconds 1e10"), 2, "--seconds");
  expect_one_line_error(hf("search file block.txt --count 10 --seconds inf"), 2, "--seconds");
  expect_one_line_error(hf(std::string("search header ") + kGenesis + " --seconds -1"), 2, "--seconds");
  expect_one_line_error(hf("search raw --message 00112233 --offset 0 --best --seconds 1e300"), 2, "--seconds");
  expect_one_line_error(sh("timeout 20 \"$HF\" bench --seconds nan --no-devices"), 2, "--seconds");
  expect_one_line_error(sh("timeout 20 \"$HF\" bench --seconds 1e10 --no-devices"), 2, "--seconds");
  // The maxima are stated in --help.
  Proc help = hf("coordinator --help");
  EXPECT_NE(help.out.find("604800"), std::string::npos) << help.out;
}

TEST_F(Cli, OptionsAreRangeCheckedWhenParsed) {
  file("job.json", kJob);
  file("block.txt", "some text");
  const std::string header = std::string("search header ") + kGenesis + " --count 10 ";
  expect_one_line_error(hf(header + "--max-hits -1"), 2, "--max-hits");  // once 2^64-1
  expect_one_line_error(hf(header + "--max-hits 1000001"), 2, "--max-hits");
  expect_one_line_error(hf(header + "--difficulty ''"), 2, "--difficulty");
  expect_one_line_error(hf("search raw --message 00112233 --offset -1 --best --count 1"), 2, "--offset");
  expect_one_line_error(hf("search raw --message 00112233 --offset 0 --width -1 --best --count 1"), 2, "--width");
  expect_one_line_error(hf("search raw --message 00112233 --offset 0 --best --count 1 --max-hits -1"), 2, "--max-hits");
  expect_one_line_error(hf("search file block.txt --count 10 --id ''"), 2, "--id");
  expect_one_line_error(hf("search file block.txt --count 10 --id \"$(printf 'a\\nb')\""), 2, "--id");
  expect_one_line_error(hf("search file block.txt --count 10 --backend ''"), 2, "--backend");
  expect_one_line_error(hf("search file block.txt --count 10 --out ''"), 2, "--out");
  expect_one_line_error(hf("search file block.txt --count 10 --format ''"), 2, "--format");
  expect_one_line_error(hf("search file '' --count 10"), 2, "file");
  expect_one_line_error(hf("hash --backend '' block.txt"), 2, "--backend");
  expect_one_line_error(hf("backends --backend ''"), 2, "--backend");
  expect_one_line_error(sh("timeout 20 \"$HF\" bench --backend '' --seconds 0.01"), 2, "--backend");
  const std::string co = std::string(kCoordinator) + "--header-job job.json ";
  for (const char* arg :
       {"--max-connections -1", "--max-connections 0", "--proxy-prefix-bytes -1", "--proxy-prefix-bytes 5",
        "--seed-clients 0", "--seed-clients -1", "--file-rounds -1", "--difficulty nan", "--difficulty -1",
        "--min-difficulty 0", "--max-difficulty inf", "--upstream-user ''", "--share-log ''", "--file-id ''",
        "--cert ''", "--password \"$(head -c 2000 /dev/zero | tr '\\0' x)\""}) {
    const std::string name = std::string(arg).substr(0, std::string(arg).find(' '));
    expect_one_line_error(sh(co + arg), 2, name);
  }
  expect_one_line_error(sh(std::string(kCoordinator) + "--header-job ''"), 2, "--header-job");
  expect_one_line_error(sh(std::string(kCoordinator) + "--file-task block.txt --file-nonces 0"), 2, "--file-nonces");
  expect_one_line_error(sh(std::string(kCoordinator) + "--file-task block.txt --file-nonces 4294967297"), 2,
                        "--file-nonces");
  const std::string wk = std::string(kWorker) + "--url stratum+tcp://127.0.0.1:1 ";
  for (const char* arg :
       {"--user ''", "--backend ''", "--intensity 0", "--intensity nan", "--intensity 101", "--threads 0", "--id ''"}) {
    const std::string name = std::string(arg).substr(0, std::string(arg).find(' '));
    expect_one_line_error(sh(wk + arg), 2, name);
  }
}

TEST_F(Cli, PortsAreCheckedWhenParsed) {
  file("job.json", kJob);
  file("block.txt", "some text");
  const std::string co = std::string(kCoordinator) + "--header-job job.json ";
  for (const char* arg :
       {"--listen 127.0.0.1:99999", "--listen 127.0.0.1:-1", "--listen 127.0.0.1", "--listen somehost:3333",
        "--tls-listen 127.0.0.1:70000", "--http 127.0.0.1:99999", "--http 127.0.0.1", "--http localhost:8080"}) {
    const std::string name = std::string(arg).substr(0, std::string(arg).find(' '));
    expect_one_line_error(sh(co + arg), 2, name);
  }
  expect_one_line_error(sh(std::string(kCoordinator) + "--file-task block.txt --seed-listen 99999"), 2,
                        "--seed-listen");
  for (const char* url : {"stratum+tcp://127.0.0.1:0", "stratum+tcp://127.0.0.1:99999", "stratum+tcp://127.0.0.1"})
    expect_one_line_error(sh(std::string(kCoordinator) + "--upstream " + url), 2, "--upstream");
  for (const char* url : {"stratum+tcp://127.0.0.1:0", "stratum+tcp://127.0.0.1:99999", "stratum+ssl://h:123456",
                          "seed://127.0.0.1:0", "seed://127.0.0.1:99999"})
    expect_one_line_error(sh(std::string(kWorker) + "--url " + url), 2, "--url");
}

// --reconnect-to foo:bar was accepted, and on SIGTERM with a worker connected the coordinator
// died with "hashforge: stoi" instead of sending client.reconnect.
TEST_F(Cli, ReconnectAddressIsCheckedAtStartup) {
  file("job.json", kJob);
  const std::string co = std::string(kCoordinator) + "--header-job job.json --reconnect-to ";
  for (const char* where : {"foo:bar", "host:", "host:0", "host:99999", ":3333", "foo", "[::1]", "a/b:3333"})
    expect_one_line_error(sh(co + "'" + where + "'"), 2, "--reconnect-to");
}

// Each of these grew by about 0.5 GB/s until killed: the caps are checked while reading.
TEST_F(Cli, InputReadsAreCapped) {
  file("block.txt", "some text");
  expect_one_line_error(sh(std::string(kCoordinator) + "--header-job /dev/zero"), 1, "4 MiB");
  expect_one_line_error(sh(std::string(kCoordinator) + "--file-task /dev/zero"), 1, "64 MiB");
  // Reading 1 GiB of /dev/zero takes 13 s of system time under ThreadSanitizer (the buffer's
  // shadow memory is faulted in); the timeout only guards against a hang.
  const std::string guard = HF_SANITIZED ? "timeout 120 " : "timeout 20 ";
  expect_one_line_error(sh(guard + "\"$HF\" search file /dev/zero --count 10"), 1, "1 GiB");
  // Regular files over the cap are refused by their size, before any byte is read (sparse
  // files: no disk used).
  ASSERT_EQ(sh("truncate -s 2G huge.txt && truncate -s 5M huge.json").code, 0);
  expect_one_line_error(sh(guard + "\"$HF\" search file huge.txt --count 10"), 1, "1 GiB");
  expect_one_line_error(sh(std::string(kCoordinator) + "--header-job huge.json"), 1, "4 MiB");
  fs::create_directory(dir_ / "folder");
  expect_one_line_error(hf("search file folder --count 10"), 1, "directory");
  // A pipe that never ends, as a certificate: OpenSSL reading the path itself waited forever.
  file("job.json", kJob);
  expect_one_line_error(sh("mkfifo endless && (yes >endless 2>/dev/null &) && " + std::string(kCoordinator) +
                           "--header-job job.json --tls-listen 127.0.0.1:0 --cert endless --key endless"),
                        1, "1 MiB");
}

// A coinbase part over 100,000 bytes (a standard transaction's limit) is refused with the cap
// in the reason; up to it, parts of tens of kilobytes are mined (tests/net/test_stratum_worker.py).
TEST_F(Cli, OversizedCoinbasePartsAreRefused) {
  const std::string part(2 * 100'001, '0');
  file("big.json", "{\"prevhash\": \"" + std::string(64, '0') + "\", \"coinb1\": \"00\", \"coinb2\": \"" + part +
                       "\", \"merkle_branch\": [], \"version\": \"00000001\", \"nbits\": \"1b04864c\", "
                       "\"ntime\": \"4d1b2237\"}");
  expect_one_line_error(sh(std::string(kCoordinator) + "--header-job big.json"), 1, "at most 100000 bytes");
}

// A folder as the result path failed after the search with "cannot replace: Success", and an
// unwritable folder was found only after the whole search.
TEST_F(Cli, ResultPathIsCheckedBeforeTheSearch) {
  file("block.txt", "some text");
  fs::create_directory(dir_ / "folder");
  Proc r = hf("search file block.txt --count 10 -o folder");
  expect_one_line_error(r, 2, "folder");
  EXPECT_EQ(r.err.find("Success"), std::string::npos) << r.err;
  // /proc takes no new files, even from root. A 30 s search would run first if unchecked.
  const auto t0 = std::chrono::steady_clock::now();
  r = sh("timeout 20 \"$HF\" search file block.txt --seconds 30 -q -o /proc/hf_cli_result");
  expect_one_line_error(r, 1, "/proc");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_FALSE(fs::exists(dir_ / "block.txt.result"));
}

// Output paths that are not what they seem, and numbers that would wrap: refused up front
// with one line, and nothing the user had is written over.
TEST_F(Cli, OutputsAndNumbersAreCheckedBeforeAnythingIsWritten) {
  // A key file is an account: keygen keeps an existing one unless told, and makes it 0600.
  Proc r = hf("auction keygen --out k1");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string key = slurp(dir_ / "k1");
  EXPECT_EQ(fs::status(dir_ / "k1").permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  expect_one_line_error(hf("auction keygen --out k1"), 1, "k1 exists");
  EXPECT_EQ(slurp(dir_ / "k1"), key);
  // Replacing one the user had opened up to others closes it again.
  fs::permissions(dir_ / "k1", fs::perms::group_read | fs::perms::others_read, fs::perm_options::add);
  ASSERT_EQ(hf("auction keygen --out k1 --force").code, 0);
  EXPECT_NE(slurp(dir_ / "k1"), key);
  EXPECT_EQ(fs::status(dir_ / "k1").permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  // Sequence numbers and heights: 1..2^53 and 0..2^53 (a negative one once went out wrapped).
  const std::string op = "auction transfer --key k1 --chain-spec spec.json --node http://127.0.0.1:1 --to " +
                         std::string(64, 'a') + " --amount 1 ";
  for (const char* seq : {"-5", "0", "9007199254740993", "99999999999999999999"})
    expect_one_line_error(hf(op + "--seq " + seq), 2, "--seq");
  expect_one_line_error(hf("auction create --key k1 --chain-spec spec.json --node http://127.0.0.1:1 --item lamp "
                           "--min-bid 1 --closes-at -1"),
                        2, "--closes-at");
  // A file task whose result cannot be written stops before any work.
  file("block.txt", "some text");
  // -o /dev/stdout goes to the descriptor as the shell set it up: appended, not renamed over.
  file("log", "first\n");
  ASSERT_EQ(sh("\"$HF\" search file block.txt --count 16 -q -o /dev/stdout >>log").code, 0);
  const std::string log = slurp(dir_ / "log");
  EXPECT_EQ(log.rfind("first\nsome text", 0), 0u) << log;
  fs::create_directory(dir_ / "folder");
  expect_one_line_error(sh(std::string(kCoordinator) + "--file-task block.txt --file-result /proc/hf_cli_result"), 1,
                        "/proc");
  expect_one_line_error(sh(std::string(kCoordinator) + "--file-task block.txt --file-record folder"), 1, "folder");
  // A tracker whitelist is capped and must be a file.
  expect_one_line_error(sh("timeout 20 \"$HF\" tracker --http 127.0.0.1:0 --whitelist /dev/zero"), 1, "64 MiB");
  expect_one_line_error(sh("timeout 20 \"$HF\" tracker --http 127.0.0.1:0 --whitelist folder"), 1, "is a directory");
  // Flags that contradict each other.
  expect_one_line_error(hf("torrent download x.torrent --recheck --no-recheck"), 2, "recheck");
  // URLs a client could not use are refused when the torrent is made, not written into it.
  for (const char* bad : {"-t ''", "-t garbage", "-t 'http://a/,'", "-w ''", "-w \"$(printf 'http://x/\\ny')\""})
    expect_one_line_error(hf(std::string("torrent create block.txt -o t.torrent ") + bad), 2, "is not a URL");
  EXPECT_FALSE(fs::exists(dir_ / "t.torrent"));
  // A node that cannot start leaves no database tying its folder to a network.
  fs::create_directory(dir_ / "nd");
  Proc n = sh("timeout 20 \"$HF\" node --listen 8.8.8.8:80 --data nd");
  EXPECT_EQ(n.code, 1) << n.err;
  EXPECT_TRUE(fs::is_empty(dir_ / "nd"));
  // The daemon: a refused --listen makes nothing in the root; a token file must be text.
  expect_one_line_error(hf("torrent daemon --root droot --listen 127.0.0.1:0"), 2, "fixed port");
  EXPECT_FALSE(fs::exists(dir_ / "droot"));
  file("tok", std::string("0123456789abcdef\x01\x1b[31m", 21));
  expect_one_line_error(sh("timeout 20 \"$HF\" torrent daemon --root droot --listen 127.0.0.1:1 --token-file tok"), 1,
                        "not printable");
  // A worker that never reached its pool says so in its exit status.
  Proc w = sh("timeout 20 \"$HF\" worker -q --url stratum+tcp://127.0.0.1:1 -t 1");
  EXPECT_EQ(w.code, 1) << w.err;
  EXPECT_NE(w.err.find("never connected"), std::string::npos) << w.err;
}

// `search file` held about five copies of the file (reading, the job's message, the prepared
// search, its padded copy, the result); now one, plus the process's own few MiB.
TEST_F(Cli, SearchFileHoldsAboutOneCopyOfTheFile) {
  // A sanitizer's shadow memory (TSan maps several bytes per byte touched) says nothing about
  // the copies hashforge makes; the Release build checks the bound.
  if (HF_SANITIZED) GTEST_SKIP() << "peak memory is not comparable under a sanitizer; checked in the Release build";
  constexpr long kMiB = 128;
  ASSERT_EQ(sh("head -c " + std::to_string(kMiB << 20) + " /dev/zero | tr '\\0' a > big.txt").code, 0);
  // Run in a child of our own, so that wait4() gives its peak alone.
  const std::string cmd = "cd '" + dir_.string() + "' && exec '" + HASHFORGE_BIN +
                          "' search file big.txt --count 64 --start 0 -q --json -o big.result >out.json";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  rusage ru{};
  ASSERT_EQ(::wait4(pid, &status, 0, &ru), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  const long peak_mib = ru.ru_maxrss / 1024;
  EXPECT_LT(peak_mib, 2 * kMiB) << "peak resident memory " << peak_mib << " MiB for a " << kMiB << " MiB file";
  const auto j = boost::json::parse(slurp(dir_ / "out.json")).as_object();
  const std::string line(j.at("line").as_string());
  EXPECT_EQ(fs::file_size(dir_ / "big.result"), static_cast<std::uintmax_t>((kMiB << 20) + line.size()));
  std::ifstream in(dir_ / "big.result", std::ios::binary);
  in.seekg(kMiB << 20);
  std::string tail((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(tail, line);
}

}  // namespace
