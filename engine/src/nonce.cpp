#include "hashforge/nonce.hpp"

namespace hf {

namespace {
constexpr char kHex[] = "0123456789abcdef";
std::uint64_t pow10(int k) {
  std::uint64_t p = 1;
  while (k-- > 0) p *= 10;
  return p;
}
}  // namespace

std::string encoding_name(Encoding e) {
  switch (e) {
    case Encoding::u32le:
      return "u32le";
    case Encoding::u32be:
      return "u32be";
    case Encoding::u64le:
      return "u64le";
    case Encoding::hex:
      return "hex";
    case Encoding::dec:
      return "dec";
  }
  return "?";
}

bool parse_encoding(const std::string& s, Encoding* out) {
  for (Encoding e : {Encoding::u32le, Encoding::u32be, Encoding::u64le, Encoding::hex, Encoding::dec})
    if (s == encoding_name(e)) {
      *out = e;
      return true;
    }
  return false;
}

int decimal_digits(std::uint64_t n) {
  int d = 1;
  while (n >= 10) {
    n /= 10;
    ++d;
  }
  return d;
}

std::size_t fixed_width(const NonceField& f) {
  switch (f.encoding) {
    case Encoding::u32le:
    case Encoding::u32be:
      return 4;
    case Encoding::u64le:
      return 8;
    case Encoding::hex:
      return f.width ? f.width : 8;
    case Encoding::dec:
      return f.width;
  }
  return 0;
}

std::size_t field_width(const NonceField& f, std::uint64_t n) {
  std::size_t w = fixed_width(f);
  return w ? w : static_cast<std::size_t>(decimal_digits(n));
}

std::uint64_t encoding_max(const NonceField& f) {
  std::size_t w = fixed_width(f);
  switch (f.encoding) {
    case Encoding::u32le:
    case Encoding::u32be:
      return 0xffffffffull;
    case Encoding::u64le:
      return ~0ull;
    case Encoding::hex:
      return w >= 16 ? ~0ull : (1ull << (4 * w)) - 1;
    case Encoding::dec:
      return (w == 0 || w >= 20) ? ~0ull : pow10(static_cast<int>(w)) - 1;
  }
  return 0;
}

void encode_nonce(const NonceField& f, std::uint64_t n, std::uint8_t* out) {
  std::size_t w = field_width(f, n);
  switch (f.encoding) {
    case Encoding::u32le:
      for (int i = 0; i < 4; ++i) out[i] = std::uint8_t(n >> (8 * i));
      break;
    case Encoding::u32be:
      for (int i = 0; i < 4; ++i) out[i] = std::uint8_t(n >> (8 * (3 - i)));
      break;
    case Encoding::u64le:
      for (int i = 0; i < 8; ++i) out[i] = std::uint8_t(n >> (8 * i));
      break;
    case Encoding::hex:
      for (std::size_t i = 0; i < w; ++i) out[w - 1 - i] = std::uint8_t(i < 16 ? kHex[(n >> (4 * i)) & 15] : '0');
      break;
    case Encoding::dec:
      for (std::size_t i = 0; i < w; ++i) {
        out[w - 1 - i] = std::uint8_t('0' + n % 10);
        n /= 10;
      }
      break;
  }
}

std::string split_range(const NonceField& f, NonceRange r, std::size_t message_size, std::vector<FieldPart>* parts) {
  parts->clear();
  if (f.encoding == Encoding::hex && (f.width > 16))
    return "hex nonce width must be 1..16 (got " + std::to_string(f.width) + ")";
  if (f.encoding == Encoding::dec && f.width > 20)
    return "decimal nonce width must be 0..20 (got " + std::to_string(f.width) + ")";
  if ((f.encoding == Encoding::u32le || f.encoding == Encoding::u32be) && f.width != 0 && f.width != 4)
    return "u32 nonce fields are 4 bytes wide";
  if (f.encoding == Encoding::u64le && f.width != 0 && f.width != 8) return "u64 nonce fields are 8 bytes wide";
  const std::uint64_t max = encoding_max(f);
  if (r.first > max)
    return "first nonce " + std::to_string(r.first) + " is outside the " + encoding_name(f.encoding) +
           " encoding (largest nonce " + std::to_string(max) + ")";
  if (r.count > 0 && r.count - 1 > max - r.first)
    return "nonce range " + std::to_string(r.first) + "+" + std::to_string(r.count) + " overflows the " +
           encoding_name(f.encoding) + " encoding (largest nonce " + std::to_string(max) + ")";
  const std::size_t fw = fixed_width(f);
  if (fw != 0 && (f.offset > message_size || fw > message_size - f.offset))
    return "nonce field [" + std::to_string(f.offset) + ", " + std::to_string(f.offset + fw) + ") lies outside the " +
           std::to_string(message_size) + "-byte message";
  if (fw == 0 && f.offset > message_size)
    return "nonce offset " + std::to_string(f.offset) + " lies outside the " + std::to_string(message_size) +
           "-byte message";
  if (r.count == 0) return {};
  if (fw != 0) {
    parts->push_back({r, fw});
    return {};
  }
  // Varying decimal: one part per digit count, so each part has one message layout.
  std::uint64_t n = r.first;
  const std::uint64_t last = r.last();
  while (true) {
    int d = decimal_digits(n);
    std::uint64_t part_last = d >= 20 ? ~0ull : pow10(d) - 1;
    if (part_last > last) part_last = last;
    parts->push_back({{n, part_last - n + 1}, static_cast<std::size_t>(d)});
    if (part_last == last) break;
    n = part_last + 1;
  }
  return {};
}

}  // namespace hf
