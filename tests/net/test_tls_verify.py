"""A worker, and the coordinator in proxy mode, check a stratum+ssl pool's certificate: by
default against the system CA store and the URL's host, which a self-signed pool fails;
--tls-ca trusts a private CA (still checking the host); --tls-fingerprint pins a
certificate (given again, one for each failover pool); --tls-insecure checks nothing and says so. A refused connection names the reason
on one line. The pool is a hashforge coordinator with --tls-listen (for the worker) or
tests/net/fake_pool.py over TLS (for the proxy); certificates are made with openssl."""
import shutil
import subprocess
import tempfile
import time
import unittest

from fake_pool import FakePool
from stratum_harness import (BIN, HANG_GUARD, Coordinator, cert_sha256, finish_worker, make_ca, make_cert, worker)

WRONG = ":".join(["00"] * 32)


class Certificates:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="hf-tls-")
        self.self_signed = make_cert(self.dir, "self")                    # its own CA; IP and localhost
        self.self_signed2 = make_cert(self.dir, "self2")                  # another pool's, likewise
        self.ca = make_ca(self.dir)
        self.leaf = make_cert(self.dir, "leaf", ca=self.ca)               # for 127.0.0.1 and localhost
        self.other = make_cert(self.dir, "other", san="DNS:pool.example", ca=self.ca)  # another host's


class WorkerVerifies(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = Certificates()
        cls.pools = {}

    @classmethod
    def tearDownClass(cls):
        for co in cls.pools.values():
            co.stop()
        shutil.rmtree(cls.certs.dir)

    def pool(self, which):
        """A coordinator serving Stratum over TLS with the named certificate."""
        if which not in self.pools:
            self.pools[which] = Coordinator("--difficulty", "0.0001", "--no-vardiff",
                                            tls=getattr(self.certs, which), http=True)
        return self.pools[which]

    def mine(self, co, *args, host="127.0.0.1", user="w", also=(), code=0):
        urls = ["stratum+ssl://%s:%d" % (host, c.tls_port) for c in (co,) + tuple(also)]
        w = worker(urls, "--threads", "1", "--backend", "scalar", "--user", user, *args, seconds=4)
        return finish_worker(self, w, code)

    def accepted(self, co, *args, **kw):
        r, err = self.mine(co, *args, **kw)
        self.assertGreater(r["accepted"], 0, err)
        self.assertNotIn("certificate verify failed", err)
        self.assertNotIn("fingerprint mismatch", err)
        return err

    def refused(self, co, reason, *args, user="w", **kw):
        r, err = self.mine(co, *args, user=user, code=1, **kw)  # never connected: exit 1
        self.assertEqual(r["accepted"], 0, err)
        self.assertEqual(r["connects"], 0, err)
        self.assertIn("never connected to a pool", err)
        lines = [l for l in err.splitlines() if "certificate" in l]
        self.assertTrue(lines, err)
        self.assertIn(reason, lines[0])
        # The worker never reached Stratum: the pool saw no authorization from it.
        self.assertNotIn("authorized as " + user, co.stderr())
        return lines[0]

    def test_default_refuses_a_self_signed_pool(self):
        line = self.refused(self.pool("self_signed"), "certificate verify failed: self-signed certificate",
                            user="default")
        print("\n  " + line)

    def test_tls_ca_trusts_a_private_ca(self):
        co = self.pool("leaf")
        self.accepted(co, "--tls-ca", self.certs.ca[0])
        self.accepted(co, "--tls-ca", self.certs.ca[0], host="localhost")
        # Without it the same pool is unknown to the system store.
        self.refused(co, "certificate verify failed: unable to get local issuer certificate", user="noca")
        # A self-signed pool certificate can be its own CA file.
        self.accepted(self.pool("self_signed"), "--tls-ca", self.certs.self_signed[0])

    def test_hostname_mismatch_is_refused(self):
        co = self.pool("other")  # signed by the trusted CA, but for pool.example
        line = self.refused(co, "certificate verify failed: hostname mismatch", "--tls-ca", self.certs.ca[0],
                            host="localhost", user="byname")
        print("\n  " + line)
        self.refused(co, "certificate verify failed: IP address mismatch", "--tls-ca", self.certs.ca[0],
                     user="byaddress")

    def test_fingerprint_pins_one_certificate(self):
        co = self.pool("self_signed")
        self.accepted(co, "--tls-fingerprint", cert_sha256(self.certs.self_signed[0]))
        # Plain lowercase hex works too.
        self.accepted(co, "--tls-fingerprint", cert_sha256(self.certs.self_signed[0]).replace(":", "").lower())
        line = self.refused(co, "certificate fingerprint mismatch", "--tls-fingerprint", WRONG, user="wrongpin")
        print("\n  " + line)
        self.assertIn(cert_sha256(self.certs.self_signed[0]).replace(":", "").lower(), line)

    def test_a_pin_for_each_failover_pool(self):
        # Two self-signed pools as primary and backup: one --tls-fingerprint each. With one pin
        # alone for every URL, failing over to a backup with its own certificate was refused.
        a, b = self.pool("self_signed"), self.pool("self_signed2")
        pin_a, pin_b = cert_sha256(self.certs.self_signed[0]), cert_sha256(self.certs.self_signed2[0])
        self.accepted(a, "--tls-fingerprint", pin_a, "--tls-fingerprint", pin_b, also=(b,), user="pinboth")
        self.assertIn("authorized as pinboth", a.stderr())
        # The primary's certificate not pinned: refused there, mined on the backup.
        r, err = self.mine(a, "--tls-fingerprint", pin_b, also=(b,), user="pinbackup")
        self.assertGreater(r["accepted"], 0, err)
        self.assertIn("certificate fingerprint mismatch", err)
        self.assertIn("authorized as pinbackup", b.stderr())
        self.assertNotIn("authorized as pinbackup", a.stderr())
        # Neither pinned: the refusal names every pin wanted.
        line = self.refused(b, "certificate fingerprint mismatch", "--tls-fingerprint", pin_a, "--tls-fingerprint",
                            WRONG, user="pinnone")
        self.assertIn(pin_a.replace(":", "").lower() + " or " + WRONG.replace(":", ""), line)

    def test_insecure_connects_with_a_warning(self):
        err = self.accepted(self.pool("self_signed"), "--tls-insecure")
        warnings = [l for l in err.splitlines() if "--tls-insecure" in l]
        self.assertEqual(len(warnings), 1, err)
        self.assertIn("warning", warnings[0])
        # Shown even with --quiet.
        _, err = self.mine(self.pool("self_signed"), "--tls-insecure", "--quiet")
        self.assertIn("warning: --tls-insecure", err)

    def test_bad_options(self):
        def run(*args):
            return subprocess.run([BIN, "worker", "--url", "stratum+ssl://127.0.0.1:1", "--seconds", "1"] + list(args),
                                  capture_output=True, text=True, timeout=HANG_GUARD)
        r = run("--tls-fingerprint", "abcd")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("64 hex digits", r.stderr)
        r = run("--tls-fingerprint", WRONG, "--tls-fingerprint", "abcd")  # the second one checked too
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("64 hex digits", r.stderr)
        r = run("--tls-insecure", "--tls-ca", self.certs.ca[0])
        self.assertEqual(r.returncode, 2, r.stderr)
        r = run("--tls-ca", "/nonexistent/ca.pem")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("--tls-ca /nonexistent/ca.pem", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


class ProxyVerifies(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = Certificates()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.certs.dir)

    def proxy(self, cert, *args):
        pool = FakePool("5e1f", difficulty=1 / 8192, tls=cert)
        self.addCleanup(pool.drop)
        co = Coordinator("--upstream", pool.url(), "--difficulty", repr(1 / 65536), "--no-vardiff", *args,
                         header_job=False, http=True)
        self.addCleanup(co.stop)
        return co

    def upstream(self, co, want_connected):
        deadline = time.time() + HANG_GUARD
        up = None
        while time.time() < deadline:
            up = co.stats()["upstream"]
            if up["connected"] if want_connected else up["last_error"]:
                return up
            time.sleep(0.1)
        raise AssertionError("upstream %s: %s\n%s" % ("never connected" if want_connected else "no error", up,
                                                      co.stderr()[-2000:]))

    def refused(self, co, reason):
        up = self.upstream(co, False)
        self.assertFalse(up["connected"])
        self.assertIn(reason, up["last_error"])
        self.assertIn(reason, co.stderr())
        return up["last_error"]

    def test_default_refuses_a_self_signed_pool(self):
        err = self.refused(self.proxy(self.certs.self_signed), "certificate verify failed: self-signed certificate")
        print("\n  " + err)

    def test_tls_ca(self):
        self.upstream(self.proxy(self.certs.leaf, "--tls-ca", self.certs.ca[0]), True)
        self.refused(self.proxy(self.certs.other, "--tls-ca", self.certs.ca[0]),
                     "certificate verify failed: IP address mismatch")

    def test_fingerprint(self):
        self.upstream(self.proxy(self.certs.self_signed, "--tls-fingerprint", cert_sha256(self.certs.self_signed[0])),
                      True)
        self.refused(self.proxy(self.certs.self_signed, "--tls-fingerprint", WRONG), "certificate fingerprint mismatch")

    def test_insecure(self):
        co = self.proxy(self.certs.self_signed, "--tls-insecure")
        self.upstream(co, True)
        self.assertIn("warning: --tls-insecure", co.stderr())

    def test_options_are_for_the_upstream_pool(self):
        r = subprocess.run([BIN, "coordinator", "--header-job", "/dev/null", "--tls-insecure"], capture_output=True,
                           text=True, timeout=HANG_GUARD)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--upstream", r.stderr)


if __name__ == "__main__":
    unittest.main()
