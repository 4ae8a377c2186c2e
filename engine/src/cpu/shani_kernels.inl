// SHA-1 / SHA-256 kernels on the x86 SHA extensions (SHA-NI), written once and compiled twice:
// shani.cpp builds them with -mavx, so the vector code around the SHA instructions gets the
// three-operand VEX encoding (no register copies before each destructive SSE operation: 16%
// fewer instructions in the header scan loop, 1366 -> 1145 a 4-nonce batch); shani_sse.cpp
// builds them for CPUs with SHA-NI but no AVX (Intel's Atom-class Goldmont and Tremont
// cores). The SHA instructions themselves have only the legacy encoding in both. The
// including file defines HF_SHANI_NAME (the backend's name) and HF_SHANI_GETTER (the kernel
// table's getter, declared in kernels.hpp).
//
// Each including file is compiled with SHA-NI (and perhaps AVX) enabled, so this code must not
// instantiate any std:: template or call any inline library function: the linker could keep
// such a COMDAT from this file and run it on a CPU without those instructions. Everything but
// the exported table getter has internal linkage, and only intrinsics and builtins are used.
//
// Each sha256rnds2 depends on the one before it, and its latency is longer than its issue
// interval, so a single stream is latency-bound. The multi-buffer entry points run several
// independent streams in the same instruction sequence so the dependency chains overlap.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "cpu/kernels.hpp"
#include "sha_core.hpp"

namespace {

using hf::cpu::BlockPlan;
using hf::cpu::KernelTable;
using hf::cpu::SearchPlan;
using std::size_t;
using std::uint32_t;
using std::uint8_t;

#define HF_INLINE inline __attribute__((always_inline))
// -O2 only fully unrolls loops that do not grow the code; the lane and word loops below must
// be unrolled so that their arrays of vectors become registers.
#define HF_UNROLL _Pragma("GCC unroll 16")

// Streams interleaved. sha256rnds2 issues every ~2 cycles but takes ~4 (Zen 5: 0.52 ns
// apart, 1.07 ns latency), so one stream runs at half speed. More streams hide more of the
// latency, but SSE has 16 registers and a miner runs a thread on every logical CPU, whose
// SMT sibling shares the SHA unit. Measured on the EPYC with both vCPUs busy
// (bench/results/2026-12-03-shani-kernels.md), the header search makes 42-46 M nonces/s
// with 4 streams a thread, 43 with 2, 38-45 with 6 and 34-38 with 8; alone, 8 streams win
// (up to 28 M/s against 24) but a miner is never alone.
constexpr int kLanes = 4;

// Byte shuffles that turn 16 loaded message bytes into big-endian words. SHA-256 keeps W[t]
// in the lowest dword; SHA-1's instructions expect W[t] in the highest dword.
HF_INLINE __m128i bswap_words_mask() { return _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL); }
HF_INLINE __m128i bswap_reverse_mask() { return _mm_set_epi64x(0x0001020304050607LL, 0x08090a0b0c0d0e0fLL); }

// ---------------------------------------------------------------------------------------
// SHA-256
//
// sha256rnds2 works on the state split as ABEF = {A,B,E,F} and CDGH = {C,D,G,H}, listed
// from the highest dword down (so F and H sit in dword 0).

struct State256 {
  __m128i abef;
  __m128i cdgh;
};

// words[0..7] = a..h (the plain H0..H7 order) -> ABEF / CDGH.
HF_INLINE State256 to_shani256(__m128i abcd, __m128i efgh) {
  const __m128i badc = _mm_shuffle_epi32(abcd, 0xB1);  // dwords 0..3 = b a d c
  const __m128i hgfe = _mm_shuffle_epi32(efgh, 0x1B);  // dwords 0..3 = h g f e
  State256 s;
  s.abef = _mm_alignr_epi8(badc, hgfe, 8);     // f e b a
  s.cdgh = _mm_blend_epi16(hgfe, badc, 0xF0);  // h g d c
  return s;
}

// The inverse of to_shani256: *abcd = {a,b,c,d}, *efgh = {e,f,g,h} in dwords 0..3.
HF_INLINE void from_shani256(const State256& s, __m128i* abcd, __m128i* efgh) {
  const __m128i abef = _mm_shuffle_epi32(s.abef, 0x1B);  // a b e f
  const __m128i ghcd = _mm_shuffle_epi32(s.cdgh, 0xB1);  // g h c d
  *abcd = _mm_blend_epi16(abef, ghcd, 0xF0);
  *efgh = _mm_alignr_epi8(ghcd, abef, 8);
}

HF_INLINE State256 load_state256(const uint32_t* h) {
  return to_shani256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h)),
                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(h + 4)));
}

HF_INLINE void store_state256(const State256& s, uint32_t* h) {
  __m128i abcd, efgh;
  from_shani256(s, &abcd, &efgh);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(h), abcd);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(h + 4), efgh);
}

HF_INLINE __m128i k256(int quad) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(hf::sha::K256 + 4 * quad)); }
// K[4q+1..4q+4], for a hash that runs its rounds from 1 in quads of words 4q+1..4q+4.
HF_INLINE __m128i k256_odd(int quad) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(hf::sha::K256 + 4 * quad + 1));
}

// W+K's words 2 and 3 moved down for the second sha256rnds2 of a quad. The VEX build passes them
// through memory (a store, then an 8-byte load from its middle, which the store forwards) rather
// than a pshufd: load and store ports instead of a vector one, which the SHA instructions share.
// On a Xeon of family 6 model 167 the bulk SHA-256 kernel went from 101.6-102.2 to 98.2-98.9
// cycles a block (its bound is 96), the header loops of shani_scan.S 1.02-1.04x. The legacy
// build runs on Atom-class cores, whose forwarding from the middle of a store is not measured.
HF_INLINE __m128i upper_pair(__m128i wk) {
#if defined(__AVX__)
  alignas(16) __m128i slot;
  _mm_store_si128(&slot, wk);
  asm volatile("" : "+m"(slot));  // or the compiler turns the pair back into a shuffle
  return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(reinterpret_cast<const char*>(&slot) + 8));
#else
  return _mm_shuffle_epi32(wk, 0x0E);
#endif
}

// Four rounds with wk = W[t..t+3] + K[t..t+3]. The first rnds2 writes the new ABEF into
// the CDGH variable (whose old value it no longer needs) and the second swaps them back, so
// the names are right again on return.
HF_INLINE void rounds256(State256& s, __m128i wk) {
  s.cdgh = _mm_sha256rnds2_epu32(s.cdgh, s.abef, wk);
  s.abef = _mm_sha256rnds2_epu32(s.abef, s.cdgh, upper_pair(wk));
}

// Where the schedule's sigma0 terms are computed: by sha256msg1, or by shifts and xors on the
// vector pipes. sha256msg1 issues once every 5 cycles on Intel's Sunny Cove class (measured on a
// Xeon of family 6 model 167), and four streams need 48 of them a block against 128
// sha256rnds2 at one every 3, so in the 12 quads that have a schedule the msg1 unit runs 83%
// busy and its queue delays the rounds: the bulk kernel ran 1.13-1.15x the cycles of its rounds
// alone, 1.04x with sigma0 on the vector pipes. On Zen 3 the vector pipes issue the SHA
// instructions too and are the bound, so the driver times both and keeps the faster: the table's
// first build is sha256msg1 with the schedule a block ahead (sha256_blocks_ahead, below), the
// second sigma0 on the vector pipes just in time (sha256_blocks).
enum class Sigma0 { msg1, vector };

// sha256msg1(w16, w12) on the vector pipes: W[t-16+i] + sigma0(W[t-15+i]) for i = 0..3.
HF_INLINE __m128i msg1_vector(__m128i w16, __m128i w12) {
  const __m128i x = _mm_alignr_epi8(w12, w16, 4);  // W[t-15..t-12]
  const __m128i r7_18 = _mm_xor_si128(_mm_xor_si128(_mm_srli_epi32(x, 7), _mm_slli_epi32(x, 25)),
                                      _mm_xor_si128(_mm_srli_epi32(x, 18), _mm_slli_epi32(x, 14)));
  return _mm_add_epi32(w16, _mm_xor_si128(r7_18, _mm_srli_epi32(x, 3)));
}

// W[t..t+3] from w16 = W[t-16..], w12 = W[t-12..], w8 = W[t-8..], w4 = W[t-4..]. The W[t-7]
// term straddles two vectors, hence the alignr.
template <Sigma0 S0 = Sigma0::msg1>
HF_INLINE __m128i schedule256(__m128i w16, __m128i w12, __m128i w8, __m128i w4) {
  const __m128i s0 = S0 == Sigma0::msg1 ? _mm_sha256msg1_epu32(w16, w12) : msg1_vector(w16, w12);
  const __m128i x = _mm_add_epi32(s0, _mm_alignr_epi8(w4, w8, 4));
  return _mm_sha256msg2_epu32(x, w4);
}

// Quad q's words in a lane's ring w (words 4q-16..4q-1 before, in slots (q..q+3) & 3): the
// block's own for q < 4, else the schedule's, written over the oldest slot.
template <Sigma0 S0>
HF_INLINE __m128i ring_words256(__m128i (&w)[4], int q) {
  if (q >= 4) w[q & 3] = schedule256<S0>(w[q & 3], w[(q + 1) & 3], w[(q + 2) & 3], w[(q + 3) & 3]);
  return w[q & 3];
}

// Quad Q (rounds 4Q..4Q+3) of N independent streams; m[l][0..3] is a ring of lane l's last
// 16 message words. Q is a template parameter so every ring index is a constant and the
// compiler keeps the ring in registers; lanes are the inner loop so each step of every
// stream is issued back to back.
// Quads Q..End-1 run; a search stops before the end.
// Odd: the quads hold words 4Q+1..4Q+4 (the schedule instructions work at any offset).
template <int N, int Q, int End = 16, Sigma0 S0 = Sigma0::msg1, bool Odd = false>
HF_INLINE void quads256(State256 (&s)[N], __m128i (&m)[N][4]) {
  if constexpr (Q < End) {
    const __m128i k = Odd ? k256_odd(Q) : k256(Q);
    HF_UNROLL
    for (int l = 0; l < N; ++l) rounds256(s[l], _mm_add_epi32(ring_words256<S0>(m[l], Q), k));
    quads256<N, Q + 1, End, S0, Odd>(s, m);
  }
}

// The feed-forward: each stream's state plus the one it started the block from.
template <int N>
HF_INLINE void add_states256(State256 (&s)[N], const State256 (&saved)[N]) {
  HF_UNROLL
  for (int l = 0; l < N; ++l) {
    s[l].abef = _mm_add_epi32(s[l].abef, saved[l].abef);
    s[l].cdgh = _mm_add_epi32(s[l].cdgh, saved[l].cdgh);
  }
}

// One compression (64 rounds plus the feed-forward) of N streams. m[l][i] holds lane l's
// W[4i..4i+3] (W[4i] in dword 0) and is overwritten by the schedule.
template <int N, Sigma0 S0 = Sigma0::msg1>
HF_INLINE void compress256(State256 (&s)[N], __m128i (&m)[N][4]) {
  State256 saved[N];
  HF_UNROLL
  for (int l = 0; l < N; ++l) saved[l] = s[l];
  quads256<N, 0, 16, S0>(s, m);
  add_states256(s, saved);
}

HF_INLINE void load_block256(const uint8_t* p, __m128i (&m)[4]) {
  const __m128i mask = bswap_words_mask();
  HF_UNROLL
  for (int i = 0; i < 4; ++i)
    m[i] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i)), mask);
}

void sha256_single(uint32_t state[8], const uint8_t* blocks, size_t nblocks) {
  State256 s[1] = {load_state256(state)};
  for (size_t b = 0; b < nblocks; ++b, blocks += 64) {
    __m128i m[1][4];
    load_block256(blocks, m[0]);
    compress256<1>(s, m);
  }
  store_state256(s[0], state);
}

// The [word][lane] state layout of the multi-buffer contract, to and from one lane's H0..H7.
template <int Words>
HF_INLINE void gather_lane(const uint32_t* soa, int lane, uint32_t* out) {
  HF_UNROLL
  for (int i = 0; i < Words; ++i) out[i] = soa[i * kLanes + lane];
}
template <int Words>
HF_INLINE void scatter_lane(const uint32_t* in, int lane, uint32_t* soa) {
  HF_UNROLL
  for (int i = 0; i < Words; ++i) soa[i * kLanes + lane] = in[i];
}

// Every lane's SHA-256 state from the [word][lane] layout, and back.
HF_INLINE void load_lane_states256(const uint32_t* state, State256 (&s)[kLanes]) {
  HF_UNROLL
  for (int l = 0; l < kLanes; ++l) {
    uint32_t h[8];
    gather_lane<8>(state, l, h);
    s[l] = load_state256(h);
  }
}
HF_INLINE void store_lane_states256(const State256 (&s)[kLanes], uint32_t* state) {
  HF_UNROLL
  for (int l = 0; l < kLanes; ++l) {
    uint32_t h[8];
    store_state256(s[l], h);
    scatter_lane<8>(h, l, state);
  }
}

template <Sigma0 S0>
void sha256_blocks(uint32_t* state, const uint8_t* const* ptrs, size_t nblocks) {
  State256 s[kLanes];
  load_lane_states256(state, s);
  const uint8_t* p[kLanes];
  HF_UNROLL
  for (int l = 0; l < kLanes; ++l) p[l] = ptrs[l];
  for (size_t b = 0; b < nblocks; ++b) {
    __m128i m[kLanes][4];
    HF_UNROLL
    for (int l = 0; l < kLanes; ++l) {
      load_block256(p[l], m[l]);
      p[l] += 64;
    }
    compress256<kLanes, S0>(s, m);
  }
  store_lane_states256(s, state);
}

// The bulk kernel with the message schedule one block ahead. Just in time (sha256_blocks), each
// quad's rounds wait on that quad's words, and these come off the schedule's own chain: alignr,
// add and sha256msg2, whose latency is 8 cycles on a Zen 4 EPYC (family 25 model 17), about 10
// a quad and 120-140 a block, longer than the 128 of the block's 32 dependent sha256rnds2; with
// four streams' rings (16 registers) beside their states (8) in 16 xmm registers, the ring was
// spilled on that chain too. Here block b's rounds read W+K from memory, worked out during block
// b - 1 (and the upper pair is an 8-byte load, not a shuffle or a store-forward), while block
// b + 1's schedule runs beside them with only each lane's newest words in a register. Zen 4:
// 59-61 cycles a block at 1 MiB against 68-72 just in time
// (bench/results/2026-12-05-epyc-zen4-cpu-check.md).
//
// That memory costs issue slots there: a block of one stream issues about 88 vector loads and
// 34 stores (W+K, its upper pair, the ring, K), and sha256msg2 competes with vector loads on
// that core (12 msg2 take 24 cycles, 88 loads 44, both 55-56). The kernel's whole mix with its
// loads and stores issues in 51-53 cycles a block (hf_shani_mix BM_ahead_kernel_mix), 44
// without them; the kernel takes 59-60. A build keeping the ring in xmm16-31 (AVX-512 names
// them for everything but the SHA instructions) issued 52 loads and 19 stores a block and ran
// 59 as well, and five to eight streams ran 63-68
// (bench/results/2026-12-05-epyc-zen4-shani-loads.md).
//
// W+K's words 2 and 3, from memory written a block earlier.
HF_INLINE __m128i load_upper_pair(const __m128i* wk) {
  __m128i r;  // an asm load: the compiler would turn a second load of the same bytes into a shuffle
#if defined(__AVX__)
  asm("vmovq %1, %0" : "=x"(r) : "m"(*(reinterpret_cast<const long long*>(wk) + 1)));
#else
  asm("movq %1, %0" : "=x"(r) : "m"(*(reinterpret_cast<const long long*>(wk) + 1)));
#endif
  return r;
}

// Quad Q: the current block's rounds from cur, then quad Q of the next block's schedule into
// nxt. A lane's newest schedule words stay in last[l] (the chain runs through them); its ring of
// the 16 before is kept in memory (read by msg1 and alignr, off the chain). next[l] is the next
// block's bytes.
template <int Q, Sigma0 S0>
HF_INLINE void schedule_quad_ahead(__m128i (&nxt)[16][kLanes], __m128i (&last)[kLanes], __m128i (&ring)[kLanes][4],
                                   const uint8_t* const (&next)[kLanes]) {
  HF_UNROLL
  for (int l = 0; l < kLanes; ++l) {
    __m128i w;
    if constexpr (Q < 4) {
      w = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(next[l] + 16 * Q)), bswap_words_mask());
    } else {
      const __m128i w16 = _mm_load_si128(&ring[l][Q & 3]), w12 = _mm_load_si128(&ring[l][(Q + 1) & 3]);
      const __m128i w8 = _mm_load_si128(&ring[l][(Q + 2) & 3]);
      const __m128i s0 = S0 == Sigma0::msg1 ? _mm_sha256msg1_epu32(w16, w12) : msg1_vector(w16, w12);
      w = _mm_sha256msg2_epu32(_mm_add_epi32(s0, _mm_alignr_epi8(last[l], w8, 4)), last[l]);
    }
    _mm_store_si128(&ring[l][Q & 3], w);
    asm volatile("" : "+m"(ring[l][Q & 3]));  // read back from memory later, not held in a register
    last[l] = w;
    _mm_store_si128(&nxt[Q][l], _mm_add_epi32(w, k256(Q)));
  }
}

// Four rounds of every lane with W+K from memory (wk[l * stride]: the lanes' own, or one
// constant quad for all).
HF_INLINE void rounds256_from(State256 (&s)[kLanes], const __m128i* wk, int stride) {
  HF_UNROLL
  for (int l = 0; l < kLanes; ++l) {
    s[l].cdgh = _mm_sha256rnds2_epu32(s[l].cdgh, s[l].abef, _mm_loadu_si128(wk + l * stride));
    s[l].abef = _mm_sha256rnds2_epu32(s[l].abef, s[l].cdgh, load_upper_pair(wk + l * stride));
  }
}

template <int Q, Sigma0 S0>
HF_INLINE void quads256_ahead(State256 (&s)[kLanes], const __m128i (&cur)[16][kLanes], __m128i (&nxt)[16][kLanes],
                              __m128i (&last)[kLanes], __m128i (&ring)[kLanes][4], const uint8_t* const (&next)[kLanes]) {
  if constexpr (Q < 16) {
    rounds256_from(s, cur[Q], 1);
    schedule_quad_ahead<Q, S0>(nxt, last, ring, next);
    quads256_ahead<Q + 1, S0>(s, cur, nxt, last, ring, next);
  }
}

// W+K of one block of every lane, into wk: the first block's (later ones come ahead).
template <Sigma0 S0>
HF_INLINE void schedule_block(const uint8_t* const (&p)[kLanes], __m128i (&wk)[16][kLanes]) {
  HF_UNROLL
  for (int l = 0; l < kLanes; ++l) {
    __m128i m[4];
    load_block256(p[l], m);
    HF_UNROLL
    for (int q = 0; q < 16; ++q) _mm_store_si128(&wk[q][l], _mm_add_epi32(ring_words256<S0>(m, q), k256(q)));
  }
}

template <Sigma0 S0>
void sha256_blocks_ahead(uint32_t* state, const uint8_t* const* ptrs, size_t nblocks) {
  if (nblocks == 0) return;
  State256 s[kLanes];
  load_lane_states256(state, s);
  const uint8_t* p[kLanes];
  HF_UNROLL
  for (int l = 0; l < kLanes; ++l) p[l] = ptrs[l];
  alignas(64) __m128i wk[2][16][kLanes];
  alignas(64) __m128i ring[kLanes][4];
  schedule_block<S0>(p, wk[0]);
  for (size_t b = 0; b < nblocks; ++b) {
    // The last block schedules itself again rather than read past the end.
    const uint8_t* next[kLanes];
    HF_UNROLL
    for (int l = 0; l < kLanes; ++l) next[l] = b + 1 < nblocks ? p[l] + 64 : p[l];
    State256 saved[kLanes];
    HF_UNROLL
    for (int l = 0; l < kLanes; ++l) saved[l] = s[l];
    __m128i last[kLanes];
    quads256_ahead<0, S0>(s, wk[b & 1], wk[(b + 1) & 1], last, ring, next);
    add_states256(s, saved);
    HF_UNROLL
    for (int l = 0; l < kLanes; ++l) p[l] = next[l];
  }
  store_lane_states256(s, state);
}

// 64-byte messages (Merkle tree layers), four at a time: each message's compression, then the
// padding block's, whose K + W words are constants (hf::sha::kPad64), so it needs no schedule
// instructions. The next four's schedule is spread over this four's two compressions, one
// schedule quad every other round quad: the message block's rounds read W+K from memory, the
// padding block's from kPad64, and the schedule chain (120-140 cycles) has the 256 of both
// blocks' rounds to run beside. On the Zen 4 EPYC 1.20-1.22x the just-in-time form.
template <int T>
HF_INLINE void pairs_quads_ahead(State256 (&s)[kLanes], const __m128i (&cur)[16][kLanes], __m128i (&nxt)[16][kLanes],
                                 __m128i (&last)[kLanes], __m128i (&ring)[kLanes][4],
                                 const uint8_t* const (&next)[kLanes]) {
  if constexpr (T < 16) {
    rounds256_from(s, cur[T], 1);
    if constexpr (T % 2 == 1) schedule_quad_ahead<T / 2, Sigma0::msg1>(nxt, last, ring, next);
    pairs_quads_ahead<T + 1>(s, cur, nxt, last, ring, next);
  }
}
template <int T>
HF_INLINE void pairs_pad_quads_ahead(State256 (&s)[kLanes], __m128i (&nxt)[16][kLanes], __m128i (&last)[kLanes],
                                     __m128i (&ring)[kLanes][4], const uint8_t* const (&next)[kLanes]) {
  if constexpr (T < 16) {
    rounds256_from(s, reinterpret_cast<const __m128i*>(hf::sha::kPad64.kw + 4 * T), 0);
    if constexpr (T % 2 == 1) schedule_quad_ahead<8 + T / 2, Sigma0::msg1>(nxt, last, ring, next);
    pairs_pad_quads_ahead<T + 1>(s, nxt, last, ring, next);
  }
}

void sha256_64_ahead(const uint8_t* in, size_t n, uint8_t* out) {
  if (n == 0) return;
  const State256 iv = load_state256(hf::sha::IV256);
  const __m128i mask = bswap_words_mask();
  alignas(64) __m128i wk[2][16][kLanes];
  alignas(64) __m128i ring[kLanes][4];
  {
    const uint8_t* first[kLanes];
    HF_UNROLL
    for (int l = 0; l < kLanes; ++l) first[l] = in + 64 * l;
    schedule_block<Sigma0::msg1>(first, wk[0]);
  }
  for (size_t i = 0, g = 0; i < n; i += kLanes, ++g) {
    // The last four schedule themselves again rather than read past the end.
    const uint8_t* next[kLanes];
    HF_UNROLL
    for (int l = 0; l < kLanes; ++l) next[l] = in + 64 * ((i + kLanes < n ? i + kLanes : i) + l);
    State256 s[kLanes];
    HF_UNROLL
    for (int l = 0; l < kLanes; ++l) s[l] = iv;
    __m128i last[kLanes];
    pairs_quads_ahead<0>(s, wk[g & 1], wk[(g + 1) & 1], last, ring, next);
    State256 h[kLanes];
    HF_UNROLL
    for (int l = 0; l < kLanes; ++l) {
      s[l].abef = _mm_add_epi32(s[l].abef, iv.abef);
      s[l].cdgh = _mm_add_epi32(s[l].cdgh, iv.cdgh);
      h[l] = s[l];
    }
    pairs_pad_quads_ahead<0>(s, wk[(g + 1) & 1], last, ring, next);
    HF_UNROLL
    for (int l = 0; l < kLanes; ++l) {
      s[l].abef = _mm_add_epi32(s[l].abef, h[l].abef);
      s[l].cdgh = _mm_add_epi32(s[l].cdgh, h[l].cdgh);
      __m128i abcd, efgh;
      from_shani256(s[l], &abcd, &efgh);
      uint8_t* o = out + 32 * (i + l);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o), _mm_shuffle_epi8(abcd, mask));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 16), _mm_shuffle_epi8(efgh, mask));
    }
  }
}

// ---------------------------------------------------------------------------------------
// SHA-1
//
// sha1rnds4 keeps A..D in one register (A in the highest dword) and takes E already added to
// the first message word; sha1nexte derives the next E (rol30 of the A four rounds back)
// and adds it the same way.

struct State1 {
  __m128i abcd;
  __m128i e;  // E in the highest dword
};

HF_INLINE State1 load_state1(const uint32_t* h) {
  State1 s;
  s.abcd = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h)), 0x1B);
  s.e = _mm_set_epi32(static_cast<int>(h[4]), 0, 0, 0);
  return s;
}

HF_INLINE void store_state1(const State1& s, uint32_t* h) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(h), _mm_shuffle_epi32(s.abcd, 0x1B));
  h[4] = static_cast<uint32_t>(_mm_extract_epi32(s.e, 3));
}

// W[t..t+3] = rol1(W[t-3] ^ W[t-8] ^ W[t-14] ^ W[t-16]): msg1 folds in W[t-14], the xor adds
// W[t-8], and msg2 adds W[t-3] (including the just-computed W[t] for W[t+3]) and rotates.
HF_INLINE __m128i schedule1(__m128i w16, __m128i w12, __m128i w8, __m128i w4) {
  return _mm_sha1msg2_epu32(_mm_xor_si128(_mm_sha1msg1_epu32(w16, w12), w8), w4);
}

// Quad Q (rounds 4Q..4Q+3) of N streams; see quads256 for why Q is a template parameter.
// It also makes the round-function selector (an instruction immediate, Q / 5) a constant.
// prev[l] is lane l's ABCD before the previous quad: the source of this quad's E.
template <int N, int Q>
HF_INLINE void quads1(State1 (&s)[N], __m128i (&m)[N][4], __m128i (&prev)[N]) {
  HF_UNROLL
  for (int l = 0; l < N; ++l) {
    __m128i* w = m[l];
    if constexpr (Q >= 4) w[Q & 3] = schedule1(w[Q & 3], w[(Q + 1) & 3], w[(Q + 2) & 3], w[(Q + 3) & 3]);
    __m128i e_w;
    if constexpr (Q == 0)
      e_w = _mm_add_epi32(s[l].e, w[0]);
    else
      e_w = _mm_sha1nexte_epu32(prev[l], w[Q & 3]);
    prev[l] = s[l].abcd;
    s[l].abcd = _mm_sha1rnds4_epu32(s[l].abcd, e_w, Q / 5);
  }
  if constexpr (Q < 19) quads1<N, Q + 1>(s, m, prev);
}

// One compression of N streams; m[l][i] holds W[4i..4i+3] with W[4i] in the highest dword.
template <int N>
HF_INLINE void compress1(State1 (&s)[N], __m128i (&m)[N][4]) {
  State1 saved[N];
  __m128i prev[N];
  HF_UNROLL
  for (int l = 0; l < N; ++l) saved[l] = s[l];
  quads1<N, 0>(s, m, prev);
  HF_UNROLL
  for (int l = 0; l < N; ++l) {
    // After round 79 E is rol30 of the A from four rounds earlier, which nexte computes.
    s[l].e = _mm_sha1nexte_epu32(prev[l], saved[l].e);
    s[l].abcd = _mm_add_epi32(s[l].abcd, saved[l].abcd);
  }
}

HF_INLINE void load_block1(const uint8_t* p, __m128i (&m)[4]) {
  const __m128i mask = bswap_reverse_mask();
  HF_UNROLL
  for (int i = 0; i < 4; ++i)
    m[i] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i)), mask);
}

void sha1_single(uint32_t state[5], const uint8_t* blocks, size_t nblocks) {
  State1 s[1] = {load_state1(state)};
  for (size_t b = 0; b < nblocks; ++b, blocks += 64) {
    __m128i m[1][4];
    load_block1(blocks, m[0]);
    compress1<1>(s, m);
  }
  store_state1(s[0], state);
}

void sha1_blocks(uint32_t* state, const uint8_t* const* ptrs, size_t nblocks) {
  State1 s[kLanes];
  const uint8_t* p[kLanes];
  HF_UNROLL
  for (int l = 0; l < kLanes; ++l) {
    uint32_t h[5];
    gather_lane<5>(state, l, h);
    s[l] = load_state1(h);
    p[l] = ptrs[l];
  }
  for (size_t b = 0; b < nblocks; ++b) {
    __m128i m[kLanes][4];
    HF_UNROLL
    for (int l = 0; l < kLanes; ++l) {
      load_block1(p[l], m[l]);
      p[l] += 64;
    }
    compress1<kLanes>(s, m);
  }
  HF_UNROLL
  for (int l = 0; l < kLanes; ++l) {
    uint32_t h[5];
    store_state1(s[l], h);
    scatter_lane<5>(h, l, state);
  }
}

// ---------------------------------------------------------------------------------------
// Nonce search
//
// The plan's round-skipping precomputation (prestate, first_round) is made for the
// scalar/SIMD round functions, whose rounds go one at a time; sha256rnds2 goes two at a time
// from its own state layout, so Bitcoin headers get their own kernel (search_header) and
// other layouts compress every block in full from the midstate.

// Rebuilds W[0..15] of plan block b for each lane: constant words come from the plan, the
// nonce-dependent ones from aw.
HF_INLINE void search_words(const SearchPlan& plan, uint32_t b, const uint32_t* aw, __m128i (&m)[kLanes][4]) {
  const BlockPlan& bp = plan.blocks[b];
  HF_UNROLL
  for (int i = 0; i < 4; ++i) {
    const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bp.w + 4 * i));
    HF_UNROLL
    for (int l = 0; l < kLanes; ++l) m[l][i] = w;
  }
  if (b >= 2) return;
  // A nonce word's position is data, so it is merged with a compare mask rather than an
  // insert (whose position is an immediate) or a store/reload (which stalls forwarding).
  for (int k = 0; k < plan.naw && k < hf::cpu::kMaxAffectedWords; ++k) {
    const unsigned idx = plan.aw_index[k];
    if (idx / 16 != b) continue;
    const __m128i pos = _mm_set1_epi32(static_cast<int>(idx % 16));
    HF_UNROLL
    for (int i = 0; i < 4; ++i) {
      const __m128i sel = _mm_cmpeq_epi32(pos, _mm_set_epi32(4 * i + 3, 4 * i + 2, 4 * i + 1, 4 * i));
      HF_UNROLL
      for (int l = 0; l < kLanes; ++l)
        m[l][i] = _mm_blendv_epi8(m[l][i], _mm_set1_epi32(static_cast<int>(aw[k * kLanes + l])), sel);
    }
  }
}

// Whether the plan is a Bitcoin header search: sha256d, the key in Bitcoin's order, one block
// after the midstate with the nonce alone in word 3 (what Stratum jobs and the node mine).
bool is_header_search(const SearchPlan& plan) {
  const BlockPlan& bp = plan.blocks[0];
  return plan.double_hash && plan.bitcoin_order && plan.nblocks == 1 && plan.naw == 1 && plan.aw_index[0] == 3 &&
         bp.varmask == 0x0008 && bp.const_chain;
}

// The parts of a header nonce block's schedule that do not depend on the nonce (word 3). W16
// and W17 do not (W16 = s1(W14) + W9 + s0(W1) + W0), W18 and W19 do; a sha256msg1 reads only
// the first word of its second operand, so a schedule step that reads W16..19 only through
// that operand is nonce-free there too. Each is computed at any nonce (the plan's, zero).
struct HeaderConsts {
  // The state after round 3 of the nonce's block at W3 = 0. W3 enters round 3 only as a term
  // of T1, so the state at nonce word n is this with n added to A and E (dwords 3 and 1).
  __m128i r3_abef, r3_cdgh;
  __m128i c4;   // quad 4 (W16..19) less its sha256msg1 term, the only one that reads W3
  __m128i c5;   // quad 5 (W20..23) before its sha256msg2: msg1(W4..7, W8..11) + W13..16
  __m128i c7m;  // quad 7's sha256msg1 term: msg1(W12..15, W16..19) reads W12..16
};

HF_INLINE HeaderConsts header_consts(const SearchPlan& plan) {
  const uint32_t* w = plan.blocks[0].w;
  const __m128i w0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w));
  const __m128i w1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 4));
  const __m128i w2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 8));
  const __m128i w3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 12));
  const __m128i w16 = schedule256(w0, w1, w2, w3);  // W16 and W17 right, W18 and W19 at nonce 0
  HeaderConsts c;
  const State256 mid = load_state256(plan.midstate);
  const __m128i wk0 = _mm_add_epi32(w0, k256(0));  // W3 is 0 here
  c.r3_cdgh = _mm_sha256rnds2_epu32(mid.cdgh, mid.abef, wk0);
  c.r3_abef = _mm_sha256rnds2_epu32(mid.abef, c.r3_cdgh, _mm_shuffle_epi32(wk0, 0x0E));
  c.c4 = _mm_sub_epi32(w16, _mm_sha256msg1_epu32(w0, w1));
  c.c5 = _mm_add_epi32(_mm_sha256msg1_epu32(w1, w2), _mm_alignr_epi8(w16, w3, 4));
  c.c7m = _mm_sha256msg1_epu32(w3, w16);
  return c;
}

// The second hash's state after its round 0 at W0 = 0. Its state is the IV, and W0 (H0 of the
// first hash) enters round 0 only as a term of T1, so the state at W0 is this with W0 added to A
// and E (dwords 3 and 1).
struct SecondHashRound0 {
  uint32_t s[8] = {};
  constexpr SecondHashRound0() {
    for (int i = 0; i < 8; ++i) s[i] = hf::sha::IV256[i];
    hf::sha::sha256_round(s, hf::sha::K256[0]);
  }
};
inline constexpr SecondHashRound0 kSecondHashRound0{};
HF_INLINE State256 second_hash_round0() { return load_state256(kSecondHashRound0.s); }

// The second hash's constant words in its quads 1 (W5..8: W8 is the padding bit) and 3
// (W13..16: W15 is the length in bits); the rest of those quads are digest words or W16.
HF_INLINE __m128i second_q1_pad() { return _mm_set_epi32(static_cast<int>(0x80000000u), 0, 0, 0); }
HF_INLINE __m128i second_q3_pad() { return _mm_set_epi32(0, 256, 0, 0); }

// (0, w, 0, w): added to ABEF, w goes to A and E.
HF_INLINE __m128i to_a_and_e(uint32_t w) { return _mm_set1_epi64x(static_cast<long long>(uint64_t{w} << 32)); }

// The header search on N interleaved streams, with the work that does not depend on the
// nonce taken out:
// - rounds 0-2 of the nonce's block read only words 0-2, and round 3 adds the nonce word to A
//   and E of a per-job state (HeaderConsts), so every stream starts at round 4;
// - quads 1-3 of that block add K to constant words, computed once for all streams (the
//   compiler merges the identical adds);
// - quad 4 of that block needs no sha256msg2: only its msg1 term depends on the nonce (c4
//   is the rest); quad 5 needs only its sha256msg2 and quad 7 no sha256msg1 (HeaderConsts);
// - the second hash's round 0 likewise adds H0 to A and E of a constant state, and its
//   rounds 1-60 run as quads of words 4k+1..4k+4 (so sha256rnds2's pairs end at round 60);
//   Q2 (W9..12) is zero, Q3 is (0, 0, 256, W16) with W16 = H0 + sigma0(H1), dword 0 of
//   sha256msg1(H0..3, H4..7);
// - the key, bswap(H7), is E after round 60 plus IV7: E, dword 1 of ABEF after those 60
//   rounds, so rounds 61-63 and the feed-forward are skipped.
// 60 sha256rnds2 a nonce instead of 64; N streams hide the instruction's latency (about
// twice its issue interval).
HF_INLINE uint32_t search_header(const SearchPlan& plan, const uint32_t* aw, uint32_t threshold,
                                 const HeaderConsts& hc) {
  constexpr int N = kLanes;
  const BlockPlan& bp = plan.blocks[0];
  const __m128i w0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bp.w));  // nonce word is 0
  const __m128i w1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bp.w + 4));
  const __m128i w2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bp.w + 8));
  const __m128i w3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bp.w + 12));
  const State256 mid = load_state256(plan.midstate);

  State256 s[N];
  __m128i m[N][4];
  HF_UNROLL
  for (int l = 0; l < N; ++l) {
    m[l][0] = _mm_insert_epi32(w0, static_cast<int>(aw[l]), 3);
    m[l][1] = w1;
    m[l][2] = w2;
    m[l][3] = w3;
    s[l].abef = _mm_add_epi32(hc.r3_abef, to_a_and_e(aw[l]));
    s[l].cdgh = hc.r3_cdgh;
  }
  // Quad 4 of the nonce's block: W16..19 = msg1(W0..3, W4..7) + W9..12 + sigma1(W14..17), and
  // only the msg1 term depends on the nonce (W16 and W17 do not), so the rest comes in as c4
  // and this quad needs no sha256msg2 (on Zen 3 sha256msg2 takes SHA-unit cycles from
  // sha256rnds2; one of 24 a nonce fewer measured neutral to +2% there).
  quads256<N, 1, 4>(s, m);
  const __m128i k4 = k256(4), k5 = k256(5), k7 = k256(7);
  HF_UNROLL
  for (int l = 0; l < N; ++l) {
    m[l][0] = _mm_add_epi32(_mm_sha256msg1_epu32(m[l][0], m[l][1]), hc.c4);
    rounds256(s[l], _mm_add_epi32(m[l][0], k4));
  }
  HF_UNROLL
  for (int l = 0; l < N; ++l) {
    m[l][1] = _mm_sha256msg2_epu32(hc.c5, m[l][0]);
    rounds256(s[l], _mm_add_epi32(m[l][1], k5));
  }
  quads256<N, 6, 7>(s, m);
  HF_UNROLL
  for (int l = 0; l < N; ++l) {
    m[l][3] = _mm_sha256msg2_epu32(_mm_add_epi32(hc.c7m, _mm_alignr_epi8(m[l][2], m[l][1], 4)), m[l][2]);
    rounds256(s[l], _mm_add_epi32(m[l][3], k7));
  }
  quads256<N, 8>(s, m);

  const State256 r0 = second_hash_round0();
  const __m128i q1pad = second_q1_pad(), q3pad = second_q3_pad();
  HF_UNROLL
  for (int l = 0; l < N; ++l) {
    s[l].abef = _mm_add_epi32(s[l].abef, mid.abef);
    s[l].cdgh = _mm_add_epi32(s[l].cdgh, mid.cdgh);
    __m128i h0, h1;  // H0..3, H4..7
    from_shani256(s[l], &h0, &h1);
    m[l][0] = _mm_alignr_epi8(h1, h0, 4);                                                 // H1..4
    m[l][1] = _mm_add_epi32(_mm_srli_si128(h1, 4), q1pad);                                // H5..7, W8
    m[l][2] = _mm_setzero_si128();                                                        // W9..12
    m[l][3] = _mm_add_epi32(_mm_slli_si128(_mm_sha256msg1_epu32(h0, h1), 12), q3pad);     // W13..16
    s[l].abef = _mm_add_epi32(r0.abef, _mm_slli_epi64(_mm_shuffle_epi32(h0, 0x00), 32));  // + H0 at A, E
    s[l].cdgh = r0.cdgh;
  }
  quads256<N, 0, 15, Sigma0::msg1, true>(s, m);

  uint32_t mask = 0;
  HF_UNROLL
  for (int l = 0; l < N; ++l) {
    const uint32_t h7 = static_cast<uint32_t>(_mm_extract_epi32(s[l].abef, 1)) + hf::sha::IV256[7];
    if (__builtin_bswap32(h7) <= threshold) mask |= 1u << l;
  }
  return mask;
}

uint32_t search_batch(const SearchPlan& plan, const uint32_t* aw, uint32_t threshold) {
  if (is_header_search(plan)) return search_header(plan, aw, threshold, header_consts(plan));
  const State256 mid = load_state256(plan.midstate);
  State256 s[kLanes];
  HF_UNROLL
  for (int l = 0; l < kLanes; ++l) s[l] = mid;
  for (uint32_t b = 0; b < plan.nblocks; ++b) {
    __m128i m[kLanes][4];
    search_words(plan, b, aw, m);
    compress256<kLanes>(s, m);
  }

  if (plan.double_hash) {
    // The 32-byte digest as one padded block: H0..H7, 0x80 marker, bit length 256.
    const State256 iv = load_state256(hf::sha::IV256);
    const __m128i pad = _mm_set_epi32(0, 0, 0, static_cast<int>(0x80000000u));
    const __m128i len = _mm_set_epi32(256, 0, 0, 0);
    __m128i m[kLanes][4];
    HF_UNROLL
    for (int l = 0; l < kLanes; ++l) {
      from_shani256(s[l], &m[l][0], &m[l][1]);
      m[l][2] = pad;
      m[l][3] = len;
      s[l] = iv;
    }
    compress256<kLanes>(s, m);
  }

  uint32_t mask = 0;
  HF_UNROLL
  for (int l = 0; l < kLanes; ++l) {
    // H7 is dword 0 of CDGH, H0 is dword 3 of ABEF.
    const uint32_t key = plan.bitcoin_order ? __builtin_bswap32(static_cast<uint32_t>(_mm_cvtsi128_si32(s[l].cdgh)))
                                            : static_cast<uint32_t>(_mm_extract_epi32(s[l].abef, 3));
    if (key <= threshold) mask |= 1u << l;
  }
  return mask;
}

#if !defined(HF_SHANI_ASM_SCAN)
// Plans with header_scan: batches of kLanes nonces in one loop, the nonce words made here; with
// search_header inlined the compiler can keep its per-job constants in registers across
// batches (measured 21-22 -> 25-27 M nonces/s on one thread).
uint32_t scan_headers(const SearchPlan& plan, uint32_t nonce0, uint32_t nbatches, uint32_t threshold, uint32_t* mask) {
  const HeaderConsts hc = header_consts(plan);
  for (uint32_t i = 0; i < nbatches; ++i) {
    uint32_t aw[kLanes];
    HF_UNROLL
    for (int l = 0; l < kLanes; ++l) aw[l] = __builtin_bswap32(nonce0 + i * kLanes + static_cast<uint32_t>(l));
    const uint32_t m = search_header(plan, aw, threshold, hc);
    if (m) {
      *mask = m;
      return i + 1;
    }
  }
  *mask = 0;
  return nbatches;
}
#else
// The header scan in hand-scheduled assembly (shani_scan.S, written by gen_shani_scan.py, which
// says why): search_header's work per nonce less two sha256rnds2 (the rounds that add a single
// varying word to a per-job state, round 3 of the nonce's block and round 0 of the second hash,
// are two vector adds), four lanes a quarter nonce apart. It reads its per-job constants from
// AsmScanCtx.
extern "C" void hf_shani_scan_x4(const void* ctx, const uint32_t* in, uint32_t* out, size_t iters);
static_assert(kLanes == 4, "shani_scan.S runs four lanes");

// The per-job constants shani_scan.S reads, in the order gen_shani_scan.py's CTX lists them.
struct alignas(64) AsmScanCtx {
  __m128i mid_abef, mid_cdgh;
  __m128i r3_abef, r3_cdgh;  // the state after round 3 of the nonce's block at W3 = 0 (W3 adds to A, E)
  __m128i w0;                // W0..3, nonce word 0 (each lane inserts its own)
  __m128i wk1[3], wk1hi[3];  // quads 1-3 of the nonce's block: W+K and its upper pair moved down
  __m128i w1;                // W4..7
  __m128i c4, c5, c6m, c7m;  // nonce-free parts of quads 4-7's schedule (HeaderConsts, msg1(W8.., W12..))
  __m128i k[16];
  __m128i r0_abef, r0_cdgh;  // the second hash's state after round 0 at W0 = 0 (W0 adds to A, E)
  __m128i q1pad, q3pad;      // its constant words in quads 1 (W5..8) and 3 (W13..16)
  __m128i zero;
  __m128i ko[15], ko2hi;     // K[4k+1..4k+4] for its quad k, and quad 2's upper pair moved down
};
static_assert(offsetof(AsmScanCtx, ko2hi) == 52 * 16, "shani_scan.S reads 53 vectors in this order");

HF_INLINE void asm_scan_ctx(const SearchPlan& plan, const HeaderConsts& hc, AsmScanCtx& c) {
  const uint32_t* pw = plan.blocks[0].w;
  __m128i w[4];
  HF_UNROLL
  for (int i = 0; i < 4; ++i) w[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(pw + 4 * i));
  const State256 mid = load_state256(plan.midstate);
  c.mid_abef = mid.abef;
  c.mid_cdgh = mid.cdgh;
  c.r3_abef = hc.r3_abef;
  c.r3_cdgh = hc.r3_cdgh;
  c.w0 = w[0];
  HF_UNROLL
  for (int q = 1; q < 4; ++q) {
    c.wk1[q - 1] = _mm_add_epi32(w[q], k256(q));
    c.wk1hi[q - 1] = _mm_shuffle_epi32(c.wk1[q - 1], 0x0E);
  }
  c.w1 = w[1];
  c.c4 = hc.c4;
  c.c5 = hc.c5;
  c.c6m = _mm_sha256msg1_epu32(w[2], w[3]);
  c.c7m = hc.c7m;
  HF_UNROLL
  for (int q = 0; q < 16; ++q) c.k[q] = k256(q);
  const State256 r0 = second_hash_round0();
  c.r0_abef = r0.abef;
  c.r0_cdgh = r0.cdgh;
  c.q1pad = second_q1_pad();
  c.q3pad = second_q3_pad();
  c.zero = _mm_setzero_si128();
  for (int k = 0; k < 15; ++k) c.ko[k] = k256_odd(k);
  c.ko2hi = _mm_shuffle_epi32(c.ko[2], 0x0E);
}

// Batches of kLanes nonces through the assembly loop in chunks; a chunk's lanes 1-3 finish
// in one extra iteration, so a chunk of n batches runs n + 1 (0.4% at the usual 256). Work
// after a hit is thrown away, so an easy target (a hit every few thousand nonces or more
// often) gets shorter chunks.
uint32_t scan_headers(const SearchPlan& plan, uint32_t nonce0, uint32_t nbatches, uint32_t threshold, uint32_t* mask) {
  AsmScanCtx ctx;
  asm_scan_ctx(plan, header_consts(plan), ctx);
  constexpr uint32_t kMaxChunk = 256;
  // 2^29 / (4 (threshold + 1)) batches hold 1/8 of a hit on average.
  const uint64_t per_batch = (uint64_t{threshold} + 1) * kLanes;
  const uint64_t fit = (uint64_t{1} << 29) / per_batch;
  const uint32_t chunk = fit >= kMaxChunk ? kMaxChunk : fit == 0 ? 1 : static_cast<uint32_t>(fit);
  alignas(16) uint32_t in[8 * (kMaxChunk + 1)];
  uint32_t out[kLanes * (kMaxChunk + 2)];  // out[0..3]: lanes 1-3's writes before the first batch
  uint32_t done = 0;
  while (done < nbatches) {
    const uint32_t n = nbatches - done < chunk ? nbatches - done : chunk;
    for (uint32_t i = 0; i <= n; ++i) {
      HF_UNROLL
      for (uint32_t l = 0; l < kLanes; ++l) {
        const uint32_t word = __builtin_bswap32(nonce0 + (done + i) * kLanes + l);
        in[8 * i + 2 * l] = 0;  // the lane adds word to A and E (dwords 3 and 1)
        in[8 * i + 2 * l + 1] = word;
      }
    }
    hf_shani_scan_x4(&ctx, in, out + kLanes, n + 1);
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t m = 0;
      HF_UNROLL
      for (uint32_t l = 0; l < kLanes; ++l)
        if (__builtin_bswap32(out[kLanes * (i + 1) + l] + hf::sha::IV256[7]) <= threshold) m |= 1u << l;
      if (m) {
        *mask = m;
        return done + i + 1;
      }
    }
    done += n;
  }
  *mask = 0;
  return nbatches;
}

// The hybrid scan (shani_scan.S, hf_shani_scan_hybrid; gen_shani_scan.py says how it works):
// three SHA-NI lanes, enough to keep the SHA unit busy where sha256rnds2 issues once per 3
// cycles (Intel's cores since Ice Lake), and four nonces at a time in 128-bit vector lanes on
// the pipes that unit leaves idle, a block of theirs per kBlockPasses passes of the SHA lanes.
extern "C" void hf_shani_scan_hybrid(const void* ctx, const uint32_t* in, uint32_t* out, size_t iters,
                                     const void* hctx);
constexpr uint32_t kBlockPasses = 8;  // gen_shani_scan.py: 64 / RPP
constexpr uint32_t kShaLanes = 3;     // gen_shani_scan.py: SHA_LANES

// The vector lanes' per-job constants, each word broadcast to the four lanes, in the order
// gen_shani_scan.py's HCTX lists them; then the nonce words and results of the call's groups.
struct alignas(64) HybridCtx {
  __m128i k[64];
  __m128i mid[8], midc;  // the midstate; b ^ c of it (Maj's carried term)
  __m128i iv[8], ivc;
  __m128i hw[16];        // the header block's words (word 3, the nonce, comes from vin)
  __m128i pad[8];        // the second block's words 8-15: padding and the 256-bit length
  const uint32_t* vin;   // four nonce words a group, and two groups more readable after the last
  uint32_t* vout;        // H7 (before the byte swap) of each group's four nonces
};
static_assert(offsetof(HybridCtx, vin) == 106 * 16, "shani_scan.S reads vin after 106 vectors");

HF_INLINE void hybrid_ctx(const SearchPlan& plan, HybridCtx& h) {
  auto bc = [](uint32_t w) { return _mm_set1_epi32(static_cast<int>(w)); };
  for (int t = 0; t < 64; ++t) h.k[t] = bc(hf::sha::K256[t]);
  for (int i = 0; i < 8; ++i) {
    h.mid[i] = bc(plan.midstate[i]);
    h.iv[i] = bc(hf::sha::IV256[i]);
  }
  h.midc = bc(plan.midstate[1] ^ plan.midstate[2]);
  h.ivc = bc(hf::sha::IV256[1] ^ hf::sha::IV256[2]);
  for (int j = 0; j < 16; ++j) h.hw[j] = bc(plan.blocks[0].w[j]);
  for (int j = 0; j < 8; ++j) h.pad[j] = bc(j == 0 ? 0x80000000u : j == 7 ? 256u : 0u);
}

// A call with g vector groups runs (2g + 1) blocks of the vector lanes (their first block of
// group g is thrown away), so (2g + 1) kBlockPasses passes of both, then one of the SHA lanes
// alone. The SHA lanes take the chunk's first kShaLanes x passes nonces, the vector lanes the
// 4g after.
constexpr uint32_t hybrid_passes(uint32_t g) { return (2 * g + 1) * kBlockPasses; }
constexpr uint32_t hybrid_batches(uint32_t g) { return (kShaLanes * hybrid_passes(g) + 4 * g) / kLanes; }
static_assert((kShaLanes * hybrid_passes(1) + 4) % kLanes == 0 && kShaLanes * kBlockPasses % kLanes == 0,
              "a chunk is whole batches");

// Chunks of hybrid_batches(g); fewer batches left, or an easy target (a hit expected within a
// chunk of one group), go through the four-lane loop above.
uint32_t scan_headers_hybrid(const SearchPlan& plan, uint32_t nonce0, uint32_t nbatches, uint32_t threshold,
                             uint32_t* mask) {
  constexpr uint32_t kMaxGroups = 48;
  const uint64_t per_batch = (uint64_t{threshold} + 1) * kLanes;
  const uint64_t fit = (uint64_t{1} << 29) / per_batch;  // batches that hold 1/8 of a hit
  uint32_t groups = 1;
  while (groups < kMaxGroups && hybrid_batches(groups + 1) <= fit) ++groups;
  if (hybrid_batches(groups) > fit) return scan_headers(plan, nonce0, nbatches, threshold, mask);
  AsmScanCtx ctx;
  asm_scan_ctx(plan, header_consts(plan), ctx);
  HybridCtx h;
  hybrid_ctx(plan, h);
  constexpr uint32_t kMaxPasses = hybrid_passes(kMaxGroups);
  alignas(16) uint32_t in[2 * kShaLanes * (kMaxPasses + 1)];
  uint32_t out[kShaLanes * (kMaxPasses + 2)];  // out[0..kShaLanes-1]: later lanes' writes before pass 0
  alignas(16) uint32_t vin[4 * (kMaxGroups + 2)], vout[4 * kMaxGroups];
  h.vin = vin;
  h.vout = vout;
  uint32_t done = 0;
  while (nbatches - done >= hybrid_batches(1)) {
    uint32_t g = groups;
    while (hybrid_batches(g) > nbatches - done) --g;
    const uint32_t passes = hybrid_passes(g), sha_nonces = kShaLanes * passes, base = nonce0 + done * kLanes;
    for (uint32_t i = 0; i <= passes; ++i)  // the last pass only finishes the later lanes' nonces
      for (uint32_t l = 0; l < kShaLanes; ++l) {
        const uint32_t word = __builtin_bswap32(base + (i < passes ? kShaLanes * i + l : 0));
        in[2 * kShaLanes * i + 2 * l] = 0;
        in[2 * kShaLanes * i + 2 * l + 1] = word;
      }
    for (uint32_t j = 0; j < 4 * (g + 2); ++j) vin[j] = __builtin_bswap32(base + sha_nonces + (j < 4 * g ? j : 0));
    hf_shani_scan_hybrid(&ctx, in, out + kShaLanes, passes + 1, &h);
    for (uint32_t b = 0; b < hybrid_batches(g); ++b) {
      uint32_t m = 0;
      HF_UNROLL
      for (uint32_t l = 0; l < kLanes; ++l) {
        const uint32_t o = kLanes * b + l;  // nonce offset from base
        const uint32_t h7 = o < sha_nonces ? out[kShaLanes + o] + hf::sha::IV256[7] : vout[o - sha_nonces];
        if (__builtin_bswap32(h7) <= threshold) m |= 1u << l;
      }
      if (m) {
        *mask = m;
        return done + b + 1;
      }
    }
    done += hybrid_batches(g);
  }
  if (done == nbatches) {
    *mask = 0;
    return nbatches;
  }
  return done + scan_headers(plan, nonce0 + done * kLanes, nbatches - done, threshold, mask);
}
#endif

constexpr KernelTable kTable = {
    HF_SHANI_NAME,
    kLanes,
    sha256_blocks_ahead<Sigma0::msg1>,
    sha1_blocks,
    sha256_single,
    sha1_single,
    sha256_64_ahead,
    search_batch,
    scan_headers,
    sha256_blocks<Sigma0::vector>,
#if defined(HF_SHANI_ASM_SCAN)
    scan_headers_hybrid,
#else
    nullptr,
#endif
};

#undef HF_UNROLL
#undef HF_INLINE

}  // namespace

namespace hf::cpu {

const KernelTable& HF_SHANI_GETTER() { return kTable; }

}  // namespace hf::cpu
