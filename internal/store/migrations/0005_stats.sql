-- Hourly statistics, kept up to date in the transactions that write clicks,
-- landing clicks and conversion changes, so that reports read a few rows
-- per hour instead of every click. hour is the start of the UTC hour (ms);
-- conversions count in the hour of their click. Money is in micro-units of
-- the account currency: revenue_hold is the payout of leads, revenue_confirmed
-- of sales and rebills, revenue_rejected of rejected conversions. On SQLite the
-- rows are stored in key order (WITHOUT ROWID): a range of hours is one
-- sequential read.

CREATE TABLE stats_hourly (
	hour              BIGINT NOT NULL,
	campaign_id       BIGINT NOT NULL,
	stream_id         BIGINT NOT NULL,
	offer_id          BIGINT NOT NULL,
	landing_id        BIGINT NOT NULL,
	traffic_source_id BIGINT NOT NULL,
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
	PRIMARY KEY (hour, campaign_id, stream_id, offer_id, landing_id, traffic_source_id)
){{if sqlite}} WITHOUT ROWID{{end}};

-- What was recorded before this table existed.
INSERT INTO stats_hourly (hour, campaign_id, stream_id, offer_id, landing_id, traffic_source_id, clicks,
	unique_campaign, unique_stream, unique_global, bots, cost)
SELECT created_at / 3600000 * 3600000, campaign_id, stream_id, offer_id, landing_id, traffic_source_id, COUNT(*),
	SUM(CASE WHEN unique_campaign THEN 1 ELSE 0 END), SUM(CASE WHEN unique_stream THEN 1 ELSE 0 END),
	SUM(CASE WHEN unique_global THEN 1 ELSE 0 END), SUM(CASE WHEN is_bot THEN 1 ELSE 0 END), SUM(cost)
FROM clicks GROUP BY created_at / 3600000 * 3600000, campaign_id, stream_id, offer_id, landing_id, traffic_source_id;

INSERT INTO stats_hourly (hour, campaign_id, stream_id, offer_id, landing_id, traffic_source_id, lp_clicks)
SELECT c.created_at / 3600000 * 3600000, c.campaign_id, c.stream_id, c.offer_id, c.landing_id, c.traffic_source_id, COUNT(*)
FROM landing_clicks l JOIN clicks c ON c.click_id = l.click_id WHERE TRUE
GROUP BY c.created_at / 3600000 * 3600000, c.campaign_id, c.stream_id, c.offer_id, c.landing_id, c.traffic_source_id
ON CONFLICT (hour, campaign_id, stream_id, offer_id, landing_id, traffic_source_id)
DO UPDATE SET lp_clicks = stats_hourly.lp_clicks + excluded.lp_clicks;

INSERT INTO stats_hourly (hour, campaign_id, stream_id, offer_id, landing_id, traffic_source_id, leads, sales, rejected,
	rebills, revenue_hold, revenue_confirmed, revenue_rejected)
SELECT click_time / 3600000 * 3600000, campaign_id, stream_id, offer_id, landing_id, traffic_source_id,
	SUM(CASE WHEN status = 'lead' THEN 1 ELSE 0 END), SUM(CASE WHEN status = 'sale' THEN 1 ELSE 0 END),
	SUM(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END), SUM(CASE WHEN status = 'rebill' THEN 1 ELSE 0 END),
	SUM(CASE WHEN status = 'lead' THEN payout ELSE 0 END), SUM(CASE WHEN status IN ('sale', 'rebill') THEN payout ELSE 0 END),
	SUM(CASE WHEN status = 'rejected' THEN payout ELSE 0 END)
FROM conversions WHERE TRUE
GROUP BY click_time / 3600000 * 3600000, campaign_id, stream_id, offer_id, landing_id, traffic_source_id
ON CONFLICT (hour, campaign_id, stream_id, offer_id, landing_id, traffic_source_id)
DO UPDATE SET leads = stats_hourly.leads + excluded.leads, sales = stats_hourly.sales + excluded.sales,
	rejected = stats_hourly.rejected + excluded.rejected, rebills = stats_hourly.rebills + excluded.rebills,
	revenue_hold = stats_hourly.revenue_hold + excluded.revenue_hold,
	revenue_confirmed = stats_hourly.revenue_confirmed + excluded.revenue_confirmed,
	revenue_rejected = stats_hourly.revenue_rejected + excluded.revenue_rejected;
