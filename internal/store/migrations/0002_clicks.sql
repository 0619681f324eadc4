-- Clicks and landing clicks. Written in batches by one writer; read by the
-- click log, attribution and reports. Money is BIGINT micro-units, times
-- Unix milliseconds (UTC).
--
-- The columns are the fields reports group and filter by most; everything
-- else a click keeps (sub ids, user agent, referrer, region, city, ISP...)
-- is one JSON object in details, with empty fields left out. Every bound
-- column costs the writer time; this narrow row halved the cost of
-- recording a click against one column per field (BenchmarkInsertClicks).

CREATE TABLE clicks (
	id                {{id}},
	click_id          TEXT NOT NULL,
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
);
-- Click ids sort by time, so the click id index also serves time ranges.
CREATE UNIQUE INDEX clicks_click_id ON clicks (click_id);
CREATE INDEX clicks_campaign_time ON clicks (campaign_id, created_at);

CREATE TABLE landing_clicks (
	id         {{id}},
	click_id   TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	offer_id   BIGINT NOT NULL
);
CREATE INDEX landing_clicks_click ON landing_clicks (click_id);
