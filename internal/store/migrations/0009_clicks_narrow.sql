-- SQLite keeps a click in two B-tree rows instead of four: its reportable
-- values in click_facts (0008, clustered by campaign and time) and here,
-- clustered by click id, the whole click as one JSON object (details) with
-- the columns that find its facts and its cost (which cost updates
-- change). The wide clicks row with its rowid and two indexes cost the
-- writer a quarter of its time per click (BenchmarkInsertClicks,
-- docs/benchmarks.md); a postback reads its click back with one lookup.
-- PostgreSQL keeps the wide clicks table.
{{if sqlite}}
CREATE TABLE clicks_narrow (
	click_id    TEXT NOT NULL PRIMARY KEY,
	campaign_id INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	cost        INTEGER NOT NULL,
	details     TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO clicks_narrow (click_id, campaign_id, created_at, cost, details)
SELECT click_id, campaign_id, created_at, cost, json_patch(details, json_object(
	'stream_id', stream_id, 'offer_id', offer_id, 'landing_id', landing_id, 'traffic_source_id', traffic_source_id,
	'external_id', external_id, 'country', country, 'device_type', device_type, 'os', os, 'browser', browser,
	'is_bot', json(CASE WHEN is_bot THEN 'true' ELSE 'false' END),
	'unique_campaign', json(CASE WHEN unique_campaign THEN 'true' ELSE 'false' END),
	'unique_stream', json(CASE WHEN unique_stream THEN 'true' ELSE 'false' END),
	'unique_global', json(CASE WHEN unique_global THEN 'true' ELSE 'false' END)))
FROM clicks ORDER BY click_id;
DROP TABLE clicks;
ALTER TABLE clicks_narrow RENAME TO clicks;
{{end}}
