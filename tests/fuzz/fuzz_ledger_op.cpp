// A client's auction-ledger operation (JSON, as POSTed to a node) through the ledger's pure
// code (net/node/ledger_op.*, ledger_state.*). Properties: no crash and no exception; a
// refusal has a reason; an accepted operation writes back to JSON that reads to the same
// operation (same id); the state machine answers it with a reason or applies it, and a block
// it spoils leaves the state as it was.
#include "net/node/ledger_state.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace hf::node;
using namespace hf::node::ledger;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ParseResult pr = parse_json(hf::fuzz::text_of(data, size), {.max_depth = 16, .max_bytes = 1 << 16, .max_int_digits = 40});
  if (!pr.value) return 0;
  std::string why;
  auto op = op_from_json(*pr.value, &why);
  if (!op) {
    HF_FUZZ_CHECK(!why.empty());
    return 0;
  }
  auto back = op_from_json(op_to_json(*op), &why);
  HF_FUZZ_CHECK(back.has_value());
  HF_FUZZ_CHECK(op_id(*back, "fuzz") == op_id(*op, "fuzz"));
  HF_FUZZ_CHECK(back->sig == op->sig);

  // The operation's own account as an administrator, so money operations get past the
  // first rule and reach the others.
  LedgerState state({op->account}, "fuzz");
  const Hash root = state.state_root();
  const bool ok = state.apply_block({*op}, &why, /*sigs_checked=*/true);
  if (!ok) {
    HF_FUZZ_CHECK(!why.empty());
    HF_FUZZ_CHECK(state.state_root() == root);
    HF_FUZZ_CHECK(state.height() == 0);
  } else {
    HF_FUZZ_CHECK(state.height() == 1);
    state.undo_block();
    HF_FUZZ_CHECK(state.state_root() == root);
  }
  return 0;
}
