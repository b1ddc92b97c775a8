"""MX ingress: postern-smtpd driven by clients nobody here wrote (smtplib, swaks) and by raw
protocol text where a client library would refuse to misbehave."""

import os
import signal
import smtplib
import socket
import subprocess
import time
import unittest
from email.message import EmailMessage

import harness

DOMAIN = "example.test"
AGENT = "agent@example.test"
OTHER = "other@example.test"


class Wire:
    """A raw SMTP client: send bytes, read whole replies."""

    def __init__(self, addr, timeout=10):
        self.sock = socket.create_connection(addr, timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def reply(self):
        """The next reply as (code, text of its last line); (None, b'') at EOF."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return (None, b"".join(lines))
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                return (int(line[:3]), line)

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def closed_by_peer(self):
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.sock.close()


def stored_in(p, address):
    """How many messages the mailbox `address` (its key) holds."""
    return p.count("SELECT count(*) FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id "
                   "WHERE b.address_key = ?", address)


def message(subject="Hello", to=AGENT, body="Hello, agent.\n", size=None):
    msg = EmailMessage()
    msg["From"] = "Sender <sender@client.test>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{subject.replace(' ', '.')}-{time.monotonic_ns()}@client.test>"
    msg.set_content(body if size is None else "x" * size)
    return msg


class IngressTest(harness.PosternTestCase):
    config = {"smtp.max_message_size": 100000, "smtp.drain_timeout_seconds": 5,
              "smtp.postmaster": "Agent@Example.TEST"}

    def setUp(self):
        super().setUp()
        self.p.add_domain(DOMAIN)
        self.p.add_mailbox(AGENT)
        self.p.add_mailbox(OTHER)
        self.smtpd = self.p.start_smtpd()
        self.addr = self.smtpd.addr("mx")

    # -- helpers -----------------------------------------------------------------------------
    def smtp(self):
        s = smtplib.SMTP(*self.addr, local_hostname="client.test", timeout=10)
        self.addCleanup(self._quietly_close, s)
        return s

    @staticmethod
    def _quietly_close(s):
        try:
            s.close()
        except Exception:
            pass

    def wire(self, ehlo=True):
        w = Wire(self.addr)
        self.addCleanup(w.close)
        self.assertEqual(w.reply()[0], 220)
        if ehlo:
            w.send("EHLO client.test\r\n")
            self.assertEqual(w.reply()[0], 250)
        return w

    def stored(self, address=None):
        if address is None:
            return self.p.count("SELECT count(*) FROM messages")
        return stored_in(self.p, address)

    def raw_of(self, address):
        with self.p.db() as db:
            row = db.execute(
                "SELECT bl.data FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id "
                "JOIN blobs bl ON bl.sha256 = m.blob_sha256 WHERE b.address_key = ? "
                "ORDER BY m.id DESC LIMIT 1", (address,)).fetchone()
        return bytes(row[0]) if row else None

    # -- delivery ----------------------------------------------------------------------------
    def test_deliver_to_one_recipient(self):
        s = self.smtp()
        self.assertEqual(s.ehlo()[0], 250)
        for ext in ("pipelining", "size", "8bitmime", "smtputf8", "enhancedstatuscodes",
                    "chunking", "starttls"):
            self.assertTrue(s.has_extn(ext), ext)
        self.assertFalse(s.has_extn("auth"))  # never on the MX (test_submission.py)
        self.assertEqual(s.esmtp_features["size"], "100000")
        one = message("One")
        one["Return-Path"] = "<forged@bank.example>"  # not the sender's to write
        self.assertEqual(s.send_message(one), {})
        self.assertEqual(self.stored(AGENT), 1)
        raw = self.raw_of(AGENT)
        # RFC 5321 §4.4: the envelope sender as the first field, then our Received.
        self.assertTrue(raw.startswith(b"Return-Path: <sender@client.test>\r\n"
                                       b"Received: from client.test ([127.0.0.1])\r\n"), raw[:200])
        self.assertNotIn(b"forged@bank.example", raw)
        header = raw.split(b"\r\n\r\n", 1)[0]
        self.assertIn(b"by mx.postern.test (Postern) with ESMTP id ", header)
        self.assertIn(b"for <agent@example.test>;", header)
        self.assertIn(b"Subject: One", header)

    def test_several_recipients_get_one_copy_each(self):
        s = self.smtp()
        self.assertEqual(s.send_message(message("Both", to=f"{AGENT}, {OTHER}")), {})
        self.assertEqual(self.stored(AGENT), 1)
        self.assertEqual(self.stored(OTHER), 1)
        self.assertEqual(self.p.count("SELECT count(DISTINCT blob_sha256) FROM messages"), 1)
        header = self.raw_of(OTHER).split(b"\r\n\r\n", 1)[0]
        self.assertEqual(header.count(b"Received:"), 1)
        self.assertNotIn(b"for <", header)

    def test_unknown_recipient_in_hosted_domain(self):
        s = self.smtp()
        s.ehlo()
        s.mail("sender@client.test")
        code, text = s.rcpt("nobody@example.test")
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith(b"5.1.1"), text)

    def test_postmaster_goes_to_the_configured_mailbox(self):
        # RFC 5321 §4.5.1: <Postmaster> without a domain, and postmaster at a hosted domain,
        # MUST be accepted; [smtp] postmaster names the mailbox that takes them.
        s = self.smtp()
        s.ehlo()
        s.mail("sender@client.test")
        self.assertEqual(s.rcpt("<Postmaster>")[0], 250)
        self.assertEqual(s.rcpt("POSTMASTER@example.test")[0], 250)
        self.assertEqual(s.rcpt("postmaster@elsewhere.test")[0], 550)
        self.assertEqual(s.data(message("To the postmaster").as_string())[0], 250)
        self.assertEqual(self.stored(AGENT), 1)  # one mailbox named twice: one copy
        self.assertEqual(self.stored(OTHER), 0)

    def test_subaddress_and_quoted_local_part_reach_the_mailbox(self):
        # agent+tag@ is agent@'s (RFC 5233 subaddressing, [smtp] recipient_delimiter "+"), and
        # "agent"@ is agent@ written with quotes (RFC 5321 §4.1.2).
        s = self.smtp()
        s.ehlo()
        s.mail("sender@client.test")
        self.assertEqual(s.rcpt("Agent+Invoices@example.test")[0], 250)
        self.assertEqual(s.rcpt('"agent"@example.test')[0], 250)
        self.assertEqual(s.rcpt('"Oth\\er"@example.test')[0], 250)
        self.assertEqual(s.rcpt("+tag@example.test")[0], 550)  # nothing before the delimiter
        self.assertEqual(s.rcpt("nobody+tag@example.test")[0], 550)
        self.assertEqual(s.rcpt("agent+tag@elsewhere.test")[0], 550)
        self.assertEqual(s.data(message("Tagged").as_string())[0], 250)
        self.assertEqual(self.stored(AGENT), 1)  # one mailbox named twice: one copy
        self.assertEqual(self.stored(OTHER), 1)

    def test_foreign_domain_is_not_relayed(self):
        s = self.smtp()
        s.ehlo()
        s.mail("sender@client.test")
        code, text = s.rcpt("someone@elsewhere.test")
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith(b"5.7.1"), text)
        s.rset()
        with self.assertRaises(smtplib.SMTPRecipientsRefused):
            s.sendmail("sender@client.test", ["x@gmail.com"], b"Subject: relay\r\n\r\nx\r\n")
        self.assertEqual(self.stored(), 0)

    def test_null_sender(self):
        s = self.smtp()
        self.assertEqual(s.sendmail("<>", [AGENT], b"Subject: bounce\r\n\r\nDSN\r\n"), {})
        with self.p.db() as db:
            self.assertEqual(db.execute("SELECT envelope_from FROM messages").fetchone()[0], "")

    def test_swaks_with_pipelining(self):
        proc = subprocess.run(
            ["swaks", "--server", self.addr[0], "--port", str(self.addr[1]), "--pipeline",
             "--helo", "swaks.test", "--from", "sender@client.test", "--to", f"{AGENT},{OTHER}",
             "--header", "Subject: via swaks", "--body", "Pipelined."],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("250 2.0.0", proc.stdout)
        self.assertEqual(self.stored(AGENT), 1)
        self.assertEqual(self.stored(OTHER), 1)

    def test_pipelined_commands_in_one_write(self):
        w = self.wire()
        w.send("MAIL FROM:<a@client.test>\r\nRCPT TO:<agent@example.test>\r\n"
               "RCPT TO:<nobody@example.test>\r\nRCPT TO:<other@example.test>\r\nDATA\r\n")
        codes = [c for c, _ in w.replies(5)]
        self.assertEqual(codes, [250, 250, 550, 250, 354])
        w.send("Subject: pipelined\r\n\r\nbody\r\n.\r\nMAIL FROM:<>\r\nRSET\r\nQUIT\r\n")
        self.assertEqual([c for c, _ in w.replies(4)], [250, 250, 250, 221])
        self.assertEqual(self.stored(), 2)

    # -- bad input ---------------------------------------------------------------------------
    def test_oversize_message(self):
        # A client honouring SIZE is turned away at MAIL FROM...
        s = self.smtp()
        with self.assertRaises(smtplib.SMTPSenderRefused) as e:
            s.send_message(message("Big", size=200000))
        self.assertEqual(e.exception.smtp_code, 552)
        # ...and one that ignores it is read to the final dot, then refused.
        w = self.wire()
        w.send("MAIL FROM:<a@client.test>\r\nRCPT TO:<agent@example.test>\r\nDATA\r\n")
        self.assertEqual([c for c, _ in w.replies(3)], [250, 250, 354])
        w.send(("y" * 998 + "\r\n") * 150 + ".\r\n")
        code, text = w.reply()
        self.assertEqual(code, 552)
        self.assertIn(b"5.3.4", text)
        w.send("NOOP\r\n")
        self.assertEqual(w.reply()[0], 250)
        self.assertEqual(self.stored(), 0)

    def test_bare_lf_smuggling_is_refused_whole(self):
        w = self.wire()
        w.send("MAIL FROM:<a@client.test>\r\nRCPT TO:<agent@example.test>\r\nDATA\r\n")
        self.assertEqual([c for c, _ in w.replies(3)], [250, 250, 354])
        w.send("Subject: first\r\n\r\nhello\n.\nMAIL FROM:<evil@client.test>\r\n"
               "RCPT TO:<other@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n")
        code, text = w.reply()
        self.assertGreaterEqual(code, 500, text)
        w.send("NOOP\r\n")
        self.assertEqual(w.reply()[0], 250)  # exactly one reply came before: no second message
        self.assertEqual(self.stored(), 0)

    def test_long_command_line(self):
        w = self.wire()
        w.send("MAIL FROM:<" + "a" * 600 + "@client.test>\r\nNOOP\r\n")
        code, text = w.reply()
        self.assertEqual(code, 500)
        self.assertIn(b"5.5.2", text)
        self.assertEqual(w.reply()[0], 250)

    def test_long_text_line_in_data(self):
        w = self.wire()
        w.send("MAIL FROM:<a@client.test>\r\nRCPT TO:<agent@example.test>\r\nDATA\r\n")
        w.replies(3)
        w.send("Subject: long\r\n\r\n" + "z" * 1500 + "\r\n.\r\n")
        self.assertGreaterEqual(w.reply()[0], 500)
        self.assertEqual(self.stored(), 0)

    def test_out_of_order_and_unknown_commands(self):
        w = self.wire(ehlo=False)
        w.send("MAIL FROM:<a@client.test>\r\nEHLO c.test\r\nRCPT TO:<agent@example.test>\r\n"
               "DATA\r\nXYZZY\r\n")
        replies = w.replies(5)
        self.assertEqual([c for c, _ in replies], [503, 250, 503, 503, 500])
        self.assertIn(b"5.5.1", replies[0][1])
        self.assertIn(b"5.5.2", replies[4][1])

    def test_drop_mid_data_stores_nothing(self):
        w = self.wire()
        w.send("MAIL FROM:<a@client.test>\r\nRCPT TO:<agent@example.test>\r\nDATA\r\n")
        w.replies(3)
        w.send("Subject: cut\r\n\r\nhalf a message")
        w.sock.shutdown(socket.SHUT_RDWR)
        w.close()
        # The server is fine and the next message is the only one stored.
        self.assertEqual(self.smtp().send_message(message("After")), {})
        self.assertEqual(self.stored(), 1)
        with self.p.db() as db:
            self.assertEqual(db.execute("SELECT subject FROM messages").fetchone()[0], "After")

    # -- durability and shutdown -------------------------------------------------------------
    def test_sigkill_after_250_keeps_the_message(self):
        w = self.wire()
        w.send("MAIL FROM:<a@client.test>\r\nRCPT TO:<agent@example.test>\r\nDATA\r\n")
        w.replies(3)
        w.send("Subject: durable\r\n\r\nkeep me\r\n.\r\n")
        self.assertEqual(w.reply()[0], 250)
        os.kill(self.smtpd.pid, signal.SIGKILL)
        self.smtpd.proc.wait(timeout=10)
        self.assertEqual(self.stored(AGENT), 1)
        # And a restart serves again over the same database.
        smtpd = self.p.start_smtpd()
        with smtplib.SMTP(*smtpd.addr("mx"), local_hostname="client.test", timeout=10) as s:
            self.assertEqual(s.send_message(message("Again")), {})
        self.assertEqual(self.stored(AGENT), 2)

    def test_sigterm_drains_and_exits_zero(self):
        idle = self.wire()
        busy = self.wire()
        busy.send("MAIL FROM:<a@client.test>\r\nRCPT TO:<agent@example.test>\r\nDATA\r\n")
        self.assertEqual([c for c, _ in busy.replies(3)], [250, 250, 354])
        os.kill(self.smtpd.pid, signal.SIGTERM)
        # The idle session is told at once; the one in a transaction may finish.
        code, text = idle.reply()
        self.assertEqual(code, 421, text)
        self.assertIn(b"4.3.2", text)
        busy.send("Subject: in flight\r\n\r\nfinishing\r\n.\r\n")
        self.assertEqual(busy.reply()[0], 250)
        self.assertEqual(busy.reply()[0], 421)  # then it is closed too
        self.assertEqual(self.smtpd.proc.wait(timeout=10), 0)
        self.assertEqual(self.stored(AGENT), 1)
        with self.assertRaises(OSError):
            socket.create_connection(self.addr, timeout=2).close()


class DefaultPostmasterTest(harness.PosternTestCase):
    """RFC 5321 §4.5.1 with no [smtp] postmaster: postmaster@ a hosted domain goes to the
    domain's first mailbox, <Postmaster> to the first mailbox of the hostname's domain."""

    config = {"hostname": "mx.example.test"}

    def setUp(self):
        super().setUp()
        self.p.add_domain(DOMAIN)
        self.p.add_mailbox(AGENT)
        self.p.add_mailbox(OTHER)
        self.p.add_domain("second.test")
        self.p.add_mailbox("owner@second.test")
        self.p.add_mailbox("postmaster+x@second.test")  # not "postmaster": no bearing
        self.p.add_domain("empty.test")
        self.smtpd = self.p.start_smtpd()
        self.addr = self.smtpd.addr("mx")

    def test_postmaster_goes_to_the_first_mailbox(self):
        s = smtplib.SMTP(*self.addr, local_hostname="client.test", timeout=10)
        self.addCleanup(s.close)
        s.ehlo()
        s.mail("")
        self.assertEqual(s.rcpt("<Postmaster>")[0], 250)
        self.assertEqual(s.rcpt("PostMaster@second.test")[0], 250)
        code, text = s.rcpt("postmaster@empty.test")  # hosted, but no mailbox at all
        self.assertEqual((code, text[:5]), (550, b"5.1.1"))
        code, text = s.rcpt("postmaster@elsewhere.test")
        self.assertEqual((code, text[:5]), (550, b"5.7.1"))
        self.assertEqual(s.data(message("To the postmaster").as_string())[0], 250)
        self.assertEqual(stored_in(self.p, AGENT), 1)
        self.assertEqual(stored_in(self.p, OTHER), 0)
        self.assertEqual(stored_in(self.p, "owner@second.test"), 1)
        self.assertEqual(stored_in(self.p, "postmaster+x@second.test"), 0)


class DiskFullTest(harness.PosternTestCase):
    """[smtp] min_free_bytes against the real file system (statvfs): with a reserve larger than
    any disk, every MAIL waits with 452 4.3.1 and nothing is stored."""

    config = {"smtp.min_free_bytes": 2 ** 62}

    def test_mail_waits_while_the_disk_is_below_its_reserve(self):
        self.p.add_domain(DOMAIN)
        self.p.add_mailbox(AGENT)
        smtpd = self.p.start_smtpd()
        s = smtplib.SMTP(*smtpd.addr("mx"), local_hostname="client.test", timeout=10)
        self.addCleanup(s.close)
        s.ehlo()
        code, text = s.mail("sender@client.test")
        self.assertEqual((code, text[:5]), (452, b"4.3.1"), text)
        with self.assertRaises(smtplib.SMTPSenderRefused) as refused:
            s.sendmail("sender@client.test", [AGENT], message("Full").as_string())
        self.assertEqual(refused.exception.smtp_code, 452)
        self.assertEqual(self.p.count("SELECT count(*) FROM messages"), 0)
        self.assertIn("smtp.min_free_bytes", smtpd.log())


class LimitsTest(harness.PosternTestCase):
    config = {"smtp.max_connections_per_ip": 2, "smtp.max_errors": 3,
              "smtp.idle_timeout_seconds": 1, "smtp.max_recipients": 2,
              "smtp.drain_timeout_seconds": 1}

    def setUp(self):
        super().setUp()
        self.p.add_domain(DOMAIN)
        for box in (AGENT, OTHER, "third@example.test"):
            self.p.add_mailbox(box)
        self.smtpd = self.p.start_smtpd()
        self.addr = self.smtpd.addr("mx")

    def connect(self):
        w = Wire(self.addr)
        self.addCleanup(w.close)
        return w

    def test_bare_postmaster_with_no_mailbox_to_take_it(self):
        # No [smtp] postmaster, and neither the hostname (mx.postern.test) nor its parent is
        # hosted: nobody would read it, so it is refused rather than lost.
        w = self.connect()
        self.assertEqual(w.reply()[0], 220)
        w.send("EHLO client.test\r\nMAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\nQUIT\r\n")
        replies = [w.reply()[0] for _ in range(4)]
        self.assertEqual(replies, [250, 250, 550, 221])

    def test_connection_limit_per_ip(self):
        first, second = self.connect(), self.connect()
        self.assertEqual(first.reply()[0], 220)
        self.assertEqual(second.reply()[0], 220)
        third = self.connect()
        code, text = third.reply()
        self.assertEqual(code, 421)
        self.assertIn(b"4.7.0", text)
        self.assertTrue(third.closed_by_peer())
        first.send("QUIT\r\n")
        self.assertEqual(first.reply()[0], 221)
        first.close()

        def admitted():
            w = Wire(self.addr)
            try:
                return w.reply()[0] == 220
            finally:
                w.close()
        self.assertTrue(harness.wait_for(admitted, timeout=5))

    def test_idle_client_is_closed(self):
        w = self.connect()
        self.assertEqual(w.reply()[0], 220)
        start = time.monotonic()
        code, text = w.reply()
        self.assertEqual(code, 421)
        self.assertIn(b"4.4.2", text)
        self.assertLess(time.monotonic() - start, 5)
        self.assertTrue(w.closed_by_peer())

    def test_too_many_errors(self):
        w = self.connect()
        w.reply()
        w.send("BOGUS\r\nBOGUS\r\nBOGUS\r\nNOOP\r\n")
        self.assertEqual([c for c, _ in w.replies(4)], [500, 500, 500, 421])
        self.assertTrue(w.closed_by_peer())

    def test_too_many_recipients(self):
        w = self.connect()
        w.reply()
        w.send("EHLO c.test\r\nMAIL FROM:<>\r\nRCPT TO:<agent@example.test>\r\n"
               "RCPT TO:<other@example.test>\r\nRCPT TO:<third@example.test>\r\n")
        replies = w.replies(5)
        self.assertEqual([c for c, _ in replies], [250, 250, 250, 250, 452])
        self.assertIn(b"4.5.3", replies[4][1])


class DrainTimeoutTest(harness.PosternTestCase):
    config = {"smtp.drain_timeout_seconds": 1, "smtp.idle_timeout_seconds": 60}

    def setUp(self):
        super().setUp()
        self.p.add_domain(DOMAIN)
        self.p.add_mailbox(AGENT)
        self.smtpd = self.p.start_smtpd()

    def test_drain_timeout_closes_what_remains(self):
        w = Wire(self.smtpd.addr("mx"))
        self.addCleanup(w.close)
        w.reply()
        w.send("EHLO c.test\r\nMAIL FROM:<>\r\nRCPT TO:<agent@example.test>\r\nDATA\r\n")
        self.assertEqual([c for c, _ in w.replies(4)], [250, 250, 250, 354])
        w.send("Subject: never finished\r\n\r\nstill typing")
        start = time.monotonic()
        os.kill(self.smtpd.pid, signal.SIGTERM)
        code, text = w.reply()  # after drain_timeout_seconds (1 s)
        self.assertEqual(code, 421, text)
        self.assertIn(b"4.3.2", text)
        self.assertEqual(self.smtpd.proc.wait(timeout=10), 0)
        self.assertLess(time.monotonic() - start, 5)
        self.assertEqual(self.p.count("SELECT count(*) FROM messages"), 0)


if __name__ == "__main__":
    unittest.main()
