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

The work per nonce is search_header's: rounds 0-1 of the nonce's block once per job (the
prestate), the nonce-free parts of its schedule precomputed (HeaderConsts), and the second hash
stopped after the first sha256rnds2 of quad 15 (H7 = E60 + IV7 sits in dword 0 of ABEF).

Interface (System V): void hf_shani_scan_x4(const AsmScanCtx* ctx, const uint32_t* in,
uint32_t* out, size_t iters). Each iteration reads 8 words from in (the four lanes' nonce words,
then each plus K[3]) and advances in by 8 and out by 4. Lane 0 writes its result (E60 of the
second hash, before + IV7) to out[0] in the iteration that started the nonce; lanes 1-3 finish a
nonce in the next iteration and write out[l - 4], so out[-4..-1] must be writable and the caller
runs one iteration more than it needs (that iteration's lane 0 result is valid, lanes 1-3 are
not; lanes 1-3 of the first iteration write garbage to out[-3..-1]).
"""

N = 4          # lanes (nonces in flight)
STAG = 8       # quad slots between one lane and the next (a nonce is 32 quads: 16 a hash)
LANE_BYTES = 64  # each lane's schedule ring: W[4q..4q+3] for the last four quads

# AsmScanCtx (shani_kernels.inl): its fields, 16-byte vectors, in this order.
CTX = ['mid_abef', 'mid_cdgh', 'pre', 'w0', 'wk0hi',
       'wk1_1', 'wk1_2', 'wk1_3', 'wk1hi_1', 'wk1hi_2', 'wk1hi_3', 'w1', 'c4', 'c5', 'c6m', 'c7m'] + \
      ['k%d' % q for q in range(16)] + \
      ['iv_abef', 'iv_cdgh', 'm2', 'm3', 'wk2_2', 'wk2_3', 'wk2hi_2', 'wk2hi_3', 'ca2', 'c26m']

A = ['%%xmm%d' % (1 + l) for l in range(N)]          # ABEF
C = ['%%xmm%d' % (1 + N + l) for l in range(N)]      # CDGH
P = ['%%xmm%d' % (1 + 2 * N + l) for l in range(N)]  # the lane's newest schedule vector
CANON = P[:] + ['%xmm13']
free = ['%xmm13']  # the register a new schedule vector is built in
Y, T = '%xmm14', '%xmm15'
out = []


def cx(name):
    return '%d(%%rdi)' % (16 * CTX.index(name))


def ring(l, slot):
    return '%d(%%rsp)' % (LANE_BYTES * l + 16 * (slot & 3))


def e(ins):
    out.append('\t' + ins)


def land(l):
    """The new schedule vector, built in the free register, becomes lane l's newest."""
    free[0], P[l] = P[l], free[0]


def rounds(l, wreg, q):
    """Four rounds with W+K from wreg + K[q]: the second pair's words are moved down."""
    e('vpaddd %s, %s, %%xmm0' % (cx('k%d' % q), wreg))
    e('sha256rnds2 %%xmm0, %s, %s' % (A[l], C[l]))
    e('vpshufd $0x0e, %xmm0, %xmm0')
    e('sha256rnds2 %%xmm0, %s, %s' % (C[l], A[l]))


def rounds_const(l, lo, hi):
    e('vmovdqa %s, %%xmm0' % cx(lo))
    e('sha256rnds2 %%xmm0, %s, %s' % (A[l], C[l]))
    e('vmovdqa %s, %%xmm0' % cx(hi))
    e('sha256rnds2 %%xmm0, %s, %s' % (C[l], A[l]))


def schedule(l, q, store=True):
    """W[4q..] = msg2(msg1(W[q-4], W[q-3]) + alignr(W[q-1], W[q-2]), W[q-1]) (quads)."""
    f = free[0]
    e('vmovdqa %s, %s' % (ring(l, q), f))
    e('sha256msg1 %s, %s' % (ring(l, q + 1), f))
    e('vpalignr $4, %s, %s, %s' % (ring(l, q + 2), P[l], Y))
    e('vpaddd %s, %s, %s' % (Y, f, f))
    e('sha256msg2 %s, %s' % (P[l], f))
    if store:  # read again as W[q'-4], W[q'-3] or W[q'-2] by quads up to q + 3
        e('vmovdqa %s, %s' % (f, ring(l, q)))
    land(l)


def first_hash(l, q):
    f = free[0]
    if q == 0:
        # Rounds 0-1 are the prestate; rounds 2-3 read W3, the nonce word.
        e('vmovdqa %s, %%xmm0' % cx('wk0hi'))
        e('vpinsrd $1, %d(%%rsi), %%xmm0, %%xmm0' % (16 + 4 * l))
        e('vmovdqa %s, %s' % (cx('mid_abef'), A[l]))
        e('sha256rnds2 %%xmm0, %s, %s' % (cx('pre'), A[l]))
        e('vmovdqa %s, %s' % (cx('pre'), C[l]))
    elif q < 4:
        rounds_const(l, 'wk1_%d' % q, 'wk1hi_%d' % q)
    elif q == 4:
        # W16..19: only msg1(W0..3, W4..7) reads the nonce; c4 is the rest.
        e('vmovdqa %s, %s' % (cx('w0'), f))
        e('vpinsrd $3, %d(%%rsi), %s, %s' % (4 * l, f, f))
        e('sha256msg1 %s, %s' % (cx('w1'), f))
        e('vpaddd %s, %s, %s' % (cx('c4'), f, f))
        e('vmovdqa %s, %s' % (f, ring(l, 4)))
        land(l)
        rounds(l, P[l], 4)
    elif q == 5:
        # W20..23 = msg2(c5, W16..19): c5's msg1 and alignr terms are nonce-free.
        e('vmovdqa %s, %s' % (cx('c5'), f))
        e('sha256msg2 %s, %s' % (P[l], f))
        e('vmovdqa %s, %s' % (f, ring(l, 5)))
        land(l)
        rounds(l, P[l], 5)
    elif q in (6, 7):
        # Their msg1 terms read only nonce-free words.
        e('vpalignr $4, %s, %s, %s' % (ring(l, q + 2), P[l], Y))
        e('vpaddd %s, %s, %s' % (cx('c6m' if q == 6 else 'c7m'), Y, f))
        e('sha256msg2 %s, %s' % (P[l], f))
        e('vmovdqa %s, %s' % (f, ring(l, q)))
        land(l)
        rounds(l, P[l], q)
    else:
        schedule(l, q, q <= 13)
        rounds(l, P[l], q)
    if q == 15:
        # Feed-forward; the digest becomes the second hash's words 0-7 (ring slots 0 and 1).
        f = free[0]
        e('vpaddd %s, %s, %s' % (cx('mid_abef'), A[l], A[l]))
        e('vpaddd %s, %s, %s' % (cx('mid_cdgh'), C[l], C[l]))
        e('vpshufd $0x1b, %s, %s' % (A[l], f))           # a b e f
        e('vpshufd $0xb1, %s, %s' % (C[l], Y))           # g h c d
        e('vpblendw $0xf0, %s, %s, %s' % (Y, f, T))      # a b c d
        e('vpalignr $8, %s, %s, %s' % (f, Y, P[l]))      # e f g h
        e('vmovdqa %s, %s' % (T, ring(l, 0)))
        e('vmovdqa %s, %s' % (P[l], ring(l, 1)))
        e('vmovdqa %s, %s' % (cx('iv_abef'), A[l]))
        e('vmovdqa %s, %s' % (cx('iv_cdgh'), C[l]))


def second_hash(l, q, outaddr):
    f = free[0]
    if q == 0:
        e('vmovdqa %s, %s' % (ring(l, 0), f))
        rounds(l, f, 0)
    elif q == 1:
        rounds(l, P[l], 1)
    elif q < 4:
        rounds_const(l, 'wk2_%d' % q, 'wk2hi_%d' % q)  # padding and length words
    elif q == 4:
        e('vmovdqa %s, %s' % (ring(l, 0), f))
        e('sha256msg1 %s, %s' % (ring(l, 1), f))
        e('vpaddd %s, %s, %s' % (cx('ca2'), f, f))
        e('sha256msg2 %s, %s' % (cx('m3'), f))
        e('vmovdqa %s, %s' % (f, ring(l, 4)))
        land(l)
        rounds(l, P[l], 4)
    elif q == 5:
        e('vmovdqa %s, %s' % (ring(l, 1), f))
        e('sha256msg1 %s, %s' % (cx('m2'), f))
        e('vpalignr $4, %s, %s, %s' % (cx('m3'), P[l], Y))
        e('vpaddd %s, %s, %s' % (Y, f, f))
        e('sha256msg2 %s, %s' % (P[l], f))
        e('vmovdqa %s, %s' % (f, ring(l, 5)))
        land(l)
        rounds(l, P[l], 5)
    elif q == 6:
        e('vpalignr $4, %s, %s, %s' % (ring(l, 4), P[l], Y))
        e('vpaddd %s, %s, %s' % (cx('c26m'), Y, f))
        e('sha256msg2 %s, %s' % (P[l], f))
        e('vmovdqa %s, %s' % (f, ring(l, 6)))
        land(l)
        rounds(l, P[l], 6)
    elif q == 7:
        e('vmovdqa %s, %s' % (cx('m3'), f))
        e('sha256msg1 %s, %s' % (ring(l, 4), f))
        e('vpalignr $4, %s, %s, %s' % (ring(l, 5), P[l], Y))
        e('vpaddd %s, %s, %s' % (Y, f, f))
        e('sha256msg2 %s, %s' % (P[l], f))
        e('vmovdqa %s, %s' % (f, ring(l, 7)))
        land(l)
        rounds(l, P[l], 7)
    elif q < 15:
        schedule(l, q, q <= 13)
        rounds(l, P[l], q)
    else:
        # Rounds 60-61 only: E60 is then F, dword 0 of the new ABEF (built in CDGH's register).
        schedule(l, 15, False)
        e('vpaddd %s, %s, %%xmm0' % (cx('k15'), P[l]))
        e('sha256rnds2 %%xmm0, %s, %s' % (A[l], C[l]))
        e('vmovd %s, %s' % (C[l], outaddr))


def restore_registers():
    """Parallel move of the rotated schedule registers back to their order at the loop top."""
    cur = P + free
    pending = {d: s for s, d in zip(cur, CANON) if s != d}
    while pending:
        ready = [d for d in pending if d not in pending.values()]
        if ready:
            d = ready[0]
            e('vmovdqa %s, %s' % (pending.pop(d), d))
        else:  # a cycle: park one source in Y
            d, s = next(iter(pending.items()))
            e('vmovdqa %s, %s' % (s, Y))
            pending[d] = Y


def main():
    for s in range(32):
        out.append('\t# slot %d' % s)
        for l in range(N):
            k = (s - STAG * l) % 32
            own = s - STAG * l >= 0  # False: lane l is finishing the previous iteration's nonce
            if k < 16:
                first_hash(l, k)
            else:
                second_hash(l, k - 16, '%d(%%rdx)' % (4 * l - (0 if own else 16)))
    restore_registers()
    name = 'hf_shani_scan_x4'
    print('# Generated by engine/src/cpu/gen_shani_scan.py; do not edit (see that script).')
    print('\t.text')
    print('\t.p2align 6')
    print('\t.globl %s' % name)
    print('\t.hidden %s' % name)
    print('\t.type %s, @function' % name)
    print('%s:' % name)
    print('\tpush %rbp')
    print('\tmov %rsp, %rbp')
    print('\tsub $%d, %%rsp' % (LANE_BYTES * N + 64))
    print('\tand $-64, %rsp')
    print('\t.p2align 5')
    print('1:')
    print('\n'.join(out))
    print('\tadd $32, %rsi')
    print('\tadd $16, %rdx')
    print('\tdec %rcx')
    print('\tjnz 1b')
    print('\tleave')
    print('\tret')
    print('\t.size %s, .-%s' % (name, name))
    print('\t.section .note.GNU-stack,"",@progbits')


if __name__ == '__main__':
    main()
