-- Reminder waves already queued in full, and the bonus code pools.

-- A reminder wave is queued again on every scheduler tick until the first wave has
-- nothing left in flight (a late retry still gets its reminder); then it is done for good.
CREATE TABLE wave_runs (
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id),
    wave         INTEGER NOT NULL,
    done_at      INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, wave)
) WITHOUT ROWID;

-- One code per contact, drawn once: `contact_id` is set when it is given.
CREATE TABLE bonus_codes (
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id),
    code         TEXT NOT NULL,
    contact_id   INTEGER,
    drawn_at     INTEGER,
    PRIMARY KEY (campaign_id, code)
);
CREATE UNIQUE INDEX bonus_codes_one_per_contact ON bonus_codes (campaign_id, contact_id)
    WHERE contact_id IS NOT NULL;
CREATE INDEX bonus_codes_free ON bonus_codes (campaign_id) WHERE contact_id IS NULL;
