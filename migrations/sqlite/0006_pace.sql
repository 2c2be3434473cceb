-- The throttle's schedule, shared by every sender of a campaign: the theoretical arrival
-- time of its next message, in microseconds since the Unix epoch (see src/send/pace.rs).
ALTER TABLE campaigns ADD COLUMN pace_tat INTEGER;
