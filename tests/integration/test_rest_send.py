"""Sending over REST end to end, against the real postern-apid (and postern-smtpd for the inbound
message a reply answers): POST /v1/mailboxes/{mailbox}/messages builds a MIME message that
Python's email package reads back, stores the Sent copy (visible over REST) and queues one
delivery per distinct recipient; Idempotency-Key sends once and answers 409 for another body;
bad input queues nothing and names the field (400/422/413); reply threads and forward attaches
the original; another mailbox's token sees nothing. Every JSON response is checked against
apid/openapi.json with Ajv (tests/schema/validate.mjs).

Only postern-apid runs while sending (the queue runner of postern-smtpd is stopped first), so
deliveries stay `queued` and nothing leaves the machine."""

import base64
import email
import email.policy
import http.client
import json
import os
import re
import smtplib
import unittest
import uuid

import connex_client
import harness

ALICE = "alice@example.com"
BOB = "bob@example.com"
SCHEMAS = {
    ("POST", "send", 202): "postern:SendAccepted",
    ("GET", "deliveries", 200): "postern:DeliveryList",
    ("GET", "message", 200): "postern:Message",
    ("GET", "messages", 200): "postern:MessageList",
}


class RestSendTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        connex_client.ensure_validator()
        cls.cases = []
        cls.p = p = harness.Postern(config_overrides={
            "outbound.require_verified_domain": False,
            "outbound.max_message_bytes": 200000,
            # Smaller than the send routes' own body limit (200000 * 4/3 + 64 KiB = 332202).
            "api.max_body_bytes": 100000,
        })
        try:
            p.add_domain("example.com")
            p.add_mailbox(ALICE)
            p.add_mailbox(BOB)
            cls.send_token = p.add_token("email:send", "email:read", mailbox=ALICE)
            cls.bob_token = p.add_token("email:send", "email:read", mailbox=BOB)
            cls.read_only = p.add_token("email:read", mailbox=ALICE)
            # One inbound message for Alice to reply to and forward.
            smtpd = p.start_smtpd()
            inbound = email.message.EmailMessage(policy=email.policy.SMTP)
            inbound["From"] = "Carol Remote <carol@remote.example>"
            inbound["To"] = f"Alice <{ALICE}>, dave@remote.example"
            inbound["Cc"] = BOB
            inbound["Subject"] = "Quarterly plan"
            inbound["Message-ID"] = "<plan-2@remote.example>"
            inbound["References"] = "<plan-1@remote.example>"
            inbound["In-Reply-To"] = "<plan-1@remote.example>"
            inbound.set_content("Shall we meet?\n")
            # And one whose ids could not be written back as they are.
            odd = (b"From: carol@remote.example\r\nTo: " + ALICE.encode() +
                   b"\r\nSubject: Odd ids\r\nMessage-ID: <no at sign>\r\n"
                   b"In-Reply-To: <x y@z>\r\n"
                   b"References: <kept-1@remote.example> <broken> <kept-2@remote.example>\r\n"
                   b"\r\nHello.\r\n")
            with smtplib.SMTP(*smtpd.addr("mx"), timeout=30) as s:
                s.sendmail("carol@remote.example", [ALICE], inbound.as_bytes())
                s.sendmail("carol@remote.example", [ALICE], odd)
            smtpd.stop()
            cls.apid = p.start_apid()
            cls.host, cls.port = cls.apid.addr("api")
        except BaseException:
            p.close()
            raise

    @classmethod
    def tearDownClass(cls):
        assert len(cls.cases) >= 5, "too few responses were checked against the schemas"
        ok, report = connex_client.validate(cls.cases)
        rc = cls.apid.stop()
        cls.p.close()
        assert rc == 0, f"postern-apid exited with {rc}"
        assert ok, report

    # -- helpers -------------------------------------------------------------------------
    def call(self, method, path, token=None, body=None, raw=None, headers=None, kind=None):
        h = {"Content-Type": "application/json", **(headers or {})}
        if token:
            h["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                            else None)
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, body=data, headers=h)
            resp = conn.getresponse()
            status, hdrs, text = resp.status, resp.headers, resp.read()
        finally:
            conn.close()
        doc = json.loads(text) if text else None
        schema = SCHEMAS.get((method, kind, status))
        if status >= 400:
            self.assertEqual(hdrs["Content-Type"], "application/problem+json", text)
            schema = "postern:Problem"
        if schema and doc is not None:
            self.cases.append({"name": f"{method} {path} {status}", "schema": schema,
                               "body": doc})
        return status, hdrs, doc

    def send(self, body, token=None, key=None, mailbox=ALICE):
        headers = {"Idempotency-Key": key} if key else {}
        return self.call("POST", f"/v1/mailboxes/{mailbox}/messages", token or self.send_token,
                         body, headers=headers, kind="send")

    def raw_of(self, msg_id, token=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        conn.request("GET", f"/v1/messages/{msg_id}/raw",
                     headers={"Authorization": f"Bearer {token or self.send_token}"})
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        self.assertEqual(resp.status, 200)
        return email.message_from_bytes(data, policy=email.policy.default), data

    def deliveries(self, msg_id, token=None):
        status, _, doc = self.call("GET", f"/v1/messages/{msg_id}/deliveries",
                                   token or self.send_token, kind="deliveries")
        return status, doc

    def count(self, sql, *args):
        return self.p.count(sql, *args)

    def inbound_id(self, subject="Quarterly plan"):
        status, _, doc = self.call("GET", f"/v1/mailboxes/{ALICE}/messages", self.send_token,
                                   kind="messages")
        self.assertEqual(status, 200)
        ids = [m["id"] for m in doc["data"] if m["subject"] == subject]
        self.assertEqual(len(ids), 1)
        return ids[0]

    # -- tests ---------------------------------------------------------------------------
    def test_send_stores_sent_copy_and_queues_each_recipient(self):
        pdf = bytes(range(256)) * 4
        status, _, doc = self.send({
            "to": ["Bob Remote <bob@remote.example>", {"name": "Zoë", "address": "zoe@far.example"}],
            "cc": "cc@far.example",
            "bcc": ["hidden@far.example", "bob@Remote.Example"],
            "subject": "Grüße — report ✓",
            "text": "Plain body\n",
            "html": "<p>HTML body</p>",
            "attachments": [{"filename": "r.pdf", "content_type": "application/pdf",
                             "content": base64.b64encode(pdf).decode()}],
            "headers": {"X-Agent-Run": "42"},
        })
        self.assertEqual(status, 202, doc)
        msg_id = doc["id"]
        self.assertTrue(msg_id.startswith("msg_"))
        self.assertTrue(doc["thread_id"].startswith("thr_"))
        self.assertTrue(doc["message_id"].endswith("@mx.postern.test"))
        rcpts = sorted(d["recipient"].lower() for d in doc["deliveries"])
        # bob@remote.example is queued once although named in To and (domain in capitals) in Bcc.
        self.assertEqual(rcpts, ["bob@remote.example", "cc@far.example", "hidden@far.example",
                                 "zoe@far.example"])
        for d in doc["deliveries"]:
            self.assertEqual(d["state"], "queued")
            self.assertEqual(d["url"], f"/v1/messages/{msg_id}/deliveries")
        # The deliveries list pages like every list, in id order.
        seen, cursor = [], None
        while True:
            query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
            status, _, page = self.call("GET", f"/v1/messages/{msg_id}/deliveries{query}",
                                        self.send_token, kind="deliveries")
            self.assertEqual(status, 200, page)
            self.assertEqual(page["message_id"], msg_id)
            seen += [x["id"] for x in page["data"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        self.assertEqual(seen, sorted(d["id"] for d in doc["deliveries"]))
        self.assertEqual(len(seen), 4)
        status, _, e = self.call("GET", f"/v1/messages/{msg_id}/deliveries?limit=x",
                                 self.send_token)
        self.assertEqual(status, 400, e)

        # The Sent copy over REST, and its bytes as a standard parser reads them.
        status, _, m = self.call("GET", f"/v1/messages/{msg_id}", self.send_token, kind="message")
        self.assertEqual(status, 200)
        self.assertEqual(m["subject"], "Grüße — report ✓")
        self.assertIsNone(m["authentication"])  # sent mail is not checked
        self.assertEqual(m["text"], "Plain body\n")
        self.assertEqual(m["html"], "<p>HTML body</p>")
        self.assertEqual([a["filename"] for a in m["attachments"]], ["r.pdf"])
        parsed, raw = self.raw_of(msg_id)
        self.assertNotIn(b"hidden@far.example", raw)
        self.assertNotIn(b"\nBcc:", raw)
        self.assertEqual(str(parsed["Subject"]), "Grüße — report ✓")
        self.assertEqual(parsed["X-Agent-Run"], "42")
        self.assertEqual(parsed.get_content_type(), "multipart/mixed")
        att = [p for p in parsed.iter_attachments()][0]
        self.assertEqual(att.get_content(), pdf)
        self.assertTrue(all(b < 0x80 for b in raw))

        status, dl = self.deliveries(msg_id)
        self.assertEqual(status, 200)
        self.assertEqual(len(dl["data"]), 4)
        for d in dl["data"]:
            self.assertEqual(d["state"], "queued")
            self.assertEqual(d["attempts"], 0)
            self.assertIsNotNone(d["next_attempt_at"])

        # Another mailbox's token sees neither the message nor its deliveries.
        status, _, _ = self.call("GET", f"/v1/messages/{msg_id}", self.bob_token)
        self.assertEqual(status, 404)
        status, _ = self.deliveries(msg_id, self.bob_token)
        self.assertEqual(status, 404)
        # ...nor may it send from Alice's mailbox.
        status, _, _ = self.send({"to": "x@far.example", "text": "x"}, token=self.bob_token)
        self.assertEqual(status, 404)
        # A token without email:send may not send.
        status, _, _ = self.send({"to": "x@far.example", "text": "x"}, token=self.read_only)
        self.assertEqual(status, 403)

    def test_idempotent_post_sends_once(self):
        key = str(uuid.uuid4())
        body = {"to": "once@far.example", "subject": "Only once", "text": "hello"}
        before = self.count("SELECT count(*) FROM deliveries")
        s1, h1, d1 = self.send(body, key=key)
        s2, h2, d2 = self.send(body, key=key)
        self.assertEqual(s1, 202)
        self.assertEqual(s2, 202)
        self.assertEqual(d1, d2)
        self.assertEqual(h2["Idempotent-Replayed"], "true")
        # The mailbox's address percent-encoded in the path is the same request: a replay.
        s2b, h2b, d2b = self.send(body, key=key, mailbox=ALICE.replace("@", "%40"))
        self.assertEqual((s2b, d2b), (202, d1))
        self.assertEqual(h2b["Idempotent-Replayed"], "true")
        self.assertEqual(self.count("SELECT count(*) FROM deliveries") - before, 1)
        self.assertEqual(self.count("SELECT count(*) FROM messages WHERE subject = 'Only once'"), 1)
        # The same key with another body: 409, and nothing sent.
        s3, _, d3 = self.send({**body, "text": "changed"}, key=key)
        self.assertEqual(s3, 409, d3)
        self.assertEqual(self.count("SELECT count(*) FROM deliveries") - before, 1)
        # Another key sends again.
        s4, _, d4 = self.send(body, key=str(uuid.uuid4()))
        self.assertEqual(s4, 202)
        self.assertNotEqual(d4["id"], d1["id"])

    def test_bad_input_queues_nothing_and_names_the_field(self):
        before = self.count("SELECT count(*) FROM deliveries")
        status, _, doc = self.send({"to": ["ok@far.example", "not an address"], "text": "x"})
        self.assertEqual(status, 422, doc)
        self.assertEqual([e["field"] for e in doc["errors"]], ["to[1]"])
        status, _, doc = self.send({"subject": "nobody", "text": "x"})
        self.assertEqual(status, 422, doc)
        self.assertEqual(doc["errors"][0]["field"], "to")
        status, _, doc = self.send({"to": "a@far.example", "headers": {"Bcc": "x@evil.example"}})
        self.assertEqual(status, 422, doc)
        self.assertEqual(doc["errors"][0]["field"], "headers.Bcc")
        status, _, doc = self.send({"to": "a@far.example", "attachments": [{"content": "@@@"}]})
        self.assertEqual(status, 422, doc)
        self.assertEqual(doc["errors"][0]["field"], "attachments[0].content")
        status, _, doc = self.call("POST", f"/v1/mailboxes/{ALICE}/messages", self.send_token,
                                   raw=b"{not json", kind="send")
        self.assertEqual(status, 400, doc)
        status, _, doc = self.send({"to": "a@far.example", "colour": "blue"})
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["errors"][0]["field"], "colour")
        status, _, doc = self.send({"to": "a@far.example", "text": 5})
        self.assertEqual(status, 400, doc)
        # Attachments go out base64: not allowed for composite types (RFC 2045 §6.4).
        for ct in ("multipart/mixed", "Message/Partial"):
            status, _, doc = self.send({"to": "a@far.example", "attachments": [
                {"content_type": ct, "content": base64.b64encode(b"x").decode()}]})
            self.assertEqual(status, 422, doc)
            self.assertEqual([e["field"] for e in doc["errors"]], ["attachments[0].content_type"])
        # A NUL would have cut the text short where GMime reads it: refused, not truncated.
        for field in ("subject", "text", "html"):
            status, _, doc = self.send({"to": "a@far.example", field: "a\u0000b"})
            self.assertEqual(status, 422, doc)
            self.assertEqual([e["field"] for e in doc["errors"]], [field])
        # Over [outbound] max_message_bytes (200000 here) once built: 413.
        big = base64.b64encode(b"x" * 180000).decode()
        status, _, doc = self.send({"to": "a@far.example",
                                    "attachments": [{"filename": "big.bin", "content": big}]})
        self.assertEqual(status, 413, doc)
        self.assertIn("once encoded", doc["detail"])
        # Over the send routes' body limit (4/3 of it plus 64 KiB): refused from the
        # Content-Length, before the body is read.
        huge = base64.b64encode(b"x" * 400000).decode()
        status, _, doc = self.send({"to": "a@far.example",
                                    "attachments": [{"filename": "huge.bin", "content": huge}]})
        self.assertEqual(status, 413, doc)
        self.assertIn("request body is larger", doc["detail"])
        self.assertEqual(self.count("SELECT count(*) FROM deliveries"), before)

    def test_large_send_with_expect_100_continue(self):
        # curl, told to send `Expect: 100-continue` and to wait 30 s for the interim response,
        # only finishes early if the server sends `100 Continue`. The body is over
        # [api] max_body_bytes (100000 here) but within the send routes' own limit.
        import subprocess
        import tempfile
        payload = base64.b64encode(b"y" * 120000).decode()
        body = {"to": "big@far.example", "subject": "large",
                "attachments": [{"filename": "a.bin", "content": payload}],
                "text": "z" * 10}
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(body, f)
        self.addCleanup(os.unlink, f.name)
        proc = subprocess.run(
            ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "--expect100-timeout", "30",
             "-H", f"Authorization: Bearer {self.send_token}",
             "-H", "Content-Type: application/json", "-H", "Expect: 100-continue",
             "--data-binary", f"@{f.name}",
             f"http://{self.host}:{self.port}/v1/mailboxes/{ALICE}/messages"],
            capture_output=True, text=True, timeout=20)
        out, _, code = proc.stdout.rpartition("\n")
        self.assertEqual(code, "202", proc.stdout + proc.stderr)
        self.assertEqual(json.loads(out)["status"], "queued")

    def test_reply_threads_and_reply_all(self):
        parent = self.inbound_id()
        status, _, doc = self.call("POST", f"/v1/messages/{parent}/reply", self.send_token,
                                   {"text": "Yes, Tuesday.", "reply_all": True}, kind="send")
        self.assertEqual(status, 202, doc)
        parsed, _ = self.raw_of(doc["id"])
        self.assertEqual(parsed["Subject"], "Re: Quarterly plan")
        self.assertEqual(parsed["In-Reply-To"], "<plan-2@remote.example>")
        self.assertEqual(parsed["References"].split(),
                         ["<plan-1@remote.example>", "<plan-2@remote.example>"])
        self.assertEqual(parsed["To"].addresses[0].addr_spec, "carol@remote.example")
        cc = sorted(a.addr_spec for a in parsed["Cc"].addresses)
        self.assertEqual(cc, [BOB, "dave@remote.example"])  # Alice herself is left out
        self.assertEqual(sorted(d["recipient"] for d in doc["deliveries"]),
                         sorted([BOB, "carol@remote.example", "dave@remote.example"]))
        # The reply joins the original's thread.
        status, _, orig = self.call("GET", f"/v1/messages/{parent}", self.send_token,
                                    kind="message")
        self.assertEqual(doc["thread_id"], orig["thread_id"])
        # The MX checked the inbound message: its stored results are in the JSON.
        self.assertIsInstance(orig["authentication"], dict, orig)
        self.assertEqual(orig["authentication"]["spf"]["domain"], "remote.example",
                         orig["authentication"])
        self.assertIn("dmarc", orig["authentication"])
        # Without reply_all: the sender only.
        status, _, doc = self.call("POST", f"/v1/messages/{parent}/reply", self.send_token,
                                   {"text": "Just you."}, kind="send")
        self.assertEqual(status, 202, doc)
        self.assertEqual([d["recipient"] for d in doc["deliveries"]], ["carol@remote.example"])
        # Bob cannot reply to Alice's message.
        status, _, _ = self.call("POST", f"/v1/messages/{parent}/reply", self.bob_token,
                                 {"text": "x"})
        self.assertEqual(status, 404)

    def test_reply_leaves_out_ids_that_are_not_msg_ids(self):
        parent = self.inbound_id("Odd ids")
        status, _, doc = self.call("POST", f"/v1/messages/{parent}/reply", self.send_token,
                                   {"text": "ok"}, kind="send")
        self.assertEqual(status, 202, doc)
        _, raw = self.raw_of(doc["id"])
        head = raw.split(b"\r\n\r\n", 1)[0].decode()
        # The original's Message-ID has no @: no In-Reply-To at all rather than a broken one.
        self.assertNotIn("In-Reply-To:", head)
        refs = re.search(r"^References: (.*(?:\r\n[ \t].*)*)", head, re.M).group(1).split()
        self.assertEqual(refs, ["<kept-1@remote.example>", "<kept-2@remote.example>"])
        # The same rule for an in_reply_to given by hand.
        for bad in ("no-at-sign", "a b@c", "x@", "<@y>"):
            status, _, doc = self.send({"to": "a@far.example", "text": "x", "in_reply_to": bad})
            self.assertEqual(status, 422, (bad, doc))
            self.assertEqual([e["field"] for e in doc["errors"]], ["in_reply_to"])
        # A Message-ID that happens to start with msg_ is a Message-ID, not one of our ids.
        status, _, doc = self.send({"to": "a@far.example", "text": "x",
                                    "in_reply_to": "msg_1@far.example"})
        self.assertEqual(status, 202, doc)
        parsed, _ = self.raw_of(doc["id"])
        self.assertEqual(parsed["In-Reply-To"], "<msg_1@far.example>")

    def test_attachment_media_type_parameters(self):
        content = base64.b64encode("na\u00efve\n".encode()).decode()
        status, _, doc = self.send({"to": "a@far.example", "text": "see attached", "attachments": [
            {"filename": "notes.txt", "content_type": 'text/plain; charset="utf-8"; format=flowed',
             "content": content},
            {"filename": "real.csv", "content_type": "text/csv; name=other.csv; header=present",
             "content": content}]})
        self.assertEqual(status, 202, doc)
        parsed, _ = self.raw_of(doc["id"])
        parts = list(parsed.iter_attachments())
        self.assertEqual([p.get_content_type() for p in parts], ["text/plain", "text/csv"])
        self.assertEqual(parts[0].get_param("charset"), "utf-8")
        self.assertEqual(parts[0].get_param("format"), "flowed")
        self.assertEqual(parts[0].get_content(), "na\u00efve\n")
        self.assertEqual(parts[1].get_param("header"), "present")
        self.assertEqual(parts[1].get_filename(), "real.csv")
        self.assertEqual(parts[1].get_param("name"), "real.csv")  # the filename field wins
        for ct in ("text/plain; junk", "text/plain; =x", "text /plain",
                   "text/plain; a=b; c", "text/pl@in", "text"):
            status, _, doc = self.send({"to": "a@far.example", "attachments": [
                {"content_type": ct, "content": content}]})
            self.assertEqual(status, 422, (ct, doc))
            self.assertEqual([e["field"] for e in doc["errors"]], ["attachments[0].content_type"])

    def test_null_is_a_field_left_out(self):
        content = base64.b64encode(b"\x00\x01 data").decode()
        status, _, doc = self.send({"to": "a@far.example", "cc": None, "subject": None,
                                    "text": "see attached", "html": None, "reply_to": None,
                                    "attachments": [{"filename": None, "content_type": None,
                                                     "content": content}]})
        self.assertEqual(status, 202, doc)
        parsed, _ = self.raw_of(doc["id"])
        self.assertIsNone(parsed["Cc"])
        parts = list(parsed.iter_attachments())
        self.assertEqual(parts[0].get_content_type(), "application/octet-stream")
        self.assertIsNone(parts[0].get_filename())
        self.assertEqual(parts[0].get_content(), b"\x00\x01 data")
        # A required field given as null is missing.
        status, _, doc = self.send({"to": "a@far.example", "attachments": [{"content": None}]})
        self.assertEqual(status, 400, doc)
        self.assertEqual([e["field"] for e in doc["errors"]], ["attachments[0].content"])
        status, _, doc = self.send({"to": None, "text": "to whom?"})
        self.assertEqual((status, [e["field"] for e in doc["errors"]]), (422, ["to"]), doc)
        # Values inside headers are data, not fields: null there is a wrong type.
        status, _, doc = self.send({"to": "a@far.example", "headers": {"X-Note": None}})
        self.assertEqual((status, [e["field"] for e in doc["errors"]]), (400, ["headers.X-Note"]),
                         doc)

    def test_an_attached_message_must_be_a_message(self):
        for data in (b"", b"just some text", b"not a header line\r\n\r\nbody"):
            status, _, doc = self.send({"to": "a@far.example", "attachments": [
                {"filename": "x.eml", "content_type": "message/rfc822",
                 "content": base64.b64encode(data).decode()}]})
            self.assertEqual(status, 422, (data, doc))
            self.assertEqual([e["field"] for e in doc["errors"]], ["attachments[0].content"])
        # Bad base64 is said once, not also "is not a message".
        status, _, doc = self.send({"to": "a@far.example", "attachments": [
            {"content_type": "message/rfc822", "content": "not base64!"}]})
        self.assertEqual(status, 422, doc)
        self.assertEqual([(e["field"], e["message"]) for e in doc["errors"]],
                         [("attachments[0].content", "is not valid base64")])
        # An empty header section is still a message.
        status, _, doc = self.send({"to": "a@far.example", "attachments": [
            {"content_type": "message/rfc822",
             "content": base64.b64encode(b"\r\njust a body\r\n").decode()}]})
        self.assertEqual(status, 202, doc)

    def test_forward_attaches_the_original(self):
        parent = self.inbound_id()
        status, _, doc = self.call("POST", f"/v1/messages/{parent}/forward", self.send_token,
                                   {"to": "boss@far.example", "text": "FYI"}, kind="send")
        self.assertEqual(status, 202, doc)
        parsed, _ = self.raw_of(doc["id"])
        self.assertEqual(parsed["Subject"], "Fwd: Quarterly plan")
        parts = list(parsed.iter_attachments())
        self.assertEqual(len(parts), 1)
        self.assertEqual(parts[0].get_content_type(), "message/rfc822")
        inner = parts[0].get_content()
        self.assertEqual(inner["Message-ID"], "<plan-2@remote.example>")
        self.assertIn("Shall we meet?", inner.get_content())
        self.assertEqual(parsed.get_body(("plain",)).get_content().strip(), "FYI")

    def test_an_attached_message_with_long_lines_is_re_encoded(self):
        # An .eml whose body has a line over 998 octets cannot go out as it is inside
        # message/rfc822 (no base64 allowed there, RFC 2046 §5.2.1): its parts are re-encoded.
        eml = (b"From: x@far.example\r\nSubject: wide\r\nMessage-ID: <wide@far.example>\r\n\r\n"
               + b"w" * 3000 + b"\r\n")
        status, _, doc = self.send({"to": "boss@far.example", "text": "see attached",
                                    "attachments": [{"filename": "wide.eml",
                                                     "content_type": "message/rfc822",
                                                     "content": base64.b64encode(eml).decode()}]})
        self.assertEqual(status, 202, doc)
        parsed, data = self.raw_of(doc["id"])
        self.assertLessEqual(max(len(line) for line in data.split(b"\r\n")), 998)
        inner = list(parsed.iter_attachments())[0].get_content()
        self.assertEqual(inner["Message-ID"], "<wide@far.example>")
        self.assertEqual(inner.get_content().rstrip("\r\n"), "w" * 3000)


class DiskReserveTest(harness.PosternTestCase):
    """[smtp] min_free_bytes holds for REST sends too, against the real file system (statvfs):
    with a reserve larger than any disk, a send is 507 and nothing is stored or queued."""

    config = {"smtp.min_free_bytes": 2 ** 62, "outbound.require_verified_domain": False}

    def test_a_send_waits_while_the_disk_is_below_its_reserve(self):
        self.p.add_domain("example.com")
        self.p.add_mailbox(ALICE)
        token = self.p.add_token("email:send", mailbox=ALICE)
        apid = self.p.start_apid()
        conn = http.client.HTTPConnection(*apid.addr("api"), timeout=30)
        self.addCleanup(conn.close)
        conn.request("POST", f"/v1/mailboxes/{ALICE}/messages",
                     body=json.dumps({"to": "bob@far.example", "text": "hello"}),
                     headers={"Authorization": f"Bearer {token}",
                              "Content-Type": "application/json"})
        resp = conn.getresponse()
        doc = json.loads(resp.read())
        self.assertEqual(resp.status, 507, doc)
        self.assertEqual(resp.headers["Content-Type"], "application/problem+json")
        self.assertEqual(doc["type"], "https://postern.dev/problems/insufficient-storage")
        self.assertEqual(self.p.count("SELECT count(*) FROM messages"), 0)
        self.assertEqual(self.p.count("SELECT count(*) FROM deliveries"), 0)
        self.assertIn("smtp.min_free_bytes", apid.log())


if __name__ == "__main__":
    unittest.main()
