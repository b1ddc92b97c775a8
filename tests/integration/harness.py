"""Shared set-up for Postern's integration tests: a temporary data directory made with the real
`postern` CLI, and the real daemons started on ephemeral loopback ports and stopped by PID."""

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import unittest

BIN_DIR = os.environ.get("POSTERN_BIN_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build")
DEADLINE = float(os.environ.get("POSTERN_TEST_DEADLINE", "20"))

# Every installation made here gets these unless the test overrides them. Mail authentication
# stays on (as in production), but DNS questions to the machine's resolver (which may be
# unreachable here) give up after 200 ms instead of c-ares' 2 s x 3 tries, and no end-of-data
# check waits more than 2 s, so that tests that do not care about DNS stay fast.
# tests/integration/test_mail_auth.py points [dns] servers at its own nsd (nsd_server.py).
TEST_DEFAULTS = {"dns.timeout_ms": 200, "dns.tries": 1, "auth.spf_timeout_ms": 2000}


def binary(name):
    bin_dir = os.environ.get("POSTERN_BIN_DIR") or BIN_DIR  # read now: the bench sets it late
    for sub in ("", "cli", "smtpd", "apid"):
        path = os.path.join(bin_dir, sub, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise FileNotFoundError(f"{name} not found under {bin_dir}")


class Daemon:
    """A started daemon: its Popen, its listeners ({name: (host, port)}) and its log file."""

    def __init__(self, name, proc, listeners, log_path):
        self.name, self.proc, self.listeners, self.log_path = name, proc, listeners, log_path

    @property
    def pid(self):
        return self.proc.pid

    def addr(self, listener):
        return self.listeners[listener]

    def log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=DEADLINE):
        """Signals the daemon by PID and waits; SIGKILL if it outlives `timeout`. Returns rc."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=timeout)
        return self.proc.returncode

    def kill(self):
        return self.stop(signal.SIGKILL)


class Postern:
    """A temporary Postern installation. Use as a context manager or call close()."""

    def __init__(self, hostname="mx.postern.test", config_overrides=None):
        self.dir = tempfile.mkdtemp(prefix="postern-it-")
        self.data = os.path.join(self.dir, "data")
        self.daemons = []
        self.run_cli("init", self.data, "--hostname", hostname,
                     "--mx-listen", "127.0.0.1:0", "--api-listen", "127.0.0.1:0")
        self.set_config({**TEST_DEFAULTS, **(config_overrides or {})})

    # -- configuration -------------------------------------------------------------------
    def set_config(self, overrides):
        """Rewrites keys in postern.toml: {"smtp.max_recipients": 3, ...} (ints and strings)."""
        path = os.path.join(self.data, "postern.toml")
        with open(path) as f:
            lines = f.read().splitlines()
        section = ""
        done = set()
        out = []
        for line in lines:
            stripped = line.strip()
            if stripped.startswith("[") and stripped.endswith("]"):
                section = stripped[1:-1]
            key = stripped.split("=", 1)[0].strip() if "=" in stripped else None
            full = f"{section}.{key}" if section and key else key
            if full in overrides:
                line = f"{key} = {self._toml(overrides[full])}"
                done.add(full)
            out.append(line)
        missing = set(overrides) - done
        for full in sorted(missing):
            section, _, key = full.rpartition(".")
            if section and f"[{section}]" not in out:
                out += ["", f"[{section}]"]
            idx = out.index(f"[{section}]") if section else 0
            out.insert(idx + 1, f"{key} = {self._toml(overrides[full])}")
        with open(path, "w") as f:
            f.write("\n".join(out) + "\n")

    @staticmethod
    def _toml(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    # -- the CLI ---------------------------------------------------------------------------
    def run_cli(self, *args, check=True):
        proc = subprocess.run([binary("postern"), *args], capture_output=True, text=True,
                              timeout=DEADLINE)
        if check and proc.returncode != 0:
            raise AssertionError(f"postern {' '.join(args)} failed ({proc.returncode}): "
                                 f"{proc.stderr.strip()}")
        return proc

    def cli(self, *args, check=True):
        """`postern --data DIR ARGS…`; returns the CompletedProcess."""
        return self.run_cli("--data", self.data, *args, check=check)

    def add_domain(self, name):
        return self.cli("domain", "add", name).stdout.strip()

    def add_mailbox(self, address):
        return self.cli("mailbox", "add", address).stdout.strip()

    def add_token(self, *scopes, mailbox=None):
        args = ["token", "add"]
        if mailbox:
            args += ["--mailbox", mailbox]
        for s in scopes:
            args += ["--scope", s]
        return self.cli(*args).stdout.strip()

    # -- daemons ---------------------------------------------------------------------------
    def start(self, name, extra_env=None):
        """Starts postern-smtpd or postern-apid and waits for its run/<name>.addr file."""
        addr_file = os.path.join(self.data, "run", f"{name}.addr")
        if os.path.exists(addr_file):
            os.unlink(addr_file)
        log_path = os.path.join(self.dir, f"{name}.{len(self.daemons)}.log")
        env = dict(os.environ)
        env.update(extra_env or {})
        with open(log_path, "w") as log:
            proc = subprocess.Popen([binary(name), "--data", self.data], stdout=log,
                                    stderr=subprocess.STDOUT, env=env)
        daemon = Daemon(name, proc, {}, log_path)
        self.daemons.append(daemon)
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.returncode}:\n{daemon.log()}")
            if os.path.exists(addr_file):
                with open(addr_file) as f:
                    for line in f.read().splitlines():
                        listener, _, hostport = line.partition(" ")
                        host, _, port = hostport.rpartition(":")
                        daemon.listeners[listener] = (host.strip("[]"), int(port))
                if daemon.listeners:
                    return daemon
            time.sleep(0.02)
        daemon.kill()
        raise AssertionError(f"{name} did not start within {DEADLINE}s:\n{daemon.log()}")

    def start_smtpd(self, **kw):
        return self.start("postern-smtpd", **kw)

    def start_apid(self, **kw):
        return self.start("postern-apid", **kw)

    # -- inspection ------------------------------------------------------------------------
    def db(self):
        """A read connection to the database (for assertions only)."""
        conn = sqlite3.connect(os.path.join(self.data, "postern.db"), timeout=10)
        conn.row_factory = sqlite3.Row
        return conn

    def count(self, sql, *params):
        with self.db() as conn:
            return conn.execute(sql, params).fetchone()[0]

    def close(self):
        for d in self.daemons:
            try:
                d.stop(timeout=5)
            except Exception:
                pass
        if os.environ.get("POSTERN_KEEP_TEST_DIRS"):
            print("kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=DEADLINE, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


class PosternTestCase(unittest.TestCase):
    """A test case with a fresh installation in self.p (closed after each test)."""

    config = None

    def setUp(self):
        self.p = Postern(config_overrides=self.config)
        self.addCleanup(self.p.close)
