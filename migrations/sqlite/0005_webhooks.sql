-- Events for the shop's systems, written in the same transaction as what they report,
-- so none is lost; delivered in id order per ordering key (a contact), retried until taken.
CREATE TABLE webhook_outbox (
    id               INTEGER PRIMARY KEY,
    event_type       TEXT NOT NULL,
    ordering_key     TEXT NOT NULL,
    -- JSON; blanked once delivered, since it may carry an address being erased.
    payload          TEXT,
    created_at       INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    delivered_at     INTEGER,
    last_error       TEXT
);
CREATE INDEX webhook_pending ON webhook_outbox (next_attempt_at, id) WHERE delivered_at IS NULL;
