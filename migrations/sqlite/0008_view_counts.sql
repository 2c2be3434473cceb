-- How often a delivery's links were opened: the ledger keeps the first view of each
-- wave as evidence, the rest (scanners reload links in loops) are only counted here.
ALTER TABLE deliveries ADD COLUMN views INTEGER NOT NULL DEFAULT 0;
