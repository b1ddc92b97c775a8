-- Version 2: domain onboarding. Each hosted domain gets DKIM keys (RSA-2048 and Ed25519), an
-- ownership token to publish at _postern-verify.<domain>, and the outcome of its last DNS check.
-- Sending from a domain needs ownership, SPF and DKIM verified.

ALTER TABLE domains ADD COLUMN dkim_selector TEXT NOT NULL DEFAULT 'postern';
ALTER TABLE domains ADD COLUMN ownership_token TEXT;
ALTER TABLE domains ADD COLUMN ownership_verified_at INTEGER;
ALTER TABLE domains ADD COLUMN spf_verified_at INTEGER;
ALTER TABLE domains ADD COLUMN dkim_verified_at INTEGER;
ALTER TABLE domains ADD COLUMN checked_at INTEGER;
ALTER TABLE domains ADD COLUMN last_check TEXT;        -- JSON: the per-record results

CREATE TABLE dkim_keys (
    id           TEXT PRIMARY KEY,                      -- dkk_…
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    domain_id    TEXT NOT NULL REFERENCES domains(id),
    selector     TEXT NOT NULL,
    algorithm    TEXT NOT NULL,                         -- rsa-sha256 | ed25519-sha256
    private_pem  TEXT NOT NULL,                         -- a secret: never logged or served
    public_b64   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (domain_id, selector)
) STRICT;
