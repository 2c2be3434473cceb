-- Campaigns and their deliveries: one row per (campaign, contact, wave), never two.

CREATE TABLE campaigns (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    -- The definition and templates as launched: what was checked is what is sent.
    definition          TEXT NOT NULL,
    definition_sha256   TEXT NOT NULL,
    source_file         TEXT NOT NULL,
    templates           TEXT NOT NULL,
    -- running | paused | cancelled | completed
    state               TEXT NOT NULL DEFAULT 'running',
    state_reason        TEXT,
    launched_at         INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

-- queued → claimed → sending → sent | retry | bounced | failed | unknown; cancelled.
-- `claimed` rows were never handed to a server: a dead sender's are queued again.
-- `sending` rows may have reached one: a dead sender's become `unknown`, never resent.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    campaign_id     INTEGER NOT NULL REFERENCES campaigns (id),
    contact_id      INTEGER NOT NULL,
    wave            INTEGER NOT NULL,
    state           TEXT NOT NULL DEFAULT 'queued',
    due_at          INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    worker          TEXT,
    lease_until     INTEGER,
    message_id      TEXT,
    content_sha256  TEXT,
    last_error      TEXT,
    sent_at         INTEGER,
    UNIQUE (campaign_id, contact_id, wave)
);
CREATE INDEX deliveries_due ON deliveries (campaign_id, due_at) WHERE state IN ('queued', 'retry');
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE state IN ('claimed', 'sending');
CREATE INDEX deliveries_by_contact ON deliveries (contact_id);

-- Never e-mailed again: hard bounces, leavers.
CREATE TABLE suppressions (
    contact_id  INTEGER PRIMARY KEY,
    reason      TEXT NOT NULL,
    at          INTEGER NOT NULL
);

-- Contacts to erase, and from when.
CREATE TABLE deletion_queue (
    contact_id  INTEGER PRIMARY KEY,
    reason      TEXT NOT NULL,
    queued_at   INTEGER NOT NULL,
    due_at      INTEGER NOT NULL
);
