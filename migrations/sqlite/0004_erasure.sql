-- Erasure runs, for the audit trail: what each purge did and when.
CREATE TABLE purge_runs (
    id           INTEGER PRIMARY KEY,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    purged       INTEGER NOT NULL DEFAULT 0,
    held         INTEGER NOT NULL DEFAULT 0,
    kept         INTEGER NOT NULL DEFAULT 0,
    dry_run      INTEGER NOT NULL
);

-- Campaigns whose non-responders have been queued after the deadline.
ALTER TABLE campaigns ADD COLUMN closed_at INTEGER;
