-- Version 3: Connex (docs/connex-api.md). Evaluated integration events, idempotent per source
-- event; the operation ledger; materialised internal dispatch records (never an external send);
-- outcomes; each tenant's learned weights; graph events; per-mailbox settings; stored message
-- evaluations; and the cursors of outbox consumers.

CREATE TABLE connex_events (
    id                 TEXT PRIMARY KEY,             -- cxe_…
    tenant_id          TEXT NOT NULL REFERENCES tenants(id),
    source_system      TEXT NOT NULL,                -- sourceSystem, else app
    source_event_id    TEXT,                         -- NULL: the event is not idempotent
    request_hash       TEXT NOT NULL,                -- SHA-256 of the request as parsed
    app                TEXT NOT NULL,
    event_type         TEXT,
    object_type        TEXT,
    object_id          TEXT,
    message_id         TEXT,                         -- msg_… when evaluated from stored mail
    canonical_status   TEXT NOT NULL,
    current_status     TEXT,
    mapped_status      TEXT,
    confidence_pct     INTEGER NOT NULL,             -- canonical.confidence × 100
    apply_mode         TEXT NOT NULL,                -- recommend | materialize_safe
    reasoning_provider TEXT NOT NULL DEFAULT 'deterministic',
    result             TEXT NOT NULL,                -- the IntegrationEventResponse as returned
    created_at         INTEGER NOT NULL,
    UNIQUE (tenant_id, source_system, source_event_id)
) STRICT;
CREATE INDEX connex_events_by_tenant ON connex_events(tenant_id, created_at);

-- The operation ledger: every AppOperation returned, and what the app reported doing with it.
CREATE TABLE connex_operations (
    tenant_id   TEXT NOT NULL,
    id          TEXT NOT NULL,                       -- op_… as returned
    event_id    TEXT NOT NULL REFERENCES connex_events(id),
    type        TEXT NOT NULL,
    bucket      TEXT NOT NULL,                       -- autoApply | humanReview | blocked | drafts
    status      TEXT NOT NULL DEFAULT 'recommended'  -- the contract's appliedStatus values
        CHECK (status IN ('recommended', 'applied', 'skipped', 'failed', 'approved', 'rejected')),
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT, WITHOUT ROWID;
-- apid names operations op_<event id><nn> (time-ordered), so this key appends and already groups
-- each event's operations: no index on event_id is needed.

-- Internal agent work: materialize_safe operations and POST /api/connex/dispatch. Nothing here
-- is ever sent outside; the CHECK makes that a property of the schema.
CREATE TABLE connex_dispatch (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    id           TEXT NOT NULL,                      -- dsp_…
    event_id     TEXT REFERENCES connex_events(id),  -- NULL: submitted through /dispatch
    operation_id TEXT,
    type         TEXT NOT NULL,
    label        TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'pending_approval', 'blocked')),
    external     INTEGER NOT NULL DEFAULT 0 CHECK (external = 0),
    payload      TEXT NOT NULL DEFAULT '{}',
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE connex_outcomes (
    id                TEXT PRIMARY KEY,              -- cxo_…
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    source_system     TEXT NOT NULL,
    source_outcome_id TEXT NOT NULL,
    request_hash      TEXT NOT NULL,
    event_id          TEXT,                          -- the evaluation it refers to, if found
    operation_id      TEXT,
    operation_matched INTEGER NOT NULL,
    outcome_type      TEXT NOT NULL,
    learning_signal   TEXT NOT NULL,
    value_score       INTEGER NOT NULL,
    revenue_cents     INTEGER,
    app               TEXT,                          -- copied from the event, for filters
    object_type       TEXT,
    object_id         TEXT,
    request           TEXT NOT NULL,
    response          TEXT NOT NULL,                 -- the IntegrationOutcomeResponse returned
    created_at        INTEGER NOT NULL,
    UNIQUE (tenant_id, source_system, source_outcome_id)
) STRICT;
CREATE INDEX connex_outcomes_by_tenant ON connex_outcomes(tenant_id, created_at);

-- What outcomes taught the evaluator, per tenant (connex::TenantWeights as JSON).
CREATE TABLE connex_weights (
    tenant_id   TEXT PRIMARY KEY REFERENCES tenants(id),
    version     INTEGER NOT NULL,                    -- +1 per outcome applied
    weights     TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE connex_graph_events (
    id          TEXT PRIMARY KEY,                    -- cxg_…
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    kind        TEXT NOT NULL,
    data        TEXT NOT NULL,                       -- the normalised event
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX connex_graph_events_by_tenant ON connex_graph_events(tenant_id, created_at);

-- Per-mailbox settings; a mailbox without a row has every default.
CREATE TABLE mailbox_settings (
    mailbox_id           TEXT PRIMARY KEY REFERENCES mailboxes(id),
    tenant_id            TEXT NOT NULL REFERENCES tenants(id),
    connex_auto_evaluate INTEGER NOT NULL DEFAULT 0 CHECK (connex_auto_evaluate IN (0, 1)),
    updated_at           INTEGER NOT NULL
) STRICT;

-- The Connex evaluation of a stored inbound message (auto-evaluation from the outbox).
CREATE TABLE message_evaluations (
    message_id  TEXT PRIMARY KEY REFERENCES messages(id),
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    mailbox_id  TEXT NOT NULL,
    event_id    TEXT NOT NULL REFERENCES connex_events(id),
    status      TEXT NOT NULL,                       -- canonical status
    result      TEXT NOT NULL,                       -- the IntegrationEventResponse
    created_at  INTEGER NOT NULL
) STRICT;

-- How far each outbox consumer has read `events` (by seq). Advanced in the same transaction as
-- whatever the consumer wrote, so an event is neither processed twice nor skipped.
CREATE TABLE outbox_cursors (
    name        TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
-- Auto-evaluation starts after the events that exist when this migration runs.
INSERT INTO outbox_cursors(name, seq, updated_at)
    SELECT 'connex.auto_evaluate', coalesce(max(seq), 0), 0 FROM events;
