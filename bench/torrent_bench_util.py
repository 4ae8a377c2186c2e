"""What the torrent benchmarks share: a file's SHA-1 (the download check) and the CPU's name
(every result names it)."""
import hashlib
import os
import platform


def sha1_file(path):
    h = hashlib.sha1()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 24)
            if not b:
                return h.digest()
            h.update(b)


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def result_path(root, kind, date):
    """bench/results/<date>-<kind>.md, or with the time added when a run that day is there
    already (a second run never writes over the first)."""
    path = os.path.join(root, "bench", "results", "%s-%s.md" % (date.strftime("%Y-%m-%d"), kind))
    if os.path.exists(path):
        path = path[:-3] + "-%s.md" % date.strftime("%H%M")
    return path
