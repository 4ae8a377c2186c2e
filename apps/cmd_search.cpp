// `hashforge search`: the three forms of a nonce search.
//   file    the file task: append "<nonce> <id>" to a text file, keep the line
//           giving the lowest SHA-256 of the whole file
//   header  an 80-byte Bitcoin block header against a target: every valid nonce
//   raw     the general form: message, nonce field, encoding, byte order, range, goal
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>

#include "apps/cli_checks.hpp"
#include "apps/cli_util.hpp"
#include "apps/commands.hpp"
#include "hashforge/hex.hpp"
#include "net/io/atomic_file.hpp"
#include "net/io/duration.hpp"

namespace hf::cli {

namespace {

// The file task's file is held in memory once (see run_file); larger files are refused.
constexpr std::size_t kMaxSearchFile = std::size_t{1} << 30;
// Hits are kept in memory until printed.
constexpr std::uint64_t kMaxHits = 1'000'000;

std::atomic<bool> g_interrupted{false};
void on_sigint(int) { g_interrupted = true; }

struct Common {
  std::string backend;
  unsigned threads = 0;
  bool json = false;
  bool quiet = false;
  double seconds = 0;  // 0: no time budget
};

void add_common(CLI::App* sub, Common& c) {
  sub->add_option("--backend", c.backend,
                  "Backend: a name, a comma list (avx512,opencl:0) or all (every device plus the best CPU "
                  "backend); default: $HASHFORGE_BACKEND or the best")
      ->check(check::non_empty());
  sub->add_option("--threads", c.threads, "Threads, 1..1024 (default: all cores)")->check(CLI::Range(1u, 1024u));
  sub->add_flag("--json", c.json, "Machine-readable output");
  sub->add_flag("--quiet,-q", c.quiet, "No progress display");
}

RunOptions run_options(const Common& c, ProgressPrinter* pp) {
  RunOptions ro;
  ro.backend = c.backend;
  ro.threads = c.threads;
  ro.cancel = &g_interrupted;
  if (pp) ro.on_progress = [pp](const Progress& p) { pp->update(p); };
  std::signal(SIGINT, on_sigint);
  return ro;
}

std::optional<std::chrono::nanoseconds> budget_of(double seconds) {
  if (!(seconds >= 0) || seconds > check::kYear) usage_error("--seconds must be 0..31536000 (a year)");
  if (seconds == 0) return std::nullopt;
  return netio::seconds_to<std::chrono::nanoseconds>(seconds);
}

boost::json::array chunks_json(const SearchResult& r) {
  boost::json::array a;
  for (const ChunkRecord& c : r.chunks)
    a.push_back({{"first", c.range.first}, {"count", c.range.count}, {"backend", c.backend}});
  return a;
}

// A backend that failed mid-search is reported, not fatal: its chunks were searched again.
boost::json::array warnings_json(const SearchResult& r) {
  boost::json::array a;
  for (const std::string& w : r.warnings) {
    std::fprintf(stderr, "hashforge: warning: %s\n", w.c_str());
    a.push_back(boost::json::string(w));
  }
  return a;
}

boost::json::array covered_json(const SearchResult& r) {
  boost::json::array a;
  for (const NonceRange& c : r.covered) a.push_back({{"first", c.first}, {"count", c.count}});
  return a;
}

// ---- file: the file task ----
struct FileOpts {
  Common c;
  std::string file, out, id = "G06", format = "%08x %s";
  std::string start;
  std::string count;
};

struct LineFormat {
  std::string before, after;  // text around the nonce, the id already substituted
  NonceField field;           // offset filled in later
};

// Parses a printf-like line format with one nonce conversion (%0Nx, %0Nd or %d) and
// optional %s (the identifier) and %% (a percent sign).
LineFormat parse_format(const std::string& fmt, const std::string& id) {
  LineFormat lf;
  bool seen = false;
  std::string* out = &lf.before;
  for (std::size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      *out += fmt[i];
      continue;
    }
    if (++i >= fmt.size()) usage_error("--format: ends with a lone '%'");
    if (fmt[i] == '%') {
      *out += '%';
      continue;
    }
    if (fmt[i] == 's') {
      *out += id;
      continue;
    }
    std::size_t width = 0;
    const bool zero = fmt[i] == '0';
    while (i < fmt.size() && fmt[i] >= '0' && fmt[i] <= '9') {
      width = width * 10 + static_cast<std::size_t>(fmt[i++] - '0');
      if (width > 20) usage_error("--format: nonce width at most 20 digits");
    }
    if (i >= fmt.size() || (fmt[i] != 'x' && fmt[i] != 'd'))
      usage_error("--format: the nonce conversion must be %0Nx, %0Nd or %d");
    if (seen) usage_error("--format: more than one nonce conversion");
    seen = true;
    if (fmt[i] == 'x') {
      if (!zero || width < 1 || width > 16) usage_error("--format: hex nonces need a fixed width, %01x..%016x");
      lf.field = {0, Encoding::hex, width};
    } else {
      if (width && !zero) usage_error("--format: decimal nonces are %d (shortest) or %0Nd (zero padded)");
      if (width > 20) usage_error("--format: decimal width at most 20");
      lf.field = {0, Encoding::dec, width};
    }
    out = &lf.after;
  }
  if (!seen) usage_error("--format: no nonce conversion (%08x, %0Nd or %d)");
  return lf;
}

int run_file(const FileOpts& o) {
  LineFormat lf = parse_format(o.format, o.id);
  // The result file is written after the search: find out now, not after an hour of
  // hashing, that it cannot be.
  const std::string out = o.out.empty() ? o.file + ".result" : o.out;
  {
    std::error_code ec;
    if (std::filesystem::is_directory(out, ec)) usage_error(out + ": the result file is a directory (see --out)");
    std::string why;
    if (!netio::check_writable(out, &why)) failure(why);
  }
  // Memory is about one copy of the file: it is read into a buffer of its size with room
  // for the line, becomes the job's message without a copy, the engine prepares the search
  // in place, and the result is written from the message and the line.
  const std::size_t line_max = lf.before.size() + 20 + lf.after.size();
  Bytes input = read_file(o.file, kMaxSearchFile, line_max);
  if (input.empty()) failure(o.file + ": empty file");
  const std::size_t input_size = input.size();

  SearchJob job;
  job.algo = Algo::sha256;
  job.order = ByteOrder::digest;
  job.goal = Goal::best;
  job.nonce = lf.field;
  job.nonce.offset = input_size + lf.before.size();
  job.message = std::move(input);
  job.message.insert(job.message.end(), lf.before.begin(), lf.before.end());
  job.message.resize(job.message.size() + fixed_width(job.nonce), '0');
  job.message.insert(job.message.end(), lf.after.begin(), lf.after.end());
  job.budget = budget_of(o.c.seconds);

  const std::uint64_t max = encoding_max(job.nonce);
  const std::uint64_t space = max == ~0ull ? max : max + 1;  // nonces in the space (2^64 capped)
  std::uint64_t start;
  if (!o.start.empty()) {
    start = parse_u64(o.start, "--start");
    if (start > max)
      usage_error("--start " + o.start + " is outside the nonce space (largest " + std::to_string(max) + ")");
  } else {
    std::random_device rd;
    std::mt19937_64 gen((std::uint64_t(rd()) << 32) ^ rd());
    start = std::uniform_int_distribution<std::uint64_t>(0, max)(gen);
  }
  std::uint64_t count = o.count.empty() ? space : parse_u64(o.count, "--count");
  if (count == 0) usage_error("--count must be at least 1");
  if (count > space) usage_error("--count exceeds the nonce space (" + std::to_string(space) + ")");
  if (o.count.empty() && o.c.seconds == 0) usage_error("give --seconds or --count (or both)");

  ProgressPrinter pp(!o.c.quiet && !o.c.json);
  RunOptions ro = run_options(o.c, &pp);

  // Sweep in order from the start, wrapping once to 0: no nonce is tried twice.
  // Nonces from start to the top of the space; a full 64-bit space from 0 holds 2^64
  // nonces, more than a count can say, so any count fits there.
  const std::uint64_t to_top = max - start;  // one less than the number of nonces left
  const std::uint64_t first_len = to_top == ~0ull ? count : std::min(count, to_top + 1);
  job.range = {start, first_len};
  SearchResult r = Engine::instance().search(job, ro).value();
  if (r.complete && count > first_len && !r.cancelled) {
    // The same job again (not a copy: its message is the whole file) over the wrapped part.
    job.range = {0, count - first_len};
    if (job.budget) job.budget = *job.budget - netio::seconds_to<std::chrono::nanoseconds>(r.seconds);
    if (!job.budget || job.budget->count() > 0) {
      SearchResult r2 = Engine::instance().search(job, ro).value();
      if (r2.best && (!r.best || r2.best->key < r.best->key)) r.best = r2.best;  // disjoint ranges: no ties
      r.covered.insert(r.covered.end(), r2.covered.begin(), r2.covered.end());
      r.hashes += r2.hashes;
      r.seconds += r2.seconds;
      r.complete = r2.complete;
      r.timed_out = r2.timed_out;
      r.cancelled = r2.cancelled;
    } else {
      r.complete = false;  // the budget ran out exactly at the wrap
      r.timed_out = true;
    }
  }
  pp.finish();
  if (!r.best) failure("no nonce was searched");

  // The result file: the input plus the best line, written atomically.
  Bytes line(lf.before.begin(), lf.before.end());
  {
    std::uint8_t buf[20];
    NonceField f = job.nonce;
    encode_nonce(f, r.best->nonce, buf);
    line.insert(line.end(), buf, buf + field_width(f, r.best->nonce));
  }
  line.insert(line.end(), lf.after.begin(), lf.after.end());
  write_file_atomic(out, {ByteView(job.message.data(), input_size), ByteView(line)});

  const int zbits = leading_zero_bits(r.best->key);
  const std::string line_str(line.begin(), line.end());
  if (o.c.json) {
    print_json(boost::json::object{{"line", line_str},
                                   {"nonce", r.best->nonce},
                                   {"hash", r.best->digest.hex()},
                                   {"leading_zero_hex", zbits / 4},
                                   {"leading_zero_bits", zbits},
                                   {"nonces", r.hashes},
                                   {"seconds", r.seconds},
                                   {"rate", r.rate()},
                                   {"backend", r.backend},
                                   {"threads", r.threads},
                                   {"start", start},
                                   {"complete", r.complete},
                                   {"timed_out", r.timed_out},
                                   {"cancelled", r.cancelled},
                                   {"covered", covered_json(r)},
                                   {"chunks", chunks_json(r)},
                                   {"warnings", warnings_json(r)},
                                   {"result_file", out}});
  } else {
    warnings_json(r);
    std::printf("best line:     %s\n", line_str.c_str());
    std::printf("hash:          %s\n", r.best->digest.hex().c_str());
    std::printf("leading zeros: %d hex digits (%d bits)\n", zbits / 4, zbits);
    std::printf("nonces:        %llu from %llu%s\n", static_cast<unsigned long long>(r.hashes),
                static_cast<unsigned long long>(start),
                r.complete    ? ""
                : r.cancelled ? " (interrupted)"
                              : " (time budget reached)");
    std::printf("rate:          %s on %s, %u threads, %.2f s\n", si_rate(r.rate(), "H").c_str(), r.backend.c_str(),
                r.threads, r.seconds);
    std::printf("result file:   %s\n", out.c_str());
  }
  return r.cancelled ? 130 : 0;
}

// ---- target options shared by header and raw ----
struct TargetOpts {
  std::string bits, difficulty, target;
};

void add_target(CLI::App* sub, TargetOpts& t) {
  auto* b =
      sub->add_option("--bits", t.bits, "Target as compact nBits, hex (e.g. 1d00ffff)")->check(check::non_empty());
  auto* d = sub->add_option("--difficulty", t.difficulty, "Target as pool difficulty (diff1 / d; below 1 allowed)")
                ->check(check::non_empty());
  auto* x =
      sub->add_option("--target", t.target, "Target as a 256-bit number, 64 hex digits")->check(check::non_empty());
  b->excludes(d)->excludes(x);
  d->excludes(x);
}

// Returns true and sets *k if a target option was given.
bool parse_target(const TargetOpts& t, Key* k) {
  std::string why;
  if (!t.bits.empty()) {
    auto b = from_hex(t.bits.size() % 2 ? "0" + t.bits : t.bits, &why);
    if (!b || b->size() > 4) usage_error("--bits: expected up to 8 hex digits, got '" + t.bits + "'");
    std::uint32_t v = 0;
    for (auto x : *b) v = v << 8 | x;
    why = target_from_compact(v, k);
  } else if (!t.difficulty.empty()) {
    why = target_from_difficulty(parse_double(t.difficulty, "--difficulty"), k);
  } else if (!t.target.empty()) {
    why = target_from_hex(t.target, k);
  } else {
    return false;
  }
  if (!why.empty()) usage_error(why);
  return true;
}

Bytes parse_hex_arg(const std::string& s, const char* what) {
  std::string why;
  auto b = from_hex(s, &why);
  if (!b) usage_error(std::string(what) + ": " + why);
  return *b;
}

boost::json::object hit_json(const Hit& h, ByteOrder order) {
  return {{"nonce", h.nonce},
          {"hash", order == ByteOrder::bitcoin ? reversed_hex(h.digest.view()) : h.digest.hex()},
          {"digest", h.digest.hex()}};
}

int report_hits(const SearchJob& job, const SearchResult& r, bool json, bool streamed) {
  if (json) {
    boost::json::array hits;
    for (const Hit& h : r.hits) hits.push_back(hit_json(h, job.order));
    boost::json::object o{{"hits", hits},
                          {"dropped_hits", r.dropped_hits},
                          {"nonces", r.hashes},
                          {"seconds", r.seconds},
                          {"rate", r.rate()},
                          {"backend", r.backend},
                          {"threads", r.threads},
                          {"complete", r.complete},
                          {"timed_out", r.timed_out},
                          {"cancelled", r.cancelled},
                          {"covered", covered_json(r)},
                          {"chunks", chunks_json(r)},
                          {"warnings", warnings_json(r)}};
    if (r.best) o["best"] = hit_json(*r.best, job.order);
    print_json(o);
  } else {
    warnings_json(r);
    if (!streamed && r.best)
      std::printf(
          "best: nonce %llu hash %s\n", static_cast<unsigned long long>(r.best->nonce),
          (job.order == ByteOrder::bitcoin ? reversed_hex(r.best->digest.view()) : r.best->digest.hex()).c_str());
    std::printf("# %zu hits, %llu dropped (--max-hits %zu); %llu nonces%s; %s on %s, %u threads, %.2f s\n",
                r.hits.size(), static_cast<unsigned long long>(r.dropped_hits), job.max_hits,
                static_cast<unsigned long long>(r.hashes),
                r.complete    ? ""
                : r.cancelled ? " (interrupted)"
                              : " (time budget reached)",
                si_rate(r.rate(), "H").c_str(), r.backend.c_str(), r.threads, r.seconds);
  }
  return r.cancelled ? 130 : 0;
}

// ---- header: Bitcoin block header scan ----
struct HeaderOpts {
  Common c;
  TargetOpts t;
  std::string header, first = "0", count;
  std::size_t max_hits = 1000;
};

int run_header(const HeaderOpts& o) {
  SearchJob job;
  job.message = parse_hex_arg(o.header, "header");
  if (job.message.size() != 80)
    usage_error("header: expected 80 bytes (160 hex digits), got " + std::to_string(job.message.size()) + " bytes");
  job.algo = Algo::sha256d;
  job.order = ByteOrder::bitcoin;
  job.goal = Goal::below_target;
  job.nonce = {76, Encoding::u32le, 4};
  job.max_hits = o.max_hits;
  if (!parse_target(o.t, &job.target)) {
    // Default: the header's own nBits (bytes 72..75, little-endian).
    const std::uint32_t bits = job.message[72] | job.message[73] << 8 | job.message[74] << 16 |
                               static_cast<std::uint32_t>(job.message[75]) << 24;
    if (std::string why = target_from_compact(bits, &job.target); !why.empty()) usage_error("header nBits: " + why);
  }
  const std::uint64_t first = parse_u64(o.first, "--first");
  if (first > 0xffffffffull) usage_error("--first " + o.first + " is outside the 32-bit nonce space");
  const std::uint64_t count =
      o.count.empty() ? (first <= 0xffffffffull ? 0x100000000ull - first : 0) : parse_u64(o.count, "--count");
  job.range = {first, count};
  job.budget = budget_of(o.c.seconds);
  ProgressPrinter pp(!o.c.quiet && !o.c.json);
  RunOptions ro = run_options(o.c, &pp);
  if (!o.c.json)
    ro.on_hit = [&](const Hit& h) {
      pp.finish();
      std::printf("%llu %08llx %s\n", static_cast<unsigned long long>(h.nonce),
                  static_cast<unsigned long long>(h.nonce), reversed_hex(h.digest.view()).c_str());
      std::fflush(stdout);
    };
  SearchResult r = Engine::instance().search(job, ro).value();
  pp.finish();
  return report_hits(job, r, o.c.json, true);
}

// ---- raw: the general form ----
struct RawOpts {
  Common c;
  TargetOpts t;
  std::string message, algo = "sha256d", encoding = "u32le", order = "bitcoin", first = "0", count;
  std::size_t offset = 0, width = 0, max_hits = 1000;
  bool best = false;
};

int run_raw(const RawOpts& o) {
  SearchJob job;
  job.message = parse_hex_arg(o.message, "--message");
  auto algo = parse_algo(o.algo);
  if (!algo || *algo == Algo::sha1) usage_error("--algo: expected sha256 or sha256d, got '" + o.algo + "'");
  job.algo = *algo;
  if (!parse_encoding(o.encoding, &job.nonce.encoding))
    usage_error("--encoding: expected u32le, u32be, u64le, hex or dec, got '" + o.encoding + "'");
  if (!parse_order(o.order, &job.order)) usage_error("--order: expected bitcoin or digest, got '" + o.order + "'");
  job.nonce.offset = o.offset;
  job.nonce.width = o.width;
  job.max_hits = o.max_hits;
  const bool has_target = parse_target(o.t, &job.target);
  if (o.best == has_target) usage_error("give exactly one goal: --best, or a target (--bits, --difficulty, --target)");
  job.goal = o.best ? Goal::best : Goal::below_target;
  const std::uint64_t first = parse_u64(o.first, "--first");
  std::uint64_t count;
  if (o.count.empty()) {
    const std::uint64_t max = encoding_max(job.nonce);
    if (first > max) usage_error("--first is outside the nonce space of the encoding");
    count = max - first == ~0ull ? ~0ull : max - first + 1;
  } else {
    count = parse_u64(o.count, "--count");
  }
  job.range = {first, count};
  job.budget = budget_of(o.c.seconds);
  if (std::string why = Engine::instance().validate(job); !why.empty()) usage_error(why);
  ProgressPrinter pp(!o.c.quiet && !o.c.json);
  RunOptions ro = run_options(o.c, &pp);
  if (!o.c.json && !o.best)
    ro.on_hit = [&](const Hit& h) {
      pp.finish();
      std::printf("%llu %s\n", static_cast<unsigned long long>(h.nonce),
                  (job.order == ByteOrder::bitcoin ? reversed_hex(h.digest.view()) : h.digest.hex()).c_str());
      std::fflush(stdout);
    };
  SearchResult r = Engine::instance().search(job, ro).value();
  pp.finish();
  return report_hits(job, r, o.c.json, !o.best);
}

}  // namespace

void add_search(CLI::App& app, Runner& run) {
  CLI::App* search =
      app.add_subcommand("search", "Nonce search: file (the file task), header (Bitcoin), raw (general)");
  search->require_subcommand(1);

  auto fo = std::make_shared<FileOpts>();
  CLI::App* file = search->add_subcommand("file", "Append the line giving the lowest SHA-256 of the whole file");
  file->add_option("file", fo->file, "Text file (the block), at most 1 GiB")->required()->check(check::non_empty());
  file->add_option("--id", fo->id, "Identifier written after the nonce, 1..64 printable ASCII characters")
      ->capture_default_str()
      ->check(check::identifier());
  file->add_option("--format", fo->format, "Line format: one nonce conversion (%08x, %0Nd, %d), %s = id")
      ->capture_default_str()
      ->check(check::non_empty());
  file->add_option("--seconds,-t", fo->c.seconds, "Time budget in seconds, at most 31536000 (a year)")
      ->check(check::seconds(0, check::kYear));
  file->add_option("--count,-n", fo->count, "Nonce budget (default: the whole nonce space)");
  file->add_option("--start", fo->start, "First nonce (default: random); the sweep wraps once, no repeats");
  file->add_option("--out,-o", fo->out, "Result file (default: FILE.result); its folder must be writable")
      ->check(check::non_empty());
  add_common(file, fo->c);
  file->callback([fo, &run] { run = [fo] { return run_file(*fo); }; });

  auto ho = std::make_shared<HeaderOpts>();
  CLI::App* header =
      search->add_subcommand("header", "Scan an 80-byte Bitcoin block header for nonces meeting a target");
  header->add_option("header", ho->header, "Header, 160 hex digits")->required();
  add_target(header, ho->t);
  header->add_option("--first", ho->first, "First nonce")->capture_default_str();
  header->add_option("--count", ho->count, "Number of nonces (default: up to 2^32)");
  header->add_option("--max-hits", ho->max_hits, "Hits to print, 0..1000000; more are counted")
      ->capture_default_str()
      ->check(check::whole(0, kMaxHits));
  header->add_option("--seconds,-t", ho->c.seconds, "Time budget in seconds, at most 31536000 (a year)")
      ->check(check::seconds(0, check::kYear));
  add_common(header, ho->c);
  header->callback([ho, &run] { run = [ho] { return run_header(*ho); }; });

  auto ro = std::make_shared<RawOpts>();
  CLI::App* raw =
      search->add_subcommand("raw", "General search: message hex, nonce field, encoding, order, range, goal");
  raw->add_option("--message,-m", ro->message, "Message template, hex")->required();
  raw->add_option("--offset", ro->offset, "Nonce field offset in bytes")->required()->check(check::whole(0, 1u << 30));
  raw->add_option("--encoding,-e", ro->encoding, "u32le, u32be, u64le, hex, dec")->capture_default_str();
  raw->add_option("--width,-w", ro->width, "Field width (hex: 1..16, default 8; dec: 0 = shortest form, up to 20)")
      ->check(check::whole(0, 20));
  raw->add_option("--algo,-a", ro->algo, "sha256 or sha256d")->capture_default_str();
  raw->add_option("--order", ro->order, "Digest comparison order: bitcoin or digest")->capture_default_str();
  raw->add_option("--first", ro->first, "First nonce")->capture_default_str();
  raw->add_option("--count", ro->count, "Number of nonces (default: the rest of the encoding's space)");
  raw->add_flag("--best", ro->best, "Goal: the lowest hash (instead of a target)");
  add_target(raw, ro->t);
  raw->add_option("--max-hits", ro->max_hits, "Hits to print, 0..1000000; more are counted")
      ->capture_default_str()
      ->check(check::whole(0, kMaxHits));
  raw->add_option("--seconds,-t", ro->c.seconds, "Time budget in seconds, at most 31536000 (a year)")
      ->check(check::seconds(0, check::kYear));
  add_common(raw, ro->c);
  raw->callback([ro, &run] { run = [ro] { return run_raw(*ro); }; });
}

}  // namespace hf::cli
