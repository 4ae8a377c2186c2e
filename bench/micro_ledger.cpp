// The auction ledger's costs per operation (issue 16): an Ed25519 verification, and applying
// blocks of signed transfers with the signatures checked, beside OpenSSL's raw verify rate
// (`openssl speed ed25519`, run by the caller) for the share the signature takes.
#include <benchmark/benchmark.h>

#include "net/node/ledger_state.hpp"

namespace {

using namespace hf::node;
using namespace hf::node::ledger;

KeyPair key(std::uint8_t n) {
  std::array<std::uint8_t, 32> seed{};
  seed.fill(n);
  return *keypair_from_seed(seed);
}

void BM_VerifyOperation(benchmark::State& st) {
  const KeyPair a = key(1), b = key(2);
  Operation op;
  op.kind = OpKind::transfer;
  op.seq = 1;
  op.to = b.pub;
  op.amount = 5;
  sign_op(op, a, "bench");
  for (auto _ : st) benchmark::DoNotOptimize(signature_ok(op, "bench"));
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_VerifyOperation);

// Blocks of `range(0)` transfers among 100 accounts, signatures checked while applying; the
// state root computed once per block, as a node does.
void BM_ApplyTransferBlocks(benchmark::State& st) {
  const std::size_t per_block = static_cast<std::size_t>(st.range(0));
  const KeyPair admin = key(1);
  std::vector<KeyPair> users;
  for (int i = 0; i < 100; ++i) users.push_back(key(static_cast<std::uint8_t>(10 + i)));
  LedgerState state({admin.pub}, "bench");
  std::vector<Operation> fund;
  std::uint64_t admin_seq = 0;
  for (const KeyPair& u : users) {
    Operation o;
    o.kind = OpKind::create_money;
    o.seq = ++admin_seq;
    o.to = u.pub;
    o.amount = 1'000'000'000;
    sign_op(o, admin, "bench");
    fund.push_back(o);
  }
  std::string why;
  if (!state.apply_block(fund, &why)) st.SkipWithError(why.c_str());
  std::vector<std::uint64_t> seq(users.size(), 0);
  std::size_t k = 0;
  for (auto _ : st) {
    st.PauseTiming();
    std::vector<Operation> ops;
    for (std::size_t i = 0; i < per_block; ++i, ++k) {
      const std::size_t from = k % users.size(), to = (k * 7 + 3) % users.size();
      Operation o;
      o.kind = OpKind::transfer;
      o.seq = ++seq[from];
      o.to = users[to == from ? (to + 1) % users.size() : to].pub;
      o.amount = 1;
      sign_op(o, users[from], "bench");
      ops.push_back(o);
    }
    st.ResumeTiming();
    if (!state.apply_block(ops, &why)) st.SkipWithError(why.c_str());
    benchmark::DoNotOptimize(state.state_root());
  }
  st.SetItemsProcessed(st.iterations() * static_cast<std::int64_t>(per_block));
}
BENCHMARK(BM_ApplyTransferBlocks)->Arg(100)->Arg(2000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
