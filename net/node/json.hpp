// JSON as Python's json module reads and writes it, so that a block hashed here gives the
// same bytes, and the same hash, as `json.dumps(block, sort_keys=True)` in the seed node.
// Pure code.
//
// Reading follows json.loads on a request body (Flask's get_json): UTF-8 input (encoded
// surrogates are accepted as lone surrogates, like Python's "surrogatepass"), the literals
// NaN, Infinity and -Infinity, integers of any size up to 4,300 digits (Python refuses
// longer ones), numbers with a fraction or exponent as doubles (1E400 becomes Infinity),
// duplicate keys keeping the first key's place and the last value, control characters
// refused inside strings, nothing but whitespace after the value. Depth and size are capped.
//
// Strings are held as WTF-8: UTF-8 that may also encode lone surrogates (U+D800..U+DFFF as
// three bytes), so every Python str a peer can send survives a round trip.
//
// Writing follows json.dumps with its defaults: separators ", " and ": ", ensure_ascii
// (\" \\ \n \r \t \b \f, other characters below U+0020 and U+007F as \u00XX, every
// non-ASCII character as \uXXXX in lowercase hex, astral characters as surrogate pairs),
// '/' not escaped, floats as Python's repr, NaN / Infinity / -Infinity; keys in insertion
// order, or sorted by code point at every depth with sort_keys.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hf::node {

class Json {
 public:
  enum class Kind : std::uint8_t { null, boolean, integer, real, string, array, object };
  using Member = std::pair<std::string, Json>;

  Json() = default;  // null
  static Json boolean(bool b);
  static Json integer(std::int64_t v);
  // A decimal integer of any size: optional '-', digits, no leading zeros ("-0" is 0).
  // Returns null Json when `digits` is not such a number.
  static Json big_integer(std::string_view digits);
  static Json real(double v);
  static Json string(std::string wtf8);
  static Json array(std::vector<Json> items = {});
  static Json object(std::vector<Member> members = {});

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::null; }
  bool is_bool() const { return kind_ == Kind::boolean; }
  bool is_int() const { return kind_ == Kind::integer; }
  bool is_real() const { return kind_ == Kind::real; }
  bool is_number() const { return is_int() || is_real(); }
  bool is_string() const { return kind_ == Kind::string; }
  bool is_array() const { return kind_ == Kind::array; }
  bool is_object() const { return kind_ == Kind::object; }

  bool as_bool() const { return b_; }
  // The integer's canonical decimal text (no '+', no leading zeros, "0" for zero).
  const std::string& int_text() const { return s_; }
  // The integer when it fits in int64.
  std::optional<std::int64_t> as_int64() const;
  double as_real() const { return d_; }
  // Either kind of number as a double (a huge integer rounds; beyond the double range it
  // is +-inf, as Python's float() would refuse).
  double as_double() const;
  const std::string& as_string() const { return s_; }
  const std::vector<Json>& items() const { return a_; }
  std::vector<Json>& items() { return a_; }
  const std::vector<Member>& members() const { return o_; }
  std::vector<Member>& members() { return o_; }

  // Python's truth value: false, null, 0, 0.0, "", [] and {} are false.
  bool truthy() const;

  // Objects: the value of a key, or nullptr.
  const Json* find(std::string_view key) const;
  Json* find(std::string_view key);
  // Objects: d[key] = value (an existing key keeps its place, as in a Python dict).
  void set(std::string key, Json value);
  // Arrays.
  void push(Json v) { a_.push_back(std::move(v)); }

  // Structural equality (1 and 1.0 differ; object member order matters).
  friend bool operator==(const Json& a, const Json& b);

 private:
  Kind kind_ = Kind::null;
  bool b_ = false;
  double d_ = 0;
  std::string s_;  // string (WTF-8) or integer text
  std::vector<Json> a_;
  std::vector<Member> o_;
};

struct ParseLimits {
  std::size_t max_depth = 64;                // arrays and objects nested deeper are refused
  std::size_t max_bytes = 16 * 1024 * 1024;  // input longer than this is refused
  std::size_t max_int_digits = 4300;         // Python's int_max_str_digits default
};

struct ParseResult {
  std::optional<Json> value;
  std::string error;  // one line, when value is empty: "line 1 column 5: expecting value"
};

ParseResult parse_json(std::string_view text, const ParseLimits& limits = {});

struct DumpOptions {
  bool sort_keys = false;
};

// json.dumps(value) (or with sort_keys=True), appended to *out.
void dump_python(const Json& v, std::string* out, DumpOptions opt = {});
std::string dump_python(const Json& v, DumpOptions opt = {});

// repr(float): the shortest digits that read back as the same double; fixed notation for
// decimal exponents -4..15 ("0.0001", "1234.5", "1e+16" and "1e-05" outside), whole values
// keep ".0", -0.0 stays "-0.0"; "NaN", "Infinity", "-Infinity" as json.dumps writes them.
std::string python_float_repr(double v);

// A WTF-8 string escaped as json.dumps writes it (with the quotes), appended to *out.
void dump_python_string(std::string_view wtf8, std::string* out);

}  // namespace hf::node
