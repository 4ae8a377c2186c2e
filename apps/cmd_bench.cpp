// `hashforge bench`: every usable backend on the same workloads, with OpenSSL's single-thread
// EVP rate for the bulk work measured in this process, in this run, beside them. No anchor
// figure is a constant here: every ratio is between two measurements of the same run.
#include <openssl/evp.h>
#include <openssl/opensslv.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>

#include "apps/choice_table.hpp"
#include "apps/cli_checks.hpp"
#include "apps/cli_util.hpp"
#include "apps/commands.hpp"
#include "hashforge/hex.hpp"
#include "net/io/duration.hpp"

namespace hf::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct Opts {
  std::string backend;
  unsigned threads = 0;
  double seconds = 1.0;
  std::size_t bulk_mib = 256;
  unsigned repeat = 3;
  bool json = false;
  bool no_devices = false;
  bool calibrate = false;
  std::size_t device_messages = 65536;
  std::size_t device_message_kib = 256;
};

// hashcat's SHA2-256 benchmark (-m 1400, one compression per candidate) over every device
// hashcat sees, if hashcat is installed: the anchor for device scan rates. 0 if unavailable.
double hashcat_m1400() {
  if (std::system("command -v hashcat >/dev/null 2>&1") != 0) return 0;
  FILE* p = popen("hashcat -b -m 1400 --force --quiet 2>/dev/null", "r");
  if (!p) return 0;
  char line[512];
  double single = 0, total = 0;
  while (std::fgets(line, sizeof line, p)) {
    // "Speed.#1.........:  88312.3 kH/s (...)" or "Speed.#*.........: ..." for the sum.
    const char* sp = std::strstr(line, "Speed.#");
    if (!sp) continue;
    const char* colon = std::strchr(sp, ':');
    if (!colon) continue;
    char unit[8] = {0};
    double v = 0;
    if (std::sscanf(colon + 1, "%lf %7s", &v, unit) != 2) continue;
    const double m = unit[0] == 'k' ? 1e3 : unit[0] == 'M' ? 1e6 : unit[0] == 'G' ? 1e9 : unit[0] == 'T' ? 1e12 : 1;
    if (sp[7] == '*')
      total = v * m;
    else
      single += v * m;
  }
  pclose(p);
  return total > 0 ? total : single;
}

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// OpenSSL, one thread: bytes per second hashing messages of `size` bytes.
double openssl_rate(const EVP_MD* md, std::size_t size, double seconds) {
  Bytes buf(size, 0x5a);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int outlen = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::uint64_t bytes = 0;
  const auto t0 = Clock::now();
  do {
    for (int i = 0; i < 64; ++i) {
      EVP_DigestInit_ex(ctx, md, nullptr);
      EVP_DigestUpdate(ctx, buf.data(), buf.size());
      EVP_DigestFinal_ex(ctx, out, &outlen);
      bytes += size;
      if (size >= (1u << 20)) break;
    }
  } while (since(t0) < seconds);
  const double s = since(t0);
  EVP_MD_CTX_free(ctx);
  return bytes / s;
}

// Engine batch hashing: bytes per second over `total` bytes cut into messages of `size`.
double batch_rate(Algo algo, const Bytes& data, std::size_t size, const std::string& be, unsigned threads,
                  double seconds) {
  std::vector<ByteView> views;
  for (std::size_t off = 0; off + size <= data.size(); off += size) views.emplace_back(data.data() + off, size);
  BatchOptions bo;
  bo.backend = be;
  bo.threads = threads;
  std::uint64_t bytes = 0;
  const auto t0 = Clock::now();
  do {
    SpanSource src(views);
    bytes += Engine::instance()
                 .hash_batch(
                     algo, src, [](std::uint64_t, const Digest&) {}, bo)
                 .value()
                 .bytes;
  } while (since(t0) < seconds);
  return bytes / since(t0);
}

// Nonces per second of a search that can never hit (target 1), run for `seconds`.
double search_rate(const SearchJob& base, const std::string& be, unsigned threads, double seconds) {
  SearchJob job = base;
  job.budget = netio::seconds_to<std::chrono::nanoseconds>(seconds);
  RunOptions ro;
  ro.backend = be;
  ro.threads = threads;
  return Engine::instance().search(job, ro).value().rate();
}

SearchJob header_job() {
  // Bitcoin block 100000's header (public; see tests). The target 1 is never met, so
  // every nonce takes the full miss path.
  SearchJob j;
  j.message = *from_hex(
      "0100000050120119172a610421a6c3011dd330d9df07b63616c2cc1f1cd00200000000006657a9252aacd5c0b2940996ecff952228c3067c"
      "c38d4885efb5a4ac4247e9f337221b4d4c86041b0f2b5710");
  j.algo = Algo::sha256d;
  j.order = ByteOrder::bitcoin;
  j.nonce = {76, Encoding::u32le, 4};
  j.goal = Goal::below_target;
  j.target = Key{};
  j.target.w[7] = 1;
  j.range = {0, 0x100000000ull};
  return j;
}

SearchJob file_job() {
  // The file task on a 1000-byte text (1000 mod 64 = 40 <= 43: the line and padding fit
  // the last block, one compression per nonce).
  SearchJob j;
  std::string text;
  while (text.size() < 1000) text += "hashforge sample block: transactions and notes. ";
  text.resize(1000);
  text += "00000000 G06";
  j.message.assign(text.begin(), text.end());
  j.algo = Algo::sha256;
  j.order = ByteOrder::digest;
  j.goal = Goal::best;
  j.nonce = {1000, Encoding::hex, 8};
  j.range = {0, 0x100000000ull};
  return j;
}

struct Row {
  std::string name;
  double scan = 0, file = 0, sha1_1m = 0, sha256_1m = 0, sha1_64 = 0, sha256_64 = 0;
};

Row median_row(const std::vector<Row>& rs) {
  Row out;
  out.name = rs.front().name;
  for (double Row::*f : {&Row::scan, &Row::file, &Row::sha1_1m, &Row::sha256_1m, &Row::sha1_64, &Row::sha256_64}) {
    std::vector<double> v;
    for (const Row& r : rs) v.push_back(r.*f);
    std::sort(v.begin(), v.end());
    out.*f = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  }
  return out;
}

boost::json::array devices_json(const std::vector<std::string>& devices, const std::vector<DeviceBatchTiming>& t,
                                const std::vector<Row>& rows, double hashcat) {
  boost::json::array a;
  for (std::size_t i = 0; i < devices.size(); ++i) {
    double scan = 0;
    for (const Row& r : rows)
      if (r.name == devices[i]) scan = r.scan;
    a.push_back({{"backend", devices[i]},
                 {"sha256d_scan_nonces_per_s", scan},
                 {"vs_hashcat_m1400", hashcat > 0 ? 2 * scan / hashcat : 0},
                 {"batch_sha1_messages", t[i].messages},
                 {"batch_sha1_message_bytes", t[i].message_bytes},
                 {"batch_sha1_resident_bytes_per_s", t[i].resident},
                 {"batch_sha1_streamed_bytes_per_s", t[i].streamed},
                 {"host_to_device_copy_bytes_per_s", t[i].copy}});
  }
  return a;
}

int run_calibrate(const Opts& o) {
  const Engine& e = Engine::instance();
  Result<BackendChoice> c = e.calibrate();
  if (!c) usage_error(c.error());
  if (o.json) {
    boost::json::object out = choice_json(*c);
    out["cpu"] = e.cpu_model();
    print_json(out);
    return 0;
  }
  std::printf("CPU: %s\n", e.cpu_model().c_str());
  print_choice_table(*c);
  return 0;
}

int run_bench(const Opts& o) {
  if (o.calibrate) return run_calibrate(o);
  const Engine& e = Engine::instance();
  const unsigned threads = o.threads ? o.threads : default_threads();
  if (o.seconds <= 0) usage_error("--seconds must be positive");
  if (o.bulk_mib == 0) usage_error("--bulk-mib must be positive");
  if (o.repeat == 0) usage_error("--repeat must be at least 1");
  std::vector<std::string> names;
  if (!o.backend.empty()) {
    if (auto ok = e.choose(Op::hash_sha256, o.backend); !ok) usage_error(ok.error());  // validates the name
    names.push_back(o.backend);
    if (o.backend != "scalar") names.emplace_back("scalar");
  } else {
    if (!o.no_devices) e.probe_devices();
    for (const BackendStatus& s : e.backends())
      if (s.usable()) names.push_back(s.name);
  }
  std::vector<std::string> devices;
  for (const std::string& n : names)
    if (auto b = e.backend(n); b && b->device) devices.push_back(n);

  const double s = o.seconds;
  Bytes bulk(o.bulk_mib << 20);
  for (std::size_t i = 0; i < bulk.size(); ++i) bulk[i] = static_cast<std::uint8_t>(i * 131 + (i >> 12));
  Bytes small(std::min<std::size_t>(bulk.size(), 64u << 20));
  std::copy(bulk.begin(), bulk.begin() + static_cast<std::ptrdiff_t>(small.size()), small.begin());
  const SearchJob hj = header_job(), fj = file_job();

  // Shared machines are noisy: each round measures the anchors (OpenSSL, one thread, same
  // messages) and then every backend, and each figure is the median over the rounds, so an
  // anchor and the figure it is compared with are always taken minutes apart at most.
  std::vector<Row> anchor_rounds;
  std::vector<std::vector<Row>> rounds(names.size());
  for (unsigned round = 0; round < o.repeat; ++round) {
    if (!o.json) std::fprintf(stderr, "bench: round %u/%u: OpenSSL...\n", round + 1, o.repeat);
    Row a;
    a.name = "openssl";
    a.scan = openssl_rate(EVP_sha256(), 16384, s) / 64;  // SHA-256 compressions per second
    a.file = a.scan;
    a.sha1_1m = openssl_rate(EVP_sha1(), 1u << 20, s);
    a.sha256_1m = openssl_rate(EVP_sha256(), 1u << 20, s);
    a.sha1_64 = openssl_rate(EVP_sha1(), 64, s);
    a.sha256_64 = openssl_rate(EVP_sha256(), 64, s);
    anchor_rounds.push_back(a);
    for (std::size_t i = 0; i < names.size(); ++i) {
      const std::string& n = names[i];
      if (!o.json) std::fprintf(stderr, "bench: round %u/%u: %s...\n", round + 1, o.repeat, n.c_str());
      Row r;
      r.name = n;
      r.scan = search_rate(hj, n, threads, s);
      r.file = search_rate(fj, n, threads, s);
      r.sha1_1m = batch_rate(Algo::sha1, bulk, 1u << 20, n, threads, s);
      r.sha256_1m = batch_rate(Algo::sha256, bulk, 1u << 20, n, threads, s);
      r.sha1_64 = batch_rate(Algo::sha1, small, 64, n, threads, s);
      r.sha256_64 = batch_rate(Algo::sha256, small, 64, n, threads, s);
      rounds[i].push_back(r);
    }
  }
  // Devices: batch hashing of many large messages (resident in device memory, streamed
  // from host memory, and the bare copy rate), and hashcat's rate on the devices it sees.
  std::vector<DeviceBatchTiming> dev_batch;
  for (const std::string& n : devices) {
    if (!o.json)
      std::fprintf(stderr, "bench: %s batch SHA-1, %zu x %zu KiB...\n", n.c_str(), o.device_messages,
                   o.device_message_kib);
    auto t = e.time_device_batch(n, Algo::sha1, o.device_messages, o.device_message_kib << 10);
    dev_batch.push_back(t ? *t : DeviceBatchTiming{});
  }
  double hashcat = 0;
  if (!devices.empty()) {
    if (!o.json) std::fprintf(stderr, "bench: hashcat -b -m 1400...\n");
    hashcat = hashcat_m1400();
  }

  const Row anchor = median_row(anchor_rounds);
  const double ossl_compr = anchor.scan, ossl_256_16k = anchor.scan * 64;
  const double ossl_1_1m = anchor.sha1_1m, ossl_256_1m = anchor.sha256_1m;
  const double ossl_1_64 = anchor.sha1_64, ossl_256_64 = anchor.sha256_64;
  std::vector<Row> rows;
  for (auto& rr : rounds) rows.push_back(median_row(rr));
  const Row* scalar = nullptr;
  for (const Row& r : rows)
    if (r.name == "scalar") scalar = &r;

  char date[32];
  std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  const std::string cpu = e.cpu_model();

  if (o.json) {
    boost::json::array arr;
    for (const Row& r : rows) {
      auto entry = [&](double v, double anchor, double sc) {
        boost::json::object x{{"rate", v}, {"vs_openssl", anchor > 0 ? v / anchor : 0}};
        if (scalar) x["vs_scalar"] = sc > 0 ? v / sc : 0;
        return x;
      };
      arr.push_back({{"backend", r.name},
                     {"sha256d_scan_nonces_per_s", entry(r.scan, ossl_compr, scalar ? scalar->scan : 0)},
                     {"file_job_nonces_per_s", entry(r.file, ossl_compr, scalar ? scalar->file : 0)},
                     {"sha1_1MiB_bytes_per_s", entry(r.sha1_1m, ossl_1_1m, scalar ? scalar->sha1_1m : 0)},
                     {"sha256_1MiB_bytes_per_s", entry(r.sha256_1m, ossl_256_1m, scalar ? scalar->sha256_1m : 0)},
                     {"sha1_64B_bytes_per_s", entry(r.sha1_64, ossl_1_64, scalar ? scalar->sha1_64 : 0)},
                     {"sha256_64B_bytes_per_s", entry(r.sha256_64, ossl_256_64, scalar ? scalar->sha256_64 : 0)}});
    }
    print_json(boost::json::object{{"date", date},
                                   {"cpu", cpu},
                                   {"threads", threads},
                                   {"seconds_per_measurement", s},
                                   {"rounds", o.repeat},
                                   {"openssl",
                                    {{"version", OPENSSL_VERSION_TEXT},
                                     {"sha256_16KiB_bytes_per_s", ossl_256_16k},
                                     {"sha256_compressions_per_s", ossl_compr},
                                     {"sha1_1MiB_bytes_per_s", ossl_1_1m},
                                     {"sha256_1MiB_bytes_per_s", ossl_256_1m},
                                     {"sha1_64B_bytes_per_s", ossl_1_64},
                                     {"sha256_64B_bytes_per_s", ossl_256_64}}},
                                   {"backends", arr},
                                   {"devices", devices_json(devices, dev_batch, rows, hashcat)},
                                   {"hashcat_m1400_hashes_per_s", hashcat}});
    return 0;
  }

  std::printf("hashforge bench  %s  CPU: %s  threads: %u  (%.1f s per measurement, median of %u rounds)\n", date,
              cpu.c_str(), threads, s, o.repeat);
  std::printf(
      "OpenSSL (%s), 1 thread, same run: sha256 16 KiB %s = %s compressions; sha1 1 MiB %s; sha256 1 MiB %s; "
      "sha1 64 B %s; sha256 64 B %s\n\n",
      OPENSSL_VERSION_TEXT, si_rate(ossl_256_16k, "B").c_str(), si_rate(ossl_compr, "").c_str(),
      si_rate(ossl_1_1m, "B").c_str(), si_rate(ossl_256_1m, "B").c_str(), si_rate(ossl_1_64, "B").c_str(),
      si_rate(ossl_256_64, "B").c_str());
  auto cell = [&](double v, double anchor, double sc, const char* unit) {
    char b[96];
    std::snprintf(b, sizeof b, "%s x%.2f", si_rate(v, unit).c_str(), anchor > 0 ? v / anchor : 0);
    std::string out = b;
    if (scalar && sc > 0) {
      std::snprintf(b, sizeof b, " (%.1fx scalar)", v / sc);
      out += b;
    }
    return out;
  };
  struct Col {
    const char* title;
    double Row::*f;
    double anchor;
    const char* unit;
  };
  const Col cols[] = {
      {"sha256d header scan (nonces; x = vs OpenSSL SHA-256 compressions/s)", &Row::scan, ossl_compr, "H"},
      {"seed file job, best line (nonces; x = vs OpenSSL compressions/s)", &Row::file, ossl_compr, "H"},
      {"SHA-1, 1 MiB messages (x = vs OpenSSL 1 thread)", &Row::sha1_1m, ossl_1_1m, "B"},
      {"SHA-256, 1 MiB messages (x = vs OpenSSL 1 thread)", &Row::sha256_1m, ossl_256_1m, "B"},
      {"SHA-1, 64-byte messages (x = vs OpenSSL 1 thread)", &Row::sha1_64, ossl_1_64, "B"},
      {"SHA-256, 64-byte messages (x = vs OpenSSL 1 thread)", &Row::sha256_64, ossl_256_64, "B"},
  };
  for (const Col& c : cols) {
    std::printf("%s\n", c.title);
    for (const Row& r : rows)
      std::printf("  %-10s %s\n", r.name.c_str(),
                  cell(r.*(c.f), c.anchor, scalar ? (*scalar).*(c.f) : 0, c.unit).c_str());
  }
  if (!devices.empty()) {
    std::printf("\nDevices\n");
    if (hashcat > 0)
      std::printf("  hashcat -b -m 1400 (same run, every device hashcat sees): %s (one compression each)\n",
                  si_rate(hashcat, "H").c_str());
    else
      std::printf("  hashcat: not installed or no device for it; no hashcat anchor\n");
    for (std::size_t i = 0; i < devices.size(); ++i) {
      const Row* r = nullptr;
      for (const Row& x : rows)
        if (x.name == devices[i]) r = &x;
      const DeviceBatchTiming& t = dev_batch[i];
      std::printf("  %s: sha256d scan %s", devices[i].c_str(), si_rate(r ? r->scan : 0, "H").c_str());
      if (hashcat > 0 && r) std::printf(" = %.2fx hashcat (compressions: 2 per nonce)", 2 * r->scan / hashcat);
      std::printf("\n    batch SHA-1, %zu x %zu KiB: resident %s, from host memory %s, host-to-device copy %s",
                  t.messages, t.message_bytes >> 10, si_rate(t.resident, "B").c_str(), si_rate(t.streamed, "B").c_str(),
                  si_rate(t.copy, "B").c_str());
      if (t.copy > 0) std::printf(" (streamed = %.2fx copy)", t.streamed / t.copy);
      std::printf("\n");
    }
  }
  return 0;
}
}  // namespace

void add_bench(CLI::App& app, Runner& run) {
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("bench", "Benchmark every backend beside OpenSSL, measured in the same run");
  sub->add_option("--backend", o->backend, "Only this backend (and scalar, for the speed-up)")
      ->check(check::non_empty());
  sub->add_option("--threads", o->threads, "Threads, 1..1024 (default: all cores)")->check(CLI::Range(1u, 1024u));
  sub->add_option("--seconds", o->seconds, "Seconds per measurement, 0.01..3600")
      ->capture_default_str()
      ->check(check::seconds(0.01, 3600));
  sub->add_option("--bulk-mib", o->bulk_mib, "MiB of in-memory data for the bulk measurements")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{65536}));
  sub->add_option("--repeat", o->repeat, "Rounds; each figure is the median")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100u));
  sub->add_flag("--json", o->json, "Machine-readable output");
  sub->add_flag("--calibrate", o->calibrate,
                "Only measure the rates behind the automatic backend choice again (about 300 ms) and cache them");
  sub->add_flag("--no-devices", o->no_devices, "CPU backends only (skip GPUs and OpenCL devices)");
  sub->add_option("--device-messages", o->device_messages, "Messages in the device batch measurement")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t(1), std::size_t(1) << 24));
  sub->add_option("--device-message-kib", o->device_message_kib, "KiB per message in the device batch measurement")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t(1), std::size_t(1) << 20));
  sub->callback([o, &run] { run = [o] { return run_bench(*o); }; });
}

}  // namespace hf::cli
