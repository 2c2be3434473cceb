-- The ledger as a hash chain (see src/ledger/chain.rs): each entry's place in the
-- base's chain, the hashes it follows, its own hash, and the salted commitments that
-- stand for its personal fields. Rows written before this migration are chained once,
-- in id order, when the base is next opened.
ALTER TABLE ledger ADD COLUMN privacy_version TEXT;
ALTER TABLE ledger ADD COLUMN seq INTEGER;
ALTER TABLE ledger ADD COLUMN prev_hash TEXT;
ALTER TABLE ledger ADD COLUMN contact_prev_hash TEXT;
ALTER TABLE ledger ADD COLUMN hash TEXT;
ALTER TABLE ledger ADD COLUMN address_commit TEXT;
ALTER TABLE ledger ADD COLUMN ip_commit TEXT;
ALTER TABLE ledger ADD COLUMN user_agent_commit TEXT;
ALTER TABLE ledger ADD COLUMN detail_commit TEXT;
CREATE UNIQUE INDEX ledger_by_seq ON ledger (seq);

-- One salt per contact for its commitments. Erasure deletes the row: what is left of
-- the contact in the chain then leads back to no one.
CREATE TABLE ledger_salts (
    contact_id  INTEGER PRIMARY KEY,
    salt        BLOB NOT NULL
);

-- As before, plus: the privacy version never changes, and the chain's columns are
-- written once (from NULL, for rows chained after this migration) and never again.
DROP TRIGGER ledger_no_rewrite;
CREATE TRIGGER ledger_no_rewrite BEFORE UPDATE ON ledger
WHEN NEW.contact_id IS NOT OLD.contact_id OR NEW.event IS NOT OLD.event OR NEW.at IS NOT OLD.at
  OR NEW.campaign IS NOT OLD.campaign OR NEW.wave IS NOT OLD.wave
  OR NEW.content_sha256 IS NOT OLD.content_sha256 OR NEW.privacy_sha256 IS NOT OLD.privacy_sha256
  OR NEW.privacy_version IS NOT OLD.privacy_version
  OR NEW.message_id IS NOT OLD.message_id OR NEW.policy_version IS NOT OLD.policy_version
  OR NEW.suspect IS NOT OLD.suspect
  OR (NEW.ip IS NOT OLD.ip AND NEW.ip IS NOT NULL)
  OR (NEW.user_agent IS NOT OLD.user_agent AND NEW.user_agent IS NOT NULL)
  OR (NEW.detail IS NOT OLD.detail AND NEW.detail IS NOT NULL)
  OR (NEW.seq IS NOT OLD.seq AND OLD.seq IS NOT NULL)
  OR (NEW.prev_hash IS NOT OLD.prev_hash AND OLD.prev_hash IS NOT NULL)
  OR (NEW.contact_prev_hash IS NOT OLD.contact_prev_hash AND OLD.contact_prev_hash IS NOT NULL)
  OR (NEW.hash IS NOT OLD.hash AND OLD.hash IS NOT NULL)
  OR (NEW.address_commit IS NOT OLD.address_commit AND OLD.address_commit IS NOT NULL)
  OR (NEW.ip_commit IS NOT OLD.ip_commit AND OLD.ip_commit IS NOT NULL)
  OR (NEW.user_agent_commit IS NOT OLD.user_agent_commit AND OLD.user_agent_commit IS NOT NULL)
  OR (NEW.detail_commit IS NOT OLD.detail_commit AND OLD.detail_commit IS NOT NULL)
BEGIN
    SELECT RAISE(ABORT, 'the consent ledger is append-only');
END;

-- SHA-256 of the privacy policy's text as launched (`privacy_policy_file`), recorded
-- with every entry of the campaign; the text itself is in the snapshot (`templates`).
ALTER TABLE campaigns ADD COLUMN privacy_sha256 TEXT;
