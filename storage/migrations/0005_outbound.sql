-- Version 5: outbound mail. A sent message is stored once (its Sent-folder copy in `messages`,
-- its bytes in `blobs`, unsigned: DKIM signatures are added at dispatch); each recipient gets a
-- row in `deliveries`, the queue the runner in postern-smtpd works from.
CREATE TABLE deliveries (
    id               TEXT PRIMARY KEY,           -- dlv_…
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    mailbox_id       TEXT NOT NULL REFERENCES mailboxes(id),
    message_id       TEXT NOT NULL REFERENCES messages(id),  -- the Sent copy
    blob_sha256      TEXT NOT NULL REFERENCES blobs(sha256),
    envelope_from    TEXT NOT NULL,              -- MAIL FROM (the mailbox address; '' for DSNs)
    recipient        TEXT NOT NULL,              -- RCPT TO, as given
    domain           TEXT NOT NULL,              -- recipient domain, lowercase A-label
    -- queued (waiting for its first attempt) | deferred (4xx or no connection; retried) |
    -- delivered (250 to RCPT and end of data) | bounced (5xx, null MX, or out of time) |
    -- cancelled (deleted from the queue by an admin)
    state            TEXT NOT NULL DEFAULT 'queued',
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    next_attempt_at  INTEGER,                    -- NULL once final
    lease_until      INTEGER,                    -- a runner holds it until then (crash recovery)
    last_attempt_at  INTEGER,
    last_reply       TEXT,                       -- the remote reply (or our reason), one line
    last_host        TEXT,                       -- the host:port last tried
    delay_notified   INTEGER NOT NULL DEFAULT 0, -- a delay DSN was sent
    dsn_message_id   TEXT                        -- the DSN stored for a bounce or delay
) STRICT;
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX deliveries_by_message ON deliveries(message_id, id);
CREATE INDEX deliveries_by_tenant ON deliveries(tenant_id, id);

-- Idempotency-Key on POSTs that create or send (API.md): the first response is replayed for 24 h.
CREATE TABLE idempotency_keys (
    tenant_id       TEXT NOT NULL,
    principal       TEXT NOT NULL,               -- the token id that made the request
    key             TEXT NOT NULL,
    route           TEXT NOT NULL,               -- e.g. "POST /v1/mailboxes/{mailbox}/messages"
    request_sha256  TEXT NOT NULL,               -- of the request body
    status          INTEGER NOT NULL,
    response        TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, principal, key)
) STRICT, WITHOUT ROWID;
