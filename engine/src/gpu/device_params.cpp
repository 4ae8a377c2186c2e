#include "gpu/device_params.hpp"

#include "kernels/sha256_search.h"

namespace hf::gpu {

std::vector<std::uint32_t> device_params(const PreparedSearch& ps) {
  const cpu::SearchPlan& plan = ps.plan();
  std::vector<std::uint32_t> p(HFP_CONSTS(plan.nblocks) + 64, 0);
  const cpu::BlockPlan& b0 = plan.blocks[0];
  for (int i = 0; i < 8; ++i) {
    p[HFP_MIDSTATE + i] = plan.midstate[i];
    // The CPU plan keeps a..h in the kernels' rotating slot order; devices use plain order.
    p[HFP_PRESTATE + i] = b0.prestate[(i - b0.first_round) & 7];
  }
  p[HFP_FIRST] = b0.first_round;
  p[HFP_NBLOCKS] = plan.nblocks;
  p[HFP_FLAGS] = (plan.double_hash ? 1u : 0u) | (plan.bitcoin_order ? 2u : 0u);
  p[HFP_NAW] = plan.naw;
  for (unsigned k = 0; k < plan.naw; ++k) p[HFP_AW_INDEX + k] = plan.aw_index[k];
  p[HFP_LEAD] = static_cast<std::uint32_t>(ps.field_in_tail() % 4);
  p[HFP_ENCODING] = static_cast<std::uint32_t>(ps.field().encoding);
  p[HFP_WIDTH] = static_cast<std::uint32_t>(ps.width());
  for (std::uint32_t b = 0; b < plan.nblocks; ++b)
    for (int t = 0; t < 16; ++t) p[HFP_BLOCKS + 16 * b + t] = plan.blocks[b].w[t];
  // The CPU plan zeroes nonce-dependent words; devices OR the field into the message bytes
  // that share those words, so they get the words with only the field's bytes zero.
  for (unsigned k = 0; k < plan.naw; ++k) p[HFP_BLOCKS + plan.aw_index[k]] = ps.aw_template(k);
  for (int t = 0; t < 64; ++t) p[HFP_CONSTS(plan.nblocks) + t] = b0.c[t];
  return p;
}

KernelKind kernel_kind(const std::vector<std::uint32_t>& p) {
  if (p[HFP_ENCODING] != 0 || p[HFP_LEAD] != 0) return KernelKind::generic;
  // Bitcoin mining: sha256d of an 80-byte message with the nonce at bytes 76..79, keyed in
  // Bitcoin's order; one block from the nonce on, whose words 4..15 are the padding (0x80
  // marker, zeros, bit length 640).
  bool header = p[HFP_FLAGS] == 3 && p[HFP_NBLOCKS] == 1 && p[HFP_NAW] == 1 && p[HFP_AW_INDEX] == 3 &&
                p[HFP_FIRST] == 3 && p[HFP_BLOCKS + 4] == 0x80000000u && p[HFP_BLOCKS + 15] == 640;
  for (int t = 5; t < 15 && header; ++t) header = p[HFP_BLOCKS + t] == 0;
  return header ? KernelKind::header80 : KernelKind::u32le;
}

}  // namespace hf::gpu
