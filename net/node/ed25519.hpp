// Ed25519 keys and signatures (RFC 8032) through OpenSSL: what makes a ledger operation
// unforgeable. Pure code (no sockets).
#pragma once
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace hf::node {

using PublicKey = std::array<std::uint8_t, 32>;
using Signature = std::array<std::uint8_t, 64>;

struct KeyPair {
  std::array<std::uint8_t, 32> seed{};  // the private key (RFC 8032's 32-byte seed)
  PublicKey pub{};
};

// A fresh key pair from the OS's random source; nullopt only if OpenSSL fails.
std::optional<KeyPair> generate_keypair();
// The pair for a given seed (deterministic: tests and key files).
std::optional<KeyPair> keypair_from_seed(const std::array<std::uint8_t, 32>& seed);

Signature sign(const KeyPair& k, std::string_view message);
bool verify(const PublicKey& pub, std::string_view message, const Signature& sig);

// A user's id: the first 20 bytes of SHA-256(public key), hex (40 digits).
std::string user_id(const PublicKey& pub);

}  // namespace hf::node
