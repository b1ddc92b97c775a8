"""Mail authentication on the MX, end to end: postern-smtpd asks a real authoritative DNS server
(nsd on loopback, serving tests/data/dns/{aligned,reject,quarantine}.test.zone plus DKIM keys
generated here) while smtplib sends over 127.0.0.1, with messages signed by dkimpy. SPF, DKIM
and DMARC results are read back from the stored message (its Authentication-Results header and
messages.auth_json), and the junk flag through the REST API."""

import base64
import json
import os
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

import dkim

import harness
import nsd_server

DNS = os.path.join(nsd_server.DATA, "dns")
HOST = "mx.postern.test"  # the hostname, so the authserv-id
AGENT = "agent@hosted.test"


def generate_key(workdir, name):
    """A fresh RSA key: (PKCS#1 PEM bytes for dkimpy, base64 SubjectPublicKeyInfo for DNS)."""
    path = os.path.join(workdir, f"{name}.pem")
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", path, "2048"], check=True,
                   capture_output=True, timeout=60)
    der = subprocess.run(["openssl", "rsa", "-in", path, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True, timeout=60).stdout
    with open(path, "rb") as f:
        pem = f.read()
    return pem, base64.b64encode(der).decode()


def key_record(selector, public_b64):
    """A DKIM key TXT record, split into character-strings of at most 255 octets."""
    text = "v=DKIM1; k=rsa; p=" + public_b64
    chunks = " ".join(f'"{text[i:i + 250]}"' for i in range(0, len(text), 250))
    return f"{selector}._domainkey IN TXT ( {chunks} )\n"


def message(from_addr, subject, extra_headers=()):
    """A message with CRLF line ends, as bytes (signed as sent: smtplib keeps CRLF)."""
    lines = [f"From: Sender <{from_addr}>", f"To: <{AGENT}>", f"Subject: {subject}",
             "Date: Sun, 22 Nov 2026 08:03:46 +0000",
             f"Message-ID: <{subject.replace(' ', '.')}.{time.monotonic_ns()}@example>",
             *extra_headers, "MIME-Version: 1.0", "Content-Type: text/plain; charset=us-ascii",
             "", "Hello from the mail authentication test.", "Second line.", ""]
    return "\r\n".join(lines).encode()


def sign(msg, selector, domain, pem):
    header = dkim.sign(msg, selector.encode(), domain.encode(), pem,
                       include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return header + msg


def header_section(raw):
    return raw.split(b"\r\n\r\n", 1)[0].decode(errors="replace")


def unfolded_fields(raw, name):
    """The unfolded values of every header field called `name`."""
    out = []
    for field in header_section(raw).replace("\r\n\t", " ").replace("\r\n ", " ").split("\r\n"):
        key, _, value = field.partition(":")
        if key.strip().lower() == name.lower():
            out.append(value.strip())
    return out


class MailAuthBase(unittest.TestCase):
    config = {}
    dns_down = False

    @classmethod
    def setUpClass(cls):
        if not nsd_server.available():
            raise unittest.SkipTest("nsd is not installed")
        cls.keydir = tempfile.mkdtemp(prefix="postern-dkim-")
        cls.addClassCleanup(shutil.rmtree, cls.keydir, True)
        cls.keys = {sel: generate_key(cls.keydir, sel) for sel in ("sel1", "sel2")}
        # aligned.test with the keys just made; nsd copies the zone files it serves.
        aligned = os.path.join(cls.keydir, "aligned.test.zone")
        with open(os.path.join(DNS, "aligned.test.zone")) as f, open(aligned, "w") as out:
            out.write(f.read())
            out.write("".join(key_record(sel, pub) for sel, (_, pub) in cls.keys.items()))
        zones = ["aligned.test", "reject.test", "quarantine.test"]
        cls.nsd = nsd_server.Nsd([aligned] + [os.path.join(DNS, f"{z}.zone") for z in zones[1:]],
                                 only_zones=zones)
        cls.addClassCleanup(cls.nsd.stop)
        if cls.dns_down:
            # A server that takes the questions and never answers: every lookup times out.
            cls.silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            cls.silent.bind(("127.0.0.1", 0))
            cls.addClassCleanup(cls.silent.close)
            servers = "127.0.0.1:%d" % cls.silent.getsockname()[1]
        else:
            servers = f"127.0.0.1:{cls.nsd.port}"
        config = {"dns.servers": servers, "dns.timeout_ms": 500, "dns.tries": 2,
                  "auth.spf_timeout_ms": 5000, **cls.config}
        cls.p = harness.Postern(hostname=HOST, config_overrides=config)
        cls.addClassCleanup(cls.p.close)
        cls.p.add_domain("hosted.test")
        cls.p.add_mailbox(AGENT)
        cls.smtpd = cls.p.start_smtpd()

    # -- helpers ---------------------------------------------------------------------------
    def send(self, raw, mail_from, helo="mail.aligned.test"):
        """Sends with smtplib from 127.0.0.1; returns None when accepted, else (code, text)."""
        with smtplib.SMTP(*self.smtpd.addr("mx"), local_hostname=helo, timeout=30) as s:
            try:
                s.sendmail(mail_from, [AGENT], raw)
            except smtplib.SMTPDataError as e:
                return (e.smtp_code, e.smtp_error.decode(errors="replace"))
        return None

    def stored(self, subject):
        """(raw bytes, flags, auth JSON) of the stored message with this subject, or None."""
        with self.p.db() as db:
            row = db.execute("SELECT m.flags, m.auth_json, b.data FROM messages m JOIN blobs b "
                             "ON b.sha256 = m.blob_sha256 WHERE m.subject = ?",
                             (subject,)).fetchone()
        if row is None:
            return None
        return bytes(row["data"]), json.loads(row["flags"]), json.loads(row["auth_json"])

    def our_results(self, raw):
        results = [v for v in unfolded_fields(raw, "Authentication-Results")
                   if v.split(";")[0].strip().lower() == HOST]
        self.assertEqual(len(results), 1, header_section(raw))
        return results[0]


class MailAuthTest(MailAuthBase):
    def test_a_aligned_spf_dkim_dmarc_pass(self):
        subject = "aligned pass"
        raw = sign(message("ceo@aligned.test", subject), "sel1", "aligned.test",
                   self.keys["sel1"][0])
        self.assertIsNone(self.send(raw, "bounces@aligned.test"))
        stored, flags, auth = self.stored(subject)
        ar = self.our_results(stored)
        self.assertIn("spf=pass smtp.mailfrom=bounces@aligned.test", ar)
        self.assertIn("dkim=pass header.d=aligned.test header.s=sel1 header.a=rsa-sha256", ar)
        self.assertIn("dmarc=pass (p=reject dis=none) header.from=aligned.test", ar)
        self.assertEqual(flags, [])
        self.assertEqual(auth["spf"]["result"], "pass")
        self.assertEqual(auth["spf"]["domain"], "aligned.test")
        self.assertEqual([d["result"] for d in auth["dkim"]], ["pass"])
        self.assertEqual(auth["dkim"][0]["selector"], "sel1")
        self.assertEqual(auth["dmarc"]["result"], "pass")
        self.assertEqual(auth["dmarc"]["policy"], "reject")
        self.assertEqual(auth["action"], "accept")
        # Return-Path, our Received, then our Authentication-Results, then the message as sent.
        self.assertTrue(stored.startswith(b"Return-Path: <bounces@aligned.test>\r\n"
                                          b"Received: from mail.aligned.test ([127.0.0.1])"),
                        stored[:200])
        self.assertLess(stored.index(b"\r\nAuthentication-Results: "), stored.index(b"DKIM-Sig"))
        self.assertTrue(stored.endswith(raw))
        for line in header_section(stored).split("\r\n"):
            self.assertLessEqual(len(line), 998)

    def test_a_idn_sender_is_checked_by_its_a_label(self):
        # RFC 8616 §4: under SMTPUTF8 the MAIL FROM domain may be a U-label; SPF looks up the
        # A-label (the record is only there, as in any DNS).
        subject = "idn sender"
        raw = message("ceo@aligned.test", subject)
        with smtplib.SMTP(*self.smtpd.addr("mx"), local_hostname="mail.aligned.test",
                          timeout=30) as s:
            s.sendmail("bounces@bücher.aligned.test", [AGENT], raw, mail_options=["SMTPUTF8"])
        stored, flags, auth = self.stored(subject)
        self.assertEqual(auth["spf"]["result"], "pass", auth)
        self.assertEqual(auth["spf"]["domain"], "xn--bcher-kva.aligned.test")
        self.assertIn("spf=pass smtp.mailfrom=bounces@bücher.aligned.test",
                      self.our_results(stored))

    def test_a_idn_helo_is_written_as_its_a_label_in_7bit_mail(self):
        # A UTF-8 EHLO name (valid: RFC 6531 §3.3) on mail sent without SMTPUTF8: the headers we
        # add stay ASCII (Received, and smtp.helo for the null sender's HELO check).
        subject = "idn helo"
        raw = message("ceo@aligned.test", subject)
        with smtplib.SMTP(*self.smtpd.addr("mx"), timeout=30) as s:
            s.command_encoding = "utf-8"
            s.ehlo("bücher.aligned.test")
            s.sendmail("", [AGENT], raw)
        stored, flags, auth = self.stored(subject)
        self.assertTrue(stored.startswith(b"Return-Path: <>\r\n"
                                          b"Received: from xn--bcher-kva.aligned.test ([127.0.0.1])"),
                        stored[:200])
        self.assertIn("spf=pass smtp.helo=xn--bcher-kva.aligned.test", self.our_results(stored))
        self.assertEqual(auth["spf"]["result"], "pass", auth)
        added = stored[:len(stored) - len(raw)]
        self.assertTrue(added.isascii(), added)

    def test_b_spoofed_from_under_p_reject_gets_550(self):
        subject = "spoofed reject"
        # Unsigned, and SPF fails: 127.0.0.1 is not in reject.test's record.
        self.assertEqual(self.send(message("ceo@reject.test", subject), "ceo@reject.test",
                                   helo="spoofer.example")[0], 550)
        # Signed, but with a key reject.test never published: still no valid DKIM.
        forged = sign(message("ceo@reject.test", subject + " signed"), "sel1", "reject.test",
                      self.keys["sel1"][0])
        code, text = self.send(forged, "ceo@reject.test", helo="spoofer.example")
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith("5.7.1"), text)
        self.assertIn("reject.test", text)
        self.assertIsNone(self.stored(subject))
        self.assertIsNone(self.stored(subject + " signed"))
        # Aligned SPF alone is enough to pass (no signature at all).
        self.assertIsNone(self.send(message("ceo@aligned.test", "spf only"), "x@aligned.test"))
        _, flags, auth = self.stored("spf only")
        self.assertEqual((auth["dmarc"]["result"], auth["dkim"], flags), ("pass", [], []))

    def test_c_quarantine_policy_stores_as_junk_and_rest_shows_it(self):
        subject = "quarantined"
        self.assertIsNone(self.send(message("news@quarantine.test", subject),
                                    "news@quarantine.test"))
        stored, flags, auth = self.stored(subject)
        self.assertEqual(flags, ["junk"])
        self.assertEqual(auth["dmarc"]["result"], "fail")
        self.assertEqual(auth["dmarc"]["disposition"], "quarantine")
        self.assertEqual(auth["action"], "junk")
        ar = self.our_results(stored)
        self.assertIn("spf=fail smtp.mailfrom=news@quarantine.test", ar)
        self.assertIn("dkim=none", ar)
        self.assertIn("dmarc=fail (p=quarantine dis=quarantine) header.from=quarantine.test", ar)

        token = self.p.add_token("read", mailbox=AGENT)
        apid = self.p.start_apid()
        self.addCleanup(apid.stop)
        host, port = apid.addr("api")
        path = f"/v1/mailboxes/{urllib.parse.quote(AGENT, safe='')}/messages"
        req = urllib.request.Request(f"http://{host}:{port}{path}",
                                     headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=harness.DEADLINE) as r:
            items = json.load(r)["data"]
        by_subject = {i["subject"]: i for i in items}
        self.assertEqual(by_subject[subject]["flags"], ["junk"])

    def test_e_forged_results_with_our_authserv_id_are_removed(self):
        subject = "forged results"
        forged = ("Authentication-Results: MX.postern.test; dkim=pass header.d=bank.example;"
                  "\r\n\tdmarc=pass header.from=bank.example")
        theirs = "Authentication-Results: relay.example; spf=pass smtp.mailfrom=x@relay.example"
        raw = message("ceo@aligned.test", subject, extra_headers=(forged, theirs))
        self.assertIsNone(self.send(raw, "x@aligned.test"))
        stored, _, _ = self.stored(subject)
        self.assertNotIn(b"bank.example", stored)
        self.assertIn(theirs.encode(), stored)  # another authserv-id's results stay
        self.assertIn("dmarc=pass", self.our_results(stored))  # ours, and only ours
        # With the root dot it is the same authserv-id.
        dotted = forged.replace("MX.postern.test;", "mx.postern.test.;")
        raw = message("ceo@aligned.test", subject + " dotted", extra_headers=(dotted,))
        self.assertIsNone(self.send(raw, "x@aligned.test"))
        stored, _, _ = self.stored(subject + " dotted")
        self.assertNotIn(b"bank.example", stored)

    def test_e_a_folded_first_line_cannot_continue_our_results(self):
        # Placed under our Authentication-Results, a first line that starts with a blank would
        # read as more of our results: the message is refused instead.
        subject = "folded first line"
        raw = (b" dkim=pass header.d=bank.example header.s=s1;\r\n"
               b" dmarc=pass (p=reject) header.from=bank.example\r\n"
               + message("ceo@aligned.test", subject))
        code, text = self.send(raw, "x@aligned.test")
        self.assertEqual(code, 554, text)
        self.assertIn("5.6.0", text)
        self.assertIsNone(self.stored(subject))

    def test_g_one_dkim_entry_per_signature(self):
        subject = "three signatures"
        raw = message("ceo@aligned.test", subject)
        raw = sign(raw, "sel1", "aligned.test", self.keys["sel1"][0])
        raw = sign(raw, "sel2", "aligned.test", self.keys["sel2"][0])
        raw = sign(raw, "nokey", "aligned.test", self.keys["sel2"][0])  # no such key record
        self.assertIsNone(self.send(raw, "x@aligned.test"))
        stored, _, auth = self.stored(subject)
        ar = self.our_results(stored)
        self.assertEqual(ar.count("dkim="), 3, ar)
        selectors = {d["selector"]: d["result"] for d in auth["dkim"]}
        self.assertEqual(selectors["sel1"], "pass")
        self.assertEqual(selectors["sel2"], "pass")
        self.assertNotEqual(selectors["nokey"], "pass")
        self.assertIn("header.s=sel2", ar)
        self.assertEqual(auth["dmarc"]["result"], "pass")

    def test_h_several_messages_in_one_session(self):
        # The second transaction reuses the SPF check of the first (same sender); the third,
        # from another sender, gets its own.
        with smtplib.SMTP(*self.smtpd.addr("mx"), local_hostname="mail.aligned.test",
                          timeout=30) as s:
            s.sendmail("x@aligned.test", [AGENT], message("ceo@aligned.test", "session one"))
            s.sendmail("x@aligned.test", [AGENT], message("ceo@aligned.test", "session two"))
            with self.assertRaises(smtplib.SMTPDataError) as refused:
                s.sendmail("ceo@reject.test", [AGENT], message("ceo@reject.test", "session 3"))
            self.assertEqual(refused.exception.smtp_code, 550)
            s.sendmail("", [AGENT], message("ceo@aligned.test", "session four"))
        for subject in ("session one", "session two"):
            _, _, auth = self.stored(subject)
            self.assertEqual((auth["spf"]["result"], auth["dmarc"]["result"]), ("pass", "pass"))
        self.assertIsNone(self.stored("session 3"))
        stored, _, auth = self.stored("session four")  # <>: the HELO name is checked
        self.assertEqual((auth["spf"]["identity"], auth["spf"]["domain"]),
                         ("helo", "mail.aligned.test"))
        self.assertEqual(auth["spf"]["result"], "pass")
        self.assertIn("spf=pass smtp.helo=mail.aligned.test", self.our_results(stored))
        self.assertEqual(auth["dmarc"]["result"], "pass")  # HELO aligned (relaxed)


class SpfCycleTest(unittest.TestCase):
    """A client cycling MAIL FROM / RSET through many sender domains gets SPF checks started
    early (at MAIL FROM) for the first kMaxEarlySpfChecks (10) only; a later transaction's check
    starts once its DATA is complete. A counting DNS server (dnslib) shows which were asked."""

    def setUp(self):
        import dnslib
        import dnslib.server
        queried = self.queried = []

        class Resolver:
            def resolve(self, request, handler):
                reply = request.reply()
                name = str(request.q.qname).rstrip(".").lower()
                queried.append(name)
                if request.q.qtype == dnslib.QTYPE.TXT and name.endswith(".cycle.test") \
                        and not name.startswith("_dmarc."):
                    reply.add_answer(dnslib.RR(request.q.qname, dnslib.QTYPE.TXT, ttl=60,
                                               rdata=dnslib.TXT("v=spf1 ip4:127.0.0.1 -all")))
                else:
                    reply.header.rcode = dnslib.RCODE.NXDOMAIN
                return reply

        port = harness.free_port()
        quiet = dnslib.server.DNSLogger(prefix=False, logf=lambda _: None)
        self.dns = dnslib.server.DNSServer(Resolver(), port=port, address="127.0.0.1",
                                           logger=quiet)
        self.dns.start_thread()
        self.addCleanup(self.dns.server.server_close)
        self.addCleanup(self.dns.stop)
        self.p = harness.Postern(hostname=HOST, config_overrides={
            "dns.servers": f"127.0.0.1:{port}", "dns.timeout_ms": 500, "dns.tries": 2,
            "auth.spf_timeout_ms": 5000})
        self.addCleanup(self.p.close)
        self.p.add_domain("hosted.test")
        self.p.add_mailbox(AGENT)
        self.smtpd = self.p.start_smtpd()

    def test_early_spf_checks_per_connection_are_capped(self):
        with smtplib.SMTP(*self.smtpd.addr("mx"), local_hostname="client.example",
                          timeout=30) as s:
            s.ehlo()
            for i in range(30):
                self.assertEqual(s.mail(f"a@d{i}.cycle.test")[0], 250)
                self.assertEqual(s.rset()[0], 250)
            s.sendmail("a@final.cycle.test", [AGENT], message("a@final.cycle.test", "cycled"))
        time.sleep(1)  # checks started early run to their end
        early = {n for n in self.queried if n.startswith("d") and n.endswith(".cycle.test")}
        self.assertEqual(early, {f"d{i}.cycle.test" for i in range(10)}, sorted(early))
        # The message's own check, started at the end of its DATA, still ran and passed.
        self.assertIn("final.cycle.test", self.queried)
        with self.p.db() as db:
            auth = json.loads(db.execute("SELECT auth_json FROM messages WHERE subject = ?",
                                         ("cycled",)).fetchone()[0])
        self.assertEqual((auth["spf"]["result"], auth["spf"]["domain"]),
                         ("pass", "final.cycle.test"))


class RejectAsQuarantineTest(MailAuthBase):
    config = {"auth.dmarc_reject_action": "quarantine"}

    def test_d_configured_quarantine_turns_reject_into_junk(self):
        subject = "spoofed but quarantined"
        self.assertIsNone(self.send(message("ceo@reject.test", subject), "ceo@reject.test",
                                    helo="spoofer.example"))
        stored, flags, auth = self.stored(subject)
        self.assertEqual(flags, ["junk"])
        self.assertEqual(auth["dmarc"]["result"], "fail")
        self.assertEqual(auth["dmarc"]["disposition"], "reject")  # what the domain asked for
        self.assertEqual(auth["action"], "junk")  # what we did
        self.assertIn("dmarc=fail (p=reject dis=quarantine)", self.our_results(stored))


class DnsDownTest(MailAuthBase):
    dns_down = True
    config = {"dns.timeout_ms": 200, "dns.tries": 1, "auth.spf_timeout_ms": 3000}

    def test_f_temperror_is_recorded_and_the_message_delivered(self):
        subject = "dns down"
        start = time.monotonic()
        self.assertIsNone(self.send(message("ceo@reject.test", subject), "ceo@reject.test"))
        elapsed = time.monotonic() - start
        stored, flags, auth = self.stored(subject)
        self.assertEqual(flags, [])
        self.assertEqual(auth["spf"]["result"], "temperror")
        self.assertEqual(auth["dmarc"]["result"], "temperror")
        self.assertEqual(auth["action"], "accept")  # never refused on a temperror
        ar = self.our_results(stored)
        self.assertIn("spf=temperror", ar)
        self.assertIn("dmarc=temperror", ar)
        # Bounded by the configured timeouts (SPF runs during the transaction; 3 s at most).
        self.assertLess(elapsed, 10, elapsed)


if __name__ == "__main__":
    unittest.main()
