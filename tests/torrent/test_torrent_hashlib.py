"""`hashforge torrent create / info / verify` against an independent oracle: hashlib.

Files of awkward sizes (empty, one byte, one 16 KiB block, exactly one piece, piece counts
that are not powers of two, nested folders, a name that sorts differently as a path than in
the BEP 52 file tree) become v1, v2 and hybrid torrents at several piece sizes; every hash in
them is recomputed here from the bytes with hashlib and a bencode reader of this suite's own
(torrent_harness). Then bytes are flipped, files removed, cut short or made longer, and
`torrent verify --json` must name exactly the pieces that the offsets say are bad, with both
I/O paths. Hostile .torrent files (truncated, path traversal) give a one-line error.
"""
import hashlib
import os
import shutil
import tempfile
import unittest
import urllib.parse

import torrent_harness as th

KiB = 1024
MiB = 1024 * KiB

# Relative path -> size. With 16 KiB .. 1 MiB pieces this covers piece counts that are not
# powers of two, files shorter than a block and than a piece, files of exactly one block and
# exactly one piece, empty files (also in a folder), and "sub-x.bin", which sorts after the
# folder "sub" in the file tree but before "sub/..." as a path string.
DATASET = {
    "big.bin": 2 * MiB + 5 * th.BLOCK + 123,
    "block.bin": th.BLOCK,
    "empty.bin": 0,
    "one.bin": 1,
    "p64k.bin": 64 * KiB,
    "p1m.bin": MiB,
    "seven.bin": 7 * th.BLOCK + 5,
    "sub/deeper/odd.bin": 3 * 64 * KiB + 1,
    "sub/empty2.bin": 0,
    "sub/small.bin": 5000,
    "sub-x.bin": 777,
}
NAME = "set"
PIECE_SIZES = (16 * KiB, 32 * KiB, 64 * KiB, MiB)
FORMATS = ("v1", "v2", "hybrid")


def tree_order(paths):
    """Paths in BEP 52 file tree order: sorted component by component."""
    return sorted(paths, key=lambda p: [c.encode() for c in p.split("/")])


class Layout:
    """What the oracle expects of a torrent of DATASET: the v1 stream with pad files."""

    def __init__(self, root, info, piece_length):
        self.root, self.P = root, piece_length
        self.entries = []  # (relative path or None for a pad, length, stream offset)
        offset = 0
        for path, length, pad in th.v1_file_list(info):
            self.entries.append((None if pad else "/".join(path), length, offset))
            offset += length
        self.total = offset

    def offset_of(self, rel):
        return next(off for p, _, off in self.entries if p == rel)

    def stream(self):
        parts = []
        for rel, length, _ in self.entries:
            if rel is None:
                parts.append(bytes(length))  # BEP 47: a pad file is zeros
            else:
                with open(os.path.join(self.root, rel), "rb") as f:
                    parts.append(f.read())
        return b"".join(parts)


class OracleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="hf-torrent-hashlib-")
        cls.dir = cls.tmp.name
        cls.data = th.make_files(os.path.join(cls.dir, "data", NAME), DATASET, seed=15)
        cls.files = {}
        for rel in DATASET:
            with open(os.path.join(cls.data, rel), "rb") as f:
                cls.files[rel] = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def torrent(self, fmt, piece, src=None, tag=""):
        out = os.path.join(self.dir, "%s-%s-%d%s.torrent" % (fmt, NAME, piece, tag))
        if not os.path.exists(out):
            th.hf_create(src or self.data, out, fmt, piece)
        return out


class CreateMatchesHashlib(OracleTest):
    """Every hash `torrent create` writes, recomputed with hashlib."""

    def check_v1(self, info, piece, fmt):
        files = th.v1_file_list(info)
        real = [("/".join(p), n) for p, n, pad in files if not pad]
        self.assertEqual(sorted(real), sorted(DATASET.items()))
        pads = [n for _, n, pad in files if pad]
        if fmt == "v1":
            self.assertEqual(pads, [], "a v1 torrent needs no pad files")
        layout = Layout(self.data, info, piece)
        for rel, length, off in layout.entries:
            if rel is None:
                self.assertTrue(0 < length < piece, "pad of %d bytes" % length)
                self.assertEqual((off + length) % piece, 0, "a pad file must end on a piece boundary")
            elif fmt == "hybrid" and length > 0:
                self.assertEqual(off % piece, 0, "hybrid: %s must start on a piece boundary" % rel)
        self.assertEqual(info[b"pieces"], th.v1_pieces(layout.stream(), piece), "v1 piece hashes")
        return layout

    def check_v2(self, top, info, piece):
        self.assertEqual(info[b"meta version"], 2)
        tree = th.v2_tree_files(info[b"file tree"])
        self.assertEqual(["/".join(p) for p, _, _ in tree], tree_order(DATASET))
        layers = top.get(b"piece layers", {})
        used = set()
        for path, length, root in tree:
            rel = "/".join(path)
            self.assertEqual(length, DATASET[rel], rel)
            if length == 0:
                self.assertIsNone(root, "an empty file has no pieces root: " + rel)
                continue
            want_root, want_layer = th.v2_file_hashes(self.files[rel], piece)
            self.assertEqual(root.hex(), want_root.hex(), "pieces root of %s at %d" % (rel, piece))
            if want_layer:
                self.assertIn(root, layers, "piece layer of " + rel)
                self.assertEqual(layers[root], want_layer, "piece layer of %s at %d" % (rel, piece))
                used.add(root)
            else:
                self.assertNotIn(root, layers, "a file of one piece or less has no piece layer: " + rel)
        self.assertEqual(set(layers), used, "no stray piece layers")
        return tree

    def check_info_json(self, path, info_bytes, fmt, piece, layout, tree):
        j = th.hf_info(path)
        self.assertEqual(j["name"], NAME)
        self.assertEqual(j["kind"], fmt)
        self.assertEqual(j["piece_length"], piece)
        if fmt != "v2":
            self.assertEqual(j["info_hash_v1"], hashlib.sha1(info_bytes).hexdigest())
        if fmt != "v1":
            self.assertEqual(j["info_hash_v2"], hashlib.sha256(info_bytes).hexdigest())
        real = [f for f in j["files"] if not f.get("pad")]
        if layout:
            order = [(rel, n) for rel, n, _ in layout.entries if rel is not None]
        else:
            order = [("/".join(p), n) for p, n, _ in tree]
        self.assertEqual([(f["path"], f["length"]) for f in real], [(NAME + "/" + rel, n) for rel, n in order])
        if layout:
            self.assertEqual([(f["offset"], f["length"], bool(f.get("pad"))) for f in j["files"]],
                             [(off, n, rel is None) for rel, n, off in layout.entries])
            self.assertEqual(j["pieces"], (layout.total + piece - 1) // piece)
        if tree:
            roots = {f["path"]: f.get("pieces_root") for f in real}
            for p, n, root in tree:
                self.assertEqual(roots[NAME + "/" + "/".join(p)], root.hex() if root else None)

    def test_folder_all_formats_and_piece_sizes(self):
        for fmt in FORMATS:
            for piece in PIECE_SIZES:
                with self.subTest(format=fmt, piece=piece):
                    path = self.torrent(fmt, piece)
                    top, info, info_bytes = th.load_torrent(path)
                    self.assertEqual(info[b"name"], NAME.encode())
                    self.assertEqual(info[b"piece length"], piece)
                    layout = tree = None
                    if fmt in ("v1", "hybrid"):
                        layout = self.check_v1(info, piece, fmt)
                    else:
                        self.assertNotIn(b"pieces", info)
                        self.assertNotIn(b"files", info)
                    if fmt in ("v2", "hybrid"):
                        tree = self.check_v2(top, info, piece)
                    else:
                        self.assertNotIn(b"file tree", info)
                    if layout and tree:
                        # Both views of a hybrid: the same files in the same order.
                        self.assertEqual([e[0] for e in layout.entries if e[0] is not None],
                                         ["/".join(p) for p, _, _ in tree])
                    self.check_info_json(path, info_bytes, fmt, piece, layout, tree)

    def test_single_file(self):
        cases = [(300001, 16 * KiB), (300001, MiB), (64 * KiB, 64 * KiB), (th.BLOCK, 16 * KiB), (1, 32 * KiB)]
        for size, piece in cases:
            src = th.make_files(os.path.join(self.dir, "single-%d" % size), {"solo.bin": size}, seed=size)
            src = os.path.join(src, "solo.bin")
            with open(src, "rb") as f:
                body = f.read()
            for fmt in FORMATS:
                with self.subTest(size=size, piece=piece, format=fmt):
                    path = self.torrent(fmt, piece, src=src, tag="-solo%d" % size)
                    top, info, info_bytes = th.load_torrent(path)
                    self.assertEqual(info[b"name"], b"solo.bin")
                    self.assertNotIn(b"files", info, "a single file is not a folder")
                    if fmt != "v2":
                        self.assertEqual(info[b"length"], size)
                        self.assertEqual(info[b"pieces"], th.v1_pieces(body, piece))
                    if fmt != "v1":
                        leaf = info[b"file tree"][b"solo.bin"][b""]
                        self.assertEqual(leaf[b"length"], size)
                        root, layer = th.v2_file_hashes(body, piece)
                        self.assertEqual(leaf[b"pieces root"].hex(), root.hex())
                        self.assertEqual(top.get(b"piece layers", {}), {root: layer} if layer else {})
                    j = th.hf_info(path)
                    # A v2 file tree of one file named as the torrent is BEP 52's single-file
                    # form: the file "solo.bin", not a folder holding one.
                    self.assertEqual([(f["path"], f["length"]) for f in j["files"]], [("solo.bin", size)])
                    if fmt != "v2":
                        self.assertEqual(j["info_hash_v1"], hashlib.sha1(info_bytes).hexdigest())
                    if fmt != "v1":
                        self.assertEqual(j["info_hash_v2"], hashlib.sha256(info_bytes).hexdigest())
                    # DATA as the file itself and as the folder holding it (a download folder).
                    for data in (src, os.path.dirname(src)):
                        rc, rep = th.hf_verify(path, data)
                        self.assertEqual((rc, rep["ok"]), (0, True), rep)

    def test_options_and_magnet(self):
        tiers = [["http://a.example/ann?passkey=x&y=1", "http://b.example/ann"], ["udp://c.example:80"]]
        seed = "http://ws.example/a b/"
        path = os.path.join(self.dir, "options.torrent")
        th.hf_create(self.data, path, "hybrid", 32 * KiB, *sum((["-t", ",".join(t)] for t in tiers), []),
                     "-w", seed, "--private", "--comment", "a comment", "--source", "SRC", "--name", "my set & more")
        top, info, info_bytes = th.load_torrent(path)
        self.assertEqual(top[b"announce"].decode(), tiers[0][0])
        self.assertEqual([[u.decode() for u in t] for t in top[b"announce-list"]], tiers)
        self.assertEqual(top[b"url-list"], [seed.encode()])
        self.assertEqual(top[b"comment"], b"a comment")
        self.assertNotIn(b"creation date", top)  # --no-date
        self.assertEqual((info[b"private"], info[b"source"], info[b"name"]), (1, b"SRC", b"my set & more"))
        j = th.hf_info(path)
        self.assertEqual((j["trackers"], j["web_seeds"], j["private"]), (tiers, [seed], True))
        v1, v2 = hashlib.sha1(info_bytes).hexdigest(), hashlib.sha256(info_bytes).hexdigest()
        self.assertEqual((j["info_hash_v1"], j["info_hash_v2"]), (v1, v2))
        # The magnet link, read with urllib: both hashes, the name, every tracker, the web seed.
        scheme, _, query = j["magnet"].partition("?")
        self.assertEqual(scheme, "magnet:")
        q = urllib.parse.parse_qs(query)
        self.assertEqual(sorted(q["xt"]), sorted(["urn:btih:" + v1, "urn:btmh:1220" + v2]))
        self.assertEqual(q["dn"], ["my set & more"])
        self.assertEqual(q["tr"], tiers[0] + tiers[1])
        self.assertEqual(q["ws"], [seed])
        # ... and back through `torrent info MAGNET`.
        m = th.hf_info(j["magnet"])
        self.assertEqual((m["info_hash_v1"], m["info_hash_v2"], m["name"]), (v1, v2, "my set & more"))

    def test_merkle_oracle_self_check(self):
        # The oracle's two views of one tree agree: a root over the padded piece layer equals a
        # root over all leaves padded with zero hashes (what BEP 52 defines).
        body = self.files["big.bin"]
        leaves = [hashlib.sha256(body[i:i + th.BLOCK]).digest() for i in range(0, len(body), th.BLOCK)]
        for piece in PIECE_SIZES:
            per = piece // th.BLOCK
            width = th.next_pow2(-(-len(leaves) // per)) * per
            self.assertEqual(th.v2_file_hashes(body, piece)[0], th.merkle_root(leaves, width))


class VerifyNamesBadPieces(OracleTest):
    """`torrent verify --json` against the pieces the damage's offsets say are bad."""

    PIECE = 32 * KiB
    # (file, offset in it): a large file (mmapped with --io mmap), the one-byte file, a file of
    # exactly one block, the last byte of a file, two flips in one piece.
    FLIPS = [("big.bin", 0), ("big.bin", 1 * MiB + 7), ("big.bin", 1 * MiB + 9), ("one.bin", 0),
             ("block.bin", th.BLOCK - 1), ("sub/deeper/odd.bin", 3 * 64 * KiB), ("sub-x.bin", 100),
             ("seven.bin", 3 * th.BLOCK)]

    def damaged_copy(self, tag):
        dst = os.path.join(self.dir, "damaged-" + tag)
        shutil.rmtree(dst, ignore_errors=True)
        th.copy_tree(self.data, os.path.join(dst, NAME))
        return dst

    def expected(self, path, fmt, damage):
        """The set of bad pieces as verify's JSON should list them, from byte ranges
        [(file, from, to)] of damage."""
        _, info, _ = th.load_torrent(path)
        P = self.PIECE
        want = set()
        if fmt != "v2":
            layout = Layout(self.data, info, P)
            for rel, a, b in damage:
                base = layout.offset_of(rel)
                want |= {("v1", None, i) for i in range((base + a) // P, (base + b - 1) // P + 1)}
        if fmt != "v1":
            for rel, a, b in damage:
                if DATASET[rel] <= P:
                    want.add(("v2", NAME + "/" + rel, "whole"))  # no piece layer: the root is the check
                else:
                    want |= {("v2", NAME + "/" + rel, k) for k in range(a // P, (b - 1) // P + 1)}
        return want

    def reported(self, rep):
        got = set()
        for b in rep["bad_pieces"]:
            if b["kind"] == "v1":
                self.assertEqual(b["offset"], b["index"] * self.PIECE)
                got.add(("v1", None, b["index"]))
            else:
                self.assertEqual(len(b["files"]), 1, b)
                got.add(("v2", b["files"][0]["path"], "whole" if b.get("whole_file") else b["index"]))
        return got

    def run_case(self, tag, damage_fn, damage, problems):
        for fmt in FORMATS:
            path = self.torrent(fmt, self.PIECE)
            data = self.damaged_copy("%s-%s" % (tag, fmt))
            damage_fn(os.path.join(data, NAME))
            want = self.expected(path, fmt, damage)
            for io in ("mmap", "read"):
                with self.subTest(format=fmt, io=io):
                    rc, rep = th.hf_verify(path, data, "--io", io)
                    self.assertEqual(self.reported(rep), want)
                    self.assertEqual(sorted((p["path"], p["problem"]) for p in rep["file_problems"]),
                                     sorted((NAME + "/" + r, k) for r, k in problems))
                    bad = bool(want) or any(k != "longer than the torrent says" for _, k in problems)
                    self.assertEqual(rep["ok"], not bad)
                    self.assertEqual(rc, 1 if bad else 0, rep)

    def test_clean_data_is_all_good(self):
        for fmt in FORMATS:
            path = self.torrent(fmt, self.PIECE)
            top, info, _ = th.load_torrent(path)
            for io in ("mmap", "read"):
                with self.subTest(format=fmt, io=io):
                    # DATA as the folder holding the content, and as the content itself.
                    for data in (os.path.dirname(self.data), self.data):
                        rc, rep = th.hf_verify(path, data, "--io", io)
                        self.assertEqual((rc, rep["ok"], rep["bad_pieces"], rep["file_problems"]),
                                         (0, True, [], []), rep)
                    if fmt != "v2":
                        self.assertEqual(rep["v1_pieces_checked"], len(info[b"pieces"]) // 20)
                    if fmt != "v1":
                        layers = top.get(b"piece layers", {})
                        self.assertEqual(rep["v2_pieces_checked"], sum(len(v) // 32 for v in layers.values()))
                        self.assertEqual(rep["v2_files_checked_by_root"],
                                         sum(1 for n in DATASET.values() if 0 < n <= self.PIECE))

    def test_flipped_bytes(self):
        def damage(root):
            for rel, off in self.FLIPS:
                th.flip_byte(os.path.join(root, rel), off)
        self.run_case("flip", damage, [(rel, off, off + 1) for rel, off in self.FLIPS], [])

    def test_missing_file(self):
        self.run_case("missing", lambda root: os.remove(os.path.join(root, "sub/small.bin")),
                      [("sub/small.bin", 0, 5000)], [("sub/small.bin", "missing")])

    def test_missing_large_file(self):
        n = DATASET["sub/deeper/odd.bin"]
        self.run_case("missing-large", lambda root: os.remove(os.path.join(root, "sub/deeper/odd.bin")),
                      [("sub/deeper/odd.bin", 0, n)], [("sub/deeper/odd.bin", "missing")])

    def test_short_file(self):
        n, cut = DATASET["big.bin"], 50000

        def damage(root):
            os.truncate(os.path.join(root, "big.bin"), n - cut)
        self.run_case("short", damage, [("big.bin", n - cut, n)], [("big.bin", "shorter than the torrent says")])

    def test_longer_file_is_a_warning(self):
        # apps/cmd_torrent_verify.cpp: a file longer than the torrent says is a warning; the
        # data the torrent covers is right, so the check passes (exit 0, "ok": true).
        def damage(root):
            with open(os.path.join(root, "one.bin"), "ab") as f:
                f.write(b"extra bytes")
        self.run_case("long", damage, [], [("one.bin", "longer than the torrent says")])


class HostileTorrents(OracleTest):
    """Broken or malicious .torrent files: one line on stderr, exit 1 or 2, never a crash."""

    def refused(self, blob, what):
        path = os.path.join(self.dir, "hostile.torrent")
        with open(path, "wb") as f:
            f.write(blob)
        for args in (("torrent", "info", path), ("torrent", "info", path, "--json"),
                     ("torrent", "verify", path, os.path.dirname(self.data))):
            with self.subTest(case=what, command=args[1]):
                p = th.run_hf(*args)
                self.assertIn(p.returncode, (1, 2), "%s: rc %d\n%s%s" % (what, p.returncode, p.stdout, p.stderr))
                self.assertEqual(len(th.one_line_error(p.stderr)), 1, "%s: %r" % (what, p.stderr))

    def test_truncated(self):
        for fmt in FORMATS:
            with open(self.torrent(fmt, 32 * KiB), "rb") as f:
                blob = f.read()
            for cut in (0, 1, 11, len(blob) // 3, len(blob) // 2, len(blob) - 1):
                self.refused(blob[:cut], "%s cut to %d bytes" % (fmt, cut))

    def test_path_traversal_v1(self):
        for bad in ([b"..", b"evil"], [b"sub", b"..", b"..", b"evil"], [b"/etc", b"passwd"], [b""], [b"."],
                    [b"a/b"], [b"a\x00b"]):
            top, info, _ = th.load_torrent(self.torrent("v1", 32 * KiB))
            info[b"files"][0][b"path"] = bad
            self.refused(th.bencode(top), "v1 path %r" % bad)

    def test_path_traversal_v2(self):
        for fmt in ("v2", "hybrid"):
            for bad in (b"..", b".", b"a/b", b"/etc"):
                top, info, _ = th.load_torrent(self.torrent(fmt, 32 * KiB))
                tree = info[b"file tree"]
                tree[bad] = tree.pop(b"sub-x.bin")
                self.refused(th.bencode(top), "%s file tree key %r" % (fmt, bad))

    def test_single_file_name_traversal(self):
        top, info, _ = th.load_torrent(self.torrent("v1", 32 * KiB))
        del info[b"files"]
        info[b"length"] = 10
        info[b"pieces"] = info[b"pieces"][:20]
        info[b"name"] = b".."
        self.refused(th.bencode(top), "name ..")


if __name__ == "__main__":
    unittest.main()
