// A peer's block (POST /add_block, a synced chain) and a chain spec file, through the node's
// pure code (net/node/block.*, spec.*, block_tree.*). Properties: no crash and no exception;
// a refusal has a reason; an accepted block written in chain order reads back to the same
// block and the same text; the tree's checks answer every block without storing a broken one.
#include "net/node/block_tree.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace hf::node;

const ChainSpec& spec() {
  static const ChainSpec s = default_spec(1);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = hf::fuzz::text_of(data, size);
  std::string why;
  if (auto s = parse_spec(text, &why)) {
    HF_FUZZ_CHECK(s->id.size() == 64);
    HF_FUZZ_CHECK(is_hash_hex(s->genesis.hash));
  } else {
    HF_FUZZ_CHECK(!why.empty());
  }

  ParseResult pr = parse_json(text, {.max_depth = 64, .max_bytes = 1 << 20, .max_int_digits = 4300});
  if (!pr.value) return 0;
  why.clear();
  auto b = block_from_json(*pr.value, &why);
  if (!b) {
    HF_FUZZ_CHECK(!why.empty());
    return 0;
  }
  std::string once = block_chain_text(*b);
  ParseResult again = parse_json(once);
  HF_FUZZ_CHECK(again.value.has_value());
  auto b2 = block_from_json(*again.value, &why);
  HF_FUZZ_CHECK(b2.has_value());
  HF_FUZZ_CHECK(block_chain_text(*b2) == once);
  HF_FUZZ_CHECK(spec().scheme->hash_hex(*b) == spec().scheme->hash_hex(*b2));

  BlockTree tree(spec());
  AddResult r = tree.add(*b, {.now = 1.8e9, .check_hash = true, .check_time = true});
  if (!r.accepted()) HF_FUZZ_CHECK(!r.reason.empty() && tree.size() == 1);
  return 0;
}
