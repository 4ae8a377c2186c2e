"""`hashforge torrent` with Debian's real BitTorrent programs, all on this machine (loopback,
no trackers, DHT, LSD, UPnP or NAT-PMP):

- torrents made by `hashforge torrent create` are accepted and checked 100% complete by
  libtorrent (python3-libtorrent 2.0: v1, v2, hybrid), Transmission 3.00 (transmission-daemon)
  and aria2 1.36 (`aria2c --check-integrity`) for v1; hybrids with Transmission and aria2 are
  held to what those clients do with them (neither knows v2 nor BEP 47 pad files; see
  HybridsInOlderClients);
- `hashforge torrent verify` accepts torrents made by mktorrent, transmission-create and
  libtorrent's creator (v1, v2, hybrid) for the same data, and with bytes flipped names
  exactly the pieces libtorrent finds bad.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

import torrent_harness as th
from torrent_harness import lt

KiB = 1024
MiB = 1024 * KiB
PIECE = 64 * KiB
NAME = "pack"
# A folder of a few files (two not a whole number of pieces, one exactly one piece, one
# smaller than a piece, an empty one) and a single file.
FOLDER = {
    "movie.bin": 1 * MiB + 500 * KiB + 333,
    "notes.txt": 1000,
    "empty.bin": 0,
    "disc/track01.bin": 300000,
    "disc/track02.bin": 64 * KiB,
    "disc/cover.jpg": 17000,
}
SOLO = "solo.iso"
SOLO_SIZE = 700001
# Bytes flipped for the "bad pieces" comparisons: (file, offset) in the folder / the file.
FOLDER_FLIPS = [("movie.bin", 0), ("movie.bin", 700000), ("disc/track02.bin", 64 * KiB - 1),
                ("notes.txt", 500), ("disc/cover.jpg", 16384)]
SOLO_FLIPS = [(None, 65536), (None, SOLO_SIZE - 1)]

HAVE_TRANSMISSION = all(shutil.which(p) for p in ("transmission-daemon", "transmission-create"))
HAVE_ARIA2 = shutil.which("aria2c") is not None
HAVE_MKTORRENT = shutil.which("mktorrent") is not None
SETUP = " (scripts/setup.sh installs it)"


class Interop(unittest.TestCase):
    """A temp folder with the data (DATA/pack/..., DATA/solo.iso), made once per class."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="hf-torrent-interop-")
        cls.dir = cls.tmp.name
        cls.data = os.path.join(cls.dir, "data")
        th.make_files(os.path.join(cls.data, NAME), FOLDER, seed=1515)
        th.make_files(cls.data, {SOLO: SOLO_SIZE}, seed=1516)
        cls.counter = 0

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def content(self, which):
        return os.path.join(self.data, NAME if which == "folder" else SOLO)

    def scratch(self, tag):
        type(self).counter += 1
        d = os.path.join(self.dir, "%s-%d" % (tag, self.counter))
        os.makedirs(d)
        return d

    def hf_torrent(self, fmt, which):
        out = os.path.join(self.dir, "hf-%s-%s.torrent" % (fmt, which))
        if not os.path.exists(out):
            th.hf_create(self.content(which), out, fmt, PIECE)
        return out

    def damaged_copy(self, which):
        """A copy of the data with FOLDER_FLIPS / SOLO_FLIPS applied; its download folder."""
        parent = self.scratch("damaged")
        name = NAME if which == "folder" else SOLO
        dst = th.copy_tree(self.content(which), os.path.join(parent, name))
        for rel, off in (FOLDER_FLIPS if which == "folder" else SOLO_FLIPS):
            th.flip_byte(os.path.join(dst, rel) if rel else dst, off)
        return parent


# ---------------------------------------------------------------------------------------------
# libtorrent

@unittest.skipIf(lt is None, "python3-libtorrent is not installed" + SETUP)
class LibtorrentChecksHashforgeTorrents(Interop):
    """libtorrent adds hashforge's torrents and, having checked the data, seeds them."""

    def setUp(self):
        self.session = th.lt_session()

    def tearDown(self):
        del self.session

    def test_complete(self):
        for fmt in ("v1", "v2", "hybrid"):
            for which in ("folder", "single"):
                with self.subTest(format=fmt, data=which):
                    path = self.hf_torrent(fmt, which)
                    ti, have, st = th.lt_check(self.session, path, self.data)
                    self.assertTrue(all(have) and len(have) == ti.num_pieces(), have)
                    self.assertTrue(st.is_seeding, st.state)
                    info = th.hf_info(path)
                    hashes = ti.info_hashes()
                    self.assertEqual(info.get("info_hash_v1"), str(hashes.v1) if hashes.has_v1() else None)
                    self.assertEqual(info.get("info_hash_v2"), str(hashes.v2) if hashes.has_v2() else None)
                    if fmt != "v2":
                        self.assertEqual(ti.num_pieces(), info["pieces"])
                    else:
                        # v2: libtorrent counts each file's pieces, every file starting a piece.
                        sizes = FOLDER.values() if which == "folder" else [SOLO_SIZE]
                        self.assertEqual(ti.num_pieces(), sum(-(-n // PIECE) for n in sizes))


# ---------------------------------------------------------------------------------------------
# Transmission 3.00

@unittest.skipUnless(HAVE_TRANSMISSION, "transmission-daemon / transmission-cli are not installed" + SETUP)
class TransmissionChecksHashforgeTorrents(Interop):
    def setUp(self):
        self.tr = th.Transmission(self.scratch("tr"))

    def tearDown(self):
        self.tr.stop()

    def check(self, torrent, download_dir):
        result, tid = self.tr.add(torrent, download_dir)
        self.assertEqual(result, "success", "%s\n%s" % (torrent, self.tr.log_tail()))
        t = self.tr.checked(tid)
        self.tr.remove(tid)
        return t

    def test_v1_complete(self):
        for which in ("folder", "single"):
            with self.subTest(data=which):
                path = self.hf_torrent("v1", which)
                t = self.check(path, self.data)
                self.assertEqual(t["status"], th.Transmission.SEEDING, t)
                self.assertEqual(t["percentDone"], 1)
                self.assertEqual(t["haveValid"], t["totalSize"])
                self.assertEqual(t["pieceCount"], th.hf_info(path)["pieces"])
                self.assertTrue(all(t["pieces"]))

    def test_v1_damaged_pieces_agree(self):
        # The negative control: Transmission really hashed the data, and finds the very pieces
        # hashforge names.
        for which in ("folder", "single"):
            with self.subTest(data=which):
                path = self.hf_torrent("v1", which)
                parent = self.damaged_copy(which)
                t = self.check(path, parent)
                self.assertLess(t["percentDone"], 1)
                theirs = {i for i, ok in enumerate(t["pieces"]) if not ok}
                rc, rep = th.hf_verify(path, parent)
                self.assertEqual(rc, 1)
                self.assertEqual({b["index"] for b in rep["bad_pieces"]}, theirs)


# ---------------------------------------------------------------------------------------------
# aria2 1.36

@unittest.skipUnless(HAVE_ARIA2, "aria2c is not installed" + SETUP)
class Aria2ChecksHashforgeTorrents(Interop):
    def test_v1_complete(self):
        for which in ("folder", "single"):
            with self.subTest(data=which):
                # aria2 writes its control file next to the data: check a copy.
                parent = self.scratch("aria2")
                name = NAME if which == "folder" else SOLO
                th.copy_tree(self.content(which), os.path.join(parent, name))
                rc, out = th.aria2_check(self.hf_torrent("v1", which), parent)
                self.assertEqual(rc, 0, out)
                self.assertIn("download completed", out)
                self.assertFalse(os.path.exists(os.path.join(parent, name + ".aria2")), out)

    def test_v1_damaged_is_incomplete(self):
        # The negative control: the same check of damaged data does not finish.
        rc, out = th.aria2_check(self.hf_torrent("v1", "folder"), self.damaged_copy("folder"))
        self.assertEqual(rc, th.ARIA2_INCOMPLETE, out)


# ---------------------------------------------------------------------------------------------
# Hybrids in clients without v2 (what they do is recorded in /tmp/notes/interop_findings.md)

class HybridsInOlderClients(Interop):
    @unittest.skipUnless(HAVE_TRANSMISSION, "transmission-daemon is not installed" + SETUP)
    @unittest.skipIf(lt is None, "python3-libtorrent is not installed" + SETUP)
    def test_transmission(self):
        # Transmission 3.00's bencode reader refuses an empty dictionary key, and every v2 file
        # tree has them ({"": {"length": ...}}), so it refuses every hybrid ("invalid or corrupt
        # torrent file"), libtorrent's as well. hashforge's hybrid must fare exactly as
        # libtorrent's does; if a Transmission takes it, it must check it complete.
        tr = th.Transmission(self.scratch("tr"))
        try:
            theirs = th.lt_create(self.content("folder"), PIECE, 0, os.path.join(self.dir, "lt-hybrid.torrent"))
            their_result, tid = tr.add(theirs, self.data)
            if tid is not None:
                tr.remove(tid)
            result, tid = tr.add(self.hf_torrent("hybrid", "folder"), self.data)
            self.assertEqual(result, their_result)
            if tid is not None:
                t = tr.checked(tid)
                self.assertEqual((t["status"], t["percentDone"]), (th.Transmission.SEEDING, 1), t)
            else:
                self.assertEqual(result, "invalid or corrupt torrent file")
        finally:
            tr.stop()

    @unittest.skipUnless(HAVE_ARIA2, "aria2c is not installed" + SETUP)
    def test_aria2_reads_the_v1_view_with_pad_files_as_files(self):
        # aria2 1.36 knows neither v2 nor BEP 47: a hybrid is a v1 torrent to it and the pad
        # files are ordinary files ("pack/.pad/N"). With only the real files on disk, the
        # pieces that end in padding fail and aria2 creates the .pad files it wants; with the
        # pad files written as zeros the v1 view of hashforge's hybrid checks complete.
        path = self.hf_torrent("hybrid", "folder")
        pads = [f for f in th.hf_info(path)["files"] if f.get("pad")]
        self.assertTrue(pads, "this data needs pad files in a hybrid")

        parent = self.scratch("aria2-hybrid")
        th.copy_tree(self.content("folder"), os.path.join(parent, NAME))
        rc, out = th.aria2_check(path, parent)
        self.assertEqual(rc, th.ARIA2_INCOMPLETE, out)
        self.assertTrue(os.path.isdir(os.path.join(parent, NAME, ".pad")), out)

        parent = self.scratch("aria2-hybrid-padded")
        th.copy_tree(self.content("folder"), os.path.join(parent, NAME))
        for f in pads:
            os.makedirs(os.path.dirname(os.path.join(parent, f["path"])), exist_ok=True)
            with open(os.path.join(parent, f["path"]), "wb") as out_file:
                out_file.write(bytes(f["length"]))
        rc, out = th.aria2_check(path, parent)
        self.assertEqual(rc, 0, out)


# ---------------------------------------------------------------------------------------------
# Other creators' torrents through `hashforge torrent verify`, and bad pieces against libtorrent

@unittest.skipIf(lt is None, "python3-libtorrent is not installed" + SETUP)
class HashforgeVerifiesOtherCreators(Interop):
    def setUp(self):
        self.session = th.lt_session()

    def tearDown(self):
        del self.session

    def creators(self):
        """(label, function making a torrent of a content path into an output path, or the
        reason it cannot run here: that creator's subtests are then reported skipped)."""
        out = [("mktorrent", lambda src, dst: self.tool(
                    ["mktorrent", "-l", str(PIECE.bit_length() - 1), "-o", dst, src]),
                None if HAVE_MKTORRENT else "mktorrent is not installed" + SETUP),
               ("transmission-create", lambda src, dst: self.tool(
                   ["transmission-create", "-s", str(PIECE // KiB), "-o", dst, src]),
                None if HAVE_TRANSMISSION else "transmission-create is not installed" + SETUP)]
        for label, flags in (("libtorrent-v1", lt.create_torrent.v1_only),
                             ("libtorrent-v2", lt.create_torrent.v2_only), ("libtorrent-hybrid", 0)):
            out.append((label, lambda src, dst, flags=flags: th.lt_create(src, PIECE, flags, dst), None))
        for fmt in ("v1", "v2", "hybrid"):
            out.append(("hashforge-" + fmt, lambda src, dst, fmt=fmt: th.hf_create(src, dst, fmt, PIECE), None))
        return out

    def tool(self, argv):
        p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, "%s: %s%s" % (argv[0], p.stdout, p.stderr))

    def lt_bad_pieces(self, torrent, parent):
        _, have, _ = th.lt_check(self.session, torrent, parent)
        return {i for i, ok in enumerate(have) if not ok}

    def hf_bad_pieces(self, torrent, parent, ti):
        """hashforge's bad pieces at libtorrent's granularity: {"v1": set, "v2": set}. A v2
        piece k of a file is global piece file_offset / piece_length + k, with libtorrent's file
        offsets (every v2 file starts a piece); a file checked by its root alone is one piece."""
        rc, rep = th.hf_verify(torrent, parent)
        self.assertEqual(rc, 1 if rep["bad_pieces"] else 0, rep)
        fs = ti.files()
        offsets = {fs.file_path(i).replace(os.sep, "/"): fs.file_offset(i) for i in range(fs.num_files())}
        got = {"v1": set(), "v2": set()}
        for b in rep["bad_pieces"]:
            if b["kind"] == "v1":
                got["v1"].add(b["index"])
            else:
                first = offsets[b["files"][0]["path"]] // ti.piece_length()
                got["v2"].add(first if b.get("whole_file") else first + b["index"])
        return got

    def test_accepts_and_agrees_with_libtorrent(self):
        for label, make, missing in self.creators():
            for which in ("folder", "single"):
                with self.subTest(creator=label, data=which):
                    if missing:
                        self.skipTest(missing)
                    path = os.path.join(self.dir, "%s-%s.torrent" % (label, which))
                    make(self.content(which), path)
                    ti = lt.torrent_info(path)
                    # Both read the same hashes.
                    info = th.hf_info(path)
                    hashes = ti.info_hashes()
                    self.assertEqual(info.get("info_hash_v1"), str(hashes.v1) if hashes.has_v1() else None)
                    self.assertEqual(info.get("info_hash_v2"), str(hashes.v2) if hashes.has_v2() else None)
                    # Clean data: all good, for DATA the download folder and the content itself.
                    for data in (self.data, self.content(which)):
                        rc, rep = th.hf_verify(path, data)
                        self.assertEqual((rc, rep["ok"], rep["bad_pieces"]), (0, True, []), rep)
                    # Flipped bytes: the same pieces as libtorrent, from each view hashforge has.
                    parent = self.damaged_copy(which)
                    theirs = self.lt_bad_pieces(path, parent)
                    self.assertTrue(theirs)
                    ours = self.hf_bad_pieces(path, parent, ti)
                    if hashes.has_v1():
                        self.assertEqual(ours["v1"], theirs, "v1 pieces")
                    if hashes.has_v2():
                        self.assertEqual(ours["v2"], theirs, "v2 pieces")


if __name__ == "__main__":
    unittest.main()
