"""The Connex API end to end: the real postern-apid (and postern-smtpd for inbound mail) driven
with http.client and smtplib. Keys come from the real CLI (`postern token add --kind connex`).
Covers auth, scopes, the session stand-in, idempotency, tenant isolation, materialize_safe,
outcome learning, insights, trust, discovery and inbound-mail auto-evaluation. Every JSON
response is collected and, at the end, validated with Ajv (JSON Schema 2020-12) against the
seed contract's schemas (tests/schema/validate.mjs); any invalid response fails the run.
Rate limits, quotas and body limits are in test_connex_limits.py."""

import hashlib
import http.client
import json
import secrets
import smtplib
import time
import unittest

import connex_client
import harness
from connex_client import SEED

ALICE, BOB = "alice@example.com", "bob@example.com"


def event(source_event_id=None, body="Can you confirm terms before we proceed?", **extra):
    e = {"app": "your-saas", "sourceSystem": "your-saas", "eventType": "inbound_reply",
         "message": {"subject": "Need approval before moving forward", "body": body}}
    if source_event_id:
        e["sourceEventId"] = source_event_id
    e.update(extra)
    return e


def add_tenant_with_key(p):
    """A second tenant and a Connex key for it, written the way storage writes them (the CLI
    manages only the default tenant)."""
    secret = "cxk_live_" + secrets.token_urlsafe(32)
    now = int(time.time() * 1000)
    tenant = "ten_01J" + "0" * 22 + "9"
    with p.db() as conn:
        conn.execute("INSERT INTO tenants(id, name, created_at) VALUES (?, 'other', ?)",
                     (tenant, now))
        conn.execute("INSERT INTO tokens(id, tenant_id, kind, token_hash, hint, scopes, "
                     "created_at) VALUES ('tok_01J000000000000000000000TH', ?, 'connex', ?, "
                     "'cxk_live_…', 'status:evaluate', ?)",
                     (tenant, hashlib.sha256(secret.encode()).hexdigest(), now))
    return tenant, secret


class ConnexApiTest(unittest.TestCase):
    cases = []  # every JSON response, for the schema check at the end

    @classmethod
    def setUpClass(cls):
        connex_client.ensure_validator()
        cls.p = p = harness.Postern()
        try:
            p.add_domain("example.com")
            p.add_mailbox(ALICE)
            p.add_mailbox(BOB)
            cls.key = p.cli("token", "add", "--kind", "connex",
                            "--scope", "status:evaluate").stdout.strip()
            cls.admin = p.add_token("admin")
            cls.reader = p.add_token("email:read")
            p.cli("mailbox", "set", ALICE, "--connex-auto-evaluate", "on")
            cls.smtpd = p.start_smtpd()
            cls.apid = p.start_apid()
            cls.host, cls.port = cls.apid.addr("api")
            cls.client = connex_client.Client(cls.host, cls.port, cls.cases)
        except BaseException:
            p.close()
            raise

    @classmethod
    def tearDownClass(cls):
        rc = cls.apid.stop()
        cls.p.close()
        assert rc == 0, f"postern-apid exited with {rc}"

    # -- helpers -------------------------------------------------------------------------
    def call(self, *args, **kw):
        return self.client.call(*args, **kw)

    def post(self, path, body=None, token=None, **kw):
        return self.call("POST", path, token if token is not None else self.key, body, **kw)

    def send_mail(self, to, subject, text):
        raw = (f"From: Buyer <buyer@remote.example>\r\nTo: {to}\r\nSubject: {subject}\r\n"
               f"Message-ID: <{secrets.token_hex(8)}@remote.example>\r\n\r\n{text}\r\n").encode()
        with smtplib.SMTP(*self.smtpd.addr("mx"), timeout=30) as s:
            self.assertEqual(s.sendmail("buyer@remote.example", [to], raw), {})

    def message_ids(self, address):
        return [r[0] for r in self.p.db().execute(
            "SELECT m.id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id "
            "WHERE b.address_key = ? ORDER BY m.id", (address,))]

    # -- tests ---------------------------------------------------------------------------
    def test_auth_and_scopes(self):
        route = "/api/connex/integration-event"
        status, h, _ = self.post(route, event("a1"), token="")
        self.assertEqual(status, 401)
        self.assertIn("Bearer", h["WWW-Authenticate"])
        self.assertEqual(self.post(route, event("a1"), token="cxk_live_wrong")[0], 401)
        self.assertEqual(self.post(route, event("a1"), token=self.reader)[0], 401)  # pst_ token
        self.assertEqual(self.call("GET", "/v1/mailboxes", self.key)[0], 401)
        # A key that lost its scope (no creation path makes one; the row can say so).
        weak = self.p.cli("token", "add", "--kind", "connex", "--scope", "status:evaluate",
                          "--label", "weak").stdout.strip()
        with self.p.db() as conn:
            conn.execute("UPDATE tokens SET scopes = 'connex:none' WHERE label = 'weak'")
        status, _, doc = self.post(route, event("a1"), token=weak)
        self.assertEqual(status, 403)
        self.assertIn("status:evaluate", doc["detail"])
        status, _, doc = self.post("/api/connex/key-check", token=weak)
        self.assertEqual(status, 200)
        self.assertFalse(any(e["enabled"] for e in doc["enabledEndpoints"]
                             if e["scope"] == "status:evaluate"))
        status, _, doc = self.post("/api/connex/key-check")
        self.assertEqual(doc["caller"]["type"], "service_key")
        self.assertNotIn(self.key, json.dumps(doc))
        # The CLI refuses a mailbox-bound Connex key.
        r = self.p.cli("token", "add", "--kind", "connex", "--scope", "status:evaluate",
                       "--mailbox", ALICE, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("tenant-wide", r.stderr)

    def test_idempotency(self):
        route = "/api/connex/integration-event"
        s1, h1, first = self.post(route, event("idem-1"))
        self.assertEqual(s1, 200)
        self.assertIsNone(h1["Idempotent-Replayed"])
        s2, h2, second = self.post(route, event("idem-1"))
        self.assertEqual((s2, h2["Idempotent-Replayed"]), (200, "true"))
        self.assertEqual(first, second)
        self.assertEqual(self.post(route, event("idem-1", body="Different text"))[0], 409)
        self.assertEqual(self.p.count(
            "SELECT count(*) FROM connex_events WHERE source_event_id = 'idem-1'"), 1)

    def test_tenant_isolation(self):
        tenant, other_key = add_tenant_with_key(self.p)
        _, _, mine = self.post("/api/connex/integration-event", event("iso-1"))
        status, h, theirs = self.post("/api/connex/integration-event", event("iso-1"),
                                      token=other_key)
        self.assertEqual(status, 200)
        self.assertIsNone(h["Idempotent-Replayed"])
        self.assertEqual(theirs["tenantId"], tenant)
        op = mine["status"]["operations"][0]["id"]
        _, _, out = self.post("/api/connex/integration-outcome", {
            "sourceSystem": "your-saas", "sourceOutcomeId": "iso-o1", "outcomeType":
            "manual_override", "valueScore": -5, "operationId": op,
            "integrationEventId": mine["integrationEventId"]}, token=other_key)
        self.assertFalse(out["persistence"]["operation"]["matched"])
        _, _, ins = self.post("/api/connex/integration-insights", {}, token=other_key)
        self.assertEqual((ins["tenantId"], ins["summary"]["events"]), (tenant, 1))
        _, _, trust = self.post("/api/connex/trust", token=other_key)
        self.assertEqual(trust["tenantId"], tenant)

    def test_materialize_safe_dispatches_internally(self):
        status, _, doc = self.post("/api/connex/integration-event",
                                   event("mat-1", applyMode="materialize_safe"))
        self.assertEqual(status, 200)
        m = doc["materialization"]
        self.assertTrue(m["materialized"])
        ids = [d["dispatchId"] for d in m["dispatches"]]
        self.assertTrue(ids)
        self.assertTrue(all(d["external"] is False for d in m["dispatches"]))
        rows = self.p.db().execute(
            "SELECT id, external, status FROM connex_dispatch WHERE event_id = ?",
            (doc["integrationEventId"],)).fetchall()
        self.assertEqual(sorted(r[0] for r in rows), sorted(ids))
        self.assertTrue(all(r[1] == 0 for r in rows))
        # Each dispatch has its audit row (by the calling key) beside its event.
        for dispatch_id in ids:
            actors = [r[0] for r in self.p.db().execute(
                "SELECT actor FROM audit_log WHERE action = 'connex.dispatch.create' "
                "AND target = ?", (dispatch_id,))]
            self.assertEqual(len(actors), 1, dispatch_id)
            self.assertTrue(actors[0], dispatch_id)
            self.assertEqual(self.p.count(
                "SELECT count(*) FROM events WHERE type = 'connex.dispatch.created' "
                "AND data LIKE ?", f'%"{dispatch_id}"%'), 1)
        # Nothing was sent: no message left the server and no outbound row exists.
        self.assertEqual(self.p.count("SELECT count(*) FROM messages WHERE folder = 'sent'"), 0)
        self.assertIn("send_email", doc["status"]["canonical"]["blockedActions"])

    def test_outcome_learning_shows_in_later_evaluations_and_insights(self):
        body = "Here is the proof of funds letter from our lender, and the bank statement."
        _, _, first = self.post("/api/connex/integration-event",
                                event("learn-1", body=body, sourceSystem="learn-app"))
        conf = first["status"]["canonical"]["confidence"]
        upd = [o["id"] for o in first["status"]["operations"] if o["type"] == "route_inbox"][0]
        _, _, applied = self.post("/api/connex/integration-outcome", {
            "sourceSystem": "learn-app", "sourceOutcomeId": "l-op", "operationId": upd,
            "outcomeType": "operation_applied", "valueScore": 10})
        self.assertEqual(applied["persistence"]["operation"],
                         {"requestedOperationId": upd, "matched": True, "appliedStatus": "applied"})
        for i in range(3):
            status, _, out = self.post("/api/connex/integration-outcome", {
                "sourceSystem": "learn-app", "sourceOutcomeId": f"l-bad-{i}",
                "integrationEventId": first["integrationEventId"],
                "outcomeType": "bad_classification", "valueScore": -40,
                "payload": {"correctStatus": "documents_provided"}})
            self.assertEqual(status, 200)
            self.assertEqual(out["persistence"]["learningSignal"], "negative_classification_signal")
        _, _, later = self.post("/api/connex/integration-event",
                                event("learn-2", body=body, sourceSystem="learn-app"))
        self.assertLess(later["status"]["canonical"]["confidence"], conf)
        _, _, ins = self.post("/api/connex/integration-insights",
                              {"sourceSystem": "learn-app", "limit": 10})
        self.assertEqual(ins["summary"]["events"], 2)
        self.assertEqual(ins["summary"]["outcomes"], 4)
        self.assertEqual(ins["filters"]["sourceSystem"], "learn-app")
        self.assertTrue(any(s["badClassifications"] == 3 and s["confidenceAdjustment"] < 0
                            for s in ins["byStatus"]))
        self.assertEqual(self.post("/api/connex/integration-insights", {"limit": 101})[0], 400)
        _, _, trust = self.post("/api/connex/trust")
        self.assertGreaterEqual(trust["signals"]["badClassifications"], 3)

    def test_inbound_mail_is_evaluated_when_the_mailbox_says_so(self):
        self.send_mail(ALICE, "Proof of funds", "Please send a proof of funds letter first.")
        self.send_mail(BOB, "Proof of funds", "Please send a proof of funds letter first.")
        alice_id, bob_id = self.message_ids(ALICE)[-1], self.message_ids(BOB)[-1]
        msg = harness.wait_for(lambda: (lambda d: d if d["connex"] else None)(
            self.call("GET", f"/v1/messages/{alice_id}", self.reader,
                      pattern="/v1/messages/{id}")[2]))
        self.assertIsNotNone(msg, "no evaluation appeared")
        self.assertEqual(msg["connex"]["status"], "proof_of_funds_requested")
        self.cases.append({"name": "stored evaluation", "schema": "connex:IntegrationEventResponse",
                           "body": msg["connex"]["result"]})
        self.assertEqual(msg["connex"]["result"]["shadowMessage"]["messageId"], alice_id)
        _, _, bob = self.call("GET", f"/v1/messages/{bob_id}", self.reader,
                              pattern="/v1/messages/{id}")
        self.assertIsNone(bob["connex"])
        self.assertEqual(self.p.count(
            "SELECT count(*) FROM events WHERE type = 'message.evaluated' AND data LIKE ?",
            f"%{alice_id}%"), 1)
        # `postern mailbox set` recorded its change like the API does: the event names the
        # mailbox (a repeat would have changed nothing and written nothing).
        self.assertEqual(self.p.count(
            "SELECT count(*) FROM events e JOIN mailboxes m ON m.id = e.mailbox_id "
            "WHERE e.type = 'mailbox.updated' AND m.address = ? "
            "AND json_extract(e.data, '$.mailbox_id') = m.id", ALICE), 1)
        # The setting over the API too; the evaluator passes Bob's mail while it is off.
        status, _, mbx = self.call("PATCH", f"/v1/mailboxes/{BOB}", self.admin,
                                   {"connex_auto_evaluate": True},
                                   pattern="/v1/mailboxes/{mailbox}")
        self.assertEqual((status, mbx["connex_auto_evaluate"]), (200, True))
        # null is the setting left out: a request that names nothing to change.
        status, _, e = self.call("PATCH", f"/v1/mailboxes/{BOB}", self.admin,
                                 {"connex_auto_evaluate": None}, pattern="/v1/mailboxes/{mailbox}")
        self.assertEqual((status, [x["field"] for x in e["errors"]]), (400, ["body"]), e)
        self.call("PATCH", f"/v1/mailboxes/{BOB}", self.admin, {"connex_auto_evaluate": False},
                  pattern="/v1/mailboxes/{mailbox}")

    def test_discovery_contract_and_describing_gets(self):
        _, _, d = self.call("GET", "/.well-known/connex-agent")
        paths = {(e["method"], e["path"]) for e in d["endpoints"]}
        with open(SEED, "rb") as f:
            seed_bytes = f.read()
        seed = json.loads(seed_bytes)
        for path, item in seed["paths"].items():
            for method in item:
                self.assertIn((method.upper(), path), paths)
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        conn.request("GET", "/api/connex/openapi")
        self.assertEqual(conn.getresponse().read(), seed_bytes)
        conn.close()
        for path, item in seed["paths"].items():
            if "get" in item and item["get"]["security"] == []:
                status, _, _ = self.call("GET", path)
                self.assertEqual(status, 200, path)
        status, _, prev = self.call("POST", "/api/connex/integration-preview", body=event())
        self.assertEqual(status, 200)
        # Summary only: matched signal names, never the subject or body.
        text = json.dumps(prev)
        self.assertNotIn("Can you confirm terms before we proceed?", text)
        self.assertNotIn("Need approval before moving forward", text)

    def test_account_gated_routes_take_an_admin_token(self):
        self.assertEqual(self.call("GET", "/api/connex/service-keys", self.key)[0], 401)
        self.assertEqual(self.call("GET", "/api/connex/service-keys", self.reader)[0], 403)
        status, _, created = self.post("/api/connex/service-keys", {"label": "it"},
                                       token=self.admin)
        self.assertEqual(status, 200)
        self.assertTrue(created["key"].startswith("cxk_live_"))
        self.assertEqual(self.post("/api/connex/key-check", token=created["key"])[0], 200)
        _, _, keys = self.call("GET", "/api/connex/service-keys", self.admin)
        self.assertNotIn(created["key"], json.dumps(keys))
        self.assertEqual(self.post("/api/connex/status",
                                   {"app": "a", "message": {"subject": "s", "body": "how much?"}},
                                   token=self.admin)[0], 200)
        _, _, disp = self.post("/api/connex/dispatch", {"type": "send_email"}, token=self.admin)
        self.assertEqual((disp["status"], disp["external"]), ("blocked", False))
        # Each writes its audit row and its event (API.md), the key's secret in neither.
        self.assertEqual(self.p.count(
            "SELECT count(*) FROM audit_log WHERE action = 'connex.dispatch.create' AND target = ?",
            disp["dispatchId"]), 1)
        self.assertEqual(self.p.count(
            "SELECT count(*) FROM events WHERE type = 'connex.dispatch.created' AND data LIKE ?",
            f'%{disp["dispatchId"]}%'), 1)
        self.assertEqual(self.p.count(
            "SELECT count(*) FROM events WHERE type = 'token.created' AND data LIKE ?",
            f'%{created["record"]["id"]}%'), 1)
        self.assertEqual(self.p.count("SELECT count(*) FROM events WHERE data LIKE ?",
                                      f'%{created["key"]}%'), 0)
        self.assertEqual(self.post("/api/connex/graph-event", {"kind": "met", "from": "a",
                                                               "to": "b"}, token=self.admin)[0], 200)
        self.assertEqual(self.call("GET", "/api/connex/intelligence", self.admin)[0], 200)
        self.assertEqual(self.call("GET", "/api/connex/reasoning")[0], 200)

    def test_zz_every_response_validates_against_the_contract(self):
        """Runs last (unittest sorts by name): Ajv over everything the other tests received."""
        self.assertGreater(len(self.cases), 20)
        ok, report = connex_client.validate(self.cases)
        print("\n" + report)
        self.assertTrue(ok, report)


if __name__ == "__main__":
    unittest.main()
