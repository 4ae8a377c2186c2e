#include "backend.hpp"

namespace hf {

std::string_view op_name(Op op) {
  switch (op) {
    case Op::search_sha256:
      return "search-sha256";
    case Op::search_sha256d:
      return "search-sha256d";
    case Op::hash_sha1:
      return "hash-sha1";
    case Op::hash_sha256:
      return "hash-sha256";
    case Op::hash_sha256d:
      return "hash-sha256d";
  }
  return "?";
}
std::optional<Op> parse_op(std::string_view name) {
  for (Op op : kAllOps)
    if (op_name(op) == name) return op;
  return std::nullopt;
}
Op search_op(Algo a) { return a == Algo::sha256d ? Op::search_sha256d : Op::search_sha256; }
Op hash_op(Algo a) { return a == Algo::sha1 ? Op::hash_sha1 : a == Algo::sha256 ? Op::hash_sha256 : Op::hash_sha256d; }

SearchSink::SearchSink(const PreparedSearch& ps, Goal goal, const Key& target, std::size_t max_hits,
                       std::atomic<std::uint64_t>* progress, const std::optional<Hit>& seed_best)
    : ps_(ps), goal_(goal), target_(target), max_hits_(max_hits), progress_(progress), scratch_(ps.tail_size()) {
  if (goal == Goal::below_target) {
    threshold_ = target.w[0];
  } else {
    best = seed_best;
    threshold_ = best ? best->key.w[0] : 0xffffffffu;
  }
}

void SearchSink::candidate(std::uint64_t nonce) {
  Hit h;
  h.nonce = nonce;
  h.digest = ps_.digest_of(nonce, scratch_.data());
  h.key = key_of(h.digest, ps_.order());
  if (goal_ == Goal::below_target) {
    if (h.key > target_) return;  // the kernel's key word tied the target's; the rest did not
    if (hits.size() < max_hits_)
      hits.push_back(h);
    else
      ++dropped;
    return;
  }
  // Ties keep the lower nonce; within one sink nonces arrive in increasing order.
  if (!best || h.key < best->key || (h.key == best->key && h.nonce < best->nonce)) {
    best = h;
    threshold_ = h.key.w[0];
  }
}

}  // namespace hf
