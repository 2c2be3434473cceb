-- What the dashboard asks of large campaigns, answered from indexes: deliveries by
-- campaign, wave and state (the funnel, the rate by country); messages sent lately
-- (the send rate); a campaign's answers (the funnel, answers over time); the
-- deletion queue by day due; the few contacts under legal hold; who was erased.
CREATE INDEX deliveries_funnel ON deliveries (campaign_id, wave, state, contact_id);
CREATE INDEX deliveries_sent_at ON deliveries (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX ledger_by_campaign ON ledger (campaign, event, contact_id, suspect, at) WHERE campaign IS NOT NULL;
CREATE INDEX deletion_queue_due ON deletion_queue (due_at);
CREATE INDEX contacts_held ON contacts (id) WHERE legal_hold = 1;
CREATE INDEX ledger_erased ON ledger (contact_id) WHERE event = 'erased';
-- Failures and bounces by the server's answer: a few rows of a large campaign.
CREATE INDEX deliveries_failed ON deliveries (campaign_id, state, last_error) WHERE state IN ('cancelled', 'failed');
CREATE INDEX deliveries_bounced ON deliveries (campaign_id, last_error) WHERE state = 'bounced';
