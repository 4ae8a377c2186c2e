// Multi-buffer SHA-1 / SHA-256 kernels written once over a lane-vector type V.
//
// Included by each ISA file (scalar.cpp, avx2.cpp, avx512.cpp) inside its own namespace, after
// kernels.hpp and sha_core.hpp, so every ISA gets its own copy compiled with its own flags and
// nothing here can be merged across ISAs by the linker. No std:: containers or algorithms.
//
// V provides: lanes, bcast, load, store, + ^, rotr<n>, shr<n>, ch, maj, xor3, kept (its
// argument, with the compiler kept from regrouping the sums it is part of),
// bswap, le_mask(x, threshold), load_words(ptrs, offset, w[16]) (big-endian words of
// each lane's block, transposed so w[t] holds word t of every lane) and, with more than one
// lane, load_quarter<Q>(ptrs, offset, w[4]) (the same for words 4Q..4Q+3 alone).

#define HF_INLINE inline __attribute__((always_inline))

// Bytes ahead of each lane's current block to prefetch in batch hashing (prefetches past the
// end of a buffer are harmless: they never fault).
inline constexpr std::size_t kPrefetchAhead = 512;

// The message words of batch hashing's blocks. Vector kernels load the next block's words a
// quarter at a time in the middle of this block's rounds (into memory; the next block reads
// them from there): transposing a whole block at its start kept the vector pipes on shuffles
// while the rounds waited for them. Measured on a Xeon (family 6 model 167): the SHA-1 avx512
// kernel ran 32 cycles a block a lane with the transpose at the start, 24.6 with the words
// ready in memory, and 28 loading ahead. One lane (scalar) loads each block at its start.
template <class V>
class BlockWords {
 public:
  static constexpr bool kAhead = V::lanes > 1;
  BlockWords(const std::uint8_t* const* ptrs, std::size_t nblocks) : ptrs_(ptrs), nblocks_(nblocks) {
    if constexpr (kAhead) V::load_words(ptrs, 0, words_);
  }
  // Block blk's words into w; from here on quarter<Q>() loads block blk + 1's (the last block
  // reloads itself: never past the end).
  HF_INLINE void start(std::size_t blk, V* w) {
    if constexpr (kAhead) {
      for (int i = 0; i < 16; ++i) w[i] = words_[i];
      next_off_ = (blk + 1 < nblocks_ ? blk + 1 : blk) * 64;
    } else {
      V::load_words(ptrs_, blk * 64, w);
    }
  }
  template <int Q>
  HF_INLINE void quarter() {
    if constexpr (kAhead) V::template load_quarter<Q>(ptrs_, next_off_, words_ + 4 * Q);
  }

 private:
  const std::uint8_t* const* ptrs_;
  std::size_t nblocks_;
  std::size_t next_off_ = 0;
  V words_[16];
};
// Search kernels and 64-byte messages have their words already.
struct NoBlockWords {
  template <int Q>
  HF_INLINE void quarter() {}
};

template <class V>
HF_INLINE V bsig0(V x) {
  return V::xor3(V::template rotr<2>(x), V::template rotr<13>(x), V::template rotr<22>(x));
}
template <class V>
HF_INLINE V bsig1(V x) {
  return V::xor3(V::template rotr<6>(x), V::template rotr<11>(x), V::template rotr<25>(x));
}
template <class V>
HF_INLINE V ssig0(V x) {
  return V::xor3(V::template rotr<7>(x), V::template rotr<18>(x), V::template shr<3>(x));
}
template <class V>
HF_INLINE V ssig1(V x) {
  return V::xor3(V::template rotr<17>(x), V::template rotr<19>(x), V::template shr<10>(x));
}

// One SHA-256 round. The eight working variables live in s[8]; instead of moving them every
// round, round T reads a..h from slots (0-T)&7 .. (7-T)&7, so after 64 rounds the slots are
// back in order and, with compile-time T, the compiler keeps everything in registers.
template <class V, int T, bool NeedA = true>
HF_INLINE void round256(V* s, V kw) {
  constexpr int A = (0 - T) & 7, B = (1 - T) & 7, C = (2 - T) & 7, D = (3 - T) & 7;
  constexpr int E = (4 - T) & 7, F = (5 - T) & 7, G = (6 - T) & 7, H = (7 - T) & 7;
  // The sums are grouped so the chain from e to the next e is short: h + kw and Σ0 + maj do
  // not wait for this round's e, and ch (one operation) joins before Σ1 (three).
  V t1 = ((s[H] + kw) + V::ch(s[E], s[F], s[G])) + bsig1(s[E]);
  s[D] = s[D] + t1;
  if constexpr (NeedA) s[H] = t1 + (bsig0(s[A]) + V::maj(s[A], s[B], s[C]));
}

// Which message words vary per lane, known at compile time: bit t of Mask for t < 16, and
// a schedule word varies when any word it is computed from does.
struct VarTable {
  bool v[64] = {};
  constexpr explicit VarTable(unsigned mask) {
    for (int t = 0; t < 16; ++t) v[t] = (mask >> t) & 1;
    for (int t = 16; t < 64; ++t) v[t] = v[t - 2] || v[t - 7] || v[t - 15] || v[t - 16];
  }
};

// How many rounds ahead of its use each schedule word is computed (any lead under 16 keeps the
// ring valid: the slot written held a word no later round or schedule step reads). Just in
// time, the rounds' rotates and the schedule's shared one pipe in the order clang placed them,
// and the rounds' chain waited; computed ahead, the schedule's work is ready to fill the gaps.
// Measured on a Zen 4 EPYC (vprold: one a cycle, latency 2), cycles a block a lane: SHA-256
// 64.1 -> 62.5 with a lead of 2, 4 or 8; SHA-1 32.0 -> 31.3 (1), 30.5 (4), 30.3 (8), 30.1 (12);
// the header scan 66.7 -> 68.9 M nonces/s. One lane (scalar, in general registers) keeps the
// words just in time: a lead there cost it 2% of its scan.
template <class V>
inline constexpr int kScheduleLead256 = V::lanes > 1 ? 4 : 0;
template <class V>
inline constexpr int kScheduleLead1 = V::lanes > 1 ? 8 : 0;

// Rounds First..End-1 of one block with the message schedule kept in a 16-word ring. Both
// bounds are compile-time, so the code is straight-line: batch hashing runs 0..64, a nonce
// search starts after the rounds it precomputed and, in Bitcoin's order, a miss is known
// after round 61.
//
// Mask says which of the block's 16 words vary per lane (all of them for batch hashing). A
// constant word enters a round as c[t] = K[t] + W[t], precomputed per job; a varying
// schedule word adds only its varying terms to c[t], the sum of its constant ones. With
// Bitcoin's order a miss is decided by e after round 61, so rounds 57..60 skip the new a.
template <class V, unsigned Mask, int T, int First, int End, class Words = NoBlockWords>
HF_INLINE void search_step(V* s, V* w, const std::uint32_t* c, Words* words = nullptr) {
  if constexpr (T < End) {
    if constexpr (T % 16 == 4 && !std::is_same_v<Words, NoBlockWords>) words->template quarter<T / 16>();
    constexpr VarTable vt(Mask);
    // Schedule word U, kScheduleLead256 rounds before round U reads it (none past End).
    static_assert(kScheduleLead256<V> >= 0 && kScheduleLead256<V> < 16);
    constexpr int U = T + kScheduleLead256<V>;
    if constexpr (U >= 16 && U < End && vt.v[U]) {
      constexpr bool v2 = vt.v[U - 2], v7 = vt.v[U - 7], v15 = vt.v[U - 15], v16 = vt.v[U - 16];
      V x{};
      bool have = false;  // folded at compile time
      auto add = [&](V y) {
        x = have ? x + y : y;
        have = true;
      };
      if constexpr (v16) add(w[(U - 16) & 15]);
      if constexpr (v15) add(ssig0(w[(U - 15) & 15]));
      if constexpr (v7) add(w[(U - 7) & 15]);
      if constexpr (v2) add(ssig1(w[(U - 2) & 15]));
      if constexpr (!(v2 && v7 && v15 && v16)) x = x + V::bcast(c[U]);
      w[U & 15] = x;
    }
    if constexpr (T >= First) {
      V kw;
      if constexpr (vt.v[T]) {
        // K[t] read from its table: as a known constant the compiler moves it through a
        // general register (mov, vpbroadcastd) each round; from memory AVX-512 folds it into
        // the add as a broadcast operand (measured +2% on the header search).
        const std::uint32_t* k = hf::sha::K256;
        asm("" : "+r"(k));
        kw = w[T & 15] + V::bcast(k[T]);
      } else
        kw = V::bcast(c[T]);
      round256<V, T, (End != 61 || T < 57)>(s, kw);
    }
  }
}
template <class V, unsigned Mask, int First, int End, int... Ts>
HF_INLINE void search_rounds(V* s, V* w, const std::uint32_t* c, std::integer_sequence<int, Ts...>) {
  (search_step<V, Mask, Ts, First, End>(s, w, c), ...);
}
template <class V, int... Ts>
HF_INLINE void block_rounds_loading(V* s, V* w, BlockWords<V>& words, std::integer_sequence<int, Ts...>) {
  (search_step<V, 0xffff, Ts, 0, 64>(s, w, nullptr, &words), ...);
}

template <class V>
void sha256_blocks_impl(std::uint32_t* state, const std::uint8_t* const* ptrs, std::size_t nblocks) {
  constexpr unsigned L = V::lanes;
  V h[8];
  for (int i = 0; i < 8; ++i) h[i] = V::load(state + i * L);
  if (nblocks == 0) return;
  BlockWords<V> words(ptrs, nblocks);
  for (std::size_t blk = 0; blk < nblocks; ++blk) {
    V w[16];
    words.start(blk, w);
    // Sixteen independent streams are more than the hardware prefetcher follows well.
    for (unsigned l = 0; l < L; ++l) __builtin_prefetch(ptrs[l] + blk * 64 + kPrefetchAhead);
    V s[8];
    for (int i = 0; i < 8; ++i) s[i] = h[i];
    block_rounds_loading<V>(s, w, words, std::make_integer_sequence<int, 64>{});
    for (int i = 0; i < 8; ++i) h[i] = h[i] + s[i];
  }
  for (int i = 0; i < 8; ++i) h[i].store(state + i * L);
}

// 64-byte messages: one compression of the message, then the padding block, whose schedule
// is a table of constants (no message words at all: Mask 0).
template <class V>
void sha256_64_impl(const std::uint8_t* in, std::size_t n, std::uint8_t* out) {
  constexpr unsigned L = V::lanes;
  for (std::size_t i = 0; i < n; i += L) {
    const std::uint8_t* ptrs[L];
    for (unsigned l = 0; l < L; ++l) ptrs[l] = in + 64 * (i + l);
    V w[16], s[8], h[8];
    V::load_words(ptrs, 0, w);
    for (int j = 0; j < 8; ++j) s[j] = V::bcast(hf::sha::IV256[j]);
    search_rounds<V, 0xffff, 0, 64>(s, w, nullptr, std::make_integer_sequence<int, 64>{});
    for (int j = 0; j < 8; ++j) s[j] = h[j] = s[j] + V::bcast(hf::sha::IV256[j]);
    search_rounds<V, 0, 0, 64>(s, w, hf::sha::kPad64.kw, std::make_integer_sequence<int, 64>{});
    // Digest words are [word][lane] here; each lane's 32 bytes go out big-endian.
    alignas(64) std::uint32_t d[8 * L];
    for (int j = 0; j < 8; ++j) V::bswap(h[j] + s[j]).store(d + j * L);
    for (unsigned l = 0; l < L; ++l)
      for (int j = 0; j < 8; ++j) std::memcpy(out + 32 * (i + l) + 4 * j, &d[j * L + l], 4);
  }
}

// ---- SHA-1 ----
// Same slot trick with five slots: at round T, a..e are slots (0-T) mod 5 .. (4-T) mod 5.
template <class V, int T>
HF_INLINE void step1(V* s, V* w, BlockWords<V>& words) {
  constexpr int A = (100 - T) % 5, B = (101 - T) % 5, C = (102 - T) % 5, D = (103 - T) % 5, E = (104 - T) % 5;
  if constexpr (T % 20 == 4) words.template quarter<T / 20>();
  // Schedule word U, kScheduleLead1 rounds before round U reads it.
  static_assert(kScheduleLead1<V> >= 0 && kScheduleLead1<V> < 16);
  constexpr int U = T + kScheduleLead1<V>;
  if constexpr (U >= 16 && U < 80)
    w[U & 15] = V::template rotr<31>(V::xor3(w[(U - 3) & 15], w[(U - 8) & 15], w[(U - 14) & 15]) ^ w[U & 15]);
  V f;
  if constexpr (T < 20)
    f = V::ch(s[B], s[C], s[D]);
  else if constexpr (T < 40 || T >= 60)
    f = V::xor3(s[B], s[C], s[D]);
  else
    f = V::maj(s[B], s[C], s[D]);
  // e + (W + K), then f, then rotl5(a) last, each sum kept as written (V::kept): the chain from
  // one round's a to the next is then a rotate and one add. Left to itself clang added K and
  // rotl5(a) after f: from b (the last round's a) a ternary-logic op and three adds. vprold on
  // zmm has a latency of 2 on Zen 4; the grouping took the avx512 SHA-1 kernel from 32.9 to
  // 32.0 cycles a block.
  const V ewk = V::kept(s[E] + V::kept(w[T & 15] + V::bcast(hf::sha::K1[T / 20])));
  s[E] = V::template rotr<27>(s[A]) + V::kept(f + ewk);
  s[B] = V::template rotr<2>(s[B]);
}
template <class V, int... Ts>
HF_INLINE void rounds1(V* s, V* w, BlockWords<V>& words, std::integer_sequence<int, Ts...>) {
  (step1<V, Ts>(s, w, words), ...);
}

template <class V>
void sha1_blocks_impl(std::uint32_t* state, const std::uint8_t* const* ptrs, std::size_t nblocks) {
  constexpr unsigned L = V::lanes;
  V h[5];
  for (int i = 0; i < 5; ++i) h[i] = V::load(state + i * L);
  if (nblocks == 0) return;
  BlockWords<V> words(ptrs, nblocks);
  for (std::size_t blk = 0; blk < nblocks; ++blk) {
    V w[16];
    words.start(blk, w);
    for (unsigned l = 0; l < L; ++l) __builtin_prefetch(ptrs[l] + blk * 64 + kPrefetchAhead);
    V s[5];
    for (int i = 0; i < 5; ++i) s[i] = h[i];
    rounds1<V>(s, w, words, std::make_integer_sequence<int, 80>{});
    for (int i = 0; i < 5; ++i) h[i] = h[i] + s[i];
  }
  for (int i = 0; i < 5; ++i) h[i].store(state + i * L);
}

// ---- nonce search ----
// Out of line: one copy per (First, End) pair is small enough for the instruction cache
// where several inlined copies are not.
template <class V, unsigned Mask, int First, int End>
__attribute__((noinline)) void block_rounds(V* state, const V* win, const std::uint32_t* c) {
  V s[8], w[16];
  for (int i = 0; i < 8; ++i) s[i] = state[i];
  for (int i = 0; i < 16; ++i) w[i] = win[i];
  search_rounds<V, Mask, First, End>(s, w, c, std::make_integer_sequence<int, 64>{});
  for (int i = 0; i < 8; ++i) state[i] = s[i];
}

template <class V>
using BlockFn = void (*)(V*, const V*, const std::uint32_t*);
// The general case: every word treated as varying (constant ones are broadcast), any first
// round. Bitcoin headers (the nonce alone in word 3) get their own fully folded kernel.
template <class V, int End>
BlockFn<V> block_fn(const hf::cpu::BlockPlan& bp, int first) {
  if (first == 3 && bp.varmask == 0x0008) return &block_rounds<V, 0x0008, 3, End>;
  switch (first) {
    case 4:
      return &block_rounds<V, 0xffff, 4, End>;
    case 8:
      return &block_rounds<V, 0xffff, 8, End>;
    case 12:
      return &block_rounds<V, 0xffff, 12, End>;
    default:
      return &block_rounds<V, 0xffff, 0, End>;  // first is 0 (see build_block_plan)
  }
}

template <class V>
std::uint32_t search_batch_impl(const hf::cpu::SearchPlan& P, const std::uint32_t* aw, std::uint32_t threshold) {
  constexpr unsigned L = V::lanes;
  // e after round 61 is H7 - chain7: misses in Bitcoin's order stop there.
  constexpr int kEarlySlot = (4 - 61) & 7;
  V chain[8], s[8], w[16];
  V key{};
  bool have_key = false;
  for (std::uint32_t b = 0; b < P.nblocks; ++b) {
    const hf::cpu::BlockPlan& bp = P.blocks[b];
    for (int t = 0; t < 16; ++t) w[t] = V::bcast(bp.w[t]);
    for (unsigned k = 0; k < P.naw; ++k)
      if (P.aw_index[k] / 16 == b) w[P.aw_index[k] % 16] = V::load(aw + k * L);
    const bool early = b + 1 == P.nblocks && !P.double_hash && P.bitcoin_order;
    if (b == 0) {
      for (int i = 0; i < 8; ++i) {
        s[i] = V::bcast(bp.prestate[i]);
        chain[i] = V::bcast(P.midstate[i]);
      }
    } else {
      for (int i = 0; i < 8; ++i) s[i] = chain[i];
    }
    const int first = b == 0 ? bp.first_round : 0;
    if (early) {
      block_fn<V, 61>(bp, first)(s, w, bp.c);
      key = V::bswap(s[kEarlySlot] + chain[7]);
      have_key = true;
    } else {
      block_fn<V, 64>(bp, first)(s, w, bp.c);
      for (int i = 0; i < 8; ++i) chain[i] = chain[i] + s[i];
    }
  }
  if (P.double_hash) {
    for (int i = 0; i < 8; ++i) {
      w[i] = chain[i];
      w[8 + i] = V::bcast(P.second.w[8 + i]);
      s[i] = V::bcast(hf::sha::IV256[i]);
    }
    if (P.bitcoin_order) {
      block_rounds<V, 0x00ff, 0, 61>(s, w, P.second.c);
      key = V::bswap(s[kEarlySlot] + V::bcast(hf::sha::IV256[7]));
    } else {
      block_rounds<V, 0x00ff, 0, 64>(s, w, P.second.c);
      key = s[0] + V::bcast(hf::sha::IV256[0]);
    }
  } else if (!have_key) {
    key = P.bitcoin_order ? V::bswap(chain[7]) : chain[0];
  }
  return V::le_mask(key, threshold);
}

// Bitcoin headers as one loop (plan.header_scan): both hashes' rounds inlined into one body,
// the nonce words made in registers, constants read straight from the plan. Against one
// search_batch call per batch this keeps the state out of memory between the two hashes and
// lets the compiler schedule the two hashes' rounds as one piece: measured +11-15% a core.
template <class V>
std::uint32_t scan_headers_impl(const hf::cpu::SearchPlan& P, std::uint32_t nonce0, std::uint32_t nbatches,
                                std::uint32_t threshold, std::uint32_t* mask) {
  constexpr unsigned L = V::lanes;
  constexpr int kEarlySlot = (4 - 61) & 7;
  alignas(64) static constexpr std::uint32_t kLane[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const hf::cpu::BlockPlan& bp = P.blocks[0];
  V n = V::bcast(nonce0) + V::load(kLane);
  for (std::uint32_t i = 0; i < nbatches; ++i) {
    V w[16], s[8];
    w[3] = V::bswap(n);  // the other words are constants folded into bp.c
    for (int j = 0; j < 8; ++j) s[j] = V::bcast(bp.prestate[j]);
    search_rounds<V, 0x0008, 3, 64>(s, w, bp.c, std::make_integer_sequence<int, 64>{});
    // The second hash's message is the first digest (prestate's slots are back in order
    // after round 63) and constant padding.
    for (int j = 0; j < 8; ++j) {
      w[j] = s[j] + V::bcast(P.midstate[j]);
      s[j] = V::bcast(hf::sha::IV256[j]);
    }
    search_rounds<V, 0x00ff, 0, 61>(s, w, P.second.c, std::make_integer_sequence<int, 64>{});
    const std::uint32_t m = V::le_mask(V::bswap(s[kEarlySlot] + V::bcast(hf::sha::IV256[7])), threshold);
    n = n + V::bcast(L);
    if (m) {
      *mask = m;
      return i + 1;
    }
  }
  *mask = 0;
  return nbatches;
}

#undef HF_INLINE
