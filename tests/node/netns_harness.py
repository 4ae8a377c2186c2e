"""Network namespaces for the node tests: hosts on a bridge, each in its own namespace, made by
the test with `ip netns` and veth pairs and removed by its cleanup. Nothing is added to the test
process's own namespace: it reaches a namespace's addresses from a thread that has joined it
with setns(2), and starts programs there under `ip netns exec`.

Needs root (CAP_NET_ADMIN); `unavailable()` says why not, for a visible skip."""
import ctypes
import os
import shutil
import subprocess
import threading

from node_harness import HANG_GUARD

IP = shutil.which("ip") or "/usr/sbin/ip"
TAG = os.getpid() % 100000  # names and subnets differ between concurrent test processes

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


def ip(*args):
    r = subprocess.run([IP] + list(args), capture_output=True, text=True, timeout=HANG_GUARD)
    if r.returncode != 0:
        raise OSError("ip %s: %s" % (" ".join(args), (r.stderr or r.stdout).strip()))


def unavailable():
    """Why namespaces cannot be made here, or None."""
    if os.geteuid() != 0:
        return "not root: ip netns and veth need CAP_NET_ADMIN (run the suite as root to include this test)"
    if not os.path.exists(IP):
        return "iproute2's ip command is not installed"
    probe = "hfprobe%d" % TAG
    try:
        ip("netns", "add", probe)
        ip("netns", "del", probe)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "cannot make a network namespace here: %s" % e
    return None


def in_netns(ns, fn, *args, **kw):
    """fn(*args, **kw) run on a fresh thread that has joined network namespace `ns`."""
    box = {}

    def run():
        try:
            fd = os.open("/run/netns/" + ns, os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    e = ctypes.get_errno()
                    raise OSError(e, "setns(%s): %s" % (ns, os.strerror(e)))
            finally:
                os.close(fd)
            box["value"] = fn(*args, **kw)
        except BaseException as e:  # handed to the caller
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(HANG_GUARD * 4)
    if t.is_alive():
        raise AssertionError("a call inside namespace %s hung" % ns)
    if "error" in box:
        raise box["error"]
    return box["value"]


def subnet(offset=20):
    """A /24 (as "10.233.X") for this process; `offset` keeps two suites' subnets apart."""
    return "10.233.%d" % (TAG % 100 + offset)


class Bridge:
    """`count` hosts, host i (from 1) in namespace `ns[i-1]` at SUBNET.i, on a bridge in a hub
    namespace that holds SUBNET.254 (so a program run in the hub reaches every host). Each
    host's bridge port can be set down to cut it off and up to bring it back."""

    def __init__(self, test, count, net):
        self.net = net
        self.hub = "hf%dh%s" % (TAG, net.split(".")[-1])
        self.ns = ["%sn%d" % (self.hub, i) for i in range(1, count + 1)]
        self._port = {}
        ip("netns", "add", self.hub)
        test.addCleanup(ip, "netns", "del", self.hub)
        ip("-n", self.hub, "link", "set", "lo", "up")
        ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
        ip("-n", self.hub, "addr", "add", "%s.254/24" % net, "dev", "br0")
        ip("-n", self.hub, "link", "set", "br0", "up")
        for i, ns in enumerate(self.ns, start=1):
            ip("netns", "add", ns)
            test.addCleanup(ip, "netns", "del", ns)
            h, v = "%sh%d" % (self.hub, i), "%sv%d" % (self.hub, i)
            # Made inside the hub with its peer end in the host's namespace: deleting the
            # namespaces removes both ends.
            ip("-n", self.hub, "link", "add", h, "type", "veth", "peer", "name", v, "netns", ns)
            ip("-n", self.hub, "link", "set", h, "master", "br0")
            ip("-n", self.hub, "link", "set", h, "up")
            ip("-n", ns, "addr", "add", "%s.%d/24" % (net, i), "dev", v)
            ip("-n", ns, "link", "set", v, "up")
            ip("-n", ns, "link", "set", "lo", "up")
            self._port[ns] = h

    def address(self, i):
        return "%s.%d" % (self.net, i)

    def cut(self, ns):
        ip("-n", self.hub, "link", "set", self._port[ns], "down")

    def restore(self, ns):
        ip("-n", self.hub, "link", "set", self._port[ns], "up")

    def wrapper(self, ns, program, folder):
        """A script that runs `program` with its arguments inside `ns` (for harnesses that
        take one program path)."""
        path = os.path.join(folder, "in-%s.sh" % ns)
        with open(path, "w") as f:
            f.write('#!/bin/sh\nexec %s netns exec %s %s "$@"\n' % (IP, ns, program))
        os.chmod(path, 0o755)
        return path
