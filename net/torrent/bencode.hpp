// Bencode (BEP 3), strict: the decoder refuses non-canonical integers ("i-0e", "i03e"),
// string lengths with leading zeros, duplicate dictionary keys, integers beyond 64 bits,
// trailing bytes, and input deeper or larger than its limits; dictionaries whose keys are not
// sorted are accepted with a warning (real torrents have them). Every value keeps the byte
// span it was read from, so an info-hash is computed over the original bytes, not over a
// re-encoding. The encoder always writes sorted keys. Pure code.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hf::torrent {

class BValue {
 public:
  enum class Kind : std::uint8_t { integer, string, list, dict };
  using Entry = std::pair<std::string, BValue>;

  BValue() = default;  // the integer 0
  static BValue integer(std::int64_t v);
  static BValue string(std::string bytes);
  static BValue list(std::vector<BValue> items = {});
  // Entries in any order; the encoder sorts them.
  static BValue dict(std::vector<Entry> entries = {});

  Kind kind() const { return kind_; }
  bool is_int() const { return kind_ == Kind::integer; }
  bool is_string() const { return kind_ == Kind::string; }
  bool is_list() const { return kind_ == Kind::list; }
  bool is_dict() const { return kind_ == Kind::dict; }

  std::int64_t as_int() const { return i_; }
  const std::string& as_string() const { return s_; }
  const std::vector<BValue>& items() const { return l_; }
  std::vector<BValue>& items() { return l_; }
  const std::vector<Entry>& entries() const { return d_; }
  std::vector<Entry>& entries() { return d_; }

  // Dictionaries: the value of a key, or nullptr.
  const BValue* find(std::string_view key) const;
  // Dictionaries: replaces the value of an existing key, or adds it.
  void set(std::string key, BValue v);
  void push(BValue v) { l_.push_back(std::move(v)); }

  // Where a decoded value was read from: [begin, end) in the decoder's input.
  std::size_t begin() const { return begin_; }
  std::size_t end() const { return end_; }

  friend bool operator==(const BValue& a, const BValue& b);

 private:
  friend class Decoder;
  Kind kind_ = Kind::integer;
  std::int64_t i_ = 0;
  std::string s_;
  std::vector<BValue> l_;
  std::vector<Entry> d_;
  std::size_t begin_ = 0, end_ = 0;
};

struct DecodeLimits {
  std::size_t max_depth = 64;         // lists and dictionaries nested deeper are refused
  std::size_t max_bytes = 64u << 20;  // input longer than this is refused
  std::size_t max_items = 4'000'000;  // values in all, so a flood of tiny ones is bounded
};

struct DecodeResult {
  std::optional<BValue> value;
  std::string error;                  // one line with the byte offset, when value is empty
  std::vector<std::string> warnings;  // accepted oddities ("keys not sorted at offset 12")
};

DecodeResult bdecode(std::string_view in, const DecodeLimits& limits = {});
// One value from the front of `in`, whatever follows it (value->end() says where it
// stopped): for messages where raw bytes follow a bencoded header (BEP 9's data). Only the
// first limits.max_bytes bytes are looked at.
DecodeResult bdecode_prefix(std::string_view in, const DecodeLimits& limits = {});

// Canonical bencode: dictionary keys sorted as raw bytes. Keys appearing twice in a built
// value are written once (the last).
std::string bencode(const BValue& v);
void bencode(const BValue& v, std::string* out);

}  // namespace hf::torrent
