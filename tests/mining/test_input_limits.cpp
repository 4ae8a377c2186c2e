// Limits on what comes in from files, the command line and pools: durations that saturate
// instead of wrapping, whole-file reads capped while reading, atomic writes that report the
// real reason, jobs whose mining.notify line would not fit, and a coordinator that shuts
// down cleanly whatever --reconnect-to holds.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "net/coordinator/coordinator.hpp"
#include "net/io/atomic_file.hpp"
#include "net/io/duration.hpp"
#include "net/mining/job_file.hpp"
#include "net/stratum/json_rpc.hpp"
#include "net/stratum/notify.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hf_limits_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

std::string job_json(std::size_t coinb_bytes) {
  const std::string part(2 * coinb_bytes, '0');
  return "{\"prevhash\": \"" + std::string(64, '0') + "\", \"coinb1\": \"" + part + "\", \"coinb2\": \"" + part +
         "\", \"merkle_branch\": [], \"version\": \"00000001\", \"nbits\": \"1b04864c\", \"ntime\": \"4d1b2237\"}";
}

}  // namespace

TEST(SecondsTo, SaturatesInsteadOfWrapping) {
  using hf::netio::kMaxDurationSeconds;
  using hf::netio::seconds_to;
  EXPECT_EQ(seconds_to(0.5), 500ms);
  EXPECT_EQ(seconds_to(30.0), 30s);
  EXPECT_EQ(seconds_to(-5.0), 0ms);
  EXPECT_EQ(seconds_to(NAN), 0ms);
  EXPECT_EQ(seconds_to(-INFINITY), 0ms);
  const auto most = std::chrono::milliseconds(static_cast<std::int64_t>(kMaxDurationSeconds * 1000));
  EXPECT_EQ(seconds_to(INFINITY), most);
  EXPECT_EQ(seconds_to(1e10), most);
  EXPECT_EQ(seconds_to(1e300), most);
  // The largest still converts to the clock's nanoseconds, and lies in the future from now.
  const auto ns = seconds_to<std::chrono::nanoseconds>(INFINITY);
  EXPECT_GT(ns.count(), 0);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::nanoseconds>(most), ns);
  const auto now = std::chrono::steady_clock::now();
  EXPECT_GT(now + ns, now);
  EXPECT_GT(std::chrono::system_clock::now() + ns, std::chrono::system_clock::now());
}

TEST_F(TempDir, ReadFileChecksTheCapWhileReading) {
  std::string why;
  // A device without end: refused at the cap, not read until memory runs out.
  EXPECT_FALSE(hf::netio::read_file("/dev/zero", 1u << 20, &why));
  EXPECT_NE(why.find("/dev/zero"), std::string::npos) << why;
  EXPECT_NE(why.find("1 MiB"), std::string::npos) << why;
  // A regular file over the cap is refused by its size (sparse: nothing on disk).
  const fs::path big = dir_ / "big";
  std::ofstream(big).close();
  fs::resize_file(big, std::uintmax_t{8} << 30);
  why.clear();
  EXPECT_FALSE(hf::netio::read_file(big.string(), 1u << 20, &why));
  EXPECT_NE(why.find("larger than 1 MiB"), std::string::npos) << why;
  // Exactly the cap is fine; one byte more is not.
  const fs::path exact = dir_ / "exact";
  std::ofstream(exact, std::ios::binary) << std::string(4096, 'x');
  auto data = hf::netio::read_file(exact.string(), 4096, &why, 32);
  ASSERT_TRUE(data) << why;
  EXPECT_EQ(data->size(), 4096u);
  EXPECT_GE(data->capacity(), 4096u + 32);  // room to append without a copy
  EXPECT_FALSE(hf::netio::read_file(exact.string(), 4095, &why));
  // A pipe is read in pieces, to the end or to the cap. (The writer may outlive the reader:
  // a write to a closed pipe must fail, not kill the test.)
  std::signal(SIGPIPE, SIG_IGN);
  for (const std::size_t cap : {std::size_t{4} << 20, std::size_t{2} << 20}) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    std::thread writer([fd = fds[1]] {
      const std::string chunk(1u << 16, 'p');
      for (int i = 0; i < 48; ++i)  // 3 MiB
        if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) break;
      ::close(fd);
    });
    auto piped = hf::netio::read_file("/proc/self/fd/" + std::to_string(fds[0]), cap, &why);
    ::close(fds[0]);  // a writer blocked on a full pipe then fails and ends
    writer.join();
    if (cap > (3u << 20)) {
      ASSERT_TRUE(piped) << why;
      EXPECT_EQ(piped->size(), 3u << 20);
    } else {
      EXPECT_FALSE(piped);
      EXPECT_NE(why.find("larger than 2 MiB"), std::string::npos) << why;
    }
  }
  why.clear();
  EXPECT_FALSE(hf::netio::read_file(dir_.string(), 1u << 20, &why));
  EXPECT_NE(why.find("is a directory"), std::string::npos) << why;
}

TEST_F(TempDir, AtomicWriteReportsTheRenameFailure) {
  // The target is a folder that is not empty: the rename fails. The reason shown was once
  // "Success", the error code of the cleanup that followed.
  fs::create_directories(dir_ / "out" / "inside");
  std::string why;
  EXPECT_FALSE(hf::netio::write_file_atomic((dir_ / "out").string(), std::string("data"), &why));
  EXPECT_EQ(why.find("Success"), std::string::npos) << why;
  EXPECT_NE(why.find("cannot replace"), std::string::npos) << why;
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

TEST_F(TempDir, WritabilityIsCheckedAheadAndPartsAreWrittenInOrder) {
  // check_writable says what write_file_atomic would find, before any work is done.
  fs::create_directories(dir_ / "out" / "inside");
  std::string why;
  EXPECT_FALSE(hf::netio::check_writable((dir_ / "out").string(), &why));
  EXPECT_NE(why.find("is a directory"), std::string::npos) << why;
  EXPECT_FALSE(hf::netio::check_writable("/proc/hf_no_such_file", &why));
  EXPECT_TRUE(hf::netio::check_writable((dir_ / "result").string(), &why)) << why;
  EXPECT_FALSE(fs::exists(dir_ / "result"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);  // only "out"
  // Parts are written one after another.
  const std::string a = "head ", b = "tail";
  ASSERT_TRUE(hf::netio::write_file_atomic((dir_ / "parts").string(),
                                           {hf::ByteView(reinterpret_cast<const std::uint8_t*>(a.data()), a.size()),
                                            hf::ByteView(reinterpret_cast<const std::uint8_t*>(b.data()), b.size())},
                                           &why))
      << why;
  std::ifstream in(dir_ / "parts");
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()), "head tail");
}

TEST_F(TempDir, ALinkIsWrittenThroughAndADeviceOrPipeInPlace) {
  std::string why;
  // A symbolic link stays a link; the file it names gets the data.
  { std::ofstream(dir_ / "real") << "old"; }
  fs::create_symlink(dir_ / "real", dir_ / "link");
  ASSERT_TRUE(hf::netio::write_file_atomic((dir_ / "link").string(), std::string("new"), &why)) << why;
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(dir_ / "link")));
  std::ifstream real(dir_ / "real");
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(real)), std::istreambuf_iterator<char>()), "new");
  // A link someone else owns is not followed (in a shared folder it could name any of the
  // user's files): the link itself is replaced. Root can make such a link to try it.
  if (::geteuid() == 0) {
    { std::ofstream(dir_ / "mine") << "precious"; }
    fs::create_symlink(dir_ / "mine", dir_ / "planted");
    ASSERT_EQ(::lchown((dir_ / "planted").c_str(), 65534, 65534), 0);
    // What it names is open to all: the new file takes none of that.
    ASSERT_EQ(::chmod((dir_ / "mine").c_str(), 0777), 0);
    const mode_t old_mask = ::umask(022);
    ASSERT_TRUE(hf::netio::write_file_atomic((dir_ / "planted").string(), std::string("out"), &why)) << why;
    ::umask(old_mask);
    EXPECT_FALSE(fs::is_symlink(fs::symlink_status(dir_ / "planted")));
    struct stat st {};
    ASSERT_EQ(::stat((dir_ / "planted").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);
    std::ifstream mine(dir_ / "mine");
    EXPECT_EQ(std::string((std::istreambuf_iterator<char>(mine)), std::istreambuf_iterator<char>()), "precious");
  }
  // A dangling link of the user's: the file is made where it points.
  fs::create_symlink(dir_ / "made", dir_ / "dangling");
  ASSERT_TRUE(hf::netio::write_file_atomic((dir_ / "dangling").string(), std::string("here"), &why)) << why;
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(dir_ / "dangling")));
  EXPECT_TRUE(fs::is_regular_file(dir_ / "made"));
  // A pipe is written into, not replaced by a file.
  ASSERT_EQ(::mkfifo((dir_ / "fifo").c_str(), 0600), 0);
  std::string got;
  std::thread reader([&] {
    std::ifstream in(dir_ / "fifo");
    got.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  });
  EXPECT_TRUE(hf::netio::check_writable((dir_ / "fifo").string(), &why)) << why;
  EXPECT_TRUE(hf::netio::write_file_atomic((dir_ / "fifo").string(), std::string("through the pipe"), &why)) << why;
  reader.join();
  EXPECT_EQ(got, "through the pipe");
  EXPECT_TRUE(fs::is_fifo(fs::status(dir_ / "fifo")));
  // A device that refuses the write: a one-line error, and the device is still a device.
  if (fs::is_character_file(fs::status("/dev/full"))) {
    EXPECT_FALSE(hf::netio::write_file_atomic("/dev/full", std::string("x"), &why));
    EXPECT_NE(why.find("/dev/full: write failed"), std::string::npos) << why;
    EXPECT_TRUE(fs::is_character_file(fs::status("/dev/full")));
  } else {
    GTEST_SKIP() << "no /dev/full character device here";
  }
}

TEST_F(TempDir, APrivateFileIsNeverReadableByOthersAndARewriteKeepsPermissions) {
  std::string why;
  const auto perms = [&](const char* name) {
    struct stat st {};
    EXPECT_EQ(::stat((dir_ / name).c_str(), &st), 0) << name;
    return st.st_mode & 0777;
  };
  const mode_t old_mask = ::umask(022);
  // A secret is created 0600 whatever the umask lets through.
  ASSERT_TRUE(hf::netio::write_file_atomic((dir_ / "key").string(), std::string("seed"), &why, hf::netio::kPrivateFile))
      << why;
  EXPECT_EQ(perms("key"), 0600u);
  // A shared file gets 0666 less the umask.
  ASSERT_TRUE(hf::netio::write_file_atomic((dir_ / "result").string(), std::string("1"), &why)) << why;
  EXPECT_EQ(perms("result"), 0644u);
  // A rewrite keeps what the user set (it was a fresh 0644 file each time before).
  ASSERT_EQ(::chmod((dir_ / "result").c_str(), 0640), 0);
  ASSERT_TRUE(hf::netio::write_file_atomic((dir_ / "result").string(), std::string("2"), &why)) << why;
  EXPECT_EQ(perms("result"), 0640u);
  // A secret written over a readable file narrows it.
  ASSERT_TRUE(hf::netio::write_file_atomic((dir_ / "result").string(), std::string("3"), &why, hf::netio::kPrivateFile))
      << why;
  EXPECT_EQ(perms("result"), 0600u);
  ::umask(old_mask);
}

TEST(JobFileSize, CoinbasePartsAtTheirCapMakeALineAPoolLineReaderTakes) {
  // Both coinbase parts at their 100,000-byte cap (a pool paying hundreds of miners in the
  // coinbase sends tens of kilobytes), a full merkle branch and the longest job id: the job
  // is accepted, its mining.notify line fits the pool-line cap, and it reads back whole.
  std::string why;
  auto jobs = hf::mining::parse_job_file(job_json(hf::mining::kMaxCoinbasePart), &why);
  ASSERT_TRUE(jobs) << why;
  hf::mining::StratumJob job = jobs->front().job;
  job.merkle_branch.assign(hf::mining::kMaxBranch, job.prevhash);
  job.id = std::string(hf::mining::kMaxJobId, '\x01');  // escaped as \u0001: six characters each
  job.clean = false;
  std::string line = hf::stratum::encode_notification("mining.notify", hf::stratum::notify_params(job));
  line.pop_back();  // the newline
  EXPECT_GT(line.size(), hf::stratum::kMaxLine) << "a miner-line reader would not take it";
  EXPECT_LE(line.size(), hf::stratum::kMaxPoolLine);
  auto m = hf::stratum::parse_message(line, &why, nullptr, hf::stratum::kMaxPoolLine);
  ASSERT_TRUE(m) << why;
  EXPECT_FALSE(hf::stratum::parse_message(line, &why)) << "the miner-line cap still holds";
  EXPECT_EQ(why, "line longer than 16 KiB");
  auto back = hf::stratum::job_from_notify(m->params, &why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(back->coinb1, job.coinb1);
  EXPECT_EQ(back->coinb2, job.coinb2);
  EXPECT_EQ(back->merkle_branch.size(), hf::mining::kMaxBranch);
  EXPECT_EQ(back->id, job.id);
  // One byte more in a part is refused, with the cap in the reason.
  EXPECT_FALSE(hf::mining::parse_job_file(job_json(hf::mining::kMaxCoinbasePart + 1), &why));
  EXPECT_NE(why.find("at most 100000 bytes"), std::string::npos) << why;
}

// --reconnect-to is checked on the command line; the shutdown itself must not throw on a bad
// one either (it once died in std::stoi and never told the workers to reconnect).
TEST(CoordinatorShutdown, ABadReconnectAddressStillSendsClientReconnect) {
  namespace asio = boost::asio;
  asio::io_context io(1);
  hf::coord::CoordinatorConfig cfg;
  cfg.listen = {"127.0.0.1:0"};
  cfg.job_file = std::string(HF_SOURCE_DIR) + "/examples/jobs/block100000.json";
  cfg.reconnect_to = "foo:bar";
  cfg.log = [](const std::string&) {};
  hf::coord::Coordinator co(io, cfg);
  co.start();
  const std::string ep = co.endpoints().at(0);
  const auto port = static_cast<unsigned short>(std::stoul(ep.substr(ep.rfind(':') + 1)));
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::address_v4::loopback(), port});
  const std::string hello =
      "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n"
      "{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"w\",\"x\"]}\n";
  asio::write(s, asio::buffer(hello));
  io.run_for(500ms);
  ASSERT_NO_THROW(co.shutdown());
  io.run_for(500ms);
  std::string got;
  boost::system::error_code ec;
  s.non_blocking(true);
  char buf[4096];
  for (std::size_t n; (n = s.read_some(asio::buffer(buf), ec)) > 0;) got.append(buf, n);
  EXPECT_NE(got.find("\"method\":\"client.reconnect\",\"params\":[]"), std::string::npos) << got;
}
