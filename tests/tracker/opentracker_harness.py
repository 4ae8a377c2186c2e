"""Debian's opentracker for side-by-side tests and benches. Debian builds it in private mode
(WANT_ACCESSLIST_WHITE: only whitelisted info-hashes are tracked) and it chroots into its
directory when started as root, so each run gets a directory of its own holding the
whitelist, and root runs it as nobody through setpriv (as non-root it only changes into the
directory)."""
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

OPENTRACKER = shutil.which("opentracker") or "/usr/bin/opentracker"


def free_port():
    # The same number free for TCP and UDP: opentracker takes both.
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise RuntimeError("no free port")


class OpenTracker:
    def __init__(self, hashes):
        if not os.path.exists(OPENTRACKER):
            raise unittest.SkipTest("opentracker is not installed (scripts/setup.sh installs it)")
        self.dir = tempfile.mkdtemp(prefix="hf-opentracker-")
        os.chmod(self.dir, 0o755)
        with open(os.path.join(self.dir, "whitelist.txt"), "w") as f:
            for h in hashes:
                f.write(h.hex() + "\n")
        os.chmod(os.path.join(self.dir, "whitelist.txt"), 0o644)
        self.port = free_port()
        cmd = [OPENTRACKER, "-i", "127.0.0.1", "-p", str(self.port), "-P", str(self.port), "-d", self.dir,
               "-w", "whitelist.txt"]
        if os.geteuid() == 0:
            cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] + cmd
        self.log = open(os.path.join(self.dir, "log"), "w+b")
        self.proc = subprocess.Popen(cmd, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        else:
            self.close()
            raise AssertionError("opentracker did not start")
        if self.proc.poll() is not None:
            self.log.seek(0)
            text = self.log.read().decode("utf-8", "replace")
            self.close()
            raise AssertionError("opentracker exited: %s" % text)
        self.http_url = "http://127.0.0.1:%d" % self.port
        self.udp_addr = ("127.0.0.1", self.port)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
