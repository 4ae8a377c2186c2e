#include "selftest.hpp"

#include <algorithm>
#include <cstring>

#include "cpu/cpu_backend.hpp"
#include "hashforge/hasher.hpp"
#include "hashforge/hex.hpp"
#include "search_plan.hpp"

namespace hf {

namespace {

// FIPS 180-4 example "abc" (NIST, Examples with Intermediate Values).
constexpr const char* kAbcSha1 = "a9993e364706816aba3e25717850c26c9cd0d89d";
constexpr const char* kAbcSha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
// Bitcoin genesis block header (Bitcoin Core chainparams), nonce 2083236893, bits 0x1d00ffff.
constexpr const char* kGenesis =
    "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f61"
    "7fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";
constexpr std::uint64_t kGenesisNonce = 2083236893;

std::string check_reference() {
  const std::uint8_t abc[] = {'a', 'b', 'c'};
  if (hash_once(Algo::sha1, abc).hex() != kAbcSha1) return "reference SHA-1 fails the FIPS 180-4 'abc' vector";
  if (hash_once(Algo::sha256, abc).hex() != kAbcSha256) return "reference SHA-256 fails the FIPS 180-4 'abc' vector";
  return {};
}

std::string check_hashing(Backend& be) {
  static constexpr std::size_t kLens[] = {0, 1, 3, 55, 56, 63, 64, 65, 119, 120, 128, 191, 300, 1000, 77, 5};
  // One byte past an aligned start, so every lane reads unaligned memory.
  Bytes buf(4096 + 64);
  std::uint32_t x = 0x9e3779b9;
  for (auto& b : buf) b = static_cast<std::uint8_t>((x = x * 1664525u + 1013904223u) >> 24);
  const std::uint8_t* base = buf.data() + 1;
  const unsigned max_count = std::min(2 * be.lanes() + 1, 64u);
  std::vector<ByteView> msgs;
  for (unsigned i = 0; i < max_count; ++i) msgs.emplace_back(base + 7 * i, kLens[i % std::size(kLens)]);
  for (Algo algo : {Algo::sha1, Algo::sha256, Algo::sha256d}) {
    for (unsigned count = 1; count <= max_count; ++count) {
      std::vector<Digest> got(count);
      be.hash_many(algo, {msgs.data(), count}, got.data());
      for (unsigned i = 0; i < count; ++i)
        if (!(got[i] == hash_once(algo, msgs[i])))
          return std::string(algo_name(algo)) + " digest mismatch with " + std::to_string(count) +
                 " messages, message " + std::to_string(i) + " (" + std::to_string(msgs[i].size()) + " bytes)";
    }
  }
  return {};
}

std::string check_search(Backend& be) {
  const Bytes header = *from_hex(kGenesis);
  PreparedSearch ps(Algo::sha256d, header, {76, Encoding::u32le, 4}, 4, ByteOrder::bitcoin);
  Key target;
  target_from_compact(0x1d00ffff, &target);
  std::atomic<bool> stop{false};
  const std::uint64_t span = 2 * be.lanes() + 7;
  SearchSink sink(ps, Goal::below_target, target, 10, nullptr, std::nullopt);
  const std::uint64_t first = kGenesisNonce - be.lanes() - 3;
  if (be.search(ps, first, span, sink, stop) != span) return "search covered fewer nonces than asked";
  if (sink.hits.size() != 1 || sink.hits[0].nonce != kGenesisNonce)
    return "genesis header scan did not find exactly the real nonce";
  if (reversed_hex(sink.hits[0].digest.view()) != "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f")
    return "genesis header scan reported the wrong block hash";

  // Best goal in digest order, hex nonce straddling a block boundary, against brute force.
  Bytes msg(70, 'x');
  PreparedSearch ps2(Algo::sha256, msg, {60, Encoding::hex, 8}, 8, ByteOrder::digest);
  SearchSink best(ps2, Goal::best, Key::max(), 0, nullptr, std::nullopt);
  be.search(ps2, 5, span, best, stop);
  Key want = Key::max();
  std::uint64_t want_nonce = 0;
  for (std::uint64_t n = 5; n < 5 + span; ++n) {
    Key k = key_of(hash_once(Algo::sha256, ps2.message_with(n)), ByteOrder::digest);
    if (k < want) {
      want = k;
      want_nonce = n;
    }
  }
  if (!best.best || best.best->nonce != want_nonce || best.best->key != want)
    return "best-hash search disagrees with brute force";
  return {};
}

// Every build of a CPU backend's Bitcoin-header loop (the driver keeps whichever it measures
// faster, so each must be right here): the genesis nonce, at threshold 0, must be reported in
// its batch and lane wherever it falls in a 19-batch call: early, at nonce 73 (in shani's hybrid
// that is a vector lane: its one-group chunk has 72 SHA-NI nonces, then 4), and last.
std::string check_header_loops(Backend& be) {
  auto* cpu = dynamic_cast<cpu::CpuBackend*>(&be);
  if (!cpu) return {};
  const cpu::KernelTable& kt = cpu->kernels();
  const PreparedSearch ps(Algo::sha256d, *from_hex(kGenesis), {76, Encoding::u32le, 4}, 4, ByteOrder::bitcoin);
  constexpr std::uint32_t kBatches = 19;
  const std::uint32_t lanes = kt.lanes;
  for (auto* scan : {kt.scan_headers, kt.scan_headers_alt}) {
    if (!scan) continue;
    for (const std::uint32_t at : {3u, 73u, kBatches * lanes - 2}) {
      std::uint32_t mask = 0;
      const std::uint32_t ran = scan(ps.plan(), static_cast<std::uint32_t>(kGenesisNonce - at), kBatches, 0, &mask);
      if (ran != at / lanes + 1 || mask != 1u << (at % lanes))
        return std::string("header loop") + (scan == kt.scan_headers ? "" : " (second build)") +
               " missed the genesis nonce " + std::to_string(at) + " nonces into a call";
    }
  }
  return {};
}

}  // namespace

std::string selftest_backend(Backend& be) {
  if (std::string r = check_reference(); !r.empty()) return r;
  if (be.supports(Op::hash_sha256))
    if (std::string r = check_hashing(be); !r.empty()) return r;
  if (std::string r = check_header_loops(be); !r.empty()) return r;
  return check_search(be);
}

}  // namespace hf
