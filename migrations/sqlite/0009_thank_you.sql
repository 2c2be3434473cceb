-- Thank-you mails (wave -1) are claimed before the requests: a person who just confirmed
-- waits for the bonus, and a backlog of a million requests must not stand in front.
CREATE INDEX deliveries_thanks_due ON deliveries (campaign_id, due_at)
    WHERE wave = -1 AND state IN ('queued', 'retry');
