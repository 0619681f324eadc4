-- Conversions and the log of incoming postbacks.
--
-- A conversion is identified by (click_id, tid); tid is '' when the network
-- sent none. Payouts are BIGINT micro-units in the account currency, with
-- the amount, currency and rate the network's postback gave; rate has 9
-- decimal places. Click fields are copied so that reports need no join.

ALTER TABLE affiliate_networks ADD COLUMN signing_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE affiliate_networks ADD COLUMN allow_pixel BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE conversions (
	id                   {{id}},
	click_id             TEXT NOT NULL,
	tid                  TEXT NOT NULL,
	status               TEXT NOT NULL,
	previous_status      TEXT NOT NULL,
	raw_status           TEXT NOT NULL,
	event                TEXT NOT NULL,
	upsell               BOOLEAN NOT NULL,
	payout               BIGINT NOT NULL,
	original_payout      BIGINT NOT NULL,
	original_currency    TEXT NOT NULL,
	rate                 BIGINT NOT NULL,
	click_time           BIGINT NOT NULL,
	campaign_id          BIGINT NOT NULL,
	stream_id            BIGINT NOT NULL,
	offer_id             BIGINT NOT NULL,
	landing_id           BIGINT NOT NULL,
	traffic_source_id    BIGINT NOT NULL,
	affiliate_network_id BIGINT NOT NULL,
	created_at           BIGINT NOT NULL,
	updated_at           BIGINT NOT NULL
);
CREATE UNIQUE INDEX conversions_click_tid ON conversions (click_id, tid);
CREATE INDEX conversions_campaign_time ON conversions (campaign_id, created_at);
CREATE INDEX conversions_time ON conversions (created_at);

-- Every incoming postback, accepted or not. request is the query string and
-- body as received (bounded, the postback key masked); auth says what
-- authenticated it, so that a pending postback can be processed again.
CREATE TABLE postback_log (
	id                   {{id}},
	received_at          BIGINT NOT NULL,
	method               TEXT NOT NULL,
	source_ip            TEXT NOT NULL,
	click_id             TEXT NOT NULL,
	request              TEXT NOT NULL,
	auth                 TEXT NOT NULL,
	outcome              TEXT NOT NULL,
	reason               TEXT NOT NULL,
	http_status          INTEGER NOT NULL,
	conversion_id        BIGINT NOT NULL,
	affiliate_network_id BIGINT NOT NULL
);
CREATE INDEX postback_log_click ON postback_log (click_id);
CREATE INDEX postback_log_pending ON postback_log (outcome, received_at);
