// Text from the network made safe for a log line or a terminal: names, user agents, reasons
// and messages that peers send end up in log lines, where a newline would forge a line and an
// escape sequence would drive the reader's terminal. Pure code (no sockets).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace hf::netio {

// The length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlong forms, no
// surrogates, nothing past U+10FFFF), or 0 where none starts.
inline std::size_t utf8_length_at(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  if (c < 0xc2 || c > 0xf4) return 0;
  const std::size_t want = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
  if (i + want > s.size()) return 0;
  const auto b1 = static_cast<unsigned char>(s[i + 1]);
  bool ok = (b1 & 0xc0) == 0x80;
  if (c == 0xe0) ok = ok && b1 >= 0xa0;
  if (c == 0xed) ok = ok && b1 < 0xa0;
  if (c == 0xf0) ok = ok && b1 >= 0x90;
  if (c == 0xf4) ok = ok && b1 < 0x90;
  for (std::size_t k = 2; k < want; ++k) ok = ok && (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
  return ok ? want : 0;
}

// `s` with every control character written as \xNN: C0 (including \n, \r, \t and ESC), DEL,
// C1 (U+0080..U+009F, which some terminals obey like ESC sequences) and bytes that are not
// valid UTF-8 (a lone 0x9b is CSI to an 8-bit terminal). Valid UTF-8 text outside those stays
// as it is. At most `max_bytes` of `s` are shown, cut at a character boundary, with "..." after.
inline std::string printable(std::string_view s, std::size_t max_bytes = 256) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() < max_bytes ? s.size() : max_bytes);
  auto escape = [&out](unsigned char c) {
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 15];
  };
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t len = utf8_length_at(s, i);
    if (i + (len ? len : 1) > max_bytes) {
      out += "...";
      break;
    }
    if (len == 0 || c < 0x20 || c == 0x7f || (c == 0xc2 && static_cast<unsigned char>(s[i + 1]) < 0xa0)) {
      // A control character or a byte that is not text: each of its bytes as \xNN.
      for (std::size_t k = 0; k < (len ? len : 1); ++k) escape(static_cast<unsigned char>(s[i + k]));
    } else {
      out.append(s.substr(i, len));
    }
    i += len ? len : 1;
  }
  return out;
}

// `s` as valid UTF-8: each byte that starts no well-formed sequence becomes U+FFFD, as JSON
// text must be UTF-8 (RFC 8259) and names in .torrent files need not be.
inline std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = utf8_length_at(s, i);
    if (len) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
  return out;
}

}  // namespace hf::netio
