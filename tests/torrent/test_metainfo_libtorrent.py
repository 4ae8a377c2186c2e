"""Metainfo made by libtorrent (Debian's python3-libtorrent) read by hashforge's reader.

libtorrent creates v1, v2 and hybrid torrents of files of awkward sizes (empty, one byte,
exactly a piece, piece counts that are not powers of two, a file shorter than a block); the
reader must accept each, with libtorrent's own info-hashes and, for v2, pieces roots that
libtorrent reports, and must refuse a torrent whose piece layer was tampered with.
"""
import os
import random
import subprocess
import tempfile
import unittest

try:
    import libtorrent as lt
except ImportError:  # pragma: no cover - the setup script installs it
    lt = None

TOOL = os.environ.get("HF_TORRENT_TOOL", "")


def run_tool(*paths):
    out = subprocess.run([TOOL, *paths], capture_output=True, text=True, timeout=120, check=True).stdout
    return out.splitlines()


@unittest.skipIf(lt is None, "python3-libtorrent is not installed (scripts/setup.sh installs it)")
class LibtorrentTorrents(unittest.TestCase):
    def setUp(self):
        self.assertTrue(TOOL and os.path.exists(TOOL), "HF_TORRENT_TOOL must name hf_torrent_metainfo_tool")
        self.tmp = tempfile.TemporaryDirectory(prefix="hf-torrent-")
        self.dir = self.tmp.name
        rng = random.Random(7)
        self.root = os.path.join(self.dir, "data", "set")
        os.makedirs(os.path.join(self.root, "sub"))
        piece = 32768
        self.piece = piece
        sizes = {"a.bin": 5 * piece - 100, "b.bin": 1, "c.bin": 0, "d.bin": piece, "sub/e.bin": 9 * 2 * piece - 1,
                 "sub/f.bin": 100, "g.bin": 3 * piece + 16384}
        for name, size in sizes.items():
            with open(os.path.join(self.root, name), "wb") as f:
                f.write(rng.randbytes(size))

    def tearDown(self):
        self.tmp.cleanup()

    def make(self, flags, name):
        fs = lt.file_storage()
        lt.add_files(fs, self.root)
        t = lt.create_torrent(fs, self.piece, flags=flags)
        t.add_tracker("http://127.0.0.1:6969/announce")
        lt.set_piece_hashes(t, os.path.join(self.dir, "data"))
        path = os.path.join(self.dir, name + ".torrent")
        with open(path, "wb") as f:
            f.write(lt.bencode(t.generate()))
        return path

    def check(self, path):
        info = lt.torrent_info(path)
        lines = run_tool(path)
        self.assertTrue(lines[0].startswith("OK "), lines[0])
        _, v1, v2, layers, n = lines[0].split()
        hashes = info.info_hashes()
        self.assertEqual(v1, str(hashes.v1) if hashes.has_v1() else "-")
        self.assertEqual(v2, str(hashes.v2) if hashes.has_v2() else "-")
        files = info.files()
        theirs = []
        for i in range(files.num_files()):
            pad = bool(files.file_flags(i) & lt.file_storage.flag_pad_file)
            theirs.append((files.file_offset(i), files.file_size(i), pad, i))
        ours = [line.split(" ", 4) for line in lines[1:1 + int(n)]]
        self.assertEqual(len(ours), int(n))
        if v1 != "-":
            # The v1 list is the byte stream: every pad file counts.
            self.assertEqual(int(n), files.num_files())
        # A v2-only torrent has no pad files of its own (libtorrent adds them internally).
        ours_files = [o for o in ours if o[2] == "0"]
        their_files = [t for t in theirs if not t[2]]
        self.assertEqual(len(ours_files), len(their_files))
        for (offset, length, _pad, root, fpath), (t_off, t_len, _tpad, i) in zip(ours_files, their_files):
            self.assertEqual(int(offset), t_off, fpath)
            self.assertEqual(int(length), t_len, fpath)
            self.assertEqual(fpath, files.file_path(i).replace(os.sep, "/"))
            if hashes.has_v2() and t_len > 0:
                self.assertEqual(root, str(files.root(i)), fpath)
        return lines

    def test_v1(self):
        self.check(self.make(lt.create_torrent.v1_only, "v1"))

    def test_v2(self):
        self.check(self.make(lt.create_torrent.v2_only, "v2"))

    def test_hybrid(self):
        self.check(self.make(0, "hybrid"))

    def test_tampered_piece_layer_is_refused(self):
        path = self.make(lt.create_torrent.v2_only, "v2")
        data = lt.bdecode(open(path, "rb").read())
        layers = data[b"piece layers"]
        key = next(iter(layers))
        layer = bytearray(layers[key])
        layer[0] ^= 1
        layers[key] = bytes(layer)
        bad = os.path.join(self.dir, "bad.torrent")
        with open(bad, "wb") as f:
            f.write(lt.bencode(data))
        lines = run_tool(bad)
        self.assertTrue(lines[0].startswith("ERR ") and "piece layer" in lines[0], lines[0])


if __name__ == "__main__":
    unittest.main()
