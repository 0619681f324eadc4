-- SQLite keeps clicks clustered by click id (WITHOUT ROWID), with no other
-- index: a click is two B-tree rows (this one and its click_facts row, 0008)
-- instead of four (a rowid row, its click id and campaign/time index
-- entries, the facts). What read clicks by campaign and time reads
-- click_facts; a postback finds its click with one lookup. The store is
-- smaller too (docs/benchmarks.md). PostgreSQL keeps its clicks table.
{{if sqlite}}
CREATE TABLE clicks_by_id (
	click_id          TEXT NOT NULL PRIMARY KEY,
	created_at        BIGINT NOT NULL,
	campaign_id       BIGINT NOT NULL,
	stream_id         BIGINT NOT NULL,
	offer_id          BIGINT NOT NULL,
	landing_id        BIGINT NOT NULL,
	traffic_source_id BIGINT NOT NULL,
	external_id       TEXT NOT NULL,
	cost              BIGINT NOT NULL,
	country           TEXT NOT NULL,
	device_type       TEXT NOT NULL,
	os                TEXT NOT NULL,
	browser           TEXT NOT NULL,
	is_bot            BOOLEAN NOT NULL,
	unique_campaign   BOOLEAN NOT NULL,
	unique_stream     BOOLEAN NOT NULL,
	unique_global     BOOLEAN NOT NULL,
	details           TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO clicks_by_id (click_id, created_at, campaign_id, stream_id, offer_id, landing_id, traffic_source_id,
	external_id, cost, country, device_type, os, browser, is_bot, unique_campaign, unique_stream, unique_global, details)
SELECT click_id, created_at, campaign_id, stream_id, offer_id, landing_id, traffic_source_id,
	external_id, cost, country, device_type, os, browser, is_bot, unique_campaign, unique_stream, unique_global, details
FROM clicks ORDER BY click_id;
DROP TABLE clicks;
ALTER TABLE clicks_by_id RENAME TO clicks;
{{end}}
