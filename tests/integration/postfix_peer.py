"""A private Postfix instance (tests/data/postfix, from shared/testdata/peers/postfix) for tests
and benchmarks. It listens on 127.0.0.1:<listen_port>, delivers peer.test into a Maildir and
relays everything else to [127.0.0.1]:<relay_port>. The system /etc/postfix is never touched."""

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CONF = os.path.join(HERE, "..", "data", "postfix")


def available():
    return shutil.which("postfix") is not None or os.path.exists("/usr/sbin/postfix")


class PostfixPeer:
    def __init__(self, listen_port, relay_port, extra_main_cf=""):
        self.listen_port, self.relay_port = listen_port, relay_port
        self.dir = tempfile.mkdtemp(prefix="postern-postfix-")
        os.chmod(self.dir, 0o755)
        for sub in ("etc", "queue", "data", "vmail"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        with open(os.path.join(CONF, "main.cf.in")) as f:
            main_cf = f.read().replace("@DIR@", self.dir)
        main_cf = main_cf.replace("relayhost = [127.0.0.1]:2525",
                                  f"relayhost = [127.0.0.1]:{relay_port}")
        with open(os.path.join(self.dir, "etc", "main.cf"), "w") as f:
            f.write(main_cf + "\n" + extra_main_cf + "\n")
        with open(os.path.join(CONF, "master.cf")) as f:
            master_cf = f.read().replace("127.0.0.1:2526", f"127.0.0.1:{listen_port}")
        with open(os.path.join(self.dir, "etc", "master.cf"), "w") as f:
            f.write(master_cf)
        etc = os.path.join(self.dir, "etc")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", f"{etc}/key.pem", "-out", f"{etc}/cert.pem", "-days", "3",
                        "-subj", "/CN=peer.test"], check=True, capture_output=True, timeout=60)
        shutil.chown(os.path.join(self.dir, "data"), user="postfix")
        os.chown(os.path.join(self.dir, "vmail"), 65534, 65534)
        # `postfix check` creates the queue directories; it reports errors only to a tty.
        subprocess.run(["script", "-qc", f"postfix -c {etc} check", "/dev/null"],
                       capture_output=True, timeout=60)
        self.proc = None

    def start(self, timeout=30):
        self.proc = subprocess.Popen(["postfix", "-c", os.path.join(self.dir, "etc"), "start-fg"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.listen_port), timeout=1) as s:
                    if s.recv(512).startswith(b"220"):
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("postfix did not start:\n" + self.log())

    def master_pid(self):
        try:
            with open(os.path.join(self.dir, "queue", "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        pid = self.master_pid()
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if self.proc:
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def maildir(self):
        return sorted(glob.glob(os.path.join(self.dir, "vmail", "inbox", "new", "*")))

    def log(self):
        try:
            with open(os.path.join(self.dir, "maillog"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
