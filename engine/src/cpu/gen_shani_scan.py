#!/usr/bin/env python3
"""Writes shani_scan.S, the SHA-NI sha256d header scan in hand-scheduled x86-64 assembly.

Run from the repository root:
    python3 engine/src/cpu/gen_shani_scan.py > engine/src/cpu/shani_scan.S
(ctest shani_scan.generated fails when the committed file is not this script's output.)

Why assembly: the compiler's build of the same algorithm (shani_kernels.inl, search_header)
keeps 4 streams x 6 live vectors in 16 registers by spilling, copies registers, and starts and
ends the 4 streams of a batch together, so at every batch boundary and between the two hashes
the SHA unit waits on the same few dependency chains. Here:
- each lane keeps only its state (ABEF, CDGH) and its newest schedule vector in registers; the
  rest of its 16-word schedule window lives in a 64-byte ring on the stack and is read as
  memory operands;
- a new schedule vector lands in the one free register, which then becomes the lane's, so no
  register copies are issued (the free register rotates; the loop end restores the order);
- the lanes run a quarter nonce apart (8 quads of 32), so one lane's start, hash 1 -> hash 2
  hand-over or end always overlaps the other lanes' rounds.
Measured on a Zen 3 EPYC (bench/results/2026-12-04-shani-asm-scan.md): 104-106 cycles a nonce
against 109-110 for the compiler's build, 152 for cpuminer-opt 26.1's SHA-NI loop.

The work per nonce is search_header's less two sha256rnds2 and one sha256msg2 (60 and 23 a
nonce): rounds 0-2 of the nonce's block once per job (the prestate) and the nonce-free parts of
its schedule precomputed (HeaderConsts). Round 3 reads the nonce word W3 only as a term of T1, so
it adds W3 to A and E of a per-job state and the SHA lanes start at round 4; likewise the second
hash's round 0 (its state is the IV) adds W0 to A and E, and its rounds 1-60 run as 15 quads of
words 4k+1..4k+4 (the schedule instructions work at any offset), the last ending with
H7 = E60 + IV7 in E. search_header runs rounds 0-61 there, since sha256rnds2 does rounds in
pairs. On a Xeon (sha256rnds2 every 2.9 cycles, the bound here: sha256msg1/msg2 at this ratio
add nothing) this measured 1.02x for this loop, 1.00-1.03x for the hybrid below; realigning
even quads for the odd pairs instead (a vpalignr on sha256rnds2's port per quad) lost 3-7%.
That port is why `--align blend` exists: it writes each vpalignr (21 a nonce) as a vpblendd and
a vpshufd, which issue on other ports too. On that Xeon (before rounds() passed W+K's upper
pair through memory: 1.02x and 1.04x since) the four-lane loop ran 1.057x faster so
(1.044-1.075, 9 adjacent pairs), which only brings it level with the hybrid (hf_microbench
sha256d_loop 18.8-18.9 M nonces/s against the hybrid's 17.9-19.0), itself no faster so; the
same change in the compiler-built bulk kernel (Sigma0::vector) gained nothing either. Where the
vector pipes are the bound (Zen 3) it adds an instruction for each, so the default stays
vpalignr until an AMD core has measured it: build with the blend output and compare
hf_microbench sha256d_loop/shani before and after. Likewise `--wk-hi vpshufd` writes the loops
as they were before ShaLanes.rounds() moved W+K's upper pair through memory (measured on the
Xeon only; it relies on the store forwarding an 8-byte load from the middle of a 16-byte store).

Interface (System V): void hf_shani_scan_x4(const AsmScanCtx* ctx, const uint32_t* in,
uint32_t* out, size_t iters). Each iteration reads 8 words from in (for each lane a zero word,
then its nonce word) and advances in by 8 and out by 4. Lane 0 writes its result (E60 of the
second hash, before + IV7) to out[0] in the iteration that started the nonce; lanes 1-3 finish a
nonce in the next iteration and write out[l - 4], so out[-4..-1] must be writable and the caller
runs one iteration more than it needs (that iteration's lane 0 result is valid, lanes 1-3 are
not; lanes 1-3 of the first iteration write garbage to out[-3..-1]).
"""

import sys

LANE_BYTES = 64  # each lane's schedule ring: its last four quads of words

# AsmScanCtx (shani_kernels.inl): its fields, 16-byte vectors, in this order.
CTX = ['mid_abef', 'mid_cdgh', 'r3_abef', 'r3_cdgh', 'w0',
       'wk1_1', 'wk1_2', 'wk1_3', 'wk1hi_1', 'wk1hi_2', 'wk1hi_3', 'w1', 'c4', 'c5', 'c6m', 'c7m'] + \
      ['k%d' % q for q in range(16)] + \
      ['r0_abef', 'r0_cdgh', 'q1pad', 'q3pad', 'zero'] + ['ko%d' % k for k in range(15)] + ['ko2hi']

out = []


def cx(name):
    return '%d(%%rdi)' % (16 * CTX.index(name))


def e(ins):
    out.append('\t' + ins)


ALIGN = 'palignr'  # --align blend: see align_words() and the module's docstring
WK_HI = 'memory'   # --wk-hi vpshufd: the way before ShaLanes.rounds() took it through memory


def align_words(b, a, dst):
    """dst = words 1-3 of b, then word 0 of a (vpalignr $4, b, a, dst)."""
    if ALIGN == 'palignr':
        e('vpalignr $4, %s, %s, %s' % (b, a, dst))
    else:  # the same as a blend (any of three ports) and a dword shuffle (two)
        e('vpblendd $0xe, %s, %s, %s' % (b, a, dst))
        e('vpshufd $0x39, %s, %s' % (dst, dst))


class ShaLanes:
    """N SHA-NI lanes, a nonce each in flight, 32 / N quad slots apart (a nonce is 32 quads: 16 a
    hash). regs: ABEF x N, CDGH x N, newest schedule vector x N, then the free register, Y, T.
    wk_base: the stack offset of 16 bytes a lane where rounds() passes W+K's upper pair."""

    def __init__(self, n, regs, wk_base):
        self.N = n
        self.wk_base = wk_base
        self.stag = 32 // n
        self.A = regs[0:n]
        self.C = regs[n:2 * n]
        self.P = regs[2 * n:3 * n]
        self.free = [regs[3 * n]]
        self.Y = regs[3 * n + 1]
        # The feed-forward's temporary: xmm0 (free between the rounds) when regs has no third.
        self.T = regs[3 * n + 2] if len(regs) > 3 * n + 2 else '%xmm0'
        self.CANON = self.P[:] + self.free[:]

    def ring(self, l, slot):
        return '%d(%%rsp)' % (LANE_BYTES * l + 16 * (slot & 3))

    def land(self, l):
        """The new schedule vector, built in the free register, becomes lane l's newest."""
        self.free[0], self.P[l] = self.P[l], self.free[0]

    def rounds(self, l, wreg, k):
        """Four rounds with W+K from wreg + cx(k). The second pair's words reach the low half of
        xmm0 through memory (a store and an 8-byte load from its middle, which the store
        forwards) rather than a vpshufd: that takes load and store ports instead of a vector
        one, which the SHA instructions share (1.02x this loop, 1.04x the hybrid's, on a Xeon of
        family 6 model 167); the rounds have the slack for the load's few cycles more."""
        A, C = self.A, self.C
        slot = self.wk_base + 16 * l
        e('vpaddd %s, %s, %%xmm0' % (cx(k), wreg))
        if WK_HI == 'memory':
            e('vmovdqa %%xmm0, %d(%%rsp)' % slot)
        e('sha256rnds2 %%xmm0, %s, %s' % (A[l], C[l]))
        if WK_HI == 'memory':
            e('vmovq %d(%%rsp), %%xmm0' % (slot + 8))
        else:
            e('vpshufd $0x0e, %xmm0, %xmm0')
        e('sha256rnds2 %%xmm0, %s, %s' % (C[l], A[l]))

    def rounds_const(self, l, lo, hi):
        A, C = self.A, self.C
        e('vmovdqa %s, %%xmm0' % cx(lo))
        e('sha256rnds2 %%xmm0, %s, %s' % (A[l], C[l]))
        e('vmovdqa %s, %%xmm0' % cx(hi))
        e('sha256rnds2 %%xmm0, %s, %s' % (C[l], A[l]))

    def schedule(self, l, q, store=True):
        """W[4q..] = msg2(msg1(W[q-4], W[q-3]) + alignr(W[q-1], W[q-2]), W[q-1]) (quads)."""
        f, P, Y, ring = self.free[0], self.P, self.Y, self.ring
        e('vmovdqa %s, %s' % (ring(l, q), f))
        e('sha256msg1 %s, %s' % (ring(l, q + 1), f))
        align_words(ring(l, q + 2), P[l], Y)
        e('vpaddd %s, %s, %s' % (Y, f, f))
        e('sha256msg2 %s, %s' % (P[l], f))
        if store:  # read again as W[q'-4], W[q'-3] or W[q'-2] by quads up to q + 3
            e('vmovdqa %s, %s' % (f, ring(l, q)))
        self.land(l)

    def first_hash(self, l, q):
        A, C, P, Y, T, ring, N = self.A, self.C, self.P, self.Y, self.T, self.ring, self.N
        f = self.free[0]
        if q == 0:
            # Rounds 0-2 are the prestate; round 3 adds the nonce word W3 to A and E only (the
            # rest of its T1 and T2 is in r3_abef), so the lane starts at round 4, no sha256rnds2.
            e('vpbroadcastq %d(%%rsi), %s' % (8 * l, A[l]))  # 0, W3, 0, W3
            e('vpaddd %s, %s, %s' % (cx('r3_abef'), A[l], A[l]))
            e('vmovdqa %s, %s' % (cx('r3_cdgh'), C[l]))
        elif q < 4:
            self.rounds_const(l, 'wk1_%d' % q, 'wk1hi_%d' % q)
        elif q == 4:
            # W16..19: only msg1(W0..3, W4..7) reads the nonce; c4 is the rest.
            e('vmovdqa %s, %s' % (cx('w0'), f))
            e('vpinsrd $3, %d(%%rsi), %s, %s' % (8 * l + 4, f, f))
            e('sha256msg1 %s, %s' % (cx('w1'), f))
            e('vpaddd %s, %s, %s' % (cx('c4'), f, f))
            e('vmovdqa %s, %s' % (f, ring(l, 4)))
            self.land(l)
            self.rounds(l, P[l], 'k4')
        elif q == 5:
            # W20..23 = msg2(c5, W16..19): c5's msg1 and alignr terms are nonce-free.
            e('vmovdqa %s, %s' % (cx('c5'), f))
            e('sha256msg2 %s, %s' % (P[l], f))
            e('vmovdqa %s, %s' % (f, ring(l, 5)))
            self.land(l)
            self.rounds(l, P[l], 'k5')
        elif q in (6, 7):
            # Their msg1 terms read only nonce-free words.
            align_words(ring(l, q + 2), P[l], Y)
            e('vpaddd %s, %s, %s' % (cx('c6m' if q == 6 else 'c7m'), Y, f))
            e('sha256msg2 %s, %s' % (P[l], f))
            e('vmovdqa %s, %s' % (f, ring(l, q)))
            self.land(l)
            self.rounds(l, P[l], 'k%d' % q)
        else:
            self.schedule(l, q, q <= 13)
            self.rounds(l, P[l], 'k%d' % q)
        if q == 15:
            self.hand_over(l)

    def hand_over(self, l):
        """Feed-forward: the digest H0..7 becomes the second hash's words. That hash runs its
        rounds 1-60 as 15 quads of words 4k+1..4k+4 (sha256msg1/msg2 do not care where a quad
        starts): Q0 = H1..4 in the lane's newest register, Q1 = H5..7 and the padding bit in
        ring slot 1, Q2 = 0, and Q3 = 0, 0, 256 (the length), W16 in ring slot 3, where
        W16 = H0 + s0(H1) (W9 and W14 are 0) is dword 0 of sha256msg1(H0..3, *). Round 0 (its
        state is the IV) adds W0 = H0 to A and E only."""
        A, C, P, Y, T, ring = self.A, self.C, self.P, self.Y, self.T, self.ring
        f = self.free[0]
        e('vpaddd %s, %s, %s' % (cx('mid_abef'), A[l], A[l]))
        e('vpaddd %s, %s, %s' % (cx('mid_cdgh'), C[l], C[l]))
        e('vpshufd $0x1b, %s, %s' % (A[l], f))           # H0 H1 H4 H5
        e('vpshufd $0xb1, %s, %s' % (C[l], Y))           # H6 H7 H2 H3
        e('vpblendd $0xc, %s, %s, %s' % (Y, f, T))       # H0 H1 H2 H3
        e('vshufps $0x4e, %s, %s, %s' % (Y, f, Y))       # H4 H5 H6 H7
        align_words(T, Y, P[l])                          # Q0
        e('sha256msg1 %s, %s' % (T, f))                  # W16 in dword 0
        e('vpsrldq $4, %s, %s' % (Y, Y))
        e('vpaddd %s, %s, %s' % (cx('q1pad'), Y, Y))
        e('vmovdqa %s, %s' % (Y, ring(l, 1)))            # Q1
        e('vpslldq $12, %s, %s' % (f, f))
        e('vpaddd %s, %s, %s' % (cx('q3pad'), f, f))
        e('vmovdqa %s, %s' % (f, ring(l, 3)))            # Q3
        e('vpshufd $0xff, %s, %s' % (A[l], A[l]))         # W0 (A's dword 3) everywhere
        e('vpsllq $32, %s, %s' % (A[l], A[l]))            # 0, W0, 0, W0
        e('vpaddd %s, %s, %s' % (cx('r0_abef'), A[l], A[l]))
        e('vmovdqa %s, %s' % (cx('r0_cdgh'), C[l]))

    def schedule2(self, l, k):
        """The second hash's quad k (4..14) of words 4k+1..4k+4; Q2 is 0, so terms vanish."""
        P, Y, ring = self.P, self.Y, self.ring
        f = self.free[0]
        if k == 4:  # msg2(msg1(Q0, Q1) + alignr(Q3, Q2) = 0, Q3)
            e('vmovdqa %s, %s' % (P[l], f))
            e('sha256msg1 %s, %s' % (ring(l, 1), f))
            e('sha256msg2 %s, %s' % (ring(l, 3), f))
        elif k == 5:  # msg2(msg1(Q1, 0) + alignr(Q4, Q3), Q4)
            e('vmovdqa %s, %s' % (ring(l, 1), f))
            e('sha256msg1 %s, %s' % (cx('zero'), f))
            align_words(ring(l, 3), P[l], Y)
            e('vpaddd %s, %s, %s' % (Y, f, f))
            e('sha256msg2 %s, %s' % (P[l], f))
        elif k == 6:  # msg2(msg1(0, Q3) = 0 + alignr(Q5, Q4), Q5)
            align_words(ring(l, 4), P[l], f)
            e('sha256msg2 %s, %s' % (P[l], f))
        else:
            self.schedule(l, k, k <= 12)
            return
        e('vmovdqa %s, %s' % (f, ring(l, k)))
        self.land(l)

    def second_hash(self, l, k, outaddr):
        """Slot k: rounds 4k+1..4k+4 (round 0 was the hand-over). After slot 14 (round 60) the
        key, E60 (H7 = E60 + IV7), is E, dword 1 of ABEF; slot 15 is idle."""
        A, P, ring = self.A, self.P, self.ring
        if k == 0:
            self.rounds(l, P[l], 'ko0')
        elif k in (1, 3):
            e('vmovdqa %s, %%xmm0' % ring(l, k))
            self.rounds(l, '%xmm0', 'ko%d' % k)
        elif k == 2:
            self.rounds_const(l, 'ko2', 'ko2hi')  # Q2 is 0
        elif k < 15:
            self.schedule2(l, k)
            self.rounds(l, P[l], 'ko%d' % k)
        if k == 14:
            e('vpextrd $1, %s, %s' % (A[l], outaddr))

    def iteration(self):
        """One pass of the 32 quad slots: every lane finishes one nonce."""
        N = self.N
        for s in range(32):
            out.append('\t# slot %d' % s)
            for l in range(N):
                k = (s - self.stag * l) % 32
                own = s - self.stag * l >= 0  # False: lane l is finishing the previous iteration's nonce
                if k < 16:
                    self.first_hash(l, k)
                else:
                    self.second_hash(l, k - 16, '%d(%%rdx)' % (4 * l - (0 if own else 4 * N)))
        self.restore_registers()

    def restore_registers(self):
        """Parallel move of the rotated schedule registers back to their order at the loop top."""
        restore(self.P + self.free, self.CANON, self.Y)


def restore(cur, canon, spare):
    pending = {d: s for s, d in zip(cur, canon) if s != d}
    while pending:
        ready = [d for d in pending if d not in pending.values()]
        if ready:
            d = ready[0]
            e('vmovdqa %s, %s' % (pending.pop(d), d))
        else:  # a cycle: park one source in the spare register
            d, s = next(iter(pending.items()))
            e('vmovdqa %s, %s' % (s, spare))
            pending[d] = spare


def symbol(name):
    print('\t.p2align 6')
    print('\t.globl %s' % name)
    print('\t.hidden %s' % name)
    print('\t.type %s, @function' % name)
    print('%s:' % name)


def prologue(name, frame):
    symbol(name)
    print('\tpush %rbp')
    print('\tmov %rsp, %rbp')
    print('\tsub $%d, %%rsp' % frame)
    print('\tand $-64, %rsp')


def epilogue(name):
    print('\tleave')
    print('\tret')
    print('\t.size %s, .-%s' % (name, name))


def take():
    """The instructions emitted since the last take or flush."""
    taken = out[:]
    del out[:]
    return taken


def flush():
    return '\n'.join(take())


def scan_x4():
    n = 4
    lanes = ShaLanes(n, ['%%xmm%d' % r for r in range(1, 16)], LANE_BYTES * n)
    lanes.iteration()
    name = 'hf_shani_scan_x4'
    prologue(name, LANE_BYTES * n + 16 * n)
    print('\t.p2align 5')
    print('1:')
    print(flush())
    print('\tadd $%d, %%rsi' % (8 * n))
    print('\tadd $%d, %%rdx' % (4 * n))
    print('\tdec %rcx')
    print('\tjnz 1b')
    epilogue(name)

# The hybrid scan: three SHA-NI lanes (enough to keep the SHA unit busy where sha256rnds2
# issues once per 3 cycles and its latency is about 4) and, on the vector pipes they leave idle,
# four more nonces in the lanes of 128-bit vectors (VEX-encoded only, so no upper-half state
# mixes with the legacy-encoded SHA instructions). The vector lanes run plain sha256d blocks as
# two streams: X, RPP rounds a pass of the SHA lanes (its block's 64-word schedule read from a
# buffer), and Y, WPP schedule words a pass, which fills the other buffer with the schedule of
# X's next block. X alternates the first block of one group with the second block of the group
# before (whose words are known once its first block is done), so each block's schedule is made
# during the block before it and the loop needs one body only. The SHA lanes take xmm5-15 (and
# xmm0); the vector lanes have xmm1-4, so X keeps a and e in their rings, and their memory is
# mostly reached with 8-bit displacements (rbx, rax, rbp).
# How much vector work a pass carries was measured on a Xeon (Ice Lake class cores), ns a pass:
#   SHA lanes   alone   +4 rounds/3 words   +8/6   +16/12
#   two          102         -               106     138
#   three        144        145              146     170
# Two lanes' chains have too little slack for vector work that takes the pipes they wait on;
# with three, 8 rounds a pass are nearly free (3.25 nonces a pass instead of 3).
RPP, WPP = 8, 6  # X's rounds and Y's schedule words a pass (a block in 64 / RPP passes)
HCTX = ['k%d' % t for t in range(64)] + ['mid%d' % i for i in range(8)] + ['midc'] + \
       ['iv%d' % i for i in range(8)] + ['ivc'] + ['hw%d' % i for i in range(16)] + \
       ['pad%d' % i for i in range(8, 16)] + ['io']
SHA_LANES = 3
BUF0 = LANE_BYTES * SHA_LANES  # stack: after the SHA lanes' rings; 64 words each
BUF1 = BUF0 + 1024
VSTATE = BUF1 + 1024          # D (digest of the last first block) 8 x 16, CR, then rbp: VA, VE
RBP_OFF = VSTATE + 128 + 16
WK_SLOTS = RBP_OFF + 128 + 64  # the SHA lanes' W+K slots (ShaLanes.rounds)
HYBRID_FRAME = WK_SLOTS + 16 * SHA_LANES


def hx(name):
    return '%d(%%r8)' % (16 * HCTX.index(name))


def va(i):
    return '%d(%%rbp)' % (16 * (i & 3))


def ve(i):
    return '%d(%%rbp)' % (64 + 16 * (i & 3))


CR = '-16(%rbp)'


def dig(i):
    return '%d(%%rbp)' % (-144 + 16 * i)


def xw(t):
    """X's word t of this pass (rbx: the block's buffer + 256 a pass + 128), K likewise (rax)."""
    return '%d(%%rbx)' % (16 * t - 128)


def yw(i):
    """Y's word 16 + 12 p + i of its buffer, relative to that buffer's word 16 + 12 p (r12)."""
    return '%d(%%r12)' % (16 * i)


# SHA-256's rotations as shift pairs (ror n = >> n ^ << 32 - n) and plain shifts, in the order
# shifts_xor emits them: Sigma1(e), Sigma0(a), sigma1 and sigma0 of the schedule.
SIGMA1 = (('vpsrld', 6), ('vpslld', 26), ('vpsrld', 11), ('vpslld', 21), ('vpsrld', 25), ('vpslld', 7))
SIGMA0 = (('vpsrld', 2), ('vpslld', 30), ('vpsrld', 13), ('vpslld', 19), ('vpsrld', 22), ('vpslld', 10))
SCHED1 = (('vpsrld', 17), ('vpslld', 15), ('vpsrld', 19), ('vpslld', 13), ('vpsrld', 10))
SCHED0 = (('vpsrld', 7), ('vpslld', 25), ('vpsrld', 18), ('vpslld', 14), ('vpsrld', 3))


def shifts_xor(src, acc, tmp, shifts):
    """acc = the xor of src shifted each way in shifts (tmp: scratch)."""
    op, n = shifts[0]
    e('%s $%d, %s, %s' % (op, n, src, acc))
    for op, n in shifts[1:]:
        e('%s $%d, %s, %s' % (op, n, src, tmp))
        e('vpxor %s, %s, %s' % (tmp, acc, acc))


class VecLanes:
    """Four nonces in 128-bit lanes, registers xmm1-4. X's working variables: A_t..A_t-3 and
    E_t..E_t-3 in rings (A_t at va(t), E_t at ve(t)), b ^ c for Maj in CR."""

    def __init__(self):
        self.tmp = ['%xmm1', '%xmm2', '%xmm3', '%xmm4']

    def round(self, t):
        """Round t of the pass; a and e come from their rings."""
        T, S, U, R = self.tmp
        e('vmovdqa %s, %s' % (xw(t), T))
        e('vpaddd %d(%%rax), %s, %s' % (16 * t - 128, T, T))    # + K[t]
        e('vpaddd %s, %s, %s' % (ve(t - 3), T, T))              # + h
        e('vmovdqa %s, %s' % (ve(t), R))                         # e
        shifts_xor(R, S, U, SIGMA1)
        e('vpaddd %s, %s, %s' % (S, T, T))
        e('vmovdqa %s, %s' % (ve(t - 1), S))                     # Ch(e, f, g) = ((f ^ g) & e) ^ g
        e('vpxor %s, %s, %s' % (ve(t - 2), S, S))
        e('vpand %s, %s, %s' % (R, S, S))
        e('vpxor %s, %s, %s' % (ve(t - 2), S, S))
        e('vpaddd %s, %s, %s' % (S, T, T))                       # T = T1
        e('vpaddd %s, %s, %s' % (va(t - 3), T, R))               # E_t+1 = d + T1
        e('vmovdqa %s, %s' % (R, ve(t + 1)))
        e('vmovdqa %s, %s' % (va(t), R))                         # a
        shifts_xor(R, S, U, SIGMA0)
        e('vpaddd %s, %s, %s' % (S, T, T))
        e('vpxor %s, %s, %s' % (va(t - 1), R, S))                # Maj = ((a ^ b) & (b ^ c)) ^ b
        e('vpand %s, %s, %s' % (CR, S, U))
        e('vmovdqa %s, %s' % (S, CR))
        e('vpxor %s, %s, %s' % (va(t - 1), U, U))
        e('vpaddd %s, %s, %s' % (U, T, T))                       # A_t+1 = T1 + Sigma0 + Maj
        e('vmovdqa %s, %s' % (T, va(t + 1)))

    def schedule_word(self, i):
        """W = s1(W-2) + W-7 + s0(W-15) + W-16 for Y's word i of this pass."""
        T, S, U, V = self.tmp
        e('vmovdqa %s, %s' % (yw(i - 2), V))
        shifts_xor(V, T, U, SCHED1)
        e('vpaddd %s, %s, %s' % (yw(i - 7), T, T))
        e('vpaddd %s, %s, %s' % (yw(i - 16), T, T))
        e('vmovdqa %s, %s' % (yw(i - 15), V))
        shifts_xor(V, S, U, SCHED0)
        e('vpaddd %s, %s, %s' % (S, T, T))
        e('vmovdqa %s, %s' % (T, yw(i)))

    def pass_work(self):
        """One pass: half of X's rounds, Y's words, the other half."""
        for t in range(RPP // 2):
            self.round(t)
        for i in range(WPP):
            self.schedule_word(i)
        for t in range(RPP // 2, RPP):
            self.round(t)

    def set_state(self, prefix, cross):
        """X's working variables from 8 broadcast words hx(prefix0..7), b ^ c from hx(cross)."""
        X = self.tmp[0]
        for i in (0, 1, 2, 3):  # a, b, c, d = A_0, A_-1, A_-2, A_-3; e, f, g, h likewise
            e('vmovdqa %s, %s' % (hx(prefix + str(i)), X))
            e('vmovdqa %s, %s' % (X, va(-i)))
            e('vmovdqa %s, %s' % (hx(prefix + str(4 + i)), X))
            e('vmovdqa %s, %s' % (X, ve(-i)))
        e('vmovdqa %s, %s' % (hx(cross), X))
        e('vmovdqa %s, %s' % (X, CR))

    def header_words(self, buf):
        """A first block's words into buf: the header's, the four nonces from %r9 (advanced)."""
        X = self.tmp[0]
        for j in range(16):
            e('vmovdqu (%%r9), %s' % X if j == 3 else 'vmovdqa %s, %s' % (hx('hw%d' % j), X))
            e('vmovdqa %s, %d(%%rsp)' % (X, buf + 16 * j))
        e('add $16, %r9')

    def digest(self):
        """X's first block done: its digest (state + midstate) to D."""
        X = self.tmp[0]
        for i, src in enumerate([va(0), va(-1), va(-2), va(-3), ve(0), ve(-1), ve(-2), ve(-3)]):
            e('vmovdqa %s, %s' % (src, X))
            e('vpaddd %s, %s, %s' % (hx('mid%d' % i), X, X))
            e('vmovdqa %s, %s' % (X, dig(i)))

    def second_words(self, buf):
        """A second block's words into buf: D, then padding and length."""
        X = self.tmp[0]
        for j in range(16):
            e('vmovdqa %s, %s' % (dig(j) if j < 8 else hx('pad%d' % j), X))
            e('vmovdqa %s, %d(%%rsp)' % (X, buf + 16 * j))

    def finish(self):
        """X's second block done: H7 = h + IV7 of the four nonces to %r10 (advanced)."""
        X = self.tmp[0]
        e('vmovdqa %s, %s' % (ve(-3), X))
        e('vpaddd %s, %s, %s' % (hx('iv7'), X, X))
        e('vmovdqu %s, (%%r10)' % X)
        e('add $16, %r10')


def interleave(sha, vec):
    """The two instruction streams merged evenly, so the out-of-order window holds both."""
    merged, j = [], 0
    for i, ins in enumerate(sha):
        merged.append(ins)
        until = (i + 1) * len(vec) // len(sha)
        merged.extend(vec[j:until])
        j = until
    merged.extend(vec[j:])
    return merged


def scan_hybrid():
    """hf_shani_scan_hybrid(ctx, in, out, iters, hctx): iters - 1 passes of both kinds of lane,
    then one of the SHA lanes alone. Block k of X (64 / RPP passes each): the first block of group 0,
    then for k odd the first block of group (k + 1) / 2, for k even that of group k / 2 - 1's
    second block; first blocks run from BUF1 (BUF0 for group 0), second blocks from BUF0."""
    n = SHA_LANES
    regs = ['%%xmm%d' % r for r in range(16 - 3 * n - 2, 16)]  # xmm0 is also the feed-forward's temporary
    vec = VecLanes()
    name = 'hf_shani_scan_hybrid'
    symbol(name)
    for r in ('rbp', 'rbx', 'r12', 'r13', 'r14'):
        print('\tpush %%%s' % r)
    print('\tmov %rsp, %r14')
    print('\tsub $%d, %%rsp' % HYBRID_FRAME)
    print('\tand $-64, %rsp')
    print('\tlea %d(%%rsp), %%rbp' % RBP_OFF)
    print('\tmov %d(%%r8), %%r9' % (16 * HCTX.index('io')))      # four nonce words a group
    print('\tmov %d(%%r8), %%r10' % (16 * HCTX.index('io') + 8))  # four H7 a group
    # Block 0 (group 0's first) with its whole schedule; Y starts on group 1's first block.
    vec.header_words(BUF0)
    e('lea %d(%%rsp), %%r12' % (BUF0 + 256))
    for p in range(48 // WPP):
        for i in range(WPP):
            vec.schedule_word(i)
        e('add $%d, %%r12' % (16 * WPP))
    vec.header_words(BUF1)
    e('lea %d(%%rsp), %%r12' % (BUF1 + 256))
    vec.set_state('mid', 'midc')
    e('lea %d(%%rsp), %%rbx' % (BUF0 + 128))
    e('lea 128(%r8), %rax')
    e('xor %r11d, %r11d')
    e('xor %r13d, %r13d')
    print(flush())
    ShaLanes(n, regs, WK_SLOTS).iteration()
    sha = take()
    vec.pass_work()
    v = take()
    print('\t.p2align 5')
    print('.Lhy_top:')
    print('\tcmp $1, %rcx')
    print('\tje .Lhy_last')
    print('\n'.join(interleave(sha, v)))
    print('\tadd $%d, %%rsi' % (8 * n))
    print('\tadd $%d, %%rdx' % (4 * n))
    print('\tadd $%d, %%rax' % (16 * RPP))
    print('\tadd $%d, %%rbx' % (16 * RPP))
    print('\tadd $%d, %%r12' % (16 * WPP))
    print('\tinc %r11d')
    print('\tcmp $%d, %%r11d' % (64 // RPP))
    print('\tjne .Lhy_next')
    print('\t# X finished block r13: a first block (r13 = 0 or odd) leaves its digest in D')
    print('\ttest $1, %r13d')
    print('\tjnz .Lhy_first_done')
    print('\ttest %r13, %r13')
    print('\tjz .Lhy_first_done')
    vec.finish()
    print(flush())
    print('\tjmp .Lhy_next_block')
    print('.Lhy_first_done:')
    vec.digest()
    print(flush())
    print('.Lhy_next_block:')
    print('\ttest $1, %r13d')
    print('\tjnz .Lhy_to_second')

    def next_block(comment, state, xbuf, fill, ybuf):
        """X starts its next block (state, schedule in xbuf); Y's words 0-15 into ybuf."""
        print('\t# ' + comment)
        vec.set_state(state, state + 'c')
        e('lea %d(%%rsp), %%rbx' % (xbuf + 128))
        fill(ybuf)
        e('lea %d(%%rsp), %%r12' % (ybuf + 256))
        print(flush())

    next_block('X: a first block from BUF1; Y: the second block of the group just digested, in BUF0', 'mid',
               BUF1, vec.second_words, BUF0)
    print('\tjmp .Lhy_block_set')
    print('.Lhy_to_second:')
    next_block('X: a second block from BUF0; Y: the next group\'s first block, in BUF1', 'iv', BUF0,
               vec.header_words, BUF1)
    print('.Lhy_block_set:')
    print('\tlea 128(%r8), %rax')
    print('\txor %r11d, %r11d')
    print('\tinc %r13')
    print('.Lhy_next:')
    print('\tdec %rcx')
    print('\tjnz .Lhy_top')
    print('.Lhy_last:')
    print('\t# the pass that finishes the later SHA lanes\' last nonces; no vector work')
    ShaLanes(n, regs, WK_SLOTS).iteration()
    print(flush())
    print('\tmov %r14, %rsp')
    for r in ('r14', 'r13', 'r12', 'rbx', 'rbp'):
        print('\tpop %%%s' % r)
    print('\tret')
    print('\t.size %s, .-%s' % (name, name))


def main():
    """Options for measuring alternatives on another CPU (see the docstring); the committed
    shani_scan.S is the output without any."""
    global ALIGN, WK_HI
    usage = 'usage: gen_shani_scan.py [--align palignr|blend] [--wk-hi memory|vpshufd] > shani_scan.S'
    args = sys.argv[1:]
    while args:
        if len(args) < 2:
            sys.exit(usage)
        opt, val = args[0], args[1]
        if opt == '--align' and val in ('palignr', 'blend'):
            ALIGN = val
        elif opt == '--wk-hi' and val in ('memory', 'vpshufd'):
            WK_HI = val
        else:
            sys.exit(usage)
        args = args[2:]
    print('# Generated by engine/src/cpu/gen_shani_scan.py; do not edit (see that script).')
    print('\t.text')
    scan_x4()
    scan_hybrid()
    print('\t.section .note.GNU-stack,"",@progbits')


if __name__ == '__main__':
    main()
