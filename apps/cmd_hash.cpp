// `hashforge hash`: digests of files, in sha1sum / sha256sum's exact output format.
//
// Small files are hashed together through the engine's batch job, so multi-buffer backends
// fill their lanes across files; a large file is one stream and is read in 1 MiB pieces
// through a streaming hasher, so memory stays bounded whatever its size.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "apps/cli_checks.hpp"
#include "apps/cli_util.hpp"
#include "apps/commands.hpp"
#include "hashforge/engine.hpp"

namespace hf::cli {

namespace {
constexpr std::size_t kBatchFileLimit = 16u << 20;  // larger files are streamed
constexpr std::size_t kBatchBytes = 128u << 20;     // small files held at once

struct Opts {
  std::string algo = "sha256";
  std::string backend;
  unsigned threads = 0;
  std::vector<std::string> files;
};

// sha256sum's line (coreutils 9.1): names with a backslash, newline or carriage return get a
// leading backslash and escapes.
void print_line(const Digest& d, const std::string& name) {
  std::string esc;
  bool escaped = false;
  for (char c : name) {
    if (c == '\\') {
      esc += "\\\\";
      escaped = true;
    } else if (c == '\n') {
      esc += "\\n";
      escaped = true;
    } else if (c == '\r') {
      esc += "\\r";
      escaped = true;
    } else
      esc += c;
  }
  std::printf("%s%s  %s\n", escaped ? "\\" : "", d.hex().c_str(), esc.c_str());
}

// Streams one file (or stdin) through the single-stream compression of the chosen backend.
bool stream_file(const Hasher& proto, const std::string& name, Digest* out) {
  std::FILE* f = name == "-" ? stdin : std::fopen(name.c_str(), "rb");
  if (!f) {
    std::fprintf(stderr, "hashforge: %s: %s\n", name.c_str(), std::strerror(errno));
    return false;
  }
  Hasher h = proto;
  std::vector<std::uint8_t> buf(1u << 20);
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) h.update({buf.data(), n});
  const bool err = std::ferror(f);
  const int e = errno;
  if (f != stdin) std::fclose(f);
  if (err) {
    std::fprintf(stderr, "hashforge: %s: %s\n", name.c_str(), std::strerror(e));
    return false;
  }
  *out = h.final();
  return true;
}

int run_hash(Opts o) {
  auto algo = parse_algo(o.algo);
  if (!algo) usage_error("--algo: expected sha1, sha256 or sha256d, got '" + o.algo + "'");
  const Engine& e = Engine::instance();
  const std::string backend = e.choose(hash_op(*algo), o.backend).value();
  // A multi-buffer backend has no single-stream form; one big file then runs on the fastest
  // single-stream code (SHA-NI or scalar), unless a backend with its own (scalar) was forced.
  const Hasher proto = e.hasher(*algo, backend).value();
  if (o.files.empty()) o.files.emplace_back("-");
  int rc = 0;

  struct Pending {
    std::string name;
    Bytes data;
  };
  std::vector<Pending> pending;
  std::size_t pending_bytes = 0;
  auto flush = [&] {
    if (pending.empty()) return;
    std::vector<ByteView> views;
    for (auto& p : pending) views.emplace_back(p.data);
    std::vector<Digest> digests(views.size());
    SpanSource src(views);
    BatchOptions bo;
    bo.backend = backend;
    bo.threads = o.threads;
    e.hash_batch(
         *algo, src, [&](std::uint64_t i, const Digest& d) { digests[i] = d; }, bo)
        .value();
    for (std::size_t i = 0; i < pending.size(); ++i) print_line(digests[i], pending[i].name);
    pending.clear();
    pending_bytes = 0;
  };

  for (const std::string& name : o.files) {
    struct stat st {};
    const bool small = name != "-" && ::stat(name.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
                       static_cast<std::size_t>(st.st_size) <= kBatchFileLimit;
    if (small) {
      std::FILE* f = std::fopen(name.c_str(), "rb");
      if (!f) {
        std::fprintf(stderr, "hashforge: %s: %s\n", name.c_str(), std::strerror(errno));
        rc = kExitFailure;
        continue;
      }
      Bytes data(static_cast<std::size_t>(st.st_size));
      const std::size_t got = std::fread(data.data(), 1, data.size(), f);
      const bool bad = std::ferror(f) || std::fgetc(f) != EOF;  // changed size while reading
      std::fclose(f);
      if (bad || got != data.size()) {
        // Fall back to streaming, which copes with files that change length.
        flush();
        Digest d;
        if (stream_file(proto, name, &d))
          print_line(d, name);
        else
          rc = kExitFailure;
        continue;
      }
      pending_bytes += data.size();
      pending.push_back({name, std::move(data)});
      if (pending_bytes >= kBatchBytes) flush();
      continue;
    }
    flush();
    if (name != "-" && ::stat(name.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      std::fprintf(stderr, "hashforge: %s: Is a directory\n", name.c_str());
      rc = kExitFailure;
      continue;
    }
    Digest d;
    if (stream_file(proto, name, &d))
      print_line(d, name);
    else
      rc = kExitFailure;
  }
  flush();
  std::fflush(stdout);
  return rc;
}
}  // namespace

void add_hash(CLI::App& app, Runner& run) {
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("hash", "Print file digests like sha1sum / sha256sum");
  sub->add_option("--algo,-a", o->algo, "sha1, sha256 or sha256d")->capture_default_str();
  sub->add_option("--backend", o->backend, "Force a backend (default: $HASHFORGE_BACKEND or the best)")
      ->check(check::non_empty());
  sub->add_option("--threads", o->threads, "Threads, 1..1024 (default: all cores)")->check(CLI::Range(1u, 1024u));
  sub->add_option("files", o->files, "Files ('-' or none: standard input)");
  sub->callback([o, &run] { run = [o] { return run_hash(*o); }; });
}

}  // namespace hf::cli
