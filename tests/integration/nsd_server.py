"""nsd on loopback for tests and benchmarks: an authoritative server in the foreground on a free
127.0.0.1 port, from tests/data/dns/nsd.conf, serving copies of the zone files it is given."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
NSD = shutil.which("nsd") or "/usr/sbin/nsd"
DEADLINE = 20  # seconds for nsd to start or stop


def available():
    return os.path.exists(NSD)


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 (nsd binds both)."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise RuntimeError("no free port")


def zone_file(directory, origin, records):
    """Writes <origin>.zone: an SOA and NS, then `records` (BIND lines, absolute names)."""
    path = os.path.join(directory, f"{origin}.zone")
    with open(path, "w") as f:
        f.write(f"$TTL 60\n{origin}. IN SOA ns.{origin}. admin.{origin}. 1 3600 600 86400 60\n"
                f"{origin}. IN NS ns.{origin}.\nns.{origin}. IN A 127.0.0.1\n")
        f.write("\n".join(records) + "\n")
    return path


class Nsd:
    """nsd in the foreground (-d) under `timeout`, so it cannot outlive a crashed test."""

    def __init__(self, zones, only_zones=None):
        """`zones`: zone file paths to copy; `only_zones`: the zone names to serve (each from
        <name>.zone) instead of the template's list."""
        self.dir = tempfile.mkdtemp(prefix="postern-nsd-")
        self.port = free_port()
        for z in zones:
            shutil.copy(z, self.dir)
        conf = read(os.path.join(DATA, "dns", "nsd.conf"))
        conf = conf.replace("@WORK@", self.dir).replace("@PORT@", str(self.port))
        if only_zones is not None:  # the template's server section, with other zones
            conf = conf[:conf.index("\nzone:")] + "".join(
                f"\nzone:\n    name: {name}\n    zonefile: {name}.zone" for name in only_zones)
            conf += "\n"
        path = os.path.join(self.dir, "nsd.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen(["timeout", "-s", "TERM", "600", NSD, "-d", "-c", path],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        log = os.path.join(self.dir, "nsd.log")
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            if os.path.exists(log) and "nsd started" in read(log):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("nsd did not start: " + (read(log) if os.path.exists(log) else ""))

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)  # timeout(1) passes it on to nsd
            try:
                self.proc.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=DEADLINE)
        shutil.rmtree(self.dir, ignore_errors=True)


