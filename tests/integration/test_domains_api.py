"""Domain onboarding over REST against a real DNS server: an admin token creates a domain with
POST /v1/domains, reads its records as JSON and as a BIND zone snippet, we publish the snippet in
a zone served by nsd on loopback, and POST /v1/domains/{id}/verify looks every record up through
Postern's resolver: all ok (and the domain may send). Then one record is altered and verify must
name it. Mailbox tokens get 403 on every domain route. Responses are checked with Ajv against
apid/openapi.json."""

import base64
import http.client
import json
import tempfile
import unittest

import connex_client
import harness
import nsd_server

DOMAIN = "agents.example.org"
HOST = "mx.postern.example"
SCHEMAS = {
    ("POST", "create", 201): "postern:Domain",
    ("GET", "list", 200): "postern:DomainList",
    ("GET", "get", 200): "postern:Domain",
    ("GET", "records", 200): "postern:DomainRecords",
    ("POST", "verify", 200): "postern:DomainVerification",
}


@unittest.skipUnless(nsd_server.available(), "nsd is not installed")
class DomainsApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        connex_client.ensure_validator()
        cls.cases = []

    @classmethod
    def tearDownClass(cls):
        assert len(cls.cases) >= 5, "too few responses were checked against the schemas"
        ok, report = connex_client.validate(cls.cases)
        assert ok, report

    def setUp(self):
        self.p = harness.Postern(hostname=HOST)
        self.addCleanup(self.p.close)
        self.p.add_domain("example.com")
        self.p.add_mailbox("alice@example.com")
        self.admin = self.p.add_token("admin")
        self.mailbox_admin = self.p.add_token("admin", mailbox="alice@example.com")
        self.zones = tempfile.mkdtemp(prefix="postern-zones-")
        self.start_apid()

    def start_apid(self):
        if getattr(self, "apid", None):
            self.assertEqual(self.apid.stop(), 0)
        self.apid = self.p.start_apid()
        self.host, self.port = self.apid.addr("api")

    def call(self, method, path, token, body=None, kind=None):
        h = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, path, body=json.dumps(body).encode() if body is not None
                         else None, headers=h)
            resp = conn.getresponse()
            status, hdrs, text = resp.status, resp.headers, resp.read()
        finally:
            conn.close()
        doc = None
        if hdrs["Content-Type"] in ("application/json", "application/problem+json"):
            doc = json.loads(text)
            schema = SCHEMAS.get((method, kind, status))
            if status >= 400:
                schema = "postern:Problem"
            if schema:
                self.cases.append({"name": f"{method} {path} {status}", "schema": schema,
                                   "body": doc})
        else:
            doc = text.decode()
        return status, hdrs, doc

    def serve_and_restart(self, records):
        """Starts nsd with DOMAIN's zone holding `records`, points apid's resolver at it."""
        paths = [nsd_server.zone_file(self.zones, DOMAIN, records),
                 nsd_server.zone_file(self.zones, "postern.example", [f"{HOST}. IN A 127.0.0.1"])]
        nsd = nsd_server.Nsd(paths, only_zones=[DOMAIN, "postern.example"])
        self.addCleanup(nsd.stop)
        self.p.set_config({"dns.servers": f"127.0.0.1:{nsd.port}", "dns.timeout_ms": 500,
                           "dns.tries": 2})
        self.start_apid()
        return nsd

    def create(self):
        status, _, d = self.call("POST", "/v1/domains", self.admin,
                                 {"name": DOMAIN, "dkim_selector": "agent"}, kind="create")
        self.assertEqual(status, 201, d)
        return d

    def verify(self, domain_id):
        status, _, v = self.call("POST", f"/v1/domains/{domain_id}/verify", self.admin,
                                 kind="verify")
        self.assertEqual(status, 200, v)
        return v, {(r["kind"], r["name"]): r for r in v["records"]}

    def test_create_records_publish_verify(self):
        d = self.create()
        self.assertTrue(d["id"].startswith("dom_"))
        self.assertEqual(d["name"], DOMAIN)
        self.assertFalse(d["can_send"])
        self.assertNotIn("PRIVATE", json.dumps(d))
        kinds = sorted(r["kind"] for r in d["records"])
        self.assertEqual(kinds, ["dkim", "dkim", "dmarc", "mx", "ownership", "spf"])
        selectors = sorted(r["selector"] for r in d["records"] if r["kind"] == "dkim")
        self.assertEqual(selectors, ["agent-ed25519", "agent-rsa"])
        owner = [r for r in d["records"] if r["kind"] == "ownership"][0]
        self.assertEqual(owner["name"], f"_postern-verify.{DOMAIN}")
        mx = [r for r in d["records"] if r["kind"] == "mx"][0]
        self.assertIn(HOST, mx["value"])

        # The same name again: 409. Bad input: 422 naming the field.
        status, _, e = self.call("POST", "/v1/domains", self.admin, {"name": DOMAIN})
        self.assertEqual(status, 409, e)
        status, _, e = self.call("POST", "/v1/domains", self.admin, {"name": "no dots"})
        self.assertEqual(status, 422, e)
        self.assertEqual(e["errors"][0]["field"], "name")
        # null is a field left out: a missing name, the default selector.
        status, _, e = self.call("POST", "/v1/domains", self.admin, {"name": None})
        self.assertEqual((status, e["errors"][0]["field"]), (422, "name"), e)
        status, _, e = self.call("POST", "/v1/domains", self.admin, {"name": 7})
        self.assertEqual((status, e["errors"][0]["field"]), (400, "name"), e)
        status, _, other = self.call("POST", "/v1/domains", self.admin,
                                     {"name": "nulls." + DOMAIN, "dkim_selector": None})
        self.assertEqual(status, 201, other)
        self.assertEqual(sorted(r["selector"] for r in other["records"] if r["kind"] == "dkim"),
                         ["postern-ed25519", "postern-rsa"])

        status, _, listed = self.call("GET", "/v1/domains", self.admin, kind="list")
        self.assertEqual(status, 200)
        self.assertIn(d["id"], [x["id"] for x in listed["data"]])
        status, _, recs = self.call("GET", f"/v1/domains/{d['id']}/records", self.admin,
                                    kind="records")
        self.assertEqual(status, 200)
        self.assertEqual(recs["records"], d["records"])
        status, hdrs, zone = self.call("GET", f"/v1/domains/{d['id']}/records?format=zone",
                                       self.admin)
        self.assertEqual(status, 200)
        self.assertTrue(hdrs["Content-Type"].startswith("text/plain"))
        lines = [line for line in zone.splitlines() if line and not line.startswith(";")]
        self.assertEqual(len(lines), 6, zone)

        # Publish exactly the snippet; verify: all ok, and the domain may send.
        self.serve_and_restart(lines)
        v, results = self.verify(d["id"])
        self.assertEqual(len(results), 6)
        for r in results.values():
            self.assertEqual(r["status"], "ok", r)
        self.assertTrue(v["ok"])
        self.assertTrue(v["can_send"])
        status, _, got = self.call("GET", f"/v1/domains/{d['id']}", self.admin, kind="get")
        self.assertTrue(got["can_send"])
        self.assertIsNotNone(got["checked_at"])

        # Alter the Ed25519 key: verify names that record as a mismatch, the rest stay ok.
        altered = [line.replace("k=ed25519; p=", "k=ed25519; p=AAAA") for line in lines]
        self.serve_and_restart(altered)
        v, results = self.verify(d["id"])
        self.assertFalse(v["ok"])
        bad = {(k[0], r["status"]) for k, r in results.items() if r["status"] != "ok"}
        self.assertEqual(bad, {("dkim", "mismatch")})
        wrong = [r for r in results.values() if r["status"] != "ok"][0]
        self.assertTrue(wrong["name"].startswith("agent-ed25519._domainkey."))
        self.assertTrue(wrong["hint"])
        self.assertFalse(v["verified"]["dkim"])

    def test_list_pages_in_creation_order(self):
        d = self.create()
        status, _, page1 = self.call("GET", "/v1/domains?limit=1", self.admin, kind="list")
        self.assertEqual(status, 200, page1)
        self.assertEqual(len(page1["data"]), 1)
        self.assertEqual(page1["data"][0]["name"], "example.com")  # created in setUp
        self.assertTrue(page1["next_cursor"])
        status, _, page2 = self.call("GET", f"/v1/domains?limit=1&cursor={page1['next_cursor']}",
                                     self.admin, kind="list")
        self.assertEqual(status, 200, page2)
        self.assertEqual([x["id"] for x in page2["data"]], [d["id"]])
        self.assertIsNone(page2["next_cursor"])
        status, _, whole = self.call("GET", "/v1/domains", self.admin, kind="list")
        self.assertEqual([x["id"] for x in whole["data"]],
                         [page1["data"][0]["id"], d["id"]])
        # Another tenant's or another kind of list's cursor, garbage, and bad limits are 400s
        # naming the parameter.
        def cursor(text):
            return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
        tenant = self.p.count("SELECT tenant_id FROM domains WHERE id = ?", d["id"])
        self.assertEqual(page1["next_cursor"], cursor(f"d:{tenant}:{page1['data'][0]['id']}"))
        for query, field in ((f"cursor={cursor('d:ten_other:' + d['id'])}", "cursor"),
                             (f"cursor={cursor(f'b:{tenant}:' + d['id'])}", "cursor"),
                             ("cursor=bm9wZQ", "cursor"), ("limit=0", "limit"),
                             ("limit=501", "limit"), ("sort=name", "sort")):
            status, _, e = self.call("GET", f"/v1/domains?{query}", self.admin)
            self.assertEqual(status, 400, (query, e))
            self.assertEqual([x["field"] for x in e["errors"]], [field], query)

    def test_mailbox_tokens_get_403(self):
        d = self.create()
        for method, path in [("POST", "/v1/domains"), ("GET", "/v1/domains"),
                             ("GET", f"/v1/domains/{d['id']}"),
                             ("GET", f"/v1/domains/{d['id']}/records"),
                             ("POST", f"/v1/domains/{d['id']}/verify")]:
            status, _, e = self.call(method, path, self.mailbox_admin,
                                     {"name": "x.example"} if method == "POST" else None)
            self.assertEqual(status, 403, (method, path, e))
        # A tenant-wide token without admin: 403 too. An unknown id: 404.
        reader = self.p.add_token("email:read")
        status, _, _ = self.call("GET", "/v1/domains", reader)
        self.assertEqual(status, 403)
        status, _, _ = self.call("GET", "/v1/domains/dom_01ARZ3NDEKTSV4RRFFQ69G5FAV", self.admin)
        self.assertEqual(status, 404)


if __name__ == "__main__":
    unittest.main()
