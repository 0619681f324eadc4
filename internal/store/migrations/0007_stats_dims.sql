-- Daily statistics by the click's own low-cardinality values (country,
-- device, OS...), kept up to date in the same transactions as
-- stats_hourly, so that "country × offer over 30 days" reads a few
-- thousand rows instead of millions of clicks. day is the UTC time (ms) of
-- a local midnight in the rollup's zone (settings key 'rollup'); dim is a
-- code (store.RolledDims: 0 is every click of the day, whatever its values;
-- 1 country, 2 region, 3 device_type, 4 os, 5 browser, 6 language,
-- 7 connection_type, 8 bot, 9 unique); an empty value is not stored: it is
-- the dim 0 row less the others. The days before the rollup's since are
-- filled by a background job (Store.BackfillDims), newest first.

CREATE TABLE stats_daily_dims (
	dim               SMALLINT NOT NULL,
	day               BIGINT NOT NULL,
	campaign_id       BIGINT NOT NULL,
	traffic_source_id BIGINT NOT NULL,
	offer_id          BIGINT NOT NULL,
	value             TEXT NOT NULL,
	clicks            BIGINT NOT NULL DEFAULT 0,
	unique_campaign   BIGINT NOT NULL DEFAULT 0,
	unique_stream     BIGINT NOT NULL DEFAULT 0,
	unique_global     BIGINT NOT NULL DEFAULT 0,
	bots              BIGINT NOT NULL DEFAULT 0,
	lp_clicks         BIGINT NOT NULL DEFAULT 0,
	cost              BIGINT NOT NULL DEFAULT 0,
	leads             BIGINT NOT NULL DEFAULT 0,
	sales             BIGINT NOT NULL DEFAULT 0,
	rejected          BIGINT NOT NULL DEFAULT 0,
	rebills           BIGINT NOT NULL DEFAULT 0,
	revenue_hold      BIGINT NOT NULL DEFAULT 0,
	revenue_confirmed BIGINT NOT NULL DEFAULT 0,
	revenue_rejected  BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (dim, day, campaign_id, traffic_source_id, offer_id, value)
){{if sqlite}} WITHOUT ROWID{{end}};
