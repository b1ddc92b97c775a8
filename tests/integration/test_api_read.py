"""The read API end to end: mail is sent with smtplib into the real postern-smtpd, then every
route of the real postern-apid is checked with urllib/http.client against what was sent:
decoded headers and bodies, attachments, raw bytes, pagination, threads, auth, scopes,
mailbox isolation and the error shapes (RFC 9457)."""

import email.policy
import http.client
import json
import os
import re
import smtplib
import socket
import subprocess
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import harness

ALICE = "alice@example.com"
BOB = "bob@example.com"
CAROL = "carol@example.com"  # only test_large_message_summary writes here
ATTACHMENT = bytes(range(256)) * 9 + b"\x00end"
ATTACHMENT_NAME = "résumé 2026.bin"
TEXT_BODY = "Grüße aus Köln - café crème.\nSecond line.\n"
HTML_BODY = "<p>Gr&uuml;&szlig;e <b>aus</b> K&ouml;ln</p>"
SMTP = email.policy.SMTP
SUBJECT = "Déjà vu: quarterly report ✓"


def multipart_message():
    """multipart/mixed: (text/plain iso-8859-1 quoted-printable | text/html) + an attachment."""
    outer = MIMEMultipart("mixed", policy=SMTP)
    outer["From"] = "José Núñez <jose@remote.example>"
    outer["To"] = f"Alice <{ALICE}>"
    outer["Cc"] = f"Bob <{BOB}>"
    outer["Reply-To"] = "replies@remote.example"
    outer["Subject"] = SUBJECT
    outer["Date"] = "Sun, 22 Nov 2026 08:03:46 +0000"
    outer["Message-ID"] = "<report-1@remote.example>"
    alt = MIMEMultipart("alternative", policy=SMTP)
    alt.attach(MIMEText(TEXT_BODY, "plain", "iso-8859-1", policy=SMTP))  # QP (charset table)
    alt.attach(MIMEText(HTML_BODY, "html", "utf-8", policy=SMTP))
    outer.attach(alt)
    att = MIMEApplication(ATTACHMENT, "octet-stream", policy=SMTP)
    att.add_header("Content-Disposition", "attachment", filename=("utf-8", "", ATTACHMENT_NAME))
    outer.attach(att)
    return outer.as_bytes(policy=SMTP)


def simple_message(subject, to=ALICE, message_id=None, in_reply_to=None):
    m = EmailMessage()
    m["From"] = "Sender <sender@remote.example>"
    m["To"] = to
    m["Subject"] = subject
    if message_id:
        m["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        m["In-Reply-To"] = f"<{in_reply_to}>"
        m["References"] = f"<{in_reply_to}>"
    m.set_content(f"Body of {subject}\n")
    return m.as_bytes(policy=email.policy.SMTP)


class ApiReadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.p = p = harness.Postern()
        try:
            p.add_domain("example.com")
            cls.alice_id = p.add_mailbox(ALICE)
            cls.bob_id = p.add_mailbox(BOB)
            cls.carol_id = p.add_mailbox(CAROL)
            cls.alice_token = p.add_token("read", mailbox=ALICE)
            cls.bob_token = p.add_token("email:read", mailbox=BOB)
            cls.tenant_token = p.add_token("email:read")
            cls.send_token = p.add_token("email:send", mailbox=ALICE)
            cls.smtpd = p.start_smtpd()
            cls.apid = p.start_apid()
            cls.host, cls.port = cls.apid.addr("api")

            cls.report_bytes = multipart_message()
            cls.send(cls.report_bytes, [ALICE, BOB])
            cls.send(simple_message("Plan", message_id="plan-1@remote.example"), [ALICE])
            cls.send(simple_message("Re: Plan", message_id="plan-2@remote.example",
                                    in_reply_to="plan-1@remote.example"), [ALICE])
            cls.send(simple_message("Only for Bob", to=BOB), [BOB])
            cls.paged = 7
            for i in range(cls.paged):
                cls.send(simple_message(f"Paged {i}"), [ALICE])
        except BaseException:
            p.close()
            raise

    @classmethod
    def tearDownClass(cls):
        rc = cls.apid.stop()
        cls.p.close()
        assert rc == 0, f"postern-apid exited with {rc}"

    @classmethod
    def send(cls, raw, rcpts):
        with smtplib.SMTP(*cls.smtpd.addr("mx"), timeout=30) as s:
            s.ehlo("client.test")
            refused = s.sendmail("sender@remote.example", rcpts, raw)
            assert refused == {}, refused

    # -- helpers -------------------------------------------------------------------------
    def request(self, path, token=None, method="GET", headers=None):
        """Returns (status, headers, body bytes) without raising on 4xx/5xx."""
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(f"http://{self.host}:{self.port}{path}", headers=h,
                                     method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def get_json(self, path, token=None, status=200):
        code, headers, body = self.request(path, token or self.alice_token)
        self.assertEqual(code, status, body)
        return json.loads(body)

    def assertProblem(self, path, token, status, method="GET", headers=None):
        code, h, body = self.request(path, token, method=method, headers=headers)
        self.assertEqual(code, status, body)
        self.assertEqual(h["Content-Type"], "application/problem+json")
        problem = json.loads(body)
        self.assertEqual(problem["status"], status)
        self.assertTrue(problem["type"].startswith("https://postern.dev/problems/"))
        self.assertTrue(problem["title"])
        self.assertIn("detail", problem)
        return problem, h

    def messages(self, mailbox=ALICE, token=None, **query):
        q = urllib.parse.urlencode(query)
        path = f"/v1/mailboxes/{urllib.parse.quote(mailbox, safe='')}/messages" + (
            f"?{q}" if q else "")
        return self.get_json(path, token)

    def find(self, subject, mailbox=ALICE, token=None):
        for item in self.messages(mailbox, token, limit=500)["data"]:
            if item["subject"] == subject:
                return item
        self.fail(f"no message {subject!r} in {mailbox}")

    # -- public routes -------------------------------------------------------------------
    def test_healthz_and_openapi(self):
        code, headers, body = self.request("/healthz")
        self.assertEqual(code, 200)
        self.assertEqual(json.loads(body), {"status": "ok"})
        doc = self.get_json("/openapi.json")
        self.assertTrue(doc["openapi"].startswith("3.1"))
        for path in ("/v1/me", "/v1/mailboxes", "/v1/mailboxes/{mailbox}/messages",
                     "/v1/messages/{id}", "/v1/messages/{id}/raw",
                     "/v1/messages/{id}/attachments/{n}", "/v1/mailboxes/{mailbox}/threads",
                     "/v1/threads/{id}"):
            self.assertEqual(doc["paths"][path]["get"]["security"], [{"bearerAuth": []}], path)
        self.assertEqual(doc["paths"]["/healthz"]["get"]["security"], [])

    def test_me(self):
        me = self.get_json("/v1/me")
        self.assertEqual(me["mailbox"], {"id": self.alice_id, "address": ALICE})
        self.assertEqual(me["scopes"], ["read"])
        self.assertIsNone(me["expires_at"])
        self.assertTrue(me["tenant_id"].startswith("ten_"))
        paths = {(r["method"], r["path"]) for r in me["routes"]}
        self.assertIn(("GET", "/v1/messages/{id}"), paths)
        tenant = self.get_json("/v1/me", self.tenant_token)
        self.assertIsNone(tenant["mailbox"])
        send = self.get_json("/v1/me", self.send_token)
        self.assertNotIn("/v1/messages/{id}", {r["path"] for r in send["routes"]})

    def test_mailboxes(self):
        mine = self.get_json("/v1/mailboxes")
        self.assertEqual([m["id"] for m in mine["data"]], [self.alice_id])
        self.assertEqual(mine["data"][0]["address"], ALICE)
        self.assertIsNone(mine["next_cursor"])
        everyone = self.get_json("/v1/mailboxes", self.tenant_token)
        self.assertEqual([m["address"] for m in everyone["data"]], [ALICE, BOB, CAROL])
        first = self.get_json("/v1/mailboxes?limit=1", self.tenant_token)
        self.assertEqual(len(first["data"]), 1)
        rest = self.get_json("/v1/mailboxes?limit=1&cursor=" + first["next_cursor"],
                             self.tenant_token)
        self.assertEqual(rest["data"][0]["address"], BOB)

    # -- messages ------------------------------------------------------------------------
    def test_message_item_and_detail(self):
        item = self.find(SUBJECT)  # RFC 2047 subject decoded
        self.assertEqual(item["from"], {"name": "José Núñez", "address": "jose@remote.example"})
        self.assertEqual(item["to"], [{"name": "Alice", "address": ALICE}])
        self.assertEqual(item["cc"], [{"name": "Bob", "address": BOB}])
        self.assertEqual(item["mailbox_id"], self.alice_id)
        self.assertEqual(item["date"], "2026-11-22T08:03:46Z")
        self.assertRegex(item["received_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertTrue(item["has_attachments"])
        self.assertIn("Grüße aus Köln", item["snippet"])
        self.assertEqual(item["flags"], [])
        self.assertGreater(item["size"], len(self.report_bytes))

        full = self.get_json(f"/v1/messages/{item['id']}")
        for key, value in item.items():
            self.assertEqual(full[key], value, key)
        self.assertEqual(full["message_id"], "report-1@remote.example")
        self.assertIsNone(full["in_reply_to"])
        self.assertEqual(full["references"], [])
        self.assertEqual(full["reply_to"], [{"name": None, "address": "replies@remote.example"}])
        self.assertEqual(full["text"].replace("\r\n", "\n").strip(), TEXT_BODY.strip())
        self.assertIn("<b>aus</b>", full["html"])
        names = [h["name"].lower() for h in full["headers"]]
        self.assertEqual(names[:2], ["return-path", "received"])
        self.assertEqual(full["headers"][0]["value"], "<sender@remote.example>")
        subject_hdr = [h["value"] for h in full["headers"] if h["name"].lower() == "subject"]
        self.assertEqual(subject_hdr, [SUBJECT])
        self.assertEqual(len(full["attachments"]), 1)
        att = full["attachments"][0]
        self.assertEqual(att["index"], 0)
        self.assertEqual(att["filename"], ATTACHMENT_NAME)
        self.assertEqual(att["content_type"], "application/octet-stream")
        self.assertEqual(att["size"], len(ATTACHMENT))
        self.assertFalse(att["inline"])

    def test_qp_part_was_sent_as_qp(self):
        # Guards the test itself: the text part really travels as iso-8859-1 QP.
        self.assertIn(b'charset="iso-8859-1"', self.report_bytes)
        self.assertIn(b"Content-Transfer-Encoding: quoted-printable", self.report_bytes)
        self.assertIn(b"Gr=FC=DFe", self.report_bytes)

    def test_raw_is_byte_exact(self):
        item = self.find(SUBJECT)
        code, headers, raw = self.request(f"/v1/messages/{item['id']}/raw", self.alice_token)
        self.assertEqual(code, 200)
        self.assertEqual(headers["Content-Type"], "message/rfc822")
        self.assertTrue(raw.endswith(self.report_bytes))
        added = raw[: len(raw) - len(self.report_bytes)]
        self.assertTrue(added.startswith(b"Return-Path: <sender@remote.example>\r\nReceived: "),
                        added[:80])
        self.assertEqual(len(raw), item["size"])

    def test_attachment_bytes(self):
        item = self.find(SUBJECT)
        code, headers, body = self.request(f"/v1/messages/{item['id']}/attachments/0",
                                           self.alice_token)
        self.assertEqual(code, 200)
        self.assertEqual(body, ATTACHMENT)
        self.assertEqual(headers["Content-Type"], "application/octet-stream")
        disposition = headers["Content-Disposition"]
        self.assertTrue(disposition.startswith("attachment;"))
        self.assertIn("filename*=UTF-8''" + urllib.parse.quote(ATTACHMENT_NAME, safe=""),
                      disposition)
        self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
        self.assertProblem(f"/v1/messages/{item['id']}/attachments/1", self.alice_token, 404)
        self.assertProblem(f"/v1/messages/{item['id']}/attachments/one", self.alice_token, 400)

    def test_large_message_summary(self):
        # From 64 KiB up, postern-smtpd summarises a message on its CPU pool instead of the
        # session's io thread (smtpd/src/offload.cpp); the list item must be the same as ever.
        big = bytes(range(256)) * 1200  # 300 KiB, base64 in the message: ~410 KiB
        m = EmailMessage(policy=SMTP)
        m["From"] = "Big Sender <big@remote.example>"
        m["To"] = CAROL
        m["Subject"] = "Large résumé"  # RFC 2047-encoded by the email package
        m["Message-ID"] = "<large-1@remote.example>"
        m.set_content("Large message body: see the attachment.\n")
        m.add_attachment(big, maintype="application", subtype="octet-stream", filename="big.bin")
        raw = m.as_bytes(policy=SMTP)
        self.assertGreater(len(raw), 256 * 1024)
        self.send(raw, [CAROL])
        item = self.find("Large résumé", mailbox=CAROL, token=self.tenant_token)
        self.assertEqual(item["from"], {"name": "Big Sender", "address": "big@remote.example"})
        self.assertEqual(item["to"], [{"name": None, "address": CAROL}])
        self.assertTrue(item["has_attachments"])
        self.assertEqual(item["snippet"], "Large message body: see the attachment.")
        full = self.get_json(f"/v1/messages/{item['id']}", self.tenant_token)
        self.assertEqual(full["message_id"], "large-1@remote.example")
        self.assertEqual([(a["filename"], a["size"]) for a in full["attachments"]],
                         [("big.bin", len(big))])

    def test_same_message_for_two_mailboxes_is_two_copies(self):
        a = self.find(SUBJECT)
        b = self.find(SUBJECT, mailbox=BOB, token=self.bob_token)
        self.assertNotEqual(a["id"], b["id"])
        self.assertEqual(b["mailbox_id"], self.bob_id)

    def test_pagination_no_dupes_no_gaps(self):
        everything = self.messages(limit=500)["data"]
        self.assertIsNone(self.messages(limit=500)["next_cursor"])
        ids = [m["id"] for m in everything]
        self.assertEqual(ids, sorted(ids, reverse=True), "newest first")
        self.assertEqual(len(everything), 3 + self.paged)
        paged = [m["subject"] for m in everything if m["subject"].startswith("Paged")]
        self.assertEqual(paged, [f"Paged {i}" for i in reversed(range(self.paged))])
        for limit in (1, 3, 4):
            seen, cursor, pages = [], None, 0
            while True:
                query = {"limit": limit}
                if cursor:
                    query["cursor"] = cursor
                page = self.messages(**query)
                pages += 1
                self.assertLessEqual(len(page["data"]), limit)
                seen += [m["id"] for m in page["data"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            self.assertEqual(seen, ids, f"limit={limit}")
            self.assertLessEqual(pages, len(ids) // limit + 1)
        self.assertEqual(len(self.messages()["data"]), len(ids))  # default limit 50

    def test_cursor_is_refused_by_another_list(self):
        # A cursor names its list: another mailbox's, another thread filter's, another kind's
        # (threads, mailboxes) is a 400, never read as a position in this list.
        alice = self.messages(limit=1)["next_cursor"]
        bob = self.messages(BOB, self.tenant_token, limit=1)["next_cursor"]
        thread_id = self.messages(limit=1)["data"][0]["thread_id"]
        threads = self.get_json(f"/v1/mailboxes/{self.alice_id}/threads?limit=1")["next_cursor"]
        self.assertIsNotNone(alice)
        self.assertIsNotNone(bob)
        self.assertIsNotNone(threads)
        self.messages(cursor=alice, limit=1)  # its own list takes it
        base = f"/v1/mailboxes/{self.alice_id}/messages"
        for cursor, query in ((bob, ""), (alice, f"&thread_id={thread_id}"), (threads, "")):
            with self.subTest(query=query):
                problem, _ = self.assertProblem(f"{base}?cursor={cursor}{query}",
                                                self.tenant_token, 400)
                self.assertEqual([e["field"] for e in problem["errors"]], ["cursor"])
        self.assertProblem(f"/v1/mailboxes/{self.alice_id}/threads?cursor={alice}",
                           self.alice_token, 400)
        self.assertProblem(f"/v1/mailboxes?cursor={alice}", self.tenant_token, 400)

    def test_threads(self):
        threads = self.get_json(f"/v1/mailboxes/{self.alice_id}/threads?limit=500")["data"]
        plan = [t for t in threads if t["subject"] == "Plan"]
        self.assertEqual(len(plan), 1, threads)
        thread = plan[0]
        self.assertEqual(thread["message_count"], 2)
        self.assertEqual(thread["mailbox_id"], self.alice_id)
        self.assertIn("sender@remote.example", thread["participants"])
        for key in ("created_at", "updated_at", "last_message_id", "id"):
            self.assertIn(key, thread)
        full = self.get_json(f"/v1/threads/{thread['id']}")
        self.assertEqual([m["subject"] for m in full["messages"]], ["Plan", "Re: Plan"])
        self.assertEqual(full["last_message_id"], full["messages"][-1]["id"])
        only = self.messages(thread_id=thread["id"])["data"]
        self.assertEqual([m["subject"] for m in only], ["Re: Plan", "Plan"])
        # Pages of threads: no dupes, no gaps.
        seen, cursor = [], None
        while True:
            q = "limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = self.get_json(f"/v1/mailboxes/{ALICE}/threads?{q}")
            seen += [t["id"] for t in page["data"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        self.assertEqual(seen, [t["id"] for t in threads])

    # -- isolation -----------------------------------------------------------------------
    def test_mailbox_isolation(self):
        bob_only = self.find("Only for Bob", mailbox=BOB, token=self.bob_token)
        bob_thread = bob_only["thread_id"]
        for path in (f"/v1/mailboxes/{BOB}/messages", f"/v1/mailboxes/{self.bob_id}/messages",
                     f"/v1/mailboxes/{self.bob_id}/threads", f"/v1/messages/{bob_only['id']}",
                     f"/v1/messages/{bob_only['id']}/raw",
                     f"/v1/messages/{bob_only['id']}/attachments/0", f"/v1/threads/{bob_thread}"):
            with self.subTest(path=path):
                problem, _ = self.assertProblem(path, self.alice_token, 404)
                self.assertNotIn(BOB, json.dumps(problem))
        subjects = {m["subject"] for m in self.messages(limit=500)["data"]}
        self.assertNotIn("Only for Bob", subjects)
        # The tenant-wide token sees both mailboxes.
        self.assertEqual(self.get_json(f"/v1/messages/{bob_only['id']}",
                                       self.tenant_token)["id"], bob_only["id"])

    # -- errors --------------------------------------------------------------------------
    def test_401(self):
        _, h = self.assertProblem("/v1/mailboxes", None, 401)
        self.assertEqual(h["WWW-Authenticate"], 'Bearer realm="postern"')
        _, h = self.assertProblem("/v1/mailboxes", "pst_not-a-real-token", 401)
        self.assertEqual(h["WWW-Authenticate"], 'Bearer realm="postern", error="invalid_token"')
        self.assertProblem("/v1/mailboxes", None, 401,
                           headers={"Authorization": "Basic YWxpY2U6c2VjcmV0"})
        # Tokens in the query string are never accepted.
        self.assertProblem(f"/v1/mailboxes?access_token={self.alice_token}", None, 401)
        self.assertProblem(f"/v1/mailboxes?access_token={self.alice_token}", self.alice_token,
                           400)
        self.assertNotIn(self.alice_token, self.apid.log())

    def test_403_names_the_scope(self):
        problem, _ = self.assertProblem("/v1/mailboxes", self.send_token, 403)
        self.assertIn("email:read", problem["detail"])
        self.assertProblem(f"/v1/mailboxes/{ALICE}/messages", self.send_token, 403)

    def test_404_and_405(self):
        self.assertProblem("/v1/messages/msg_01J00000000000000000000000", self.alice_token, 404)
        self.assertProblem("/v1/threads/thr_01J00000000000000000000000", self.alice_token, 404)
        self.assertProblem("/v1/mailboxes/nobody@example.com/messages", self.alice_token, 404)
        self.assertProblem("/v1/nothing-here", self.alice_token, 404)
        _, h = self.assertProblem("/v1/mailboxes", self.alice_token, 405, method="DELETE")
        self.assertEqual(h["Allow"], "GET, HEAD")

    def test_head_is_get_without_content(self):
        # RFC 9110 §9.3.2: the GET's status and fields, Content-Length included, and no
        # content; the next response on the connection is read where it starts.
        auth = {"Authorization": f"Bearer {self.alice_token}"}
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        conn.request("GET", "/v1/mailboxes", headers=auth)
        got = conn.getresponse()
        body = got.read()
        for path, token, status in (("/v1/mailboxes", auth, 200), ("/v1/mailboxes", {}, 401),
                                    ("/v1/nothing-here", auth, 404)):
            with self.subTest(path=path, status=status):
                conn.request("HEAD", path, headers=token)
                head = conn.getresponse()
                self.assertEqual(head.status, status)
                self.assertEqual(head.read(), b"")
                if status == 200:
                    self.assertEqual(int(head.getheader("Content-Length")), len(body))
                    self.assertEqual(head.getheader("Content-Type"), got.getheader("Content-Type"))
        # The connection is still in step: raw bytes after a HEAD reply would break this.
        with socket.create_connection((self.host, self.port), timeout=10) as s:
            s.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            reply = b""
            while chunk := s.recv(65536):
                reply += chunk
        first, rest = reply.split(b"\r\n\r\n", 1)
        self.assertTrue(first.startswith(b"HTTP/1.1 200 "), reply[:200])
        self.assertTrue(rest.startswith(b"HTTP/1.1 200 "), reply[:400])
        conn.close()

    def test_400_bad_query(self):
        base = f"/v1/mailboxes/{ALICE}/messages"
        for query, field in (("limit=0", "limit"), ("limit=501", "limit"),
                             ("limit=ten", "limit"), ("limit=1.5", "limit"),
                             ("cursor=bm90LWEtY3Vyc29y", "cursor"), ("cursor=%25%25", "cursor"),
                             ("sort=asc", "sort"), ("thread_id=nope", "thread_id")):
            with self.subTest(query=query):
                problem, _ = self.assertProblem(f"{base}?{query}", self.alice_token, 400)
                self.assertEqual([e["field"] for e in problem["errors"]], [field])
                self.assertTrue(problem["errors"][0]["message"])
        self.assertProblem("/v1/me?verbose=1", self.alice_token, 400)

    def raw_exchange(self, data, read_timeout=10):
        with socket.create_connection((self.host, self.port), timeout=read_timeout) as s:
            s.sendall(data)
            chunks = []
            while True:
                try:
                    chunk = s.recv(65536)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks)

    def test_413_body_too_large(self):
        reply = self.raw_exchange(b"GET /v1/me HTTP/1.1\r\nHost: x\r\n"
                                  b"Content-Length: 2000000000\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 413 "), reply[:100])
        self.assertIn(b"application/problem+json", reply)
        # A client that does send the whole over-long body still gets its 413.
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        conn.request("GET", "/v1/me", body=b"x" * (1024 * 1024 + 1),
                     headers={"Authorization": f"Bearer {self.alice_token}"})
        self.assertEqual(conn.getresponse().status, 413)
        conn.close()

    def test_431_headers_too_large(self):
        code, h, body = self.request("/v1/me", self.alice_token, headers={"X-Pad": "a" * 20000})
        self.assertEqual(code, 431, body)
        self.assertEqual(json.loads(body)["status"], 431)

    def test_body_is_not_read_for_a_refused_request(self):
        # Without a valid token (or scope), the refusal comes from the head alone: no
        # "100 Continue", and nothing of the announced body is read or buffered first.
        head = (b"POST /v1/mailboxes/" + ALICE.encode() + b"/messages HTTP/1.1\r\nHost: x\r\n"
                b"Expect: 100-continue\r\nContent-Length: 2000000\r\n")
        read_only = f"Authorization: Bearer {self.alice_token}\r\n".encode()
        for extra, status in ((b"", b"401"), (read_only, b"403")):
            with self.subTest(status=status):
                reply = self.raw_exchange(head + extra + b"\r\n", read_timeout=5)
                self.assertTrue(reply.startswith(b"HTTP/1.1 " + status + b" "), reply[:100])
                self.assertNotIn(b"100 Continue", reply)
                self.assertIn(b"Connection: close", reply)

    def test_400_for_ambiguous_framing(self):
        # RFC 9112 §3.2: exactly one Host in HTTP/1.1; §6.3: a Transfer-Encoding that does not
        # end in chunked is refused, and what follows is never read as a second request.
        for request in (b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n",
                        b"GET /v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\n"
                        b"Authorization: Bearer b\r\n\r\n",
                        b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                        b"GET /healthz HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\r\n"
                        b"Idempotency-Key: b\r\n\r\n",
                        b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"
                        b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"):
            with self.subTest(request=request):
                reply = self.raw_exchange(request, read_timeout=5)
                self.assertTrue(reply.startswith(b"HTTP/1.1 400 "), reply[:100])
                self.assertEqual(len(re.findall(rb"(?:^|\r\n)HTTP/1\.1 \d{3} ", reply)), 1, reply)
        reply = self.raw_exchange(b"GET /healthz HTTP/1.0\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.0 200 "), reply[:100])
        reply = self.raw_exchange(b"POST /v1/me HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  b"0\r\n\r\n", read_timeout=5)
        self.assertTrue(reply.startswith(b"HTTP/1.0 400 "), reply[:100])

    def test_blank_lines_before_a_request_are_ignored(self):
        # RFC 9112 §2.2: a CRLF before the request line (some clients send one after a POST
        # body) is skipped, also between two requests on one connection, and split from the
        # request by TCP; a flood of blank lines is not.
        two = (b"\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
               b"\r\n\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = self.raw_exchange(two)
        self.assertEqual(reply.count(b"HTTP/1.1 200 OK\r\n"), 2, reply)
        with socket.create_connection((self.host, self.port), timeout=10) as s:
            s.sendall(b"\r\n")
            time.sleep(0.2)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            self.assertTrue(s.recv(65536).startswith(b"HTTP/1.1 200 "))
        reply = self.raw_exchange(b"\r\n" * 100 + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                                  read_timeout=5)
        self.assertTrue(reply.startswith(b"HTTP/1.1 400 "), reply[:100])

    def test_400_malformed_http(self):
        reply = self.raw_exchange(b"GET /v1/me HTTP/1.1\r\nBad Header\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 400 "), reply[:100])

    def test_keep_alive(self):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        for _ in range(5):
            conn.request("GET", "/v1/me", headers={"Authorization": f"Bearer {self.alice_token}"})
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            resp.read()
        conn.close()

    def test_revoked_token(self):
        p = self.p
        # Revoked before first use: refused at once.
        fresh = p.add_token("read", mailbox=ALICE)
        fresh_id = self.get_json("/v1/me", fresh)["token_id"]
        # (that call cached it; make another that is never used before revocation)
        created = p.cli("token", "add", "--mailbox", ALICE, "--scope", "read")
        unused = created.stdout.strip()
        unused_id = re.search(r"\b(tok_[0-9A-Z]{26})\b", created.stderr).group(1)
        p.cli("token", "revoke", unused_id)
        self.assertProblem("/v1/me", unused, 401)
        # Used, then revoked: refused within the documented cache TTL (5 s).
        p.cli("token", "revoke", fresh_id)
        start = time.monotonic()
        refused = harness.wait_for(lambda: self.request("/v1/me", fresh)[0] == 401, timeout=10,
                                   interval=0.25)
        self.assertTrue(refused, "revoked token still accepted after 10 s")
        self.assertLess(time.monotonic() - start, 7.5)
        _, h = self.assertProblem("/v1/me", fresh, 401)
        self.assertIn('error="invalid_token"', h["WWW-Authenticate"])


class ApiDaemonTest(unittest.TestCase):
    """Start-up, limits and shutdown of postern-apid itself."""

    def setUp(self):
        self.p = harness.Postern(config_overrides={
            "api.max_connections": 2, "api.idle_timeout_seconds": 1})
        self.addCleanup(self.p.close)
        self.p.add_domain("example.com")
        self.p.add_mailbox(ALICE)
        self.token = self.p.add_token("read", mailbox=ALICE)

    def test_files_and_sigterm(self):
        apid = self.p.start_apid()
        run = os.path.join(self.p.data, "run")
        with open(os.path.join(run, "postern-apid.pid")) as f:
            self.assertEqual(int(f.read().strip()), apid.pid)
        with open(os.path.join(run, "postern-apid.addr")) as f:
            line = f.read()
        self.assertRegex(line, r"^api 127\.0\.0\.1:\d+\n$")
        # A keep-alive connection that is idle does not hold the drain up.
        conn = http.client.HTTPConnection(*apid.addr("api"), timeout=10)
        conn.request("GET", "/healthz")
        self.assertEqual(conn.getresponse().read(), b'{"status":"ok"}')
        start = time.monotonic()
        self.assertEqual(apid.stop(), 0)
        self.assertLess(time.monotonic() - start, 5)
        self.assertFalse(os.path.exists(os.path.join(run, "postern-apid.addr")))
        conn.close()

    def test_idle_timeout_and_connection_cap(self):
        apid = self.p.start_apid()
        host, port = apid.addr("api")
        a = socket.create_connection((host, port), timeout=5)
        b = socket.create_connection((host, port), timeout=5)
        time.sleep(0.2)
        with socket.create_connection((host, port), timeout=5) as c:
            reply = c.recv(65536)
            self.assertTrue(reply.startswith(b"HTTP/1.1 503 "), reply[:80])
        # The idle ones are closed after idle_timeout_seconds = 1.
        start = time.monotonic()
        self.assertEqual(a.recv(10), b"")
        self.assertLess(time.monotonic() - start, 3)
        self.assertEqual(b.recv(10), b"")
        a.close()
        b.close()
        # Then new connections are served again.
        time.sleep(0.1)
        conn = http.client.HTTPConnection(host, port, timeout=5)
        conn.request("GET", "/healthz")
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()

    def test_startup_error_is_one_line(self):
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        self.addCleanup(blocker.close)
        self.p.set_config({"api.listen": f"127.0.0.1:{blocker.getsockname()[1]}"})
        proc = subprocess.run([harness.binary("postern-apid"), "--data", self.p.data],
                              capture_output=True, text=True, timeout=20)
        self.assertNotEqual(proc.returncode, 0)
        lines = [l for l in proc.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertIn("cannot listen on", lines[0])


if __name__ == "__main__":
    unittest.main()
