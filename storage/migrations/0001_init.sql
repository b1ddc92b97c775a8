-- Postern schema, version 1: tenants, domains, mailboxes, tokens, stored mail, threads,
-- the events outbox and the append-only audit log.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE domains (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL UNIQUE,          -- lowercase, A-label
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX domains_by_tenant ON domains(tenant_id, id);

CREATE TABLE mailboxes (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    domain_id   TEXT NOT NULL REFERENCES domains(id),
    address     TEXT NOT NULL,                 -- as created (display form)
    address_key TEXT NOT NULL UNIQUE,          -- lowercase local part @ domain, for lookups
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX mailboxes_by_tenant ON mailboxes(tenant_id, id);

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    mailbox_id   TEXT REFERENCES mailboxes(id),  -- NULL: tenant-wide
    kind         TEXT NOT NULL,                  -- 'mailbox' (more kinds later)
    token_hash   TEXT NOT NULL UNIQUE,           -- SHA-256 hex of the whole secret
    hint         TEXT NOT NULL,                  -- the visible prefix and last 4 characters
    scopes       TEXT NOT NULL,                  -- space separated
    label        TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER
) STRICT;
CREATE INDEX tokens_by_tenant ON tokens(tenant_id, id);

-- Raw messages, stored once and content-addressed.
CREATE TABLE blobs (
    sha256      TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    data        BLOB NOT NULL
) STRICT;

CREATE TABLE threads (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    mailbox_id       TEXT NOT NULL REFERENCES mailboxes(id),
    subject          TEXT NOT NULL,
    subject_key      TEXT NOT NULL,   -- normalised subject
    participants_key TEXT NOT NULL,   -- sorted distinct addresses
    message_count    INTEGER NOT NULL,
    last_message_id  TEXT NOT NULL,   -- newest message id; orders the thread list
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX threads_by_key ON threads(mailbox_id, subject_key, participants_key, last_message_id);
CREATE INDEX threads_by_recent ON threads(mailbox_id, last_message_id DESC);

CREATE TABLE messages (
    id               TEXT PRIMARY KEY,            -- msg_…, sorts by arrival
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    mailbox_id       TEXT NOT NULL REFERENCES mailboxes(id),
    thread_id        TEXT NOT NULL REFERENCES threads(id),
    blob_sha256      TEXT NOT NULL REFERENCES blobs(sha256),
    folder           TEXT NOT NULL DEFAULT 'inbox',
    message_id_hdr   TEXT,                        -- Message-ID without <>
    in_reply_to      TEXT,
    references_hdr   TEXT,                        -- space separated ids
    from_json        TEXT NOT NULL,               -- [{"name","address"}]
    to_json          TEXT NOT NULL,
    cc_json          TEXT NOT NULL,
    subject          TEXT NOT NULL,
    date             INTEGER,                     -- the Date header, Unix ms
    received_at      INTEGER NOT NULL,
    size             INTEGER NOT NULL,
    snippet          TEXT NOT NULL,
    has_attachments  INTEGER NOT NULL,
    flags            TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings
    envelope_from    TEXT NOT NULL,
    envelope_to      TEXT NOT NULL
) STRICT;
CREATE INDEX messages_by_mailbox ON messages(mailbox_id, id DESC);
CREATE INDEX messages_by_thread ON messages(thread_id, id DESC);
CREATE INDEX messages_by_msgid ON messages(mailbox_id, message_id_hdr);

-- The events outbox: written in the same transaction as the change it reports.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    tenant_id   TEXT NOT NULL,
    mailbox_id  TEXT,
    type        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    data        TEXT NOT NULL
) STRICT;

CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   TEXT NOT NULL,
    actor       TEXT NOT NULL,     -- 'cli', or a token id
    action      TEXT NOT NULL,     -- e.g. 'token.create'
    target      TEXT,
    created_at  INTEGER NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
