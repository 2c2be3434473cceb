-- Bounces and complaints reported after the SMTP conversation (DSNs, feedback loops,
-- relay webhooks). `event_key` makes each one count once however often it is reported:
-- the mailbox is read again after a crash, a relay retries its webhook. No address and
-- no contact id here: the delivery names them, and an erasure leaves nothing to scrub.
CREATE TABLE late_events (
    id           INTEGER PRIMARY KEY,
    event_key    TEXT NOT NULL UNIQUE,
    delivery_id  INTEGER NOT NULL,
    campaign_id  INTEGER NOT NULL,
    wave         INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    source       TEXT NOT NULL,
    status       TEXT,
    at           INTEGER NOT NULL
);
CREATE INDEX late_events_by_wave ON late_events (campaign_id, wave, kind);
-- A late event names its delivery by the Message-ID's random part (the VERP token).
CREATE INDEX deliveries_by_message_id ON deliveries (message_id) WHERE message_id IS NOT NULL;
