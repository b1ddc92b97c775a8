"""Submission (RFC 6409) end to end: swaks and smtplib submit through the real postern-smtpd over
STARTTLS (587-style listener) and implicit TLS (465-style), with AUTH PLAIN and LOGIN and a
Postern token as the password. Accepted mail lands in the mailbox's Sent folder with one queued
delivery per recipient. Also: refusals (wrong token, foreign sender, AUTH before TLS, MAIL before
AUTH, an unverified domain), STARTTLS command injection, BDAT over a raw socket, and the MX
still refusing to relay."""

import base64
import json
import os
import socket
import ssl
import smtplib
import subprocess
import tempfile
import shutil
import time
import unittest
import urllib.parse
import urllib.request

from harness import DEADLINE, Postern, binary, wait_for

ALICE = "alice@example.com"
BOB = "bob@example.com"
OUTSIDE = "someone@elsewhere.test"


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # `postern init` makes a self-signed certificate
    return ctx


def swaks(*args, timeout=DEADLINE):
    proc = subprocess.run(["swaks", "--timeout", "15", *args], capture_output=True, text=True,
                          timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr


class Raw:
    """A line-oriented raw SMTP client, for what smtplib will not send."""

    def __init__(self, addr):
        self.sock = socket.create_connection(addr, timeout=10)
        self.buf = b""

    def reply(self):
        """One complete reply (all its lines) as text."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("closed; got " + repr(lines + [self.buf]))
                self.buf += data
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line.decode())
            if len(line) < 4 or line[3:4] != b"-":
                return "\n".join(lines)

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def closed(self):
        """True when the server closed the connection (EOF) within the timeout."""
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.sock.close()


class SubmissionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.p = Postern(config_overrides={
            "submission.listen": "127.0.0.1:0",
            "submission.tls_listen": "127.0.0.1:0",
            "submission.max_auth_failures": 3,
            "outbound.require_verified_domain": False,
        })
        p = cls.p
        p.add_domain("example.com")
        cls.alice_id = p.add_mailbox(ALICE)
        cls.bob_id = p.add_mailbox(BOB)
        cls.send_token = p.add_token("email:send", mailbox=ALICE)
        cls.read_token = p.add_token("email:read", mailbox=ALICE)
        cls.tenant_token = p.add_token("email:send")
        cls.bob_token = p.add_token("email:send", mailbox=BOB)
        cls.smtpd = p.start_smtpd()
        cls.sub = cls.smtpd.addr("submission")
        cls.subs = cls.smtpd.addr("submissions")
        cls.mx = cls.smtpd.addr("mx")
        cls.apid = p.start_apid()

    @classmethod
    def tearDownClass(cls):
        cls.p.close()

    # -- helpers ---------------------------------------------------------------------------
    def sent(self, mailbox_id):
        with self.p.db() as conn:
            return conn.execute(
                "SELECT id, folder, subject, blob_sha256 FROM messages WHERE mailbox_id = ? "
                "AND folder = 'sent' ORDER BY received_at", (mailbox_id,)).fetchall()

    def deliveries(self, message_id):
        with self.p.db() as conn:
            return conn.execute(
                "SELECT recipient, state, envelope_from, domain FROM deliveries "
                "WHERE message_id = ? ORDER BY recipient", (message_id,)).fetchall()

    def sent_with_subject(self, subject):
        rows = [r for r in self.sent(self.alice_id) if r["subject"] == subject]
        self.assertEqual(len(rows), 1, f"one Sent copy with subject {subject!r}")
        return rows[0]

    def swaks_submit(self, subject, *extra, addr=None, tls="--tls", auth="PLAIN",
                     password=None, to=OUTSIDE, sender=ALICE):
        host, port = addr or self.sub
        return swaks("--server", host, "--port", str(port), tls, "--auth", auth,
                     "--auth-user", ALICE, "--auth-password", password or self.send_token,
                     "--from", sender, "--to", to, "--header", f"Subject: {subject}",
                     "--body", "Hello from swaks.", *extra)

    def starttls_client(self):
        s = smtplib.SMTP(*self.sub, timeout=15)
        s.ehlo("client.test")
        s.starttls(context=tls_context())
        s.ehlo("client.test")
        return s

    # -- the good paths --------------------------------------------------------------------
    def test_starttls_auth_plain_lands_in_sent_with_queued_deliveries(self):
        rc, out = self.swaks_submit("plain over starttls", to=f"{OUTSIDE},{BOB}")
        self.assertEqual(rc, 0, out)
        self.assertIn("235 2.7.0", out)
        row = self.sent_with_subject("plain over starttls")
        self.assertIn(f"250 2.0.0 OK: queued as {row['id']}", out)
        rows = self.deliveries(row["id"])
        self.assertEqual([(r["recipient"], r["state"], r["envelope_from"]) for r in rows],
                         [(BOB, "queued", ALICE), (OUTSIDE, "queued", ALICE)])
        # Nothing went to Bob's inbox directly: the queue delivers it.
        self.assertEqual(self.p.count("SELECT COUNT(*) FROM messages WHERE mailbox_id = ? AND "
                                      "subject = 'plain over starttls'", self.bob_id), 0)
        self.assertIn("with ESMTPSA id", self.raw_of(row))
        # The Sent copy is the mailbox's own message over REST too.
        host, port = self.apid.addr("api")
        path = f"/v1/mailboxes/{urllib.parse.quote(ALICE, safe='')}/messages?limit=500"
        req = urllib.request.Request(f"http://{host}:{port}{path}",
                                     headers={"Authorization": f"Bearer {self.read_token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            items = json.loads(resp.read())["data"]
        self.assertIn(row["id"], [m["id"] for m in items if m["subject"] == "plain over starttls"])

    def raw_of(self, row):
        with self.p.db() as conn:
            data = conn.execute("SELECT data FROM blobs WHERE sha256 = ?",
                                (row["blob_sha256"],)).fetchone()[0]
        return bytes(data).decode()

    def test_starttls_auth_login(self):
        rc, out = self.swaks_submit("login over starttls", auth="LOGIN")
        self.assertEqual(rc, 0, out)
        self.assertIn("334 VXNlcm5hbWU6", out)
        self.assertIn("235 2.7.0", out)
        row = self.sent_with_subject("login over starttls")
        self.assertEqual([r["state"] for r in self.deliveries(row["id"])], ["queued"])

    def test_implicit_tls(self):
        rc, out = self.swaks_submit("implicit tls", addr=self.subs, tls="--tlsc")
        self.assertEqual(rc, 0, out)
        self.assertIn("235 2.7.0", out)
        self.sent_with_subject("implicit tls")

    def test_tls_sessions_end_with_close_notify(self):
        # After 221 the server ends TLS with close_notify: with unexpected EOFs reported (not
        # ignored, as Python's default context does), the read after 221 is a clean end of
        # stream instead of SSLEOFError. Implicit TLS and STARTTLS alike.
        ctx = tls_context()
        ctx.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF
        implicit = ctx.wrap_socket(socket.create_connection(self.subs, timeout=10))
        starttls = Raw(self.sub)
        self.assertTrue(starttls.reply().startswith("220"))
        starttls.cmd("EHLO client.test")
        self.assertTrue(starttls.cmd("STARTTLS").startswith("220"))
        for sock in (implicit, ctx.wrap_socket(starttls.sock)):
            r = Raw.__new__(Raw)
            r.sock, r.buf = sock, b""
            if sock is implicit:
                self.assertTrue(r.reply().startswith("220"))
            self.assertTrue(r.cmd("EHLO client.test").startswith("250"))
            self.assertTrue(r.cmd("QUIT").startswith("221"))
            self.assertEqual(sock.recv(100), b"")  # SSLEOFError without close_notify
            sock.close()

    def test_message_id_date_and_received_added(self):
        with self.starttls_client() as s:
            s.login(ALICE, self.send_token)
            msg = (f"From: Alice <{ALICE}>\r\nTo: {OUTSIDE}\r\nSubject: bare headers\r\n\r\n"
                   "No Date, no Message-ID.\r\n")
            s.sendmail(ALICE, [OUTSIDE], msg)
        row = self.sent_with_subject("bare headers")
        raw = self.raw_of(row)
        head = raw.split("\r\n\r\n", 1)[0]
        self.assertTrue(head.startswith("Received: from client.test ([127.0.0.1])"), head)
        self.assertIn("with ESMTPSA id", head)
        self.assertRegex(head, r"(?m)^Date: \w{3}, \d{1,2} \w{3} \d{4} ")
        self.assertRegex(head, r"(?m)^Message-ID: <[^@>]+@mx\.postern\.test>\r$")
        with self.p.db() as conn:
            mid = conn.execute("SELECT message_id_hdr FROM messages WHERE id = ?",
                               (row["id"],)).fetchone()[0]
        self.assertTrue(mid and mid.endswith("@mx.postern.test"), mid)

    def test_existing_message_id_kept(self):
        with self.starttls_client() as s:
            s.login(ALICE, self.send_token)
            msg = (f"From: {ALICE}\r\nTo: {OUTSIDE}\r\nSubject: own id\r\n"
                   "Date: Sun, 22 Nov 2026 08:03:46 +0000\r\nMessage-ID: <mine@client.test>\r\n"
                   "\r\nbody\r\n")
            s.sendmail(ALICE, [OUTSIDE], msg)
        raw = self.raw_of(self.sent_with_subject("own id"))
        self.assertEqual(raw.count("Message-ID:"), 1)
        self.assertEqual(raw.count("\r\nDate:"), 1)

    def test_bcc_fields_are_dropped(self):
        # The envelope names the Bcc recipients; the field must not show them to the others.
        with self.starttls_client() as s:
            s.login(ALICE, self.send_token)
            msg = (f"From: {ALICE}\r\nTo: {OUTSIDE}\r\nBcc: hidden@far.example\r\n"
                   "Resent-bcc: also@far.example\r\nContent-Length: 3\r\n"
                   "Return-Path: <forged@far.example>\r\n"
                   "Subject: with bcc\r\n\r\nbody\r\nBcc: in the body stays\r\n")
            s.sendmail(ALICE, [OUTSIDE, "hidden@far.example"], msg)
        row = self.sent_with_subject("with bcc")
        raw = self.raw_of(row)
        head, body = raw.split("\r\n\r\n", 1)
        self.assertNotRegex(head, r"(?im)^(bcc|resent-bcc|content-length|return-path):")
        self.assertIn(f"To: {OUTSIDE}", head)
        self.assertEqual(body, "body\r\nBcc: in the body stays\r\n")
        with self.p.db() as conn:
            rcpts = sorted(r[0] for r in conn.execute(
                "SELECT recipient FROM deliveries WHERE message_id = ?", (row["id"],)))
        self.assertEqual(rcpts, sorted([OUTSIDE, "hidden@far.example"]))

    def test_a_header_section_alone_is_a_message(self):
        # RFC 5322 §3.5: the body is optional. The queued copy gets the empty line after the
        # header section, which DKIM signing needs.
        with self.starttls_client() as s:
            s.login(ALICE, self.send_token)
            s.sendmail(ALICE, [OUTSIDE], f"From: {ALICE}\r\nTo: {OUTSIDE}\r\nSubject: no body")
        raw = self.raw_of(self.sent_with_subject("no body"))
        self.assertTrue(raw.endswith("Subject: no body\r\n\r\n"), raw[-80:])

    # -- refusals --------------------------------------------------------------------------
    def test_wrong_token_is_535(self):
        rc, out = self.swaks_submit("wrong token", password="pst_" + "x" * 43)
        self.assertNotEqual(rc, 0)
        self.assertIn("535 5.7.8", out)
        self.assertEqual([r for r in self.sent(self.alice_id) if r["subject"] == "wrong token"],
                         [])
        # A token typed as the username is refused too. Neither secret reaches the log, while
        # the AUTH lines themselves do (so the log is being written and read).
        with self.starttls_client() as s:
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                s.login(self.send_token, self.send_token)
        self.assertTrue(wait_for(lambda: "(withheld: looks like a token)" in self.smtpd.log(),
                                 timeout=5), self.smtpd.log()[-2000:])
        log = self.smtpd.log()
        self.assertIn(f"AUTH PLAIN as <{ALICE}>", log)
        self.assertNotIn("pst_" + "x" * 43, log)
        self.assertNotIn(self.send_token, log)

    def test_tokens_that_may_not_send_are_535(self):
        for name, token in (("read scope", self.read_token), ("tenant-wide", self.tenant_token),
                            ("another mailbox's", self.bob_token)):
            with self.subTest(name), self.starttls_client() as s:
                with self.assertRaises(smtplib.SMTPAuthenticationError) as e:
                    s.login(ALICE, token)
                self.assertEqual(e.exception.smtp_code, 535)
                self.assertIn(b"5.7.8", e.exception.smtp_error)

    def test_revoked_token_is_535(self):
        token = self.p.add_token("email:send", mailbox=ALICE)
        with self.starttls_client() as s:
            s.login(ALICE, token)  # works first
        listed = self.p.cli("token", "list").stdout
        tok_id = next(line.split()[0] for line in listed.splitlines()
                      if line.split()[1].startswith(token[:8]))
        self.p.cli("token", "revoke", tok_id)
        with self.starttls_client() as s:
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                s.login(ALICE, token)

    def test_too_many_auth_failures_close_with_421(self):
        r = Raw(self.subs[0:2])
        r.sock = tls_context().wrap_socket(r.sock)
        self.assertTrue(r.reply().startswith("220"))
        r.cmd("EHLO client.test")
        bad = base64.b64encode(b"\0" + ALICE.encode() + b"\0pst_nope").decode()
        self.assertTrue(r.cmd("AUTH PLAIN " + bad).startswith("535 5.7.8"))
        self.assertTrue(r.cmd("AUTH PLAIN " + bad).startswith("535 5.7.8"))
        r.send("AUTH PLAIN " + bad + "\r\n")
        self.assertTrue(r.reply().startswith("535 5.7.8"))
        self.assertTrue(r.reply().startswith("421 4.7.0"))
        self.assertTrue(r.closed())
        r.close()

    def test_auth_not_offered_or_accepted_without_tls(self):
        r = Raw(self.sub)
        self.assertTrue(r.reply().startswith("220"))
        ehlo = r.cmd("EHLO client.test")
        self.assertIn("STARTTLS", ehlo)
        self.assertIn("CHUNKING", ehlo)
        self.assertNotIn("AUTH", ehlo)
        plain = base64.b64encode(b"\0" + ALICE.encode() + b"\0" + self.send_token.encode())
        self.assertTrue(r.cmd("AUTH PLAIN " + plain.decode()).startswith("538 5.7.11"))
        self.assertTrue(r.cmd(f"MAIL FROM:<{ALICE}>").startswith("530 5.7.0"))
        r.close()

    def test_mail_before_auth_is_530(self):
        with self.starttls_client() as s:
            self.assertIn("auth", s.esmtp_features)
            code, msg = s.mail(ALICE)
            self.assertEqual(code, 530)
            self.assertTrue(msg.startswith(b"5.7.0"))

    def test_foreign_envelope_sender_is_553(self):
        rc, out = self.swaks_submit("foreign envelope", sender=BOB)
        self.assertNotEqual(rc, 0)
        self.assertIn("553 5.7.1", out)

    def test_foreign_from_header_is_553(self):
        rc, out = self.swaks_submit("foreign from", "--header", f"From: Bob <{BOB}>")
        self.assertNotEqual(rc, 0)
        self.assertIn("553 5.7.1", out)
        self.assertEqual([r for r in self.sent(self.alice_id) if r["subject"] == "foreign from"],
                         [])

    def test_foreign_sender_or_resent_from_is_553(self):
        # Sender and Resent-From name who sent the message as much as From does.
        for field in ("Sender", "Resent-From", "Resent-Sender"):
            with self.subTest(field=field):
                subject = f"foreign {field}"
                with self.starttls_client() as s:
                    s.login(ALICE, self.send_token)
                    msg = (f"From: {ALICE}\r\n{field}: CEO <ceo@bank.example>\r\n"
                           f"To: {OUTSIDE}\r\nSubject: {subject}\r\n\r\nbody\r\n")
                    with self.assertRaises(smtplib.SMTPDataError) as caught:
                        s.sendmail(ALICE, [OUTSIDE], msg)
                self.assertEqual(caught.exception.smtp_code, 553)
                self.assertIn(field.encode(), caught.exception.smtp_error)
                self.assertEqual([r for r in self.sent(self.alice_id)
                                  if r["subject"] == subject], [])
        # Naming the mailbox itself is fine.
        with self.starttls_client() as s:
            s.login(ALICE, self.send_token)
            s.sendmail(ALICE, [OUTSIDE], f"From: {ALICE}\r\nSender: Alice <{ALICE}>\r\n"
                                         f"To: {OUTSIDE}\r\nSubject: own sender\r\n\r\nbody\r\n")
        self.assertTrue(self.sent_with_subject("own sender"))

    def test_starttls_command_injection_refused(self):
        r = Raw(self.sub)
        self.assertTrue(r.reply().startswith("220"))
        r.cmd("EHLO client.test")
        # The injected commands travel in the same segment as STARTTLS, before any handshake.
        r.send(f"STARTTLS\r\nMAIL FROM:<{ALICE}>\r\nRCPT TO:<{OUTSIDE}>\r\n")
        self.assertTrue(r.reply().startswith("554 5.5.1"))
        self.assertTrue(r.closed())
        r.close()

    # -- the MX ------------------------------------------------------------------------------
    def test_mx_offers_starttls_and_chunking_but_not_auth_and_refuses_relaying(self):
        with smtplib.SMTP(*self.mx, timeout=15) as s:
            s.ehlo("client.test")
            self.assertIn("starttls", s.esmtp_features)
            self.assertIn("chunking", s.esmtp_features)
            self.assertNotIn("auth", s.esmtp_features)
            s.starttls(context=tls_context())
            s.ehlo("client.test")
            self.assertNotIn("auth", s.esmtp_features)
            self.assertEqual(s.mail("someone@remote.test")[0], 250)
            code, msg = s.rcpt(OUTSIDE)
            self.assertEqual((code, msg[:5]), (550, b"5.7.1"))
            self.assertEqual(s.rcpt(BOB)[0], 250)
            code, _ = s.data(b"From: someone@remote.test\r\nSubject: mx over tls\r\n\r\nhi\r\n")
            self.assertEqual(code, 250)
        with self.p.db() as conn:
            row = conn.execute("SELECT folder FROM messages WHERE mailbox_id = ? AND "
                               "subject = 'mx over tls'", (self.bob_id,)).fetchone()
        self.assertEqual(row["folder"], "inbox")

    def test_bdat_on_the_mx_stores_a_message(self):
        r = Raw(self.mx)
        self.assertTrue(r.reply().startswith("220"))
        self.assertIn("CHUNKING", r.cmd("EHLO client.test"))
        body1 = b"From: someone@remote.test\r\nSubject: by bdat\r\n"
        body2 = b"\r\nIn two chunks.\r\n"
        # Everything pipelined in one write: the chunks are counted, not scanned for commands.
        r.send(b"MAIL FROM:<someone@remote.test>\r\n" + f"RCPT TO:<{BOB}>\r\n".encode() +
               b"BDAT %d\r\n" % len(body1) + body1 + b"BDAT %d LAST\r\n" % len(body2) + body2)
        self.assertTrue(r.reply().startswith("250 2.1.0"))
        self.assertTrue(r.reply().startswith("250 2.1.5"))
        self.assertTrue(r.reply().startswith("250 2.0.0"))
        self.assertTrue(r.reply().startswith("250 2.0.0 OK"))
        # DATA after BDAT in one transaction is out of sequence; a chunk is never a command.
        r.send(b"MAIL FROM:<>\r\n" + f"RCPT TO:<{BOB}>\r\n".encode() + b"BDAT 6\r\nQUIT\r\n" +
               b"DATA\r\n")
        self.assertTrue(r.reply().startswith("250 2.1.0"))
        self.assertTrue(r.reply().startswith("250 2.1.5"))
        self.assertTrue(r.reply().startswith("250 2.0.0"))
        self.assertTrue(r.reply().startswith("503 5.5.1"))
        self.assertTrue(r.cmd("RSET").startswith("250"))
        self.assertTrue(r.cmd("QUIT").startswith("221"))
        r.close()
        with self.p.db() as conn:
            rows = conn.execute("SELECT folder FROM messages WHERE mailbox_id = ? AND "
                                "subject = 'by bdat'", (self.bob_id,)).fetchall()
        self.assertEqual([r["folder"] for r in rows], ["inbox"])

    def test_bdat_on_submission(self):
        with self.starttls_client() as s:
            s.login(ALICE, self.send_token)
            self.assertEqual(s.mail(ALICE)[0], 250)
            self.assertEqual(s.rcpt(OUTSIDE)[0], 250)
            body = f"From: {ALICE}\r\nSubject: submitted by bdat\r\n\r\nchunked\r\n".encode()
            s.send(b"BDAT %d LAST\r\n" % len(body) + body)
            code, msg = s.getreply()
            self.assertEqual(code, 250, msg)
        row = self.sent_with_subject("submitted by bdat")
        self.assertEqual([r["state"] for r in self.deliveries(row["id"])], ["queued"])


class VerifiedDomainTest(unittest.TestCase):
    """[outbound] require_verified_domain (the default): an unverified domain may not send."""

    def test_unverified_domain_refused_then_accepted_once_verified(self):
        with Postern(config_overrides={"submission.listen": "127.0.0.1:0"}) as p:
            p.add_domain("example.com")
            mbx = p.add_mailbox(ALICE)
            token = p.add_token("email:send", mailbox=ALICE)
            smtpd = p.start_smtpd()
            addr = smtpd.addr("submission")

            def attempt():
                with smtplib.SMTP(*addr, timeout=15) as s:
                    s.starttls(context=tls_context())
                    s.login(ALICE, token)
                    return s.mail(ALICE)

            code, msg = attempt()
            self.assertEqual(code, 550)
            self.assertTrue(msg.startswith(b"5.7.1 Domain example.com is not verified"), msg)
            now = int(time.time() * 1000)
            with p.db() as conn:
                conn.execute("UPDATE domains SET ownership_verified_at = ?, spf_verified_at = ?, "
                             "dkim_verified_at = ? WHERE name = 'example.com'", (now, now, now))
            self.assertEqual(attempt()[0], 250)
            self.assertTrue(mbx.startswith("mbx_"))


class AuthThrottleTest(unittest.TestCase):
    """20 failed AUTHs from one address within 10 minutes, across sessions: then 454 4.7.0,
    even for a good token, without looking it up."""

    def test_failures_across_sessions_throttle_the_address(self):
        with Postern(config_overrides={"submission.tls_listen": "127.0.0.1:0"}) as p:
            p.add_domain("example.com")
            p.add_mailbox(ALICE)
            token = p.add_token("email:send", mailbox=ALICE)
            addr = p.start_smtpd().addr("submissions")

            def session():
                return smtplib.SMTP_SSL(*addr, timeout=15, context=tls_context())

            # smtplib's login() tries PLAIN, then LOGIN: two failures per session, under the
            # per-session limit of 3.
            for _ in range(10):
                with session() as s:
                    with self.assertRaises(smtplib.SMTPAuthenticationError) as e:
                        s.login(ALICE, "pst_wrong")
                    self.assertEqual(e.exception.smtp_code, 535)
            with session() as s:
                s.ehlo("client.test")
                plain = base64.b64encode(b"\0" + ALICE.encode() + b"\0" + token.encode())
                code, msg = s.docmd("AUTH", "PLAIN " + plain.decode())
                self.assertEqual((code, msg[:5]), (454, b"4.7.0"))


class CertificateTest(unittest.TestCase):
    """Without a loadable certificate the MX runs without STARTTLS; submission refuses to start."""

    def test_missing_certificate(self):
        with Postern() as p:
            os.unlink(os.path.join(p.data, "tls", "cert.pem"))
            smtpd = p.start_smtpd()
            with smtplib.SMTP(*smtpd.addr("mx"), timeout=15) as s:
                s.ehlo("client.test")
                self.assertNotIn("starttls", s.esmtp_features)
                self.assertIn("chunking", s.esmtp_features)
                self.assertEqual(s.docmd("STARTTLS")[0], 502)
            self.assertIn("STARTTLS is not offered", smtpd.log())
            smtpd.stop()
            p.set_config({"submission.listen": "127.0.0.1:0"})
            with self.assertRaises(AssertionError) as e:
                p.start_smtpd()
            self.assertIn("cannot load the TLS certificate", str(e.exception))
            self.assertIn("the submission listeners need it", str(e.exception))


class InitFlagsTest(unittest.TestCase):
    def test_init_writes_the_submission_listeners(self):
        d = tempfile.mkdtemp(prefix="postern-it-")
        try:
            data = os.path.join(d, "data")
            proc = subprocess.run([binary("postern"), "init", data, "--submission-listen",
                                   "127.0.0.1:5587", "--submissions-listen", "[::1]:5465"],
                                  capture_output=True, text=True, timeout=DEADLINE)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            with open(os.path.join(data, "postern.toml")) as f:
                toml = f.read()
            section = toml.split("[submission]", 1)[1].split("\n[", 1)[0]
            self.assertRegex(section, r"(?m)^listen = [\"']127\.0\.0\.1:5587[\"']$")
            self.assertRegex(section, r"(?m)^tls_listen = [\"']\[::1\]:5465[\"']$")
            bad = subprocess.run([binary("postern"), "init", os.path.join(d, "x"),
                                  "--submission-listen", "nonsense"],
                                 capture_output=True, text=True, timeout=DEADLINE)
            self.assertNotEqual(bad.returncode, 0)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
