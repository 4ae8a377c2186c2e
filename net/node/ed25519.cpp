#include "net/node/ed25519.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <memory>
#include <string>
#include <unordered_map>

#include "hashforge/hex.hpp"

namespace hf::node {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// OpenSSL 3 imports a raw key and fetches the algorithm on every EVP_Digest*Init, about an
// eighth of a verification's cost, and importing a private key derives its public half, as
// dear as a signature. Accounts recur, so each thread keeps a context per key, initialised
// once; Ed25519's one-shot EVP_DigestSign/Verify keeps no state between calls. Bounded: a
// full cache is emptied (a flood of fresh keys costs the uncached path, no more).
class CtxCache {
 public:
  // The context for `key`, made by make() when missing (nullptr if that fails).
  template <class Make>
  EVP_MD_CTX* get(const std::array<std::uint8_t, 32>& key, Make make) {
    const std::string k(reinterpret_cast<const char*>(key.data()), key.size());
    if (auto it = map_.find(k); it != map_.end()) return it->second.get();
    MdCtx ctx = make();
    if (!ctx) return nullptr;
    if (map_.size() >= kMax) map_.clear();
    return map_.emplace(k, std::move(ctx)).first->second.get();
  }

 private:
  static constexpr std::size_t kMax = 1024;
  std::unordered_map<std::string, MdCtx> map_;
};

MdCtx verify_ctx(const PublicKey& pub) {
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pub.data(), pub.size()));
  MdCtx ctx(EVP_MD_CTX_new());
  // The context holds its own reference to the key.
  if (!key || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) return nullptr;
  return ctx;
}

MdCtx sign_ctx(const std::array<std::uint8_t, 32>& seed) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  MdCtx ctx(EVP_MD_CTX_new());
  if (!key || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) return nullptr;
  return ctx;
}

bool verify_with(EVP_MD_CTX* ctx, std::string_view message, const Signature& sig) {
  return EVP_DigestVerify(ctx, sig.data(), sig.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

bool sign_with(EVP_MD_CTX* ctx, std::string_view message, Signature* sig) {
  std::size_t len = sig->size();
  return EVP_DigestSign(ctx, sig->data(), &len, reinterpret_cast<const unsigned char*>(message.data()),
                        message.size()) == 1 &&
         len == sig->size();
}

// Whether this OpenSSL lets one initialised context sign and verify again and again (3.0
// does; checked once, so a library that refuses reuse costs speed, never a wrong answer).
bool contexts_reusable() {
  static const bool ok = [] {
    std::array<std::uint8_t, 32> seed{};
    seed[0] = 1;
    auto k = keypair_from_seed(seed);
    if (!k) return false;
    MdCtx s = sign_ctx(k->seed), v = verify_ctx(k->pub);
    if (!s || !v) return false;
    Signature a{}, b{};
    if (!sign_with(s.get(), "first", &a) || !sign_with(s.get(), "second", &b)) return false;
    Signature bad = b;
    bad[0] ^= 1;
    return verify_with(v.get(), "first", a) && !verify_with(v.get(), "second", bad) &&
           verify_with(v.get(), "second", b) && !verify_with(v.get(), "first", b);
  }();
  return ok;
}

}  // namespace

std::optional<KeyPair> keypair_from_seed(const std::array<std::uint8_t, 32>& seed) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!key) return std::nullopt;
  KeyPair k;
  k.seed = seed;
  std::size_t len = k.pub.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), k.pub.data(), &len) != 1 || len != k.pub.size()) return std::nullopt;
  return k;
}

std::optional<KeyPair> generate_keypair() {
  std::array<std::uint8_t, 32> seed{};
  if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) != 1) return std::nullopt;
  return keypair_from_seed(seed);
}

Signature sign(const KeyPair& k, std::string_view message) {
  Signature sig{};
  if (contexts_reusable()) {
    thread_local CtxCache cache;
    EVP_MD_CTX* ctx = cache.get(k.seed, [&] { return sign_ctx(k.seed); });
    if (!ctx || !sign_with(ctx, message, &sig)) sig.fill(0);  // an all-zero signature never verifies
    return sig;
  }
  MdCtx ctx = sign_ctx(k.seed);
  if (!ctx || !sign_with(ctx.get(), message, &sig)) sig.fill(0);
  return sig;
}

bool verify(const PublicKey& pub, std::string_view message, const Signature& sig) {
  if (contexts_reusable()) {
    thread_local CtxCache cache;
    EVP_MD_CTX* ctx = cache.get(pub, [&] { return verify_ctx(pub); });
    return ctx && verify_with(ctx, message, sig);
  }
  MdCtx ctx = verify_ctx(pub);
  return ctx && verify_with(ctx.get(), message, sig);
}

std::string user_id(const PublicKey& pub) {
  unsigned char d[32];
  SHA256(pub.data(), pub.size(), d);
  return to_hex(ByteView(d, 20));
}

}  // namespace hf::node
