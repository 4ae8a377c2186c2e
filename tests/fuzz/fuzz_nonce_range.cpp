// Nonce ranges as `hashforge search` takes them: --first/--count/--offset/--width numbers
// (apps/cli_util.cpp parse_u64: decimal or 0x hex), the --encoding name, and the engine's
// validation and split of the range over the message (split_range). Input: whitespace-
// separated "first count encoding width offset message_size". Properties: no crash; only
// CliError (usage) escapes number parsing, and every number reads back from its decimal and
// hex spellings; an accepted range is split into contiguous parts that cover it exactly,
// each of one width that fits the message, and every part's end nonces encode into exactly
// that many bytes and decode back to themselves.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apps/cli_util.hpp"
#include "hashforge/nonce.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace hf;

namespace {

std::optional<std::uint64_t> number(const std::string& s) {
  try {
    const std::uint64_t v = cli::parse_u64(s, "--first");
    HF_FUZZ_CHECK(cli::parse_u64(std::to_string(v), "x") == v);
    char hex[32];
    std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(v));
    HF_FUZZ_CHECK(cli::parse_u64(hex, "x") == v);
    return v;
  } catch (const cli::CliError& e) {
    HF_FUZZ_CHECK(e.code == cli::kExitUsage && *e.what() != '\0');
    return std::nullopt;
  }
}

std::uint64_t decode(const NonceField& f, const std::uint8_t* p, std::size_t w) {
  std::uint64_t v = 0;
  switch (f.encoding) {
    case Encoding::u32le:
    case Encoding::u64le:
      for (std::size_t i = w; i-- > 0;) v = v << 8 | p[i];
      return v;
    case Encoding::u32be:
      for (std::size_t i = 0; i < w; ++i) v = v << 8 | p[i];
      return v;
    case Encoding::hex:
      for (std::size_t i = 0; i < w; ++i) {
        const char c = static_cast<char>(p[i]);
        HF_FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
        if (w - i > 16) HF_FUZZ_CHECK(c == '0');  // padding above 64 bits
        v = v << 4 | static_cast<std::uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
      }
      return v;
    case Encoding::dec:
      for (std::size_t i = 0; i < w; ++i) {
        HF_FUZZ_CHECK(p[i] >= '0' && p[i] <= '9');
        v = v * 10 + (p[i] - '0');  // exact: the digits spell a nonce that fits in 64 bits
      }
      return v;
  }
  return ~0ull;
}

void check_encoding(const NonceField& f, std::uint64_t n, std::size_t width) {
  HF_FUZZ_CHECK(field_width(f, n) == width && width > 0 && width <= 20);
  auto out = std::make_unique<std::uint8_t[]>(width);  // exactly the width: ASan sees any overrun
  encode_nonce(f, n, out.get());
  HF_FUZZ_CHECK(decode(f, out.get(), width) == n);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> tok;
  std::string cur;
  for (char c : fuzz::text_of(data, size)) {
    if (c == ' ' || c == '\n' || c == '\t') {
      if (!cur.empty()) tok.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) tok.push_back(std::move(cur));
  if (tok.size() > 8) return 0;

  std::vector<std::optional<std::uint64_t>> n;
  for (std::size_t i = 0; i < tok.size(); ++i) n.push_back(i == 2 ? std::nullopt : number(tok[i]));
  if (tok.size() < 6) return 0;
  NonceField f;
  if (!parse_encoding(tok[2], &f.encoding)) return 0;
  HF_FUZZ_CHECK(encoding_name(f.encoding) == tok[2]);
  if (!n[0] || !n[1] || !n[3] || !n[4] || !n[5]) return 0;
  f.width = *n[3];
  f.offset = *n[4];
  const std::size_t message_size = *n[5];
  const NonceRange r{*n[0], *n[1]};

  std::vector<FieldPart> parts;
  const std::string error = split_range(f, r, message_size, &parts);
  if (!error.empty()) {
    HF_FUZZ_CHECK(parts.empty());
    return 0;
  }
  HF_FUZZ_CHECK(parts.empty() == (r.count == 0));
  HF_FUZZ_CHECK(f.offset <= message_size);
  HF_FUZZ_CHECK(parts.size() <= 20);  // at most one part per decimal digit count
  std::uint64_t next = r.first, covered = 0;
  for (const FieldPart& p : parts) {
    HF_FUZZ_CHECK(p.range.count > 0 && p.range.first == next);
    HF_FUZZ_CHECK(p.range.last() <= encoding_max(f));
    if (fixed_width(f) != 0) HF_FUZZ_CHECK(p.width == fixed_width(f) && p.width <= message_size - f.offset);
    check_encoding(f, p.range.first, p.width);
    check_encoding(f, p.range.last(), p.width);
    covered += p.range.count;
    next = p.range.first + p.range.count;  // wraps to 0 only after the very last nonce
  }
  HF_FUZZ_CHECK(covered == r.count);
  return 0;
}
