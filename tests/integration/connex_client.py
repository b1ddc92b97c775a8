"""Shared by the Connex integration tests: an HTTP client that records every JSON response with
the schema it must satisfy, and the Ajv run (tests/schema/validate.mjs) that checks them."""

import http.client
import json
import os
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCHEMA_DIR = os.path.join(ROOT, "tests", "schema")
SEED = os.path.join(ROOT, "tests", "data", "connex", "openapi.json")

# (method, route pattern, status) -> "doc:Schema" (see validate.mjs). Problem bodies (4xx/5xx)
# are checked against Postern's Problem schema: the contract gives its errors no schema.
SCHEMAS = {
    ("POST", "/api/connex/status", 200): "connex:StatusEvaluationResponse",
    ("POST", "/api/connex/key-check", 200): "connex:KeyCheckResponse",
    ("POST", "/api/connex/integration-event", 200): "connex:IntegrationEventResponse",
    ("POST", "/api/connex/integration-preview", 200): "connex:IntegrationPreviewResponse",
    ("POST", "/api/connex/integration-outcome", 200): "connex:IntegrationOutcomeResponse",
    ("POST", "/api/connex/integration-insights", 200): "connex:IntegrationInsightsResponse",
    ("POST", "/api/connex/trust", 200): "connex:TrustResponse",
    ("GET", "/api/connex/reasoning", 200): "connex:ReasoningStatusResponse",
    ("GET", "/v1/messages/{id}", 200): "postern:Message",
    ("PATCH", "/v1/mailboxes/{mailbox}", 200): "postern:Mailbox",
}


def ensure_validator():
    """`npm ci` into tests/schema unless its node_modules already hold the locked Ajv."""
    with open(os.path.join(SCHEMA_DIR, "package-lock.json")) as f:
        want = json.load(f)["packages"]["node_modules/ajv"]["version"]
    have = os.path.join(SCHEMA_DIR, "node_modules", "ajv", "package.json")
    if os.path.exists(have):
        with open(have) as f:
            if json.load(f)["version"] == want:
                return
    subprocess.run(["npm", "ci", "--prefix", SCHEMA_DIR, "--no-audit", "--no-fund",
                    "--prefer-offline"], check=True, capture_output=True, timeout=300)


def validate(cases):
    """Runs Ajv over the recorded cases; returns (ok, report)."""
    proc = subprocess.run(["node", os.path.join(SCHEMA_DIR, "validate.mjs")],
                          input=json.dumps(cases), capture_output=True, text=True, timeout=120)
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


class Client:
    """One request per connection; never raises on 4xx/5xx."""

    def __init__(self, host, port, cases):
        self.host, self.port, self.cases = host, port, cases

    def call(self, method, path, token=None, body=None, pattern=None, raw=None, remote=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (
            json.dumps(body).encode() if body is not None else None)
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            status, hdrs, text = resp.status, resp.headers, resp.read()
        finally:
            conn.close()
        doc = json.loads(text) if text else None
        schema = SCHEMAS.get((method, pattern or path, status))
        if schema is None and status >= 400:
            if hdrs["Content-Type"] != "application/problem+json":
                raise AssertionError(f"{method} {path} {status}: not problem+json")
            schema = "postern:Problem"
        if schema and doc is not None:
            self.cases.append({"name": f"{method} {path} {status}", "schema": schema,
                               "body": doc})
        return status, hdrs, doc
