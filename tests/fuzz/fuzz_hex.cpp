// Hex in every form outside input takes (engine hex and targets, Stratum's u32 fields and
// prevhash, the file task's nonces): each parser gets the same text. Properties: no crash,
// no exception; each accepts exactly the strings its rule describes (length, digits, case);
// what it accepts formats back to the same text (lowercased where case is free); targets
// are never zero and a higher difficulty never gives a higher target.
#include <cmath>
#include <cstdlib>
#include <string>

#include "hashforge/hex.hpp"
#include "hashforge/target.hpp"
#include "net/mining/file_task.hpp"
#include "net/mining/stratum_job.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace hf;

namespace {

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool is_hex(char c) { return is_lower_hex(c) || (c >= 'A' && c <= 'F'); }

void check_difficulty(std::string_view s) {
  if (s.size() > 64) return;
  const std::string text(s);  // strtod wants a terminated string
  char* end = nullptr;
  const double d = std::strtod(text.c_str(), &end);
  if (end == text.c_str()) return;
  Key k1, k2;
  if (!target_from_difficulty(d, &k1).empty()) return;
  HF_FUZZ_CHECK(!k1.is_zero());
  if (!std::isfinite(d * 2) || !target_from_difficulty(d * 2, &k2).empty()) return;
  HF_FUZZ_CHECK(k2 <= k1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view s = fuzz::text_of(data, size);
  bool all_hex = true, all_lower_hex = true;
  std::string lower(s);
  for (char& c : lower) {
    all_hex = all_hex && is_hex(c);
    all_lower_hex = all_lower_hex && is_lower_hex(c);
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }

  std::string why;
  const auto bytes = from_hex(s, &why);
  HF_FUZZ_CHECK(bytes.has_value() == (s.size() % 2 == 0 && all_hex));
  if (bytes) {
    HF_FUZZ_CHECK(bytes->size() == s.size() / 2);
    HF_FUZZ_CHECK(to_hex(*bytes) == lower);
    const Bytes reversed(bytes->rbegin(), bytes->rend());
    HF_FUZZ_CHECK(from_hex(reversed_hex(*bytes)) == reversed);
  } else {
    HF_FUZZ_CHECK(!why.empty());
  }

  const auto u32 = mining::parse_hex_u32(s);
  HF_FUZZ_CHECK(u32.has_value() == (s.size() == 8 && all_hex));
  if (u32) HF_FUZZ_CHECK(mining::hex_u32(*u32) == lower);

  const auto nonce = mining::parse_nonce_hex8(s);
  HF_FUZZ_CHECK(nonce.has_value() == (s.size() == 8 && all_lower_hex));
  if (nonce) HF_FUZZ_CHECK(mining::nonce_hex8(*nonce) == s);

  const auto prev = mining::prevhash_from_stratum(s);
  HF_FUZZ_CHECK(prev.has_value() == (s.size() == 64 && all_hex));
  if (prev) HF_FUZZ_CHECK(mining::prevhash_to_stratum(*prev) == lower);

  Key k;
  const std::string target_error = target_from_hex(std::string(s), &k);
  if (target_error.empty()) {
    HF_FUZZ_CHECK(s.size() == 64 && all_hex);
    HF_FUZZ_CHECK(k.hex() == lower && !k.is_zero());
    const int zeros = leading_zero_bits(k);
    HF_FUZZ_CHECK(zeros >= 0 && zeros < 256);
    HF_FUZZ_CHECK(lower.find_first_not_of('0') == static_cast<std::size_t>(zeros / 4));
  }

  if (size >= 4) {
    const std::uint32_t bits = std::uint32_t{data[0]} << 24 | std::uint32_t{data[1]} << 16 |
                               std::uint32_t{data[2]} << 8 | std::uint32_t{data[3]};
    if (target_from_compact(bits, &k).empty()) HF_FUZZ_CHECK(!k.is_zero());
  }
  check_difficulty(s);
  return 0;
}
