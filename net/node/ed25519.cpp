#include "net/node/ed25519.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <memory>

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
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, k.seed.data(), k.seed.size()));
  MdCtx ctx(EVP_MD_CTX_new());
  std::size_t len = sig.size();
  if (!key || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1)
    sig.fill(0);  // an all-zero signature never verifies
  return sig;
}

bool verify(const PublicKey& pub, std::string_view message, const Signature& sig) {
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pub.data(), pub.size()));
  MdCtx ctx(EVP_MD_CTX_new());
  if (!key || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

std::string user_id(const PublicKey& pub) {
  unsigned char d[32];
  SHA256(pub.data(), pub.size(), d);
  return to_hex(ByteView(d, 20));
}

}  // namespace hf::node
