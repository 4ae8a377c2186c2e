#include "search_plan.hpp"

#include <cstring>
#include <stdexcept>

#include "sha_core.hpp"

namespace hf {

using namespace hf::sha;

void build_block_plan(cpu::BlockPlan& bp, const std::uint32_t W[16], std::uint32_t varmask,
                      const std::uint32_t* const_chain) {
  std::memset(&bp, 0, sizeof bp);
  varmask &= 0xffff;
  bp.varmask = static_cast<std::uint16_t>(varmask);
  for (int t = 0; t < 16; ++t) bp.w[t] = (varmask >> t) & 1 ? 0 : W[t];
  bool var[64];
  std::uint32_t wv[64];
  for (int t = 0; t < 64; ++t) {
    if (t < 16) {
      var[t] = (varmask >> t) & 1;
      wv[t] = bp.w[t];
    } else {
      var[t] = var[t - 2] || var[t - 7] || var[t - 15] || var[t - 16];
      // Varying terms count as zero here, so for a varying word this is its constant part.
      wv[t] = (var[t - 2] ? 0 : ssig1(wv[t - 2])) + (var[t - 7] ? 0 : wv[t - 7]) +
              (var[t - 15] ? 0 : ssig0(wv[t - 15])) + (var[t - 16] ? 0 : wv[t - 16]);
    }
    bp.c[t] = var[t] ? (t < 16 ? 0 : wv[t]) : K256[t] + wv[t];
    if (var[t]) wv[t] = 0;
  }
  bp.const_chain = const_chain != nullptr;
  if (!const_chain) return;
  // Rounds before the first nonce-dependent word are the same for every nonce.
  // Kernels are compiled for first rounds 0, 4, 8, 12 (plus 3, the Bitcoin header's nonce
  // word); rounding down redoes at most three rounds and keeps the number of compiled
  // kernel variants, and the build time, small.
  int first = varmask ? __builtin_ctz(varmask) : 0;
  if (varmask != 0x0008) first &= ~3;
  std::uint32_t s[8];
  std::memcpy(s, const_chain, sizeof s);
  for (int t = 0; t < first; ++t) sha256_round(s, K256[t] + bp.w[t]);
  bp.first_round = static_cast<std::uint8_t>(first);
  for (int j = 0; j < 8; ++j) bp.prestate[(j - first) & 7] = s[j];
}

PreparedSearch::PreparedSearch(Algo algo, const Bytes& message, const NonceField& field, std::size_t width,
                               ByteOrder order, bool keep_message)
    : algo_(algo), order_(order), field_(field), width_(width) {
  // The message may be as large as a file (the file task): it is compressed in place, and
  // only the blocks from the nonce's on are copied (padded, field bytes zero), so preparing
  // a search costs no second copy of it.
  kept_ = keep_message;
  if (keep_message) message_ = message;
  const std::size_t first_block = field.offset / 64;
  const std::size_t head = first_block * 64;  // whole blocks before the nonce: all message bytes
  const std::size_t total = sha::padded_size(message.size());
  tail_.resize(total - head);
  std::memcpy(tail_.data(), message.data() + head, message.size() - head);
  sha::write_padding(tail_.data() + (message.size() - head), total - message.size(), message.size());
  field_in_tail_ = field.offset - head;
  std::memset(tail_.data() + field_in_tail_, 0, width);

  std::memcpy(plan_.midstate, IV256, sizeof IV256);
  sha256_compress_ref(plan_.midstate, message.data(), first_block);

  const std::size_t first_word = field_in_tail_ / 4;
  const std::size_t last_word = (field_in_tail_ + width - 1) / 4;
  plan_.naw = static_cast<std::uint8_t>(last_word - first_word + 1);
  for (std::size_t k = 0; k < plan_.naw; ++k) {
    plan_.aw_index[k] = static_cast<std::uint8_t>(first_word + k);
    aw_template_[k] = load_be32(tail_.data() + 4 * (first_word + k));
  }

  const std::size_t nblocks = tail_.size() / 64;
  blocks_.resize(nblocks);
  for (std::size_t b = 0; b < nblocks; ++b) {
    std::uint32_t W[16];
    std::uint32_t varmask = 0;
    for (int t = 0; t < 16; ++t) W[t] = load_be32(tail_.data() + 64 * b + 4 * t);
    for (std::size_t k = 0; k < plan_.naw; ++k)
      if (plan_.aw_index[k] / 16 == b) varmask |= 1u << (plan_.aw_index[k] % 16);
    build_block_plan(blocks_[b], W, varmask, b == 0 ? plan_.midstate : nullptr);
  }
  plan_.blocks = blocks_.data();
  plan_.nblocks = static_cast<std::uint32_t>(nblocks);
  plan_.double_hash = algo == Algo::sha256d;
  plan_.bitcoin_order = order == ByteOrder::bitcoin;
  if (plan_.double_hash) {
    // Second hash: a 32-byte message, so words 8..15 are its fixed padding.
    std::uint32_t W[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0x80000000u, 0, 0, 0, 0, 0, 0, 256};
    build_block_plan(plan_.second, W, 0xff, IV256);
  }

  plan_.header_scan = plan_.double_hash && plan_.bitcoin_order && nblocks == 1 && field.encoding == Encoding::u32le &&
                      width == 4 && field_in_tail_ == 12 && blocks_[0].first_round == 3 && blocks_[0].const_chain;

  // Within a batch that starts at a multiple of its lane count (<= 16), binary and hex
  // encodings differ only in the one byte holding the lowest 4 bits.
  switch (field.encoding) {
    case Encoding::u32le:
    case Encoding::u64le:
      vary_byte_ = 0;
      break;
    case Encoding::u32be:
      vary_byte_ = 3;
      break;
    case Encoding::hex:
      vary_byte_ = static_cast<int>(width) - 1;
      break;
    case Encoding::dec:
      vary_byte_ = -1;
      break;
  }
}

void PreparedSearch::fill_words(std::uint64_t base, unsigned lanes, unsigned valid, std::uint32_t* aw) const {
  const std::size_t lead = field_in_tail_ % 4;
  auto words_of = [&](std::uint64_t n, std::uint32_t* out) {
    std::uint8_t scratch[4 * cpu::kMaxAffectedWords] = {};
    encode_nonce(field_, n, scratch + lead);
    for (unsigned k = 0; k < plan_.naw; ++k) out[k] = aw_template_[k] | load_be32(scratch + 4 * k);
  };
  if (vary_byte_ >= 0 && valid == lanes && lanes <= 16 && base % lanes == 0) {
    std::uint32_t w[cpu::kMaxAffectedWords];
    words_of(base, w);
    const std::size_t pos = lead + static_cast<std::size_t>(vary_byte_);
    const unsigned k_vary = static_cast<unsigned>(pos / 4);
    const int shift = static_cast<int>(8 * (3 - pos % 4));
    for (unsigned k = 0; k < plan_.naw; ++k)
      for (unsigned l = 0; l < lanes; ++l) aw[k * lanes + l] = w[k];
    const std::uint32_t clear = ~(0xffu << shift);
    for (unsigned l = 0; l < lanes; ++l) {
      const std::uint64_t n = base + l;
      const std::uint32_t b =
          field_.encoding == Encoding::hex ? std::uint32_t("0123456789abcdef"[n & 15]) : std::uint32_t(n & 0xff);
      aw[k_vary * lanes + l] = (w[k_vary] & clear) | (b << shift);
    }
    return;
  }
  std::uint32_t w[cpu::kMaxAffectedWords];
  for (unsigned l = 0; l < lanes; ++l) {
    words_of(base + (l < valid ? l : valid - 1), w);
    for (unsigned k = 0; k < plan_.naw; ++k) aw[k * lanes + l] = w[k];
  }
}

Digest PreparedSearch::digest_of(std::uint64_t nonce, std::uint8_t* scratch) const {
  std::memcpy(scratch, tail_.data(), tail_.size());
  encode_nonce(field_, nonce, scratch + field_in_tail_);
  std::uint32_t h[8];
  std::memcpy(h, plan_.midstate, sizeof h);
  sha256_compress_ref(h, scratch, tail_.size() / 64);
  Digest d;
  d.size = 32;
  for (int i = 0; i < 8; ++i) store_be32(d.bytes.data() + 4 * i, h[i]);
  if (algo_ == Algo::sha256d) {
    std::uint8_t blk[64] = {};
    std::memcpy(blk, d.bytes.data(), 32);
    sha::write_padding(blk + 32, 32, 32);
    std::memcpy(h, IV256, sizeof h);
    sha256_compress_ref(h, blk, 1);
    for (int i = 0; i < 8; ++i) store_be32(d.bytes.data() + 4 * i, h[i]);
  }
  return d;
}

Bytes PreparedSearch::message_with(std::uint64_t nonce) const {
  if (!kept_) throw std::logic_error("PreparedSearch::message_with: the message was not kept");
  Bytes m = message_;
  encode_nonce(field_, nonce, m.data() + field_.offset);
  return m;
}

}  // namespace hf
