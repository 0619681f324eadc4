-- The cost a conversion adds to its campaign under a cpa or revshare cost
-- model, in micro-units of the account currency, so that a status change
-- moves exactly what was counted.
ALTER TABLE conversions ADD COLUMN cost BIGINT NOT NULL DEFAULT 0;
