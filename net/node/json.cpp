// JSON exactly as Python 3.11's json module reads and writes it (json.hpp says what that
// means). The reader is a recursive descent whose depth is capped by ParseLimits, so no input
// can exhaust the stack; the writer appends to one string and escapes through a table.
#include "net/node/json.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <system_error>

namespace hf::node {

namespace {

// ---------------------------------------------------------------------------------------
// UTF-8 (generalized: encoded surrogates allowed, as Python's 'surrogatepass' decodes them)

bool is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

// The length of the well-formed sequence at p (1..4) and its code point in *cp, or 0 when
// the bytes there are not one. Follows Python's UTF-8 decoder: no overlong forms, nothing
// past U+10FFFF; ED A0..BF xx (a surrogate) is accepted because surrogatepass takes it.
std::size_t utf8_seq(const unsigned char* p, const unsigned char* end, std::uint32_t* cp) {
  const unsigned char c = p[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  const std::size_t left = static_cast<std::size_t>(end - p);
  if (c >= 0xC2 && c <= 0xDF) {
    if (left < 2 || !is_cont(p[1])) return 0;
    *cp = (std::uint32_t{c} & 0x1F) << 6 | (p[1] & 0x3F);
    return 2;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3 || !is_cont(p[1]) || !is_cont(p[2])) return 0;
    if (c == 0xE0 && p[1] < 0xA0) return 0;  // overlong
    *cp = (std::uint32_t{c} & 0x0F) << 12 | (std::uint32_t{p[1]} & 0x3F) << 6 | (p[2] & 0x3F);
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4 || !is_cont(p[1]) || !is_cont(p[2]) || !is_cont(p[3])) return 0;
    if (c == 0xF0 && p[1] < 0x90) return 0;  // overlong
    if (c == 0xF4 && p[1] > 0x8F) return 0;  // past U+10FFFF
    *cp = (std::uint32_t{c} & 0x07) << 18 | (std::uint32_t{p[1]} & 0x3F) << 12 | (std::uint32_t{p[2]} & 0x3F) << 6 |
          (p[3] & 0x3F);
    return 4;
  }
  return 0;
}

// Appends a code point; a surrogate becomes its own three bytes (how Python's str holds a
// lone one), never merged with a neighbour: "\ud800" + raw low surrogate stays two chars.
void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | cp >> 6));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | cp >> 12));
    out.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | cp >> 18));
    out.push_back(static_cast<char>(0x80 | (cp >> 12 & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool is_high_surrogate(std::uint32_t cp) { return cp >= 0xD800 && cp <= 0xDBFF; }
bool is_low_surrogate(std::uint32_t cp) { return cp >= 0xDC00 && cp <= 0xDFFF; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Four hex digits at p (upper or lower case, as Python takes them), or -1.
long hex4(const char* p) {
  long v = 0;
  for (int i = 0; i < 4; ++i) {
    const int d = hex_value(p[i]);
    if (d < 0) return -1;
    v = v << 4 | d;
  }
  return v;
}

// ---------------------------------------------------------------------------------------
// Writing

constexpr char kHex[] = "0123456789abcdef";

// For each ASCII byte: 0 when json.dumps writes it as itself, 'u' for \u00XX, else the
// letter of its short escape.
constexpr std::array<char, 128> kEscape = [] {
  std::array<char, 128> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = 'u';
  t[0x7F] = 'u';
  t['"'] = '"';
  t['\\'] = '\\';
  t['\n'] = 'n';
  t['\r'] = 'r';
  t['\t'] = 't';
  t['\b'] = 'b';
  t['\f'] = 'f';
  return t;
}();

void append_u4(std::string& out, std::uint32_t unit) {
  const char esc[6] = {
      '\\', 'u', kHex[unit >> 12 & 0xF], kHex[unit >> 8 & 0xF], kHex[unit >> 4 & 0xF], kHex[unit & 0xF]};
  out.append(esc, sizeof esc);
}

void append_escaped_cp(std::string& out, std::uint32_t cp) {
  if (cp >= 0x10000) {
    const std::uint32_t v = cp - 0x10000;
    append_u4(out, 0xD800 | v >> 10);
    append_u4(out, 0xDC00 | (v & 0x3FF));
  } else {
    append_u4(out, cp);
  }
}

void append_ascii_escape(std::string& out, unsigned char c) {
  const char e = kEscape[c];
  if (e == 'u') {
    append_u4(out, c);
  } else {
    const char esc[2] = {'\\', e};
    out.append(esc, 2);
  }
}

// Python's repr of a finite double into buf (at least 32 bytes); returns the length.
// std::to_chars in scientific form gives the shortest digits that read back the same (the
// closest such, as Python's dtoa mode 0 does); only the layout is Python's own.
std::size_t float_repr_into(double v, char* buf) {
  char sci[40];
  const auto res = std::to_chars(sci, sci + sizeof sci, v, std::chars_format::scientific);
  const char* p = sci;
  char* o = buf;
  if (*p == '-') *o++ = *p++;
  char digits[24];
  std::size_t nd = 0;
  for (; p < res.ptr && *p != 'e'; ++p)
    if (*p != '.') digits[nd++] = *p;
  int exp = 0;
  std::from_chars(p + 1 + (p[1] == '+'), res.ptr, exp);  // "e+16" / "e-05"

  if (exp >= -4 && exp < 16) {
    if (exp >= 0) {
      const std::size_t int_len = static_cast<std::size_t>(exp) + 1;
      for (std::size_t i = 0; i < int_len; ++i) *o++ = i < nd ? digits[i] : '0';
      *o++ = '.';
      if (nd > int_len) {
        for (std::size_t i = int_len; i < nd; ++i) *o++ = digits[i];
      } else {
        *o++ = '0';  // whole values keep ".0"
      }
    } else {
      *o++ = '0';
      *o++ = '.';
      for (int i = -1; i > exp; --i) *o++ = '0';
      for (std::size_t i = 0; i < nd; ++i) *o++ = digits[i];
    }
  } else {
    *o++ = digits[0];
    if (nd > 1) {
      *o++ = '.';
      for (std::size_t i = 1; i < nd; ++i) *o++ = digits[i];
    }
    *o++ = 'e';
    *o++ = exp < 0 ? '-' : '+';
    const int a = exp < 0 ? -exp : exp;
    if (a < 10) *o++ = '0';  // at least two exponent digits, as C's %e
    o = std::to_chars(o, buf + 32, a).ptr;
  }
  return static_cast<std::size_t>(o - buf);
}

void append_real(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v < 0 ? "-Infinity" : "Infinity";
  } else {
    char buf[32];
    out.append(buf, float_repr_into(v, buf));
  }
}

bool key_less(const Json::Member* a, const Json::Member* b) {
  const int c = std::string_view(a->first).compare(b->first);  // bytewise unsigned = code point order
  return c != 0 ? c < 0 : a < b;                               // equal keys (hand-made) keep their order
}

void dump_value(const Json& v, std::string& out, bool sort);

void dump_array(const Json& v, std::string& out, bool sort) {
  out.push_back('[');
  bool first = true;
  for (const Json& item : v.items()) {
    if (!first) out.append(", ", 2);
    first = false;
    dump_value(item, out, sort);
  }
  out.push_back(']');
}

void dump_member(const Json::Member& m, std::string& out, bool sort) {
  dump_python_string(m.first, &out);
  out.append(": ", 2);
  dump_value(m.second, out, sort);
}

void dump_object(const Json& v, std::string& out, bool sort) {
  const auto& members = v.members();
  out.push_back('{');
  if (sort && members.size() > 1) {
    std::vector<const Json::Member*> order;
    order.reserve(members.size());
    for (const auto& m : members) order.push_back(&m);
    std::sort(order.begin(), order.end(), key_less);
    for (std::size_t i = 0; i < order.size(); ++i) {
      if (i) out.append(", ", 2);
      dump_member(*order[i], out, sort);
    }
  } else {
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (i) out.append(", ", 2);
      dump_member(members[i], out, sort);
    }
  }
  out.push_back('}');
}

void dump_value(const Json& v, std::string& out, bool sort) {
  switch (v.kind()) {
    case Json::Kind::null:
      out.append("null", 4);
      break;
    case Json::Kind::boolean:
      v.as_bool() ? out.append("true", 4) : out.append("false", 5);
      break;
    case Json::Kind::integer:
      out += v.int_text();
      break;
    case Json::Kind::real:
      append_real(out, v.as_real());
      break;
    case Json::Kind::string:
      dump_python_string(v.as_string(), &out);
      break;
    case Json::Kind::array:
      dump_array(v, out, sort);
      break;
    case Json::Kind::object:
      dump_object(v, out, sort);
      break;
  }
}

// ---------------------------------------------------------------------------------------
// Reading

// Bytes a string's fast loop copies as they are: printable ASCII but '"' and '\\'.
constexpr std::array<bool, 256> kPlain = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[c] = true;
  t['"'] = false;
  t['\\'] = false;
  return t;
}();

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Removes the members dead(i) names, keeping the order of the rest.
template <class Dead>
void drop_members(std::vector<Json::Member>& m, Dead dead) {
  std::size_t w = 0;
  for (std::size_t i = 0; i < m.size(); ++i)
    if (!dead(i)) {
      if (w != i) m[w] = std::move(m[i]);
      ++w;
    }
  m.erase(m.begin() + static_cast<std::ptrdiff_t>(w), m.end());  // not resize(): see object()
}

// Python's dict assignment over the parsed members: a repeated key keeps its first place
// and takes the last value. Small objects (nearly all) compare pairwise with no allocation.
constexpr std::size_t kSmallObject = 16;

void merge_duplicates_small(std::vector<Json::Member>& m) {
  std::uint32_t dead = 0;
  for (std::size_t i = 1; i < m.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (!(dead >> j & 1) && m[j].first == m[i].first) {
        m[j].second = std::move(m[i].second);
        dead |= std::uint32_t{1} << i;
        break;
      }
  if (dead) drop_members(m, [&](std::size_t i) { return (dead >> i & 1) != 0; });
}

// Large objects sort indices by key, so that no input makes the merge quadratic.
void merge_duplicates_large(std::vector<Json::Member>& m) {
  const std::size_t n = m.size();
  std::vector<std::uint32_t> idx(n);
  for (std::size_t i = 0; i < n; ++i) idx[i] = static_cast<std::uint32_t>(i);
  std::sort(idx.begin(), idx.end(), [&](std::uint32_t a, std::uint32_t b) {
    const int c = m[a].first.compare(m[b].first);
    return c != 0 ? c < 0 : a < b;
  });
  std::vector<bool> dead;
  for (std::size_t s = 0; s < n;) {
    std::size_t e = s + 1;
    while (e < n && m[idx[e]].first == m[idx[s]].first) ++e;
    if (e - s > 1) {  // idx[s] is the first place (the sort is stable by index)
      m[idx[s]].second = std::move(m[idx[e - 1]].second);
      if (dead.empty()) dead.resize(n);
      for (std::size_t k = s + 1; k < e; ++k) dead[idx[k]] = true;
    }
    s = e;
  }
  if (!dead.empty()) drop_members(m, [&](std::size_t i) { return static_cast<bool>(dead[i]); });
}

void merge_duplicate_keys(std::vector<Json::Member>& m) {
  if (m.size() < 2) return;
  m.size() <= kSmallObject ? merge_duplicates_small(m) : merge_duplicates_large(m);
}

// A double from text the number grammar already matched. std::from_chars is correctly
// rounded and ignores the locale (strtod would not); it only refuses results out of range,
// which Python's float() turns into +-inf (overflow) or +-0.0 (underflow).
double to_double(const char* b, const char* e) {
  double d = 0;
  const auto r = std::from_chars(b, e, d);
  if (r.ec != std::errc::result_out_of_range) return d;
  // Decide by the decimal magnitude: the place of the first nonzero digit plus the exponent.
  const bool neg = *b == '-';
  const char* p = b + neg;
  long long mag = 0;  // 10^mag is about the value
  bool seen = false, frac = false;
  for (; p < e && *p != 'e' && *p != 'E'; ++p) {
    if (*p == '.') {
      frac = true;
    } else if (!seen && *p != '0') {
      seen = true;
    } else if (!seen && frac) {
      --mag;
    }
    if (seen && !frac && is_digit(*p)) ++mag;
  }
  long long ex = 0;
  if (p < e) {
    ++p;
    const bool eneg = *p == '-';
    if (*p == '-' || *p == '+') ++p;
    for (; p < e; ++p) ex = std::min<long long>(ex * 10 + (*p - '0'), 1'000'000'000'000LL);
    if (eneg) ex = -ex;
  }
  const double r0 = mag + ex > 0 ? std::numeric_limits<double>::infinity() : 0.0;
  return neg ? -r0 : r0;
}

class Parser {
 public:
  Parser(std::string_view text, const ParseLimits& limits)
      : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()), limits_(limits) {}

  ParseResult run() {
    ParseResult res;
    if (static_cast<std::size_t>(end_ - begin_) > limits_.max_bytes) {
      res.error = "input of " + std::to_string(end_ - begin_) + " bytes is over the limit of " +
                  std::to_string(limits_.max_bytes);
      return res;
    }
    Json v;
    skip_ws();
    if (value(v, 0)) {
      skip_ws();
      if (p_ == end_) {
        res.value = std::move(v);
        return res;
      }
      fail(p_, "extra data");
    }
    res.error = std::move(error_);
    return res;
  }

 private:
  bool fail(const char* at, const char* what) {
    // Python counts lines by '\n' and columns in characters, both from 1.
    std::size_t line = 1, col = 1;
    for (const char* q = begin_; q < at; ++q) {
      if (*q == '\n') {
        ++line;
        col = 1;
      } else if (!is_cont(static_cast<unsigned char>(*q))) {
        ++col;
      }
    }
    error_ = "line " + std::to_string(line) + " column " + std::to_string(col) + ": " + what;
    return false;
  }

  void skip_ws() {
    while (p_ < end_ && is_ws(*p_)) ++p_;
  }

  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() || std::memcmp(p_, word.data(), word.size()) != 0)
      return fail(p_, "expecting value");
    p_ += word.size();
    return true;
  }

  bool value(Json& out, std::size_t depth) {
    if (p_ == end_) return fail(p_, "expecting value");
    switch (*p_) {
      case '"': {
        std::string s;
        if (!string_body(s)) return false;
        out = Json::string(std::move(s));
        return true;
      }
      case '[':
        return array(out, depth + 1);
      case '{':
        return object(out, depth + 1);
      case 'n':
        return literal("null");  // out is null already
      case 't':
        if (!literal("true")) return false;
        out = Json::boolean(true);
        return true;
      case 'f':
        if (!literal("false")) return false;
        out = Json::boolean(false);
        return true;
      case 'N':
        if (!literal("NaN")) return false;
        out = Json::real(std::numeric_limits<double>::quiet_NaN());
        return true;
      case 'I':
        if (!literal("Infinity")) return false;
        out = Json::real(std::numeric_limits<double>::infinity());
        return true;
      case '-':
        if (p_ + 1 < end_ && p_[1] == 'I') {
          if (!literal("-Infinity")) return false;
          out = Json::real(-std::numeric_limits<double>::infinity());
          return true;
        }
        return number(out);
      default:
        return number(out);
    }
  }

  // Python's grammar: -?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?, where a '.' or an exponent
  // without digits after it is not part of the number (what follows then fails).
  bool number(Json& out) {
    const char* start = p_;
    const char* q = p_;
    if (q < end_ && *q == '-') ++q;
    if (q < end_ && *q == '0') {
      ++q;
    } else if (q < end_ && *q >= '1' && *q <= '9') {
      while (q < end_ && is_digit(*q)) ++q;
    } else {
      return fail(start, "expecting value");
    }
    const char* int_end = q;
    if (q + 1 < end_ && *q == '.' && is_digit(q[1])) {
      q += 2;
      while (q < end_ && is_digit(*q)) ++q;
    }
    if (q < end_ && (*q == 'e' || *q == 'E')) {
      const char* x = q + 1;
      if (x < end_ && (*x == '-' || *x == '+')) ++x;
      if (x < end_ && is_digit(*x)) {
        while (x < end_ && is_digit(*x)) ++x;
        q = x;
      }
    }
    p_ = q;
    if (q != int_end) {
      out = Json::real(to_double(start, q));
      return true;
    }
    const std::size_t digits = static_cast<std::size_t>(int_end - start) - (*start == '-');
    if (digits > limits_.max_int_digits) return fail(start, "integer has too many digits");
    out = Json::big_integer(std::string_view(start, static_cast<std::size_t>(int_end - start)));
    return true;
  }

  // At the opening quote; appends the decoded string (WTF-8) to out.
  bool string_body(std::string& out) {
    const char* open = p_++;
    for (;;) {
      const char* run = p_;
      while (p_ < end_) {
        const auto c = static_cast<unsigned char>(*p_);
        if (kPlain[c]) {
          ++p_;
        } else if (c >= 0x80) {
          std::uint32_t cp;
          const std::size_t n =
              utf8_seq(reinterpret_cast<const unsigned char*>(p_), reinterpret_cast<const unsigned char*>(end_), &cp);
          if (n == 0) return fail(p_, "invalid UTF-8");
          p_ += n;
        } else {
          break;
        }
      }
      out.append(run, p_);
      if (p_ == end_) return fail(open, "unterminated string");
      if (*p_ == '"') {
        ++p_;
        return true;
      }
      if (*p_ != '\\') return fail(p_, "invalid control character in string");
      if (!escape(out, open)) return false;
    }
  }

  // At a backslash inside a string.
  bool escape(std::string& out, const char* open) {
    const char* at = p_++;
    if (p_ == end_) return fail(open, "unterminated string");
    const char c = *p_++;
    switch (c) {
      case '"':
      case '\\':
      case '/':
        out.push_back(c);
        return true;
      case 'b':
        out.push_back('\b');
        return true;
      case 'f':
        out.push_back('\f');
        return true;
      case 'n':
        out.push_back('\n');
        return true;
      case 'r':
        out.push_back('\r');
        return true;
      case 't':
        out.push_back('\t');
        return true;
      case 'u':
        break;
      default:
        return fail(at, "invalid \\escape");
    }
    if (end_ - p_ < 4) return fail(at, "invalid \\uXXXX escape");
    const long u = hex4(p_);
    if (u < 0) return fail(at, "invalid \\uXXXX escape");
    p_ += 4;
    auto cp = static_cast<std::uint32_t>(u);
    // Only an escaped high surrogate directly followed by an escaped low one makes a pair.
    if (is_high_surrogate(cp) && end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u') {
      const long u2 = hex4(p_ + 2);
      if (u2 < 0) return fail(p_, "invalid \\uXXXX escape");
      if (is_low_surrogate(static_cast<std::uint32_t>(u2))) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (static_cast<std::uint32_t>(u2) - 0xDC00);
        p_ += 6;
      }
    }
    append_utf8(out, cp);
    return true;
  }

  bool too_deep(std::size_t depth) {
    if (depth <= limits_.max_depth) return false;
    fail(p_, ("nesting deeper than " + std::to_string(limits_.max_depth)).c_str());
    return true;
  }

  bool array(Json& out, std::size_t depth) {
    if (too_deep(depth)) return false;
    ++p_;
    std::vector<Json> items;
    skip_ws();
    if (p_ < end_ && *p_ == ']') {
      ++p_;
      out = Json::array();
      return true;
    }
    for (;;) {
      items.emplace_back();
      if (!value(items.back(), depth)) return false;
      skip_ws();
      if (p_ < end_ && *p_ == ']') break;
      if (p_ == end_ || *p_ != ',') return fail(p_, "expecting ',' delimiter");
      ++p_;
      skip_ws();
    }
    ++p_;
    out = Json::array(std::move(items));
    return true;
  }

  bool object(Json& out, std::size_t depth) {
    if (too_deep(depth)) return false;
    ++p_;
    std::vector<Json::Member> members;
    skip_ws();
    if (p_ < end_ && *p_ == '}') {
      ++p_;
      out = Json::object();
      return true;
    }
    for (;;) {
      if (p_ == end_ || *p_ != '"') return fail(p_, "expecting property name enclosed in double quotes");
      // Not emplace_back(): clang decides pair<string, Json>'s default constructor while Json
      // is still incomplete (in its own class body) and finds none.
      members.emplace_back(std::string(), Json());
      if (!string_body(members.back().first)) return false;
      skip_ws();
      if (p_ == end_ || *p_ != ':') return fail(p_, "expecting ':' delimiter");
      ++p_;
      skip_ws();
      if (!value(members.back().second, depth)) return false;
      skip_ws();
      if (p_ < end_ && *p_ == '}') break;
      if (p_ == end_ || *p_ != ',') return fail(p_, "expecting ',' delimiter");
      ++p_;
      skip_ws();
    }
    ++p_;
    merge_duplicate_keys(members);
    out = Json::object(std::move(members));
    return true;
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  const ParseLimits& limits_;
  std::string error_;
};

}  // namespace

// ---------------------------------------------------------------------------------------
// Json

Json Json::boolean(bool b) {
  Json j;
  j.kind_ = Kind::boolean;
  j.b_ = b;
  return j;
}

Json Json::integer(std::int64_t v) {
  Json j;
  j.kind_ = Kind::integer;
  j.s_ = std::to_string(v);
  return j;
}

Json Json::big_integer(std::string_view digits) {
  const bool neg = !digits.empty() && digits[0] == '-';
  const std::string_view body = digits.substr(neg ? 1 : 0);
  if (body.empty() || (body[0] == '0' && body.size() > 1)) return {};
  for (const char c : body)
    if (!is_digit(c)) return {};
  Json j;
  j.kind_ = Kind::integer;
  j.s_ = body == "0" ? std::string("0") : std::string(digits);  // "-0" is 0, as int("-0")
  return j;
}

Json Json::real(double v) {
  Json j;
  j.kind_ = Kind::real;
  j.d_ = v;
  return j;
}

Json Json::string(std::string wtf8) {
  Json j;
  j.kind_ = Kind::string;
  j.s_ = std::move(wtf8);
  return j;
}

Json Json::array(std::vector<Json> items) {
  Json j;
  j.kind_ = Kind::array;
  j.a_ = std::move(items);
  return j;
}

Json Json::object(std::vector<Member> members) {
  Json j;
  j.kind_ = Kind::object;
  j.o_ = std::move(members);
  return j;
}

std::optional<std::int64_t> Json::as_int64() const {
  if (kind_ != Kind::integer) return std::nullopt;
  std::int64_t v = 0;
  const auto r = std::from_chars(s_.data(), s_.data() + s_.size(), v);
  if (r.ec != std::errc() || r.ptr != s_.data() + s_.size()) return std::nullopt;
  return v;
}

double Json::as_double() const {
  if (kind_ == Kind::real) return d_;
  if (kind_ != Kind::integer) return 0;
  // Correctly rounded like Python's float(int); beyond the double range +-inf.
  return to_double(s_.data(), s_.data() + s_.size());
}

bool Json::truthy() const {
  switch (kind_) {
    case Kind::null:
      return false;
    case Kind::boolean:
      return b_;
    case Kind::integer:
      return s_ != "0";
    case Kind::real:
      return d_ != 0;  // NaN is true, as in Python
    case Kind::string:
      return !s_.empty();
    case Kind::array:
      return !a_.empty();
    case Kind::object:
      return !o_.empty();
  }
  return false;
}

const Json* Json::find(std::string_view key) const {
  for (const auto& m : o_)
    if (m.first == key) return &m.second;
  return nullptr;
}

Json* Json::find(std::string_view key) {
  for (auto& m : o_)
    if (m.first == key) return &m.second;
  return nullptr;
}

void Json::set(std::string key, Json value) {
  if (kind_ == Kind::null) kind_ = Kind::object;  // a default Json becomes {} first
  if (Json* existing = find(key)) {
    *existing = std::move(value);
  } else {
    o_.emplace_back(std::move(key), std::move(value));
  }
}

bool operator==(const Json& a, const Json& b) {
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case Json::Kind::null:
      return true;
    case Json::Kind::boolean:
      return a.b_ == b.b_;
    case Json::Kind::integer:
    case Json::Kind::string:
      return a.s_ == b.s_;
    case Json::Kind::real:
      // Structural: NaN equals NaN, and the sign of zero counts (json.dumps tells them apart).
      if (std::isnan(a.d_) || std::isnan(b.d_)) return std::isnan(a.d_) && std::isnan(b.d_);
      return a.d_ == b.d_ && std::signbit(a.d_) == std::signbit(b.d_);
    case Json::Kind::array:
      return a.a_ == b.a_;
    case Json::Kind::object:
      return a.o_ == b.o_;
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// Free functions

ParseResult parse_json(std::string_view text, const ParseLimits& limits) { return Parser(text, limits).run(); }

void dump_python(const Json& v, std::string* out, DumpOptions opt) { dump_value(v, *out, opt.sort_keys); }

std::string dump_python(const Json& v, DumpOptions opt) {
  std::string out;
  dump_value(v, out, opt.sort_keys);
  return out;
}

std::string python_float_repr(double v) {
  std::string out;
  append_real(out, v);
  return out;
}

void dump_python_string(std::string_view wtf8, std::string* out) {
  out->reserve(out->size() + wtf8.size() + 2);
  out->push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(wtf8.data());
  const auto* end = p + wtf8.size();
  while (p < end) {
    const auto* run = p;
    while (p < end && *p < 0x80 && kEscape[*p] == 0) ++p;
    out->append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
    if (p == end) break;
    if (*p < 0x80) {
      append_ascii_escape(*out, *p++);
      continue;
    }
    std::uint32_t cp;
    std::size_t n = utf8_seq(p, end, &cp);
    if (n == 0) {  // not WTF-8 (only a hand-made string can be): U+FFFD per bad byte
      cp = 0xFFFD;
      n = 1;
    }
    append_escaped_cp(*out, cp);
    p += n;
  }
  out->push_back('"');
}

}  // namespace hf::node
