// Shared helpers for the hashforge tests.
//
// OpenSSL's libcrypto (EVP API) is the independent oracle for every digest. The small pieces a
// test needs besides digests (hex text, nonce text, 256-bit comparison numbers, the message
// with a nonce written in) are re-implemented here from their definitions, so that no
// expected value is ever computed by the engine code under test.
#pragma once
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "hashforge/engine.hpp"

namespace hft {

using Bytes = std::vector<std::uint8_t>;
// A 256-bit number as 32 big-endian bytes: std::array's lexicographic order is numeric order.
using Num = std::array<std::uint8_t, 32>;

// ---- deterministic pseudo-random data (splitmix64) ----
struct Rng {
  std::uint64_t s;
  explicit Rng(std::uint64_t seed) : s(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return next() % n; }
  void fill(std::uint8_t* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<std::uint8_t>(next() >> 56);
  }
  Bytes bytes(std::size_t n) {
    Bytes b(n);
    fill(b.data(), n);
    return b;
  }
};

// ---- OpenSSL oracle ----
class Ossl {
 public:
  static Ossl& get() {
    thread_local Ossl o;
    return o;
  }
  hf::Digest digest(hf::Algo algo, const std::uint8_t* p, std::size_t n) {
    hf::Digest d;
    unsigned len = 0;
    one(algo == hf::Algo::sha1 ? sha1_ : sha256_, p, n, d.bytes.data(), &len);
    if (algo == hf::Algo::sha256d) {
      std::uint8_t first[32];
      std::memcpy(first, d.bytes.data(), 32);
      one(sha256_, first, 32, d.bytes.data(), &len);
    }
    d.size = static_cast<std::uint8_t>(len);
    return d;
  }
  Ossl(const Ossl&) = delete;
  Ossl& operator=(const Ossl&) = delete;
  ~Ossl() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(sha1_);
    EVP_MD_free(sha256_);
  }

 private:
  Ossl()
      : ctx_(EVP_MD_CTX_new()),
        sha1_(EVP_MD_fetch(nullptr, "SHA1", nullptr)),
        sha256_(EVP_MD_fetch(nullptr, "SHA256", nullptr)) {
    if (!ctx_ || !sha1_ || !sha256_) throw std::runtime_error("OpenSSL: cannot fetch SHA1/SHA256");
  }
  void one(const EVP_MD* md, const std::uint8_t* p, std::size_t n, std::uint8_t* out, unsigned* len) {
    if (EVP_DigestInit_ex2(ctx_, md, nullptr) != 1 || EVP_DigestUpdate(ctx_, p, n) != 1 ||
        EVP_DigestFinal_ex(ctx_, out, len) != 1)
      throw std::runtime_error("OpenSSL digest failed");
  }
  EVP_MD_CTX* ctx_;
  EVP_MD* sha1_;
  EVP_MD* sha256_;
};

inline hf::Digest ossl(hf::Algo algo, const std::uint8_t* p, std::size_t n) { return Ossl::get().digest(algo, p, n); }
inline hf::Digest ossl(hf::Algo algo, hf::ByteView v) { return ossl(algo, v.data(), v.size()); }
inline hf::Digest ossl(hf::Algo algo, const Bytes& b) { return ossl(algo, b.data(), b.size()); }
inline hf::Digest ossl(hf::Algo algo, std::string_view s) {
  return ossl(algo, reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

// ---- hex (test-side) ----
inline std::string hex(const std::uint8_t* p, std::size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}
inline std::string hex(const hf::Digest& d) { return hex(d.bytes.data(), d.size); }
inline std::string hex(const Bytes& b) { return hex(b.data(), b.size()); }
inline std::string hex(const Num& n) { return hex(n.data(), n.size()); }
inline Bytes unhex(std::string_view s) {
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::invalid_argument("bad hex in test data");
  };
  if (s.size() % 2) throw std::invalid_argument("odd hex in test data");
  Bytes b(s.size() / 2);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(nib(s[2 * i]) << 4 | nib(s[2 * i + 1]));
  return b;
}
inline Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

// ---- 256-bit comparison numbers ----
// The digest as a number in the given order: digest order reads it big-endian; Bitcoin's
// order reads it little-endian (so its big-endian bytes are the digest reversed).
inline Num num_of(const hf::Digest& d, hf::ByteOrder o) {
  Num n{};
  for (int i = 0; i < 32; ++i) n[i] = o == hf::ByteOrder::digest ? d.bytes[i] : d.bytes[31 - i];
  return n;
}
inline Num num_from_hex(std::string_view s) {
  Bytes b = unhex(s);
  if (b.size() != 32) throw std::invalid_argument("need 64 hex digits");
  Num n{};
  std::copy(b.begin(), b.end(), n.begin());
  return n;
}
inline Num num_of_key(const hf::Key& k) {
  Num n{};
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 4; ++j) n[4 * i + j] = static_cast<std::uint8_t>(k.w[i] >> (24 - 8 * j));
  return n;
}
inline hf::Key key_of_num(const Num& n) {
  hf::Key k;
  for (int i = 0; i < 8; ++i)
    k.w[i] = std::uint32_t(n[4 * i]) << 24 | std::uint32_t(n[4 * i + 1]) << 16 | std::uint32_t(n[4 * i + 2]) << 8 |
             n[4 * i + 3];
  return k;
}
inline hf::Key key_from_hex(std::string_view s) { return key_of_num(num_from_hex(s)); }
inline std::string key_hex(const hf::Key& k) { return hex(num_of_key(k)); }
inline Num num_shr1(Num n) {
  for (int i = 31; i >= 0; --i) n[i] = static_cast<std::uint8_t>(n[i] >> 1 | (i > 0 ? n[i - 1] << 7 : 0));
  return n;
}
inline Num num_shl1(Num n) {
  for (int i = 0; i < 32; ++i) n[i] = static_cast<std::uint8_t>(n[i] << 1 | (i < 31 ? n[i + 1] >> 7 : 0));
  return n;
}

// ---- backends ----
// Every CPU backend the engine knows (its catalog), usable here or not: the parameterised
// suites run on each and skip with the reason where it is not usable.
inline const std::vector<std::string>& backend_names() {
  static const std::vector<std::string> v = [] {
    std::vector<std::string> names;
    for (const hf::BackendStatus& s : hf::Engine::instance().backends())
      if (!s.device) names.push_back(s.name);
    return names;
  }();
  return v;
}
inline std::string why_unusable(const std::string& name) {
  for (const hf::BackendStatus& s : hf::Engine::instance().backends()) {
    if (s.name != name) continue;
    if (!s.available) return "unavailable: " + s.why_unavailable;
    if (!s.selftest_ok) return "self-test: " + s.selftest;
    return "usable";
  }
  return "no such device (" + hf::Engine::instance().devices_note() + ")";
}
inline unsigned lanes_of(const std::string& name) {
  for (const hf::BackendStatus& s : hf::Engine::instance().backends())
    if (s.name == name) return s.lanes;
  return 0;
}
// Test names allow only letters, digits and '_': "opencl:0" becomes "opencl_0", "shani-sse"
// "shani_sse".
inline std::string param_name(const ::testing::TestParamInfo<std::string>& i) {
  std::string n = i.param;
  for (char& c : n)
    if (c == ':' || c == '-') c = '_';
  return n;
}
// The device backends the parameterised suites also run on; each skips with the reason
// where its device is not usable.
inline const std::vector<std::string>& device_names() {
  static const std::vector<std::string> v{"opencl:0", "cuda:0"};
  return v;
}

#define HFT_REQUIRE_BACKEND(name)                                                              \
  do {                                                                                         \
    if (auto st = hf::Engine::instance().backend(name); !st || !st->usable())                  \
      GTEST_SKIP() << "backend " << (name) << " not usable here: " << hft::why_unusable(name); \
  } while (0)

// ---- nonce text and messages, from the encodings' definitions ----
inline std::size_t ref_width(hf::Encoding e, std::size_t width, std::uint64_t n) {
  switch (e) {
    case hf::Encoding::u32le:
    case hf::Encoding::u32be:
      return 4;
    case hf::Encoding::u64le:
      return 8;
    case hf::Encoding::hex:
      return width ? width : 8;
    case hf::Encoding::dec:
      return width ? width : std::to_string(n).size();
  }
  return 0;
}

inline Bytes encode_ref(hf::Encoding e, std::size_t width, std::uint64_t n) {
  Bytes out;
  switch (e) {
    case hf::Encoding::u32le:
      if (n > 0xffffffffull) throw std::invalid_argument("u32 overflow");
      for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
      break;
    case hf::Encoding::u32be:
      if (n > 0xffffffffull) throw std::invalid_argument("u32 overflow");
      for (int i = 3; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
      break;
    case hf::Encoding::u64le:
      for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
      break;
    case hf::Encoding::hex: {
      const std::size_t w = width ? width : 8;
      char buf[32];
      std::snprintf(buf, sizeof buf, "%0*llx", static_cast<int>(w), static_cast<unsigned long long>(n));
      if (std::strlen(buf) != w) throw std::invalid_argument("hex overflow");
      out.assign(buf, buf + w);
      break;
    }
    case hf::Encoding::dec: {
      char buf[32];
      if (width)
        std::snprintf(buf, sizeof buf, "%0*llu", static_cast<int>(width), static_cast<unsigned long long>(n));
      else
        std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(n));
      if (width && std::strlen(buf) != width) throw std::invalid_argument("dec overflow");
      out.assign(buf, buf + std::strlen(buf));
      break;
    }
  }
  return out;
}

// The message hashed for nonce n: fixed-width fields overwrite the template's bytes at the
// offset; varying-width decimal digits are inserted there.
inline Bytes message_ref(const Bytes& tmpl, const hf::NonceField& f, std::uint64_t n) {
  const Bytes text = encode_ref(f.encoding, f.width, n);
  Bytes m = tmpl;
  if (f.encoding == hf::Encoding::dec && f.width == 0) {
    m.insert(m.begin() + static_cast<std::ptrdiff_t>(f.offset), text.begin(), text.end());
  } else {
    if (f.offset + text.size() > m.size()) throw std::invalid_argument("field outside template");
    std::copy(text.begin(), text.end(), m.begin() + static_cast<std::ptrdiff_t>(f.offset));
  }
  return m;
}

inline hf::Hit hit_ref(const hf::SearchJob& job, std::uint64_t n) {
  hf::Hit h;
  h.nonce = n;
  h.digest = ossl(job.algo, message_ref(job.message, job.nonce, n));
  h.key = key_of_num(num_of(h.digest, job.order));
  return h;
}

// Brute force over the whole range (or `only`, a list of ranges): every hit (no cap) in nonce
// order, and the best (lowest number, the lowest nonce on ties).
struct Expected {
  std::vector<hf::Hit> hits;
  std::optional<hf::Hit> best;
};
inline Expected brute_force(const hf::SearchJob& job, const std::vector<hf::NonceRange>* only = nullptr) {
  Expected e;
  const Num target = num_of_key(job.target);
  std::optional<Num> best_num;
  std::vector<hf::NonceRange> ranges = only ? *only : std::vector<hf::NonceRange>{job.range};
  for (const hf::NonceRange& r : ranges) {
    for (std::uint64_t i = 0; i < r.count; ++i) {
      const std::uint64_t n = r.first + i;
      hf::Hit h;
      h.nonce = n;
      h.digest = ossl(job.algo, message_ref(job.message, job.nonce, n));
      const Num num = num_of(h.digest, job.order);
      h.key = key_of_num(num);
      if (job.goal == hf::Goal::below_target) {
        if (num <= target) e.hits.push_back(h);
      } else if (!best_num || num < *best_num) {
        best_num = num;
        e.best = h;
      }
    }
  }
  return e;
}

inline ::testing::AssertionResult same_hit(const hf::Hit& got, const hf::Hit& want) {
  if (got.nonce == want.nonce && got.digest == want.digest && got.key == want.key) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got nonce " << got.nonce << " digest " << hex(got.digest) << " key "
                                       << key_hex(got.key) << "; want nonce " << want.nonce << " digest "
                                       << hex(want.digest) << " key " << key_hex(want.key);
}

inline ::testing::AssertionResult same_hits(const std::vector<hf::Hit>& got, const std::vector<hf::Hit>& want) {
  if (got.size() != want.size()) {
    auto r = ::testing::AssertionFailure() << "got " << got.size() << " hits, want " << want.size() << ":";
    for (std::size_t i = 0; i < std::min<std::size_t>(got.size(), 8); ++i) r << " got#" << i << "=" << got[i].nonce;
    for (std::size_t i = 0; i < std::min<std::size_t>(want.size(), 8); ++i) r << " want#" << i << "=" << want[i].nonce;
    return r;
  }
  for (std::size_t i = 0; i < got.size(); ++i)
    if (auto r = same_hit(got[i], want[i]); !r)
      return ::testing::AssertionFailure() << "hit " << i << ": " << r.message();
  return ::testing::AssertionSuccess();
}

inline std::string describe(const hf::SearchJob& j) {
  std::string s = std::string(hf::algo_name(j.algo)) + " " + hf::encoding_name(j.nonce.encoding) + " w" +
                  std::to_string(j.nonce.width) + " @" + std::to_string(j.nonce.offset) + " len " +
                  std::to_string(j.message.size()) + " range " + std::to_string(j.range.first) + "+" +
                  std::to_string(j.range.count) + (j.order == hf::ByteOrder::bitcoin ? " bitcoin" : " digest") +
                  (j.goal == hf::Goal::best ? " best" : " below_target");
  return s;
}

// Covered ranges are sorted, disjoint, non-adjacent (merged), non-empty and inside `within`.
// Nonces searched per backend, from a search's coverage record; fails unless the chunks run
// in nonce order, each starting where the last ended, from range.first to its end: no gap
// and no overlap.
inline ::testing::AssertionResult chunks_tile(const hf::SearchResult& r, hf::NonceRange range,
                                              std::map<std::string, std::uint64_t>* per_backend) {
  std::uint64_t next = range.first;
  for (const hf::ChunkRecord& c : r.chunks) {
    if (c.range.first != next)
      return ::testing::AssertionFailure() << "chunk at " << c.range.first << ", expected " << next;
    next += c.range.count;
    (*per_backend)[c.backend] += c.range.count;
  }
  if (next != range.first + range.count) return ::testing::AssertionFailure() << "chunks end at " << next;
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult covered_ok(const std::vector<hf::NonceRange>& cov, std::uint64_t hashes,
                                             hf::NonceRange within) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < cov.size(); ++i) {
    if (cov[i].count == 0) return ::testing::AssertionFailure() << "empty covered range " << i;
    if (cov[i].first < within.first || cov[i].last() > within.last())
      return ::testing::AssertionFailure() << "covered range " << i << " outside the job's range";
    if (i > 0 && cov[i - 1].first + cov[i - 1].count >= cov[i].first)
      return ::testing::AssertionFailure()
             << "covered ranges " << i - 1 << " and " << i << " overlap, touch or are out of order";
    sum += cov[i].count;
  }
  if (sum != hashes) return ::testing::AssertionFailure() << "covered sum " << sum << " != hashes " << hashes;
  return ::testing::AssertionSuccess();
}

}  // namespace hft
