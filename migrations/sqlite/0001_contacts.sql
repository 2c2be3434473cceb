-- Contacts, the consent ledger, tombstones and secrets.
-- Times are UTC seconds since the epoch; booleans 0/1, NULL where "not known" matters.

CREATE TABLE contacts (
    id                    INTEGER PRIMARY KEY,
    -- Opaque id for links and webhooks: never the row id, which can be enumerated.
    public_id             TEXT NOT NULL UNIQUE,
    email                 TEXT NOT NULL,
    -- Lower case, ASCII domain: what duplicates and tombstones are matched by.
    email_key             TEXT NOT NULL UNIQUE,
    name                  TEXT,
    locale                TEXT,
    country               TEXT,
    customer              INTEGER,
    last_purchase_at      INTEGER,
    last_activity_at      INTEGER,
    consent_at            INTEGER,
    consent_method        TEXT,
    consent_prechecked    INTEGER,
    consent_bundled       INTEGER,
    consent_text_version  TEXT,
    consent_ip            TEXT,
    consent_source        TEXT,
    consent_withdrawn_at  INTEGER,
    legal_hold            INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);

-- Proof of consent (GDPR Art. 7(1)): append-only.
CREATE TABLE ledger (
    id              INTEGER PRIMARY KEY,
    contact_id      INTEGER NOT NULL,
    event           TEXT NOT NULL,
    at              INTEGER NOT NULL,
    campaign        TEXT,
    wave            TEXT,
    ip              TEXT,
    user_agent      TEXT,
    content_sha256  TEXT,
    privacy_sha256  TEXT,
    message_id      TEXT,
    policy_version  TEXT NOT NULL,
    suspect         INTEGER NOT NULL DEFAULT 0,
    detail          TEXT
);
CREATE INDEX ledger_by_contact ON ledger (contact_id, id);

CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'the consent ledger is append-only');
END;

-- Erasure may blank the personal data in an entry (IP, user agent, detail); nothing else changes.
CREATE TRIGGER ledger_no_rewrite BEFORE UPDATE ON ledger
WHEN NEW.contact_id IS NOT OLD.contact_id OR NEW.event IS NOT OLD.event OR NEW.at IS NOT OLD.at
  OR NEW.campaign IS NOT OLD.campaign OR NEW.wave IS NOT OLD.wave
  OR NEW.content_sha256 IS NOT OLD.content_sha256 OR NEW.privacy_sha256 IS NOT OLD.privacy_sha256
  OR NEW.message_id IS NOT OLD.message_id OR NEW.policy_version IS NOT OLD.policy_version
  OR NEW.suspect IS NOT OLD.suspect
  OR (NEW.ip IS NOT OLD.ip AND NEW.ip IS NOT NULL)
  OR (NEW.user_agent IS NOT OLD.user_agent AND NEW.user_agent IS NOT NULL)
  OR (NEW.detail IS NOT OLD.detail AND NEW.detail IS NOT NULL)
BEGIN
    SELECT RAISE(ABORT, 'the consent ledger is append-only');
END;

-- Keyed hash of an erased address: stops its re-import without keeping the address.
CREATE TABLE tombstones (
    key     BLOB PRIMARY KEY,
    reason  TEXT NOT NULL,
    at      INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE secrets (
    name        TEXT PRIMARY KEY,
    value       BLOB NOT NULL,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;
