-- The shop's own id for a contact, when the import gives one: webhooks name the
-- contact by it, and then never by its address.
ALTER TABLE contacts ADD COLUMN external_id TEXT;

-- When the database was last rewritten after this run's erasures. Until then, copies
-- of erased rows may linger in the unused space of pages (see src/purge.rs).
ALTER TABLE purge_runs ADD COLUMN scrubbed_at INTEGER;

-- What was done to personal data besides erasing contacts: the action, when, and to
-- how many records. Never the data itself.
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    action  TEXT NOT NULL,
    count   INTEGER NOT NULL
);
