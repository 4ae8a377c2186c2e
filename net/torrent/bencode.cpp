#include "net/torrent/bencode.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <unordered_set>

namespace hf::torrent {

BValue BValue::integer(std::int64_t v) {
  BValue b;
  b.kind_ = Kind::integer;
  b.i_ = v;
  return b;
}

BValue BValue::string(std::string bytes) {
  BValue b;
  b.kind_ = Kind::string;
  b.s_ = std::move(bytes);
  return b;
}

BValue BValue::list(std::vector<BValue> items) {
  BValue b;
  b.kind_ = Kind::list;
  b.l_ = std::move(items);
  return b;
}

BValue BValue::dict(std::vector<Entry> entries) {
  BValue b;
  b.kind_ = Kind::dict;
  b.d_ = std::move(entries);
  return b;
}

const BValue* BValue::find(std::string_view key) const {
  for (const auto& [k, v] : d_)
    if (k == key) return &v;
  return nullptr;
}

void BValue::set(std::string key, BValue v) {
  for (auto& [k, old] : d_)
    if (k == key) {
      old = std::move(v);
      return;
    }
  d_.emplace_back(std::move(key), std::move(v));
}

bool operator==(const BValue& a, const BValue& b) {
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case BValue::Kind::integer:
      return a.i_ == b.i_;
    case BValue::Kind::string:
      return a.s_ == b.s_;
    case BValue::Kind::list:
      return a.l_ == b.l_;
    case BValue::Kind::dict:
      return a.d_ == b.d_;
  }
  return false;
}

// A recursive-descent reader; depth is bounded by the limits, so recursion is too.
class Decoder {
 public:
  Decoder(std::string_view in, const DecodeLimits& lim, DecodeResult* out) : in_(in), lim_(lim), out_(out) {}

  bool run(BValue* v, bool prefix = false) {
    if (!prefix && in_.size() > lim_.max_bytes)
      return fail(0, "input larger than " + std::to_string(lim_.max_bytes) + " bytes");
    if (prefix && in_.size() > lim_.max_bytes) in_ = in_.substr(0, lim_.max_bytes);
    if (!value(v, 0)) return false;
    if (!prefix && pos_ != in_.size()) return fail(pos_, "trailing bytes after the value");
    return true;
  }

 private:
  bool fail(std::size_t at, const std::string& why) {
    out_->error = "offset " + std::to_string(at) + ": " + why;
    return false;
  }

  bool value(BValue* v, std::size_t depth) {
    if (++items_ > lim_.max_items) return fail(pos_, "more than " + std::to_string(lim_.max_items) + " values");
    if (pos_ >= in_.size()) return fail(pos_, "truncated: a value was expected");
    v->begin_ = pos_;
    char c = in_[pos_];
    bool ok;
    if (c == 'i')
      ok = integer(v);
    else if (c >= '0' && c <= '9')
      ok = string(&v->s_), v->kind_ = BValue::Kind::string;
    else if (c == 'l')
      ok = list(v, depth);
    else if (c == 'd')
      ok = dict(v, depth);
    else
      return fail(pos_,
                  std::string("unexpected byte 0x") + "0123456789abcdef"[(c >> 4) & 15] + "0123456789abcdef"[c & 15]);
    v->end_ = pos_;
    return ok;
  }

  bool integer(BValue* v) {
    std::size_t start = pos_++;
    bool negative = pos_ < in_.size() && in_[pos_] == '-';
    if (negative) ++pos_;
    std::size_t digits = pos_;
    while (pos_ < in_.size() && in_[pos_] >= '0' && in_[pos_] <= '9') ++pos_;
    std::size_t n = pos_ - digits;
    if (pos_ >= in_.size()) return fail(start, "truncated integer");
    if (in_[pos_] != 'e') return fail(pos_, "an integer ends with 'e'");
    if (n == 0) return fail(start, "an integer needs digits");
    if (in_[digits] == '0' && (n > 1 || negative)) return fail(start, "non-canonical integer (leading zero or -0)");
    // Accumulate as negative: the most negative int64 has no positive twin.
    std::int64_t acc = 0;
    for (std::size_t i = digits; i < pos_; ++i) {
      int d = in_[i] - '0';
      if (acc < (INT64_MIN + d) / 10) return fail(start, "integer beyond 64 bits");
      acc = acc * 10 - d;
    }
    if (!negative) {
      if (acc == INT64_MIN) return fail(start, "integer beyond 64 bits");
      acc = -acc;
    }
    ++pos_;  // 'e'
    v->kind_ = BValue::Kind::integer;
    v->i_ = acc;
    return true;
  }

  bool string(std::string* out) {
    std::size_t start = pos_;
    std::size_t len = 0;
    while (pos_ < in_.size() && in_[pos_] >= '0' && in_[pos_] <= '9') {
      if (len > (in_.size() / 10) + 1) return fail(start, "string length beyond the input");
      len = len * 10 + static_cast<std::size_t>(in_[pos_] - '0');
      ++pos_;
    }
    if (pos_ >= in_.size()) return fail(start, "truncated string length");
    if (in_[pos_] != ':') return fail(pos_, "a string length ends with ':'");
    if (pos_ - start > 1 && in_[start] == '0') return fail(start, "non-canonical string length (leading zero)");
    ++pos_;
    if (len > in_.size() - pos_) return fail(start, "truncated string: " + std::to_string(len) + " bytes announced");
    out->assign(in_.substr(pos_, len));
    pos_ += len;
    return true;
  }

  bool list(BValue* v, std::size_t depth) {
    if (depth >= lim_.max_depth) return fail(pos_, "nested deeper than " + std::to_string(lim_.max_depth));
    ++pos_;
    v->kind_ = BValue::Kind::list;
    while (pos_ < in_.size() && in_[pos_] != 'e') {
      v->l_.emplace_back();
      if (!value(&v->l_.back(), depth + 1)) return false;
    }
    if (pos_ >= in_.size()) return fail(v->begin_, "truncated list");
    ++pos_;
    return true;
  }

  bool dict(BValue* v, std::size_t depth) {
    if (depth >= lim_.max_depth) return fail(pos_, "nested deeper than " + std::to_string(lim_.max_depth));
    ++pos_;
    v->kind_ = BValue::Kind::dict;
    bool sorted = true;
    std::string key;
    // Keys of an unsorted dictionary, as views into the input (stable, unlike the copies),
    // so that finding a duplicate stays linear however many keys there are.
    std::unordered_set<std::string_view> seen;
    while (pos_ < in_.size() && in_[pos_] != 'e') {
      std::size_t at = pos_;
      if (in_[pos_] < '0' || in_[pos_] > '9') return fail(pos_, "a dictionary key must be a string");
      if (!string(&key)) return false;
      std::string_view raw = in_.substr(pos_ - key.size(), key.size());
      if (sorted && !v->d_.empty() && !(v->d_.back().first < key)) {
        if (v->d_.back().first == key) return fail(at, "duplicate dictionary key");
        sorted = false;
        std::size_t p = v->begin_ + 1;  // re-read the earlier keys' spans
        for (const auto& e : v->d_) {
          p = in_.find(':', p) + 1;
          seen.insert(in_.substr(p, e.first.size()));
          p = e.second.end_;
        }
      }
      if (!sorted && !seen.insert(raw).second) return fail(at, "duplicate dictionary key");
      v->d_.emplace_back(std::move(key), BValue());
      if (!value(&v->d_.back().second, depth + 1)) return false;
    }
    if (pos_ >= in_.size()) return fail(v->begin_, "truncated dictionary");
    ++pos_;
    if (!sorted) out_->warnings.push_back("dictionary keys not sorted at offset " + std::to_string(v->begin_));
    return true;
  }

  std::string_view in_;
  const DecodeLimits& lim_;
  DecodeResult* out_;
  std::size_t pos_ = 0;
  std::size_t items_ = 0;
};

DecodeResult bdecode(std::string_view in, const DecodeLimits& limits) {
  DecodeResult r;
  BValue v;
  Decoder d(in, limits, &r);
  if (d.run(&v)) r.value = std::move(v);
  return r;
}

DecodeResult bdecode_prefix(std::string_view in, const DecodeLimits& limits) {
  DecodeResult r;
  BValue v;
  Decoder d(in, limits, &r);
  if (d.run(&v, true)) r.value = std::move(v);
  return r;
}

void bencode(const BValue& v, std::string* out) {
  switch (v.kind()) {
    case BValue::Kind::integer:
      *out += 'i';
      *out += std::to_string(v.as_int());
      *out += 'e';
      return;
    case BValue::Kind::string:
      *out += std::to_string(v.as_string().size());
      *out += ':';
      *out += v.as_string();
      return;
    case BValue::Kind::list:
      *out += 'l';
      for (const auto& i : v.items()) bencode(i, out);
      *out += 'e';
      return;
    case BValue::Kind::dict: {
      std::vector<const BValue::Entry*> order;
      order.reserve(v.entries().size());
      for (const auto& e : v.entries()) order.push_back(&e);
      std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->first < b->first; });
      *out += 'd';
      for (std::size_t i = 0; i < order.size(); ++i) {
        if (i + 1 < order.size() && order[i + 1]->first == order[i]->first) continue;  // the last one wins
        *out += std::to_string(order[i]->first.size());
        *out += ':';
        *out += order[i]->first;
        bencode(order[i]->second, out);
      }
      *out += 'e';
      return;
    }
  }
}

std::string bencode(const BValue& v) {
  std::string out;
  bencode(v, &out);
  return out;
}

}  // namespace hf::torrent
