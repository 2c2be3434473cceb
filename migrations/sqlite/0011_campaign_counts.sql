-- The dashboard's figures of a campaign, kept by triggers in the transaction that
-- changes a delivery or records an answer, so that a page reads a few rows instead of
-- counting a campaign of half a million messages. Whatever writes (a sender, a
-- recipient's click, a purge, a script), the counts stay exact.
-- Also: the consent class each delivery's contact had at launch, for the rate by class.

ALTER TABLE deliveries ADD COLUMN class TEXT;

-- Deliveries by campaign, wave and state.
CREATE TABLE campaign_counts (
    campaign_id  INTEGER NOT NULL,
    wave         INTEGER NOT NULL,
    state        TEXT NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, wave, state)
) WITHOUT ROWID;

-- Distinct contacts by answer (viewed, confirmed, left: a withdrawal is a leave) and
-- suspect, and `answered`: those with a confirmation or leave, suspect or not (suspect 0).
CREATE TABLE campaign_answers (
    campaign  TEXT NOT NULL,
    answer    TEXT NOT NULL,
    suspect   INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (campaign, answer, suspect)
) WITHOUT ROWID;

-- Distinct contacts by the wave named in the answer ('' for none) and answer, not suspect.
CREATE TABLE campaign_wave_answers (
    campaign  TEXT NOT NULL,
    wave      TEXT NOT NULL,
    answer    TEXT NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (campaign, wave, answer)
) WITHOUT ROWID;

-- Confirmations and leaves (not distinct) by hour since the epoch and suspect.
CREATE TABLE campaign_answer_hours (
    campaign  TEXT NOT NULL,
    hour      INTEGER NOT NULL,
    answer    TEXT NOT NULL,
    suspect   INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (campaign, hour, answer, suspect)
) WITHOUT ROWID;

CREATE TRIGGER campaign_counts_insert AFTER INSERT ON deliveries
BEGIN
    INSERT INTO campaign_counts (campaign_id, wave, state, n)
    VALUES (NEW.campaign_id, NEW.wave, NEW.state, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER campaign_counts_update AFTER UPDATE OF state ON deliveries
WHEN OLD.state IS NOT NEW.state
BEGIN
    UPDATE campaign_counts SET n = n - 1
    WHERE campaign_id = OLD.campaign_id AND wave = OLD.wave AND state = OLD.state;
    INSERT INTO campaign_counts (campaign_id, wave, state, n)
    VALUES (NEW.campaign_id, NEW.wave, NEW.state, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER campaign_counts_delete AFTER DELETE ON deliveries
BEGIN
    UPDATE campaign_counts SET n = n - 1
    WHERE campaign_id = OLD.campaign_id AND wave = OLD.wave AND state = OLD.state;
END;

-- Each count goes up only with a contact's first such answer: the others are
-- looked up in the ledger's index on (campaign, event, contact_id, suspect).
CREATE TRIGGER campaign_answers_insert AFTER INSERT ON ledger
WHEN NEW.campaign IS NOT NULL AND NEW.event IN ('viewed', 'confirmed', 'left', 'withdrawn')
BEGIN
    INSERT INTO campaign_answers (campaign, answer, suspect, n)
    SELECT NEW.campaign, CASE NEW.event WHEN 'withdrawn' THEN 'left' ELSE NEW.event END,
           NEW.suspect, 1
    WHERE NOT EXISTS (
        SELECT 1 FROM ledger l WHERE l.campaign = NEW.campaign
          AND l.event IN (NEW.event, CASE NEW.event WHEN 'withdrawn' THEN 'left'
                                                    WHEN 'left' THEN 'withdrawn' END)
          AND l.contact_id = NEW.contact_id AND l.suspect = NEW.suspect AND l.id != NEW.id)
    ON CONFLICT DO UPDATE SET n = n + 1;

    INSERT INTO campaign_answers (campaign, answer, suspect, n)
    SELECT NEW.campaign, 'answered', 0, 1
    WHERE NEW.event != 'viewed' AND NOT EXISTS (
        SELECT 1 FROM ledger l WHERE l.campaign = NEW.campaign
          AND l.event IN ('confirmed', 'left', 'withdrawn')
          AND l.contact_id = NEW.contact_id AND l.id != NEW.id)
    ON CONFLICT DO UPDATE SET n = n + 1;

    INSERT INTO campaign_wave_answers (campaign, wave, answer, n)
    SELECT NEW.campaign, coalesce(NEW.wave, ''),
           CASE NEW.event WHEN 'withdrawn' THEN 'left' ELSE NEW.event END, 1
    WHERE NEW.suspect = 0 AND NOT EXISTS (
        SELECT 1 FROM ledger l WHERE l.campaign = NEW.campaign
          AND l.event IN (NEW.event, CASE NEW.event WHEN 'withdrawn' THEN 'left'
                                                    WHEN 'left' THEN 'withdrawn' END)
          AND l.contact_id = NEW.contact_id AND l.suspect = 0
          AND coalesce(l.wave, '') = coalesce(NEW.wave, '') AND l.id != NEW.id)
    ON CONFLICT DO UPDATE SET n = n + 1;

    INSERT INTO campaign_answer_hours (campaign, hour, answer, suspect, n)
    SELECT NEW.campaign, NEW.at / 3600,
           CASE NEW.event WHEN 'withdrawn' THEN 'left' ELSE NEW.event END, NEW.suspect, 1
    WHERE NEW.event != 'viewed'
    ON CONFLICT DO UPDATE SET n = n + 1;
END;

-- The counts of what is there already.
INSERT INTO campaign_counts (campaign_id, wave, state, n)
SELECT campaign_id, wave, state, count(*) FROM deliveries GROUP BY 1, 2, 3;

INSERT INTO campaign_answers (campaign, answer, suspect, n)
SELECT campaign, CASE event WHEN 'withdrawn' THEN 'left' ELSE event END AS answer, suspect,
       count(DISTINCT contact_id)
FROM ledger WHERE campaign IS NOT NULL AND event IN ('viewed', 'confirmed', 'left', 'withdrawn')
GROUP BY 1, 2, 3;

INSERT INTO campaign_answers (campaign, answer, suspect, n)
SELECT campaign, 'answered', 0, count(DISTINCT contact_id)
FROM ledger WHERE campaign IS NOT NULL AND event IN ('confirmed', 'left', 'withdrawn')
GROUP BY 1;

INSERT INTO campaign_wave_answers (campaign, wave, answer, n)
SELECT campaign, coalesce(wave, ''), CASE event WHEN 'withdrawn' THEN 'left' ELSE event END,
       count(DISTINCT contact_id)
FROM ledger WHERE campaign IS NOT NULL AND suspect = 0
  AND event IN ('viewed', 'confirmed', 'left', 'withdrawn')
GROUP BY 1, 2, 3;

INSERT INTO campaign_answer_hours (campaign, hour, answer, suspect, n)
SELECT campaign, at / 3600, CASE event WHEN 'withdrawn' THEN 'left' ELSE event END, suspect,
       count(*)
FROM ledger WHERE campaign IS NOT NULL AND event IN ('confirmed', 'left', 'withdrawn')
GROUP BY 1, 2, 3, 4;
