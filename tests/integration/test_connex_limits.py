"""Connex limits against the real postern-apid, configured tight in postern.toml [connex]:
the per-tenant token bucket, the persistent daily event quota (which survives a restart), the
per-IP preview bucket, and body limits (the route's own and the server's). Every refusal is
problem+json; 429s carry Retry-After. The 200s are schema-checked with Ajv like
test_connex_api.py."""

import unittest

import connex_client
import harness

EVENT = {"app": "lim", "sourceSystem": "lim", "eventType": "inbound_reply",
         "message": {"subject": "pricing", "body": "How much does the pro plan cost?"}}


class ConnexLimitsTest(unittest.TestCase):
    cases = []

    @classmethod
    def setUpClass(cls):
        connex_client.ensure_validator()
        cls.p = p = harness.Postern(config_overrides={
            "connex.tenant_rate_per_second": 1,
            "connex.tenant_burst": 6,
            "connex.tenant_daily_events": 3,
            "connex.ip_rate_per_second": 1,
            "connex.ip_burst": 3,
            "connex.max_body_bytes": 8192,
            "connex.preview_max_body_bytes": 2048,
            "api.max_body_bytes": 65536,
        })
        try:
            cls.key = p.cli("token", "add", "--kind", "connex",
                            "--scope", "status:evaluate").stdout.strip()
            cls.key2 = p.cli("token", "add", "--kind", "connex",
                             "--scope", "status:evaluate").stdout.strip()
            cls.start()
        except BaseException:
            p.close()
            raise

    @classmethod
    def start(cls):
        cls.apid = cls.p.start_apid()
        cls.client = connex_client.Client(*cls.apid.addr("api"), cls.cases)

    @classmethod
    def tearDownClass(cls):
        cls.p.close()

    def post(self, path, body=None, token=None, raw=None):
        return self.client.call("POST", path, token, body, raw=raw)

    def assert429(self, status, headers, doc):
        self.assertEqual(status, 429, doc)
        self.assertGreaterEqual(int(headers["Retry-After"]), 1)
        self.assertEqual(doc["status"], 429)

    def until_refused(self, fn, attempts=20):
        for _ in range(attempts):
            status, headers, doc = fn()
            if status != 200:
                return status, headers, doc
        self.fail(f"no refusal after {attempts} requests")

    def test_a_daily_quota_is_persistent(self):
        for i in range(3):
            status, _, _ = self.post("/api/connex/integration-event",
                                     dict(EVENT, sourceEventId=f"q{i}"), self.key)
            self.assertEqual(status, 200)
        self.assert429(*self.post("/api/connex/integration-event",
                                  dict(EVENT, sourceEventId="q3"), self.key))
        # Replays are answered from storage: not new events, not counted.
        self.assertEqual(self.post("/api/connex/integration-event",
                                   dict(EVENT, sourceEventId="q0"), self.key2)[0], 200)
        # The quota is the tenant's: restarting the daemon does not reset the day.
        self.assertEqual(self.apid.stop(), 0)
        type(self).start()
        self.assert429(*self.post("/api/connex/integration-event",
                                  dict(EVENT, sourceEventId="q4"), self.key2))

    def test_b_tenant_rate_limit(self):
        status, headers, doc = self.until_refused(
            lambda: self.post("/api/connex/trust", token=self.key))
        self.assert429(status, headers, doc)
        # Both keys belong to the one tenant: the bucket is the tenant's, not the key's.
        self.assert429(*self.post("/api/connex/trust", token=self.key2))
        self.assertEqual(self.post("/api/connex/trust", token="")[0], 401)

    def test_c_preview_per_ip_and_size(self):
        self.assertEqual(self.post("/api/connex/integration-preview",
                                   raw=b"x" * 3000)[0], 413)
        status, headers, doc = self.until_refused(
            lambda: self.post("/api/connex/integration-preview", EVENT))
        self.assert429(status, headers, doc)

    def test_d_body_limits(self):
        big = dict(EVENT, message={"subject": "s", "body": "y" * 9000})
        status, _, doc = self.post("/api/connex/status", big, self.key)
        self.assertIn(status, (413, 429))  # the rate test may have drained the bucket
        if status == 413:
            self.assertEqual(doc["status"], 413)
        # Over the server's own limit, before any route runs.
        status, _, doc = self.post("/api/connex/integration-event", raw=b"{" + b" " * 70000,
                                   token=self.key)
        self.assertEqual(status, 413)

    def test_zz_responses_validate(self):
        ok, report = connex_client.validate(self.cases)
        print("\n" + report)
        self.assertTrue(ok, report)


if __name__ == "__main__":
    unittest.main()
