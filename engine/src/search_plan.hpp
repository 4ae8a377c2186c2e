// PreparedSearch: everything about one search computed once per job (or per fixed-width
// part of a varying-width decimal range), shared read-only by every thread and backend.
#pragma once
#include <memory>
#include <vector>

#include "cpu/kernels.hpp"
#include "hashforge/nonce.hpp"
#include "hashforge/target.hpp"
#include "hashforge/types.hpp"

namespace hf {

class PreparedSearch {
 public:
  // `message` is the full template with `width` placeholder bytes at field.offset
  // (for varying decimal the caller inserts them). algo is sha256 or sha256d. The search
  // needs only the midstate and the tail; keep_message keeps a copy of the whole template
  // for message_with(), which a search of a large file does without.
  PreparedSearch(Algo algo, const Bytes& message, const NonceField& field, std::size_t width, ByteOrder order,
                 bool keep_message = true);
  PreparedSearch(const PreparedSearch&) = delete;
  PreparedSearch& operator=(const PreparedSearch&) = delete;

  Algo algo() const { return algo_; }
  ByteOrder order() const { return order_; }
  const NonceField& field() const { return field_; }
  std::size_t width() const { return width_; }
  const cpu::SearchPlan& plan() const { return plan_; }

  // Fills the nonce-dependent words for `lanes` lanes starting at nonce `base`; lanes at or
  // beyond `valid` repeat the last valid nonce. aw is [word][lane], plan().naw words.
  void fill_words(std::uint64_t base, unsigned lanes, unsigned valid, std::uint32_t* aw) const;

  // The slow path: full digest of one nonce from the midstate with the reference code.
  Digest digest_of(std::uint64_t nonce, std::uint8_t* scratch /* tail_size() bytes */) const;
  std::size_t tail_size() const { return tail_.size(); }
  std::size_t field_in_tail() const { return field_in_tail_; }
  // Nonce-dependent word k (plan().aw_index[k]) with the field's bytes zero and the message
  // bytes that share the word in place.
  std::uint32_t aw_template(unsigned k) const { return aw_template_[k]; }
  // The whole message with nonce n written in (for callers that print or save it); only
  // when the message was kept.
  Bytes message_with(std::uint64_t nonce) const;

 private:
  Algo algo_;
  ByteOrder order_;
  NonceField field_;
  std::size_t width_;
  Bytes message_;  // template with placeholder, if kept
  bool kept_ = true;
  Bytes tail_;  // padded bytes from the nonce's first block on, field bytes zero
  std::size_t field_in_tail_;
  std::uint32_t aw_template_[cpu::kMaxAffectedWords] = {};
  int vary_byte_ = -1;  // byte of the field that alone differs within an aligned batch, or -1
  std::vector<cpu::BlockPlan> blocks_;
  cpu::SearchPlan plan_{};
};

// Builds the plan of one block (exposed for tests): W holds the block's words with the
// nonce-dependent ones (bits of varmask) ignored; const_chain is the constant chaining input
// or nullptr when the chain differs per nonce.
void build_block_plan(cpu::BlockPlan& bp, const std::uint32_t W[16], std::uint32_t varmask,
                      const std::uint32_t* const_chain);

}  // namespace hf
