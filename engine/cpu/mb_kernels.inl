// Multi-buffer SHA-1 / SHA-256 kernels written once over a lane-vector type V.
//
// Included by each ISA file (scalar.cpp, avx2.cpp, avx512.cpp) inside its own namespace, after
// kernels.hpp and sha_core.hpp, so every ISA gets its own copy compiled with its own flags and
// nothing here can be merged across ISAs by the linker. No std:: containers or algorithms.
//
// V provides: lanes, bcast, load, store, + ^ & |, rotr<n>, shr<n>, shl<n>, ch, maj, xor3,
// bswap, le_mask(x, threshold), and load_words(ptrs, offset, w[16]) (big-endian words of
// each lane's block, transposed so w[t] holds word t of every lane).

#define HF_INLINE inline __attribute__((always_inline))
// Words a plan marks constant are never read, which the compiler cannot see.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

template <class V> HF_INLINE V bsig0(V x) { return V::xor3(V::template rotr<2>(x), V::template rotr<13>(x), V::template rotr<22>(x)); }
template <class V> HF_INLINE V bsig1(V x) { return V::xor3(V::template rotr<6>(x), V::template rotr<11>(x), V::template rotr<25>(x)); }
template <class V> HF_INLINE V ssig0(V x) { return V::xor3(V::template rotr<7>(x), V::template rotr<18>(x), V::template shr<3>(x)); }
template <class V> HF_INLINE V ssig1(V x) { return V::xor3(V::template rotr<17>(x), V::template rotr<19>(x), V::template shr<10>(x)); }

// One SHA-256 round. The eight working variables live in s[8]; instead of moving them every
// round, round T reads a..h from slots (0-T)&7 .. (7-T)&7, so after 64 rounds the slots are
// back in order and, with compile-time T, the compiler keeps everything in registers.
template <class V, int T>
HF_INLINE void round256(V* s, V kw) {
  constexpr int A = (0 - T) & 7, B = (1 - T) & 7, C = (2 - T) & 7, D = (3 - T) & 7;
  constexpr int E = (4 - T) & 7, F = (5 - T) & 7, G = (6 - T) & 7, H = (7 - T) & 7;
  V t1 = s[H] + bsig1(s[E]) + V::ch(s[E], s[F], s[G]) + kw;
  V t2 = bsig0(s[A]) + V::maj(s[A], s[B], s[C]);
  s[D] = s[D] + t1;
  s[H] = t1 + t2;
}

// ---- full compression (batch hashing): every word varies per lane ----
template <class V, int T>
HF_INLINE void full_step256(V* s, V* w) {
  if constexpr (T >= 16)
    w[T & 15] = ssig1(w[(T - 2) & 15]) + w[(T - 7) & 15] + ssig0(w[(T - 15) & 15]) + w[T & 15];
  round256<V, T>(s, w[T & 15] + V::bcast(hf::sha::K256[T]));
}
template <class V, int... Ts>
HF_INLINE void full_rounds256(V* s, V* w, std::integer_sequence<int, Ts...>) {
  (full_step256<V, Ts>(s, w), ...);
}

template <class V>
void sha256_blocks_impl(std::uint32_t* state, const std::uint8_t* const* ptrs, std::size_t nblocks) {
  constexpr unsigned L = V::lanes;
  V h[8];
  for (int i = 0; i < 8; ++i) h[i] = V::load(state + i * L);
  for (std::size_t blk = 0; blk < nblocks; ++blk) {
    V w[16];
    V::load_words(ptrs, blk * 64, w);
    V s[8];
    for (int i = 0; i < 8; ++i) s[i] = h[i];
    full_rounds256<V>(s, w, std::make_integer_sequence<int, 64>{});
    for (int i = 0; i < 8; ++i) h[i] = h[i] + s[i];
  }
  for (int i = 0; i < 8; ++i) h[i].store(state + i * L);
}

// ---- SHA-1 ----
// Same slot trick with five slots: at round T, a..e are slots (0-T) mod 5 .. (4-T) mod 5.
template <class V, int T>
HF_INLINE void step1(V* s, V* w) {
  constexpr int A = (100 - T) % 5, B = (101 - T) % 5, C = (102 - T) % 5, D = (103 - T) % 5,
                E = (104 - T) % 5;
  if constexpr (T >= 16)
    w[T & 15] = V::template rotr<31>(V::xor3(w[(T - 3) & 15], w[(T - 8) & 15], w[(T - 14) & 15]) ^ w[T & 15]);
  V f;
  if constexpr (T < 20) f = V::ch(s[B], s[C], s[D]);
  else if constexpr (T < 40 || T >= 60) f = V::xor3(s[B], s[C], s[D]);
  else f = V::maj(s[B], s[C], s[D]);
  s[E] = V::template rotr<27>(s[A]) + f + s[E] + (w[T & 15] + V::bcast(hf::sha::K1[T / 20]));
  s[B] = V::template rotr<2>(s[B]);
}
template <class V, int... Ts>
HF_INLINE void rounds1(V* s, V* w, std::integer_sequence<int, Ts...>) {
  (step1<V, Ts>(s, w), ...);
}

template <class V>
void sha1_blocks_impl(std::uint32_t* state, const std::uint8_t* const* ptrs, std::size_t nblocks) {
  constexpr unsigned L = V::lanes;
  V h[5];
  for (int i = 0; i < 5; ++i) h[i] = V::load(state + i * L);
  for (std::size_t blk = 0; blk < nblocks; ++blk) {
    V w[16];
    V::load_words(ptrs, blk * 64, w);
    V s[5];
    for (int i = 0; i < 5; ++i) s[i] = h[i];
    rounds1<V>(s, w, std::make_integer_sequence<int, 80>{});
    for (int i = 0; i < 5; ++i) h[i] = h[i] + s[i];
  }
  for (int i = 0; i < 5; ++i) h[i].store(state + i * L);
}

// ---- nonce search: rounds driven by a BlockPlan ----
// Constant words come in as K+W; a varying word t >= 16 adds only its varying terms to a
// precomputed constant part. Rounds before first_round or at/after `end` are skipped.
template <class V, int T>
HF_INLINE void plan_step(V* s, V* w, const hf::cpu::BlockPlan& bp, int first, int end) {
  if (T < first || T >= end) return;
  const std::uint8_t f = bp.flags[T];
  V kw;
  if (f & hf::cpu::kWConst) {
    kw = V::bcast(bp.kw[T]);
  } else {
    if constexpr (T >= 16) {
      V x = (f & hf::cpu::kHasConst) ? V::bcast(bp.cpart[T]) : V::bcast(0);
      if (f & hf::cpu::kVar2) x = x + ssig1(w[T - 2]);
      if (f & hf::cpu::kVar7) x = x + w[T - 7];
      if (f & hf::cpu::kVar15) x = x + ssig0(w[T - 15]);
      if (f & hf::cpu::kVar16) x = x + w[T - 16];
      w[T] = x;
    }
    kw = w[T] + V::bcast(hf::sha::K256[T]);
  }
  round256<V, T>(s, kw);
}
template <class V, int... Ts>
HF_INLINE void plan_rounds(V* s, V* w, const hf::cpu::BlockPlan& bp, int end, std::integer_sequence<int, Ts...>) {
  const int first = bp.first_round;
  (plan_step<V, Ts>(s, w, bp, first, end), ...);
}

template <class V>
std::uint32_t search_batch_impl(const hf::cpu::SearchPlan& P, const std::uint32_t* aw, std::uint32_t threshold) {
  constexpr unsigned L = V::lanes;
  constexpr auto kSeq = std::make_integer_sequence<int, 64>{};
  // e after round 61 is H7 - chain7: misses in Bitcoin's order stop there.
  constexpr int kEarlyEnd = 61, kEarlySlot = (4 - 61) & 7;
  V chain[8], s[8];
  V w[64];
  V key;
  bool have_key = false;
  for (std::uint32_t b = 0; b < P.nblocks; ++b) {
    const hf::cpu::BlockPlan& bp = P.blocks[b];
    for (unsigned k = 0; k < P.naw; ++k)
      if (P.aw_index[k] / 16 == b) w[P.aw_index[k] % 16] = V::load(aw + k * L);
    const bool last = b + 1 == P.nblocks;
    const bool early = last && !P.double_hash && P.bitcoin_order;
    if (b == 0) {
      for (int i = 0; i < 8; ++i) {
        s[i] = V::bcast(bp.prestate[i]);
        chain[i] = V::bcast(P.midstate[i]);
      }
    } else {
      for (int i = 0; i < 8; ++i) s[i] = chain[i];
    }
    plan_rounds<V>(s, w, bp, early ? kEarlyEnd : 64, kSeq);
    if (early) {
      key = V::bswap(s[kEarlySlot] + chain[7]);
      have_key = true;
    } else {
      for (int i = 0; i < 8; ++i) chain[i] = chain[i] + s[i];
    }
  }
  if (P.double_hash) {
    for (int i = 0; i < 8; ++i) {
      w[i] = chain[i];
      s[i] = V::bcast(P.second.prestate[i]);
    }
    if (P.bitcoin_order) {
      plan_rounds<V>(s, w, P.second, kEarlyEnd, kSeq);
      key = V::bswap(s[kEarlySlot] + V::bcast(hf::sha::IV256[7]));
    } else {
      plan_rounds<V>(s, w, P.second, 64, kSeq);
      key = s[0] + V::bcast(hf::sha::IV256[0]);
    }
  } else if (!have_key) {
    key = P.bitcoin_order ? V::bswap(chain[7]) : chain[0];
  }
  return V::le_mask(key, threshold);
}

// Portable transposed load: gathers word t of every lane into w[t].
template <class V>
HF_INLINE void load_words_gather(const std::uint8_t* const* ptrs, std::size_t off, V* w) {
  constexpr unsigned L = V::lanes;
  alignas(64) std::uint32_t buf[16][L];
  for (unsigned l = 0; l < L; ++l) {
    const std::uint8_t* p = ptrs[l] + off;
    for (int t = 0; t < 16; ++t) {
      std::uint32_t x;
      std::memcpy(&x, p + 4 * t, 4);
      buf[t][l] = __builtin_bswap32(x);
    }
  }
  for (int t = 0; t < 16; ++t) w[t] = V::load(buf[t]);
}

#undef HF_INLINE
