// The measured backend choice: the choice file's parser and writer, the calibration, the
// cache (written, reused, measured again when stale or unreadable) and the pin that tests and
// users set with HASHFORGE_CHOICE_FILE.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "calibrate.hpp"
#include "choice.hpp"
#include "cpu/cpu_backend.hpp"
#include "env_guard.hpp"
#include "hashforge/engine.hpp"
#include "registry.hpp"

namespace {

namespace fs = std::filesystem;
using hft::EnvGuard;

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void spit(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// A fresh cache folder, no pin, a short calibration, and the engine's loaded choice dropped
// before and after (so tests after this one read the pin again).
class ChoiceEnv : public ::testing::Test {
 protected:
  ChoiceEnv()
      : dir_(fs::temp_directory_path() / ("hf-choice-" + std::to_string(::getpid()) + "-" +
                                          ::testing::UnitTest::GetInstance()->current_test_info()->name())),
        xdg_("XDG_CACHE_HOME", dir_.c_str()),
        pin_("HASHFORGE_CHOICE_FILE", nullptr),
        budget_("HASHFORGE_CALIBRATE_MS", "40"),
        forced_("HASHFORGE_BACKEND", nullptr) {
    fs::remove_all(dir_);
    hf::Engine::instance().impl().forget_choice();
  }
  ~ChoiceEnv() override {
    hf::Engine::instance().impl().forget_choice();
    fs::remove_all(dir_);
  }
  fs::path cache() const { return dir_ / "hashforge" / "backend-choice"; }
  // The usable CPU backends the choice picks from: a backend superseded by another usable one
  // (shani-sse beside shani) is only run when named.
  static std::vector<std::string> usable_cpu() {
    std::vector<std::string> v;
    for (const hf::BackendStatus& s : hf::Engine::instance().backends())
      if (s.usable() && !s.device)
        if (auto* cb = dynamic_cast<hf::cpu::CpuBackend*>(hf::find_backend(s.name)))
          if (cb->superseded_by().empty() || !hf::find_backend(cb->superseded_by())) v.push_back(s.name);
    return v;
  }
  // A file making `winner` fastest at every task and every other usable backend slower.
  static std::string table_with(const std::string& key, const std::string& winner) {
    hf::choice::Table t;
    t.key = key;
    for (const std::string& task : hf::choice::all_tasks())
      for (const std::string& b : usable_cpu()) t.rates.push_back({task, b, b == winner ? 1e9 : 1e6, ""});
    return hf::choice::format(t);
  }

  fs::path dir_;
  EnvGuard xdg_, pin_, budget_, forced_;
};

TEST(ChoiceFile, RoundTrips) {
  hf::choice::Table t;
  t.key = hf::choice::machine_key();
  t.rates = {{"search-sha256d", "avx512", 3.41e7, ""}, {"sha256-pairs", "opencl:0", 12.5, ""}};
  std::string why;
  auto back = hf::choice::parse(hf::choice::format(t), &why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(back->key, t.key);
  ASSERT_EQ(back->rates.size(), 2u);
  EXPECT_EQ(back->rates[0].task, "search-sha256d");
  EXPECT_EQ(back->rates[0].backend, "avx512");
  EXPECT_DOUBLE_EQ(back->rates[0].rate, 3.41e7);
  EXPECT_EQ(back->rates[0].unit, "nonces/s");
  EXPECT_EQ(back->rates[1].unit, "messages/s");
  EXPECT_DOUBLE_EQ(back->rate("sha256-pairs", "opencl:0"), 12.5);
  EXPECT_EQ(back->rate("hash-sha1", "avx512"), 0);
}

TEST(ChoiceFile, MachineKeyNamesTheCpuAndVersion) {
  const std::string k = hf::choice::machine_key();
  for (const char* part : {"vendor=", " family=", " model=", " stepping=", " features=", " version="})
    EXPECT_NE(k.find(part), std::string::npos) << part << " in " << k;
  for (char c : k) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << k;
}

TEST(ChoiceFile, RefusesBadInputNamingTheLine) {
  const std::string head = "hashforge-choice 1\nkey k\n";
  const struct {
    std::string text, why;
  } bad[] = {
      {"", "empty"},
      {"# only a comment\n", "empty"},
      {"hashforge-choice 2\n", "line 1: not a hashforge choice file"},
      {"rate hash-sha1 avx2 1\n", "line 1: not a hashforge choice file"},
      {head + "key again\n", "line 3: a second key"},
      {head + "speed hash-sha1 avx2 1\n", "line 3: unknown entry"},
      {head + "rate hash-sha1 avx2\n", "line 3: a rate needs"},
      {head + "rate hash-sha1 avx2 1 2\n", "line 3: a rate needs"},
      {head + "rate hash-md5 avx2 1\n", "line 3: unknown task"},
      {head + "rate hash-sha1 AVX2 1\n", "line 3: not a backend name"},
      {head + "rate hash-sha1 avx2 -1\n", "line 3: the rate is not a positive number"},
      {head + "rate hash-sha1 avx2 0\n", "line 3: the rate is not a positive number"},
      {head + "rate hash-sha1 avx2 nan\n", "line 3: the rate is not a positive number"},
      {head + "rate hash-sha1 avx2 inf\n", "line 3: the rate is not a positive number"},
      {head + "rate hash-sha1 avx2 1e999\n", "line 3: the rate is not a positive number"},
      {head + "rate hash-sha1 avx2 12abc\n", "line 3: the rate is not a positive number"},
      {head + "rate hash-sha1 avx2 1\nrate hash-sha1 avx2 2\n", "line 4: a second rate"},
      {head + "rate hash-sha1 avx2 1\x01\n", "line 3: a control byte"},
      {head + std::string(600, 'x') + "\n", "line 3: longer than"},
  };
  for (const auto& b : bad) {
    std::string why;
    EXPECT_FALSE(hf::choice::parse(b.text, &why)) << b.text;
    EXPECT_EQ(why.rfind(b.why, 0), 0u) << "got \"" << why << "\" for " << b.text;
  }
  std::string why;
  EXPECT_TRUE(hf::choice::parse(head + "\r\n# note\n\nrate hash-sha1 avx2 1.5e9\r\n", &why)) << why;
}

TEST(Calibration, MeasuresEveryUsableBackendAndTask) {
  std::vector<hf::cpu::CpuBackend*> bes;
  for (const hf::BackendStatus& s : hf::Engine::instance().backends())
    if (s.usable())
      if (auto* cb = dynamic_cast<hf::cpu::CpuBackend*>(hf::find_backend(s.name))) bes.push_back(cb);
  ASSERT_FALSE(bes.empty());
  const auto rates = hf::measure_cpu_backends(bes, std::chrono::milliseconds(30));
  EXPECT_EQ(rates.size(), bes.size() * hf::choice::all_tasks().size());
  for (const std::string& task : hf::choice::all_tasks())
    for (hf::cpu::CpuBackend* b : bes) {
      int found = 0;
      for (const hf::MeasuredRate& m : rates)
        if (m.task == task && m.backend == b->name()) {
          ++found;
          EXPECT_GT(m.rate, 0) << task << " on " << b->name();
          EXPECT_EQ(m.unit, hf::choice::unit_of(task));
        }
      EXPECT_EQ(found, 1) << task << " on " << b->name();
    }
}

TEST_F(ChoiceEnv, FirstNeedMeasuresAndCaches) {
  const hf::BackendChoice c = hf::Engine::instance().backend_choice();
  EXPECT_EQ(c.source.rfind("measured now", 0), 0u) << c.source;
  EXPECT_NE(c.source.find(cache().string()), std::string::npos) << c.source;
  EXPECT_EQ(c.key, hf::choice::machine_key());
  ASSERT_TRUE(fs::exists(cache()));
  std::string why;
  auto t = hf::choice::parse(slurp(cache()), &why);
  ASSERT_TRUE(t) << why;
  EXPECT_EQ(t->key, hf::choice::machine_key());
  for (const std::string& b : usable_cpu())
    for (const std::string& task : hf::choice::all_tasks()) EXPECT_GT(t->rate(task, b), 0) << task << " " << b;
  // The choice is the fastest measured, for every operation.
  for (hf::Op op : hf::kAllOps) {
    std::string fastest;
    double top = 0;
    for (const std::string& b : usable_cpu())
      if (t->rate(hf::op_name(op), b) > top) {
        top = t->rate(hf::op_name(op), b);
        fastest = b;
      }
    EXPECT_EQ(hf::Engine::instance().best_for(op), fastest) << hf::op_name(op);
  }
  // No temporary file is left beside it.
  int files = 0;
  for (auto& e : fs::directory_iterator(cache().parent_path())) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST_F(ChoiceEnv, CacheOfThisMachineIsReused) {
  const auto cpus = usable_cpu();
  const std::string winner = cpus.back();  // scalar, were it measured: the cache decides
  spit(cache(), table_with(hf::choice::machine_key(), winner));
  const hf::BackendChoice c = hf::Engine::instance().backend_choice();
  EXPECT_EQ(c.source, "cached in " + cache().string());
  for (hf::Op op : hf::kAllOps) EXPECT_EQ(hf::Engine::instance().choose(op).value(), winner);
  // Batch hashing and the pair path follow it too.
  std::vector<hf::ByteView> none;
  hf::SpanSource src(none);
  EXPECT_EQ(hf::Engine::instance().hash_batch(hf::Algo::sha256, src, [](std::uint64_t, const hf::Digest&) {})->backend,
            winner);
  EXPECT_EQ(hf::Engine::instance().impl().pairs_backend()->name(), winner);
}

TEST_F(ChoiceEnv, CacheOfAnotherCpuIsMeasuredAgain) {
  spit(cache(), table_with("vendor=Elsewhere family=0x1 version=0", usable_cpu().back()));
  const hf::BackendChoice c = hf::Engine::instance().backend_choice();
  EXPECT_EQ(c.source.rfind("measured now", 0), 0u) << c.source;
  EXPECT_NE(c.cache_note.find("another CPU"), std::string::npos) << c.cache_note;
  std::string why;
  auto t = hf::choice::parse(slurp(cache()), &why);
  ASSERT_TRUE(t) << why;
  EXPECT_EQ(t->key, hf::choice::machine_key());
}

TEST_F(ChoiceEnv, CacheLackingAUsableBackendIsMeasuredAgain) {
  const auto cpus = usable_cpu();
  hf::choice::Table t;
  t.key = hf::choice::machine_key();
  for (const std::string& task : hf::choice::all_tasks()) t.rates.push_back({task, cpus.front(), 1e6, ""});
  spit(cache(), hf::choice::format(t));
  const hf::BackendChoice c = hf::Engine::instance().backend_choice();
  if (cpus.size() == 1) {
    EXPECT_EQ(c.source.rfind("cached in", 0), 0u) << c.source;
    GTEST_SKIP() << "one usable CPU backend (" << cpus.front()
                 << "): a cache naming it lacks nothing, so there is no re-measurement to see";
  }
  EXPECT_EQ(c.source.rfind("measured now", 0), 0u) << c.source;
  EXPECT_NE(c.cache_note.find("lacked"), std::string::npos) << c.cache_note;
}

TEST_F(ChoiceEnv, UnreadableCacheIsMeasuredAgainAndReplaced) {
  spit(cache(), "garbage\n");
  const hf::BackendChoice c = hf::Engine::instance().backend_choice();
  EXPECT_EQ(c.source.rfind("measured now", 0), 0u) << c.source;
  EXPECT_NE(c.cache_note.find("line 1"), std::string::npos) << c.cache_note;
  std::string why;
  EXPECT_TRUE(hf::choice::parse(slurp(cache()), &why)) << why;
}

TEST_F(ChoiceEnv, UnwritableCacheStillChoosesAndSaysWhy) {
  spit(dir_ / "hashforge", "a file where the folder should be");
  const hf::BackendChoice c = hf::Engine::instance().backend_choice();
  EXPECT_EQ(c.source.rfind("measured now", 0), 0u) << c.source;
  EXPECT_NE(c.cache_note.find("not cached"), std::string::npos) << c.cache_note;
  EXPECT_NE(hf::find_backend(hf::Engine::instance().best_for(hf::Op::search_sha256d)), nullptr);
}

TEST_F(ChoiceEnv, PinnedFileDecidesAndCalibrateRefuses) {
  const std::string winner = usable_cpu().back();
  const fs::path pin = dir_ / "pinned";
  spit(pin, table_with("any key: a pin is used as it is", winner));
  EnvGuard g("HASHFORGE_CHOICE_FILE", pin.c_str());
  hf::Engine::instance().impl().forget_choice();
  const hf::BackendChoice c = hf::Engine::instance().backend_choice();
  EXPECT_EQ(c.source, "pinned by HASHFORGE_CHOICE_FILE=" + pin.string());
  for (hf::Op op : hf::kAllOps) EXPECT_EQ(hf::Engine::instance().best_for(op), winner);
  EXPECT_FALSE(fs::exists(cache()));  // a pin measures nothing and writes nothing
  auto r = hf::Engine::instance().calibrate();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("pinned"), std::string::npos) << r.error();
  // A forced backend still wins over the pin.
  EXPECT_EQ(hf::Engine::instance().choose(hf::Op::hash_sha1, "scalar").value(), "scalar");
}

// shani-sse runs shani's kernels in the older encoding: where shani runs too it is neither
// measured nor chosen, even by a table that rates it fastest, but it still runs when named.
TEST_F(ChoiceEnv, SupersededBackendIsNeitherMeasuredNorChosen) {
  if (!hf::find_backend("shani") || !hf::find_backend("shani-sse"))
    GTEST_SKIP() << "needs both shani and shani-sse usable (a CPU with SHA-NI and AVX)";
  const hf::BackendChoice measured = hf::Engine::instance().backend_choice();
  for (const hf::MeasuredRate& m : measured.rates) EXPECT_NE(m.backend, "shani-sse") << m.task;
  const hf::choice::Table table{measured.key, measured.rates};
  EXPECT_GT(table.rate("search-sha256d", "shani"), 0);

  hf::choice::Table t;
  t.key = hf::choice::machine_key();
  for (const std::string& task : hf::choice::all_tasks()) {
    t.rates.push_back({task, "shani-sse", 1e9, ""});
    t.rates.push_back({task, "shani", 1e6, ""});
  }
  const fs::path pin = dir_ / "pinned";
  spit(pin, hf::choice::format(t));
  EnvGuard g("HASHFORGE_CHOICE_FILE", pin.c_str());
  hf::Engine::instance().impl().forget_choice();
  for (hf::Op op : hf::kAllOps) EXPECT_NE(hf::Engine::instance().best_for(op), "shani-sse") << hf::op_name(op);
  EXPECT_EQ(hf::Engine::instance().choose(hf::Op::search_sha256d, "shani-sse").value(), "shani-sse");
}

TEST_F(ChoiceEnv, BadPinFallsBackToRanksAndSaysWhy) {
  EnvGuard g("HASHFORGE_CHOICE_FILE", (dir_ / "missing").c_str());
  hf::Engine::instance().impl().forget_choice();
  const hf::BackendChoice c = hf::Engine::instance().backend_choice();
  EXPECT_EQ(c.source.rfind("fixed ranks: HASHFORGE_CHOICE_FILE=", 0), 0u) << c.source;
  EXPECT_TRUE(c.rates.empty());
  EXPECT_NE(hf::find_backend(hf::Engine::instance().best_for(hf::Op::hash_sha256)), nullptr);
  EXPECT_FALSE(fs::exists(cache()));
}

TEST_F(ChoiceEnv, CalibrateMeasuresAgainAndRewrites) {
  spit(cache(), table_with(hf::choice::machine_key(), usable_cpu().back()));
  auto r = hf::Engine::instance().calibrate();
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->source.rfind("measured now", 0), 0u) << r->source;
  std::string why;
  auto t = hf::choice::parse(slurp(cache()), &why);
  ASSERT_TRUE(t) << why;
  // The rewritten file holds the new measurement, not the planted one (whose rates were
  // exactly 1e9 and 1e6).
  bool planted = true;
  for (const hf::MeasuredRate& m : t->rates) planted = planted && (m.rate == 1e9 || m.rate == 1e6);
  EXPECT_FALSE(planted);
  EXPECT_EQ(hf::Engine::instance().backend_choice().source, r->source);
}

}  // namespace
