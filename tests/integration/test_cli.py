"""The `postern` admin CLI as an operator meets it: init that fails half-way, secrets on disk,
usage errors, tokens, and `send` given something that is not a message (docs/cli.md)."""

import os
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import unittest

import harness


def postern(*args, stdin=None):
    return subprocess.run([harness.binary("postern"), *args], capture_output=True, text=True,
                          input=stdin, timeout=harness.DEADLINE)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


class InitTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="postern-cli-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def test_a_failed_init_can_be_run_again(self):
        data = os.path.join(self.dir, "data")
        os.makedirs(data)
        with open(os.path.join(data, "postern.db"), "w") as f:
            f.write("this is not a database\n")
        failed = postern("init", data)
        self.assertEqual(failed.returncode, 1, failed.stderr)
        self.assertTrue(failed.stderr.startswith("postern: "), failed.stderr)
        self.assertFalse(os.path.exists(os.path.join(data, "postern.toml")))
        os.unlink(os.path.join(data, "postern.db"))
        done = postern("init", data)
        self.assertEqual(done.returncode, 0, done.stderr)
        again = postern("init", data)
        self.assertEqual(again.returncode, 1)
        self.assertIn("already initialised", again.stderr)
        with sqlite3.connect(os.path.join(data, "postern.db")) as db:
            self.assertEqual(db.execute("SELECT count(*) FROM tenants").fetchone()[0], 1)

    def test_the_key_is_private_whatever_was_there(self):
        data = os.path.join(self.dir, "data")
        os.makedirs(os.path.join(data, "tls"))
        os.chmod(os.path.join(data, "tls"), 0o755)
        key = os.path.join(data, "tls", "key.pem")
        with open(key, "w") as f:
            f.write("left over\n")
        os.chmod(key, 0o644)
        done = postern("init", data)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(mode(key), 0o600)
        self.assertEqual(mode(os.path.join(data, "tls")), 0o700)
        self.assertEqual(mode(data), 0o700)
        self.assertEqual(mode(os.path.join(data, "postern.toml")), 0o600)
        with open(key) as f:
            self.assertIn("PRIVATE KEY", f.read())

    def test_hostname_and_listeners_are_checked(self):
        bad = postern("init", os.path.join(self.dir, "a"), "--hostname", "bad host!!")
        self.assertEqual(bad.returncode, 1)
        self.assertIn("--hostname must be a host name", bad.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "a")))
        bad = postern("init", os.path.join(self.dir, "b"), "--mx-listen", "host name:25")
        self.assertEqual(bad.returncode, 1)
        self.assertIn("bad host", bad.stderr)
        data = os.path.join(self.dir, "c")
        ok = postern("init", data, "--hostname", "Mail.Example.COM.")
        self.assertEqual(ok.returncode, 0, ok.stderr)
        with open(os.path.join(data, "postern.toml")) as f:
            self.assertIn("hostname = 'mail.example.com'", f.read())

    def test_usage_errors_exit_2(self):
        for args in (["init", os.path.join(self.dir, "d"), "--bogus"], ["init"],
                     ["--data", self.dir, "token", "add", "--scope", "read",
                      "--expires-days", "0"]):
            proc = postern(*args)
            self.assertEqual(proc.returncode, 2, (args, proc.stderr))


class CommandsTest(harness.PosternTestCase):
    def test_an_address_may_start_with_a_hyphen(self):
        # '-' is atext (RFC 5322 §3.2.3): no "--" needed before such a mailbox.
        self.p.add_domain("example.com")
        self.assertTrue(self.p.add_mailbox("-team@example.com").startswith("mbx_"))
        self.assertTrue(self.p.add_mailbox("-hr@example.com").startswith("mbx_"))  # not -h
        self.assertIn("-team@example.com", self.p.cli("mailbox", "list").stdout)
        self.p.cli("mailbox", "set", "-team@example.com", "--connex-auto-evaluate", "on")
        self.assertTrue(self.p.cli("mailbox", "add", "--", "-ops@example.com").stdout.startswith(
            "mbx_"))
        # A domain cannot: the error names it rather than asking for one.
        proc = self.p.cli("domain", "add", "-bad.example", check=False)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("invalid domain: -bad.example", proc.stderr)
        # Still usage errors (2): nothing, two, or an unknown option beside the address.
        for args in ([], ["-a@example.com", "-b@example.com"], ["a@example.com", "--bogus"],
                     ["--bogus"], ["--", "x@example.com", "-h"], ["x@example.com", "--", "-h"],
                     ["x@example.com", "--", "y@example.com"]):
            proc = self.p.cli("mailbox", "add", *args, check=False)
            self.assertEqual(proc.returncode, 2, (args, proc.stderr))
            self.assertEqual(proc.stdout, "", args)  # no help printed
        self.assertEqual(self.p.count("SELECT count(*) FROM mailboxes"), 3)
        # Help: --help, or -h on its own (exit 0, nothing done), names the address as required.
        for args in (["--help"], ["-h"], ["-h", "x@example.com"]):
            proc = self.p.cli("mailbox", "add", *args, check=False)
            self.assertEqual(proc.returncode, 0, (args, proc.stderr))
            self.assertIn("mailbox add [OPTIONS] ADDRESS\n", proc.stdout)
            self.assertIn("ADDRESS TEXT REQUIRED", proc.stdout)
        self.assertEqual(self.p.count("SELECT count(*) FROM mailboxes"), 3)

    def test_revoking_twice_and_by_secret(self):
        secret = self.p.add_token("read")
        listed = self.p.cli("token", "list").stdout.split()
        token_id = next(w for w in listed if w.startswith("tok_"))
        by_secret = self.p.cli("token", "revoke", secret, check=False)
        self.assertEqual(by_secret.returncode, 1)
        self.assertNotIn(secret, by_secret.stderr + by_secret.stdout)
        self.assertIn("Revoked", self.p.cli("token", "revoke", token_id).stderr)
        again = self.p.cli("token", "revoke", token_id)
        self.assertIn("already revoked", again.stderr)
        self.assertEqual(self.p.count(
            "SELECT count(*) FROM audit_log WHERE action = 'token.revoke'"), 1)
        # Each change writes its audit row and its event (API.md), never the secret.
        self.assertEqual(self.p.count(
            "SELECT count(*) FROM events WHERE type = 'token.revoked' AND data LIKE ?",
            f'%"{token_id}"%'), 1)
        self.assertEqual(self.p.count(
            "SELECT count(*) FROM events WHERE type = 'token.created' AND data LIKE ?",
            f'%"{token_id}"%'), 1)
        self.assertEqual(self.p.count(
            "SELECT count(*) FROM events WHERE data LIKE ?", f"%{secret}%"), 0)
        missing = self.p.cli("token", "revoke", "tok_nothere", check=False)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("no token tok_nothere", missing.stderr)

    def test_a_scope_given_twice_is_stored_once(self):
        self.p.add_token("read", "read", "email:read")
        self.assertIn("[read email:read]", self.p.cli("token", "list").stdout)

    def test_send_refuses_what_is_not_a_message(self):
        self.p.add_domain("example.test")
        self.p.add_mailbox("agent@example.test")
        self.p.set_config({"outbound.require_verified_domain": False})

        def send(text):
            return postern("--data", self.p.data, "send", "--from", "agent@example.test",
                           "--to", "x@elsewhere.test", stdin=text)

        body_only = send("hello world\nsecond line\n")
        self.assertEqual(body_only.returncode, 1)
        self.assertIn("line 1 of the message is not a header field", body_only.stderr)
        late = send("Subject: hi\nnot a field\n\nbody\n")
        self.assertIn("line 2", late.stderr)
        nul = send("Subject: hi\n\nbody\0\n")
        self.assertEqual(nul.returncode, 1)
        self.assertIn("NUL", nul.stderr)
        self.assertEqual(self.p.count("SELECT count(*) FROM deliveries"), 0)
        ok = send("Subject: hi\n\nbody\n")
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertEqual(self.p.count("SELECT count(*) FROM deliveries"), 1)

    def test_an_error_echoes_a_bounded_input(self):
        proc = self.p.cli("domain", "add", "a" * 100000 + ".test", check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertLess(len(proc.stderr), 300, proc.stderr[:300])


if __name__ == "__main__":
    unittest.main()
