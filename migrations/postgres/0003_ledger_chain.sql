-- The ledger as a hash chain (see src/ledger/chain.rs), as in SQLite's 0012: each
-- entry's place in the base's chain, the hashes it follows, its own hash, and the salted
-- commitments that stand for its personal fields.
ALTER TABLE ledger ADD COLUMN privacy_version TEXT;
ALTER TABLE ledger ADD COLUMN seq BIGINT;
ALTER TABLE ledger ADD COLUMN prev_hash TEXT;
ALTER TABLE ledger ADD COLUMN contact_prev_hash TEXT;
ALTER TABLE ledger ADD COLUMN hash TEXT;
ALTER TABLE ledger ADD COLUMN address_commit TEXT;
ALTER TABLE ledger ADD COLUMN ip_commit TEXT;
ALTER TABLE ledger ADD COLUMN user_agent_commit TEXT;
ALTER TABLE ledger ADD COLUMN detail_commit TEXT;
CREATE UNIQUE INDEX ledger_by_seq ON ledger (seq);

-- One salt per contact for its commitments; erasure deletes the row.
CREATE TABLE ledger_salts (
    contact_id  BIGINT PRIMARY KEY,
    salt        BYTEA NOT NULL
);

ALTER TABLE campaigns ADD COLUMN privacy_sha256 TEXT;

-- As before, plus: the privacy version never changes, and the chain's columns are
-- written once and never again.
CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'the consent ledger is append-only';
    END IF;
    IF NEW.contact_id IS DISTINCT FROM OLD.contact_id OR NEW.event IS DISTINCT FROM OLD.event
       OR NEW.at IS DISTINCT FROM OLD.at OR NEW.campaign IS DISTINCT FROM OLD.campaign
       OR NEW.wave IS DISTINCT FROM OLD.wave
       OR NEW.content_sha256 IS DISTINCT FROM OLD.content_sha256
       OR NEW.privacy_sha256 IS DISTINCT FROM OLD.privacy_sha256
       OR NEW.privacy_version IS DISTINCT FROM OLD.privacy_version
       OR NEW.message_id IS DISTINCT FROM OLD.message_id
       OR NEW.policy_version IS DISTINCT FROM OLD.policy_version
       OR NEW.suspect IS DISTINCT FROM OLD.suspect
       OR (NEW.ip IS DISTINCT FROM OLD.ip AND NEW.ip IS NOT NULL)
       OR (NEW.user_agent IS DISTINCT FROM OLD.user_agent AND NEW.user_agent IS NOT NULL)
       OR (NEW.detail IS DISTINCT FROM OLD.detail AND NEW.detail IS NOT NULL)
       OR (NEW.seq IS DISTINCT FROM OLD.seq AND OLD.seq IS NOT NULL)
       OR (NEW.prev_hash IS DISTINCT FROM OLD.prev_hash AND OLD.prev_hash IS NOT NULL)
       OR (NEW.contact_prev_hash IS DISTINCT FROM OLD.contact_prev_hash AND OLD.contact_prev_hash IS NOT NULL)
       OR (NEW.hash IS DISTINCT FROM OLD.hash AND OLD.hash IS NOT NULL)
       OR (NEW.address_commit IS DISTINCT FROM OLD.address_commit AND OLD.address_commit IS NOT NULL)
       OR (NEW.ip_commit IS DISTINCT FROM OLD.ip_commit AND OLD.ip_commit IS NOT NULL)
       OR (NEW.user_agent_commit IS DISTINCT FROM OLD.user_agent_commit AND OLD.user_agent_commit IS NOT NULL)
       OR (NEW.detail_commit IS DISTINCT FROM OLD.detail_commit AND OLD.detail_commit IS NOT NULL) THEN
        RAISE EXCEPTION 'the consent ledger is append-only';
    END IF;
    RETURN NEW;
END $$;
