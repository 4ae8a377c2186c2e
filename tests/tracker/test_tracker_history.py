"""The stats history lives in SQLite and survives a restart, while swarms (in memory) do not:
samples taken every second by one `hashforge tracker` are in /stats.json of the next one
started on the same database, next to its live figures of zero."""
import os
import time
import unittest

from tracker_harness import Tracker, announce_query, wait_for

H = b"\x33" * 20


def window(stats, name):
    return next(w for w in stats["history"]["windows"] if w["name"] == name)


def total(values):
    return sum(v for v in values if v is not None)


class HistorySurvivesRestart(unittest.TestCase):
    def test_restart(self):
        first = Tracker("--sample-interval", "1s")
        db = first.db
        keep = first.dir
        try:
            for n in range(6):
                first.get("/announce?" + announce_query(H, b"-HF0001-hist%08d" % n, 7000 + n, 5, event="started"))
            for n in range(2):
                first.get("/announce?" + announce_query(H, b"-HF0001-hist%08d" % n, 7000 + n, 0, event="completed"))
            got = wait_for(lambda: max(v or 0 for v in window(first.stats(), "1h")["peers"]) == 6, timeout=20)
            self.assertTrue(got, "no sample with 6 peers: %r" % window(first.stats(), "1h"))
            self.assertEqual(first.stop(), 0)
        finally:
            first.proc.stdout.close()
            first.stderr.close()
        self.assertTrue(os.path.exists(db))
        second = Tracker("--sample-interval", "1s", db=db)
        try:
            s = second.stats()
            self.assertEqual(s["peers"], 0, "swarms are in memory only")
            self.assertEqual(s["completed"], 0)
            for name in ("1h", "5h", "1d", "3d"):
                w = window(s, name)
                self.assertEqual(len(w["peers"]), 60)
                self.assertEqual(max(v or 0 for v in w["peers"]), 6, name)
                self.assertEqual(max(v or 0 for v in w["torrents"]), 1, name)
                self.assertEqual(total(w["completed"]), 2, name)
        finally:
            second.close()
            import shutil
            shutil.rmtree(keep, ignore_errors=True)

    def test_unreadable_database_is_a_clear_failure(self):
        import subprocess
        import tempfile
        from tracker_harness import hashforge_bin
        fd, path = tempfile.mkstemp()
        os.write(fd, b"this is not a database" * 500)
        os.close(fd)
        try:
            r = subprocess.run([hashforge_bin(), "tracker", "--db", path, "--http", "127.0.0.1:0"],
                               capture_output=True, timeout=30)
            self.assertEqual(r.returncode, 1)
            self.assertIn(path.encode(), r.stderr)
            self.assertEqual(r.stderr.count(b"\n"), 1, r.stderr)
        finally:
            os.unlink(path)


if __name__ == "__main__":
    unittest.main()
