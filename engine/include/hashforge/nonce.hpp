// Nonce fields: where a nonce sits in a message and how it is written there.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hf {

enum class Encoding : std::uint8_t {
  u32le,  // 4 bytes little-endian (Bitcoin headers)
  u32be,  // 4 bytes big-endian
  u64le,  // 8 bytes little-endian
  hex,    // fixed-width lowercase hex, zero padded (width 1..16, default 8)
  dec,    // decimal ASCII: width 0 = shortest form (inserted at offset, no placeholder);
          // width 1..20 = fixed width, zero padded (overwrites width bytes)
};

struct NonceField {
  std::size_t offset = 0;
  Encoding encoding = Encoding::u32le;
  std::size_t width = 0;  // 0: the encoding's default (4, 4, 8, 8, varying)
};

// Half-open range [first, first + count). count 0 is an empty range.
struct NonceRange {
  std::uint64_t first = 0;
  std::uint64_t count = 0;
  std::uint64_t last() const { return first + count - 1; }  // only for count > 0
};

std::string encoding_name(Encoding e);
bool parse_encoding(const std::string& s, Encoding* out);

// Width in bytes the field occupies for nonce n (varying decimal depends on n).
std::size_t field_width(const NonceField& f, std::uint64_t n);
// Effective fixed width (default applied); 0 for varying decimal.
std::size_t fixed_width(const NonceField& f);
// Largest nonce the encoding can represent at this width.
std::uint64_t encoding_max(const NonceField& f);
// Writes field_width(f, n) bytes for nonce n.
void encode_nonce(const NonceField& f, std::uint64_t n, std::uint8_t* out);
int decimal_digits(std::uint64_t n);

// A validated field plus range split into parts of one fixed width each: every encoding
// gives one part except varying-width decimal, which gives one part per digit count.
struct FieldPart {
  NonceRange range;
  std::size_t width;  // bytes the field occupies for every nonce in this part
};
// Returns an error line, or empty with `parts` filled. `message_size` is the template's size.
std::string split_range(const NonceField& f, NonceRange r, std::size_t message_size, std::vector<FieldPart>* parts);

}  // namespace hf
