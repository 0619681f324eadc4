-- SQLite keeps a click in two rows instead of four B-tree entries: its
-- reportable values in click_facts (0008, clustered by campaign and time),
-- and here only what click_facts does not have (user agent, IP, referrer,
-- query...: details), clustered by click id with the campaign and time
-- that find its facts. The wide clicks row with its rowid and two indexes
-- cost the writer a quarter of its time per click (BenchmarkInsertClicks,
-- docs/benchmarks.md). PostgreSQL keeps the wide clicks table.
--
-- The details of clicks written before this keep the values that are now
-- click_facts' columns; readers take those from click_facts.
{{if sqlite}}
CREATE TABLE clicks_narrow (
	click_id    TEXT NOT NULL PRIMARY KEY,
	campaign_id INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	details     TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO clicks_narrow (click_id, campaign_id, created_at, details)
SELECT click_id, campaign_id, created_at, details FROM clicks ORDER BY click_id;
DROP TABLE clicks;
ALTER TABLE clicks_narrow RENAME TO clicks;
{{end}}
