-- trackd's first schema. Times are Unix milliseconds (UTC); money is
-- BIGINT micro-units; nested settings are JSON text.

CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE secrets (
	name  TEXT PRIMARY KEY,
	value {{blob}} NOT NULL
);

CREATE TABLE users (
	id            {{id}},
	login         TEXT NOT NULL,
	role          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	created_at    BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_login ON users (lower(login));

CREATE TABLE api_keys (
	id           {{id}},
	name         TEXT NOT NULL,
	role         TEXT NOT NULL,
	prefix       TEXT NOT NULL,
	hash         {{blob}} NOT NULL UNIQUE,
	created_at   BIGINT NOT NULL,
	last_used_at BIGINT
);

CREATE TABLE traffic_sources (
	id         {{id}},
	name       TEXT NOT NULL,
	preset     TEXT NOT NULL,
	params     TEXT NOT NULL,
	postback   TEXT NOT NULL,
	notes      TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

CREATE TABLE affiliate_networks (
	id               {{id}},
	name             TEXT NOT NULL,
	preset           TEXT NOT NULL,
	clickid_param    TEXT NOT NULL,
	postback_params  TEXT NOT NULL,
	postback_macros  TEXT NOT NULL,
	statuses         TEXT NOT NULL,
	duplicate_policy TEXT NOT NULL,
	postback_key     TEXT NOT NULL,
	ip_allowlist     TEXT NOT NULL,
	notes            TEXT NOT NULL,
	created_at       BIGINT NOT NULL,
	updated_at       BIGINT NOT NULL
);

CREATE TABLE offers (
	id                   {{id}},
	name                 TEXT NOT NULL,
	url                  TEXT NOT NULL,
	affiliate_network_id BIGINT REFERENCES affiliate_networks (id),
	payout_type          TEXT NOT NULL,
	payout_amount        BIGINT NOT NULL,
	payout_currency      TEXT NOT NULL,
	upsells_allowed      BOOLEAN NOT NULL,
	daily_cap            INTEGER NOT NULL,
	alternative_offer_id BIGINT REFERENCES offers (id),
	paused               BOOLEAN NOT NULL,
	notes                TEXT NOT NULL,
	created_at           BIGINT NOT NULL,
	updated_at           BIGINT NOT NULL
);

CREATE TABLE landings (
	id         {{id}},
	name       TEXT NOT NULL,
	url        TEXT NOT NULL,
	paused     BOOLEAN NOT NULL,
	notes      TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

CREATE TABLE campaigns (
	id                {{id}},
	alias             TEXT NOT NULL UNIQUE,
	name              TEXT NOT NULL,
	traffic_source_id BIGINT REFERENCES traffic_sources (id),
	cost_model        TEXT NOT NULL,
	cost_amount       BIGINT NOT NULL,
	cost_currency     TEXT NOT NULL,
	cost_from_param   BOOLEAN NOT NULL,
	uniqueness_hours  INTEGER NOT NULL,
	uniqueness_method TEXT NOT NULL,
	rotation          TEXT NOT NULL,
	visitor_binding   BOOLEAN NOT NULL,
	paused            BOOLEAN NOT NULL,
	notes             TEXT NOT NULL,
	created_at        BIGINT NOT NULL,
	updated_at        BIGINT NOT NULL
);

-- Streams belong to a campaign and go with it. action_campaign_id repeats
-- action.campaign_id so that the database refuses to delete a campaign that
-- another one still sends visitors to.
CREATE TABLE streams (
	id                 {{id}},
	campaign_id        BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
	position           INTEGER NOT NULL,
	name               TEXT NOT NULL,
	type               TEXT NOT NULL,
	weight             INTEGER NOT NULL,
	paused             BOOLEAN NOT NULL,
	filter_mode        TEXT NOT NULL,
	filters            TEXT NOT NULL,
	schema             TEXT NOT NULL,
	redirect           TEXT NOT NULL,
	action             TEXT,
	action_campaign_id BIGINT REFERENCES campaigns (id)
);
CREATE INDEX streams_campaign ON streams (campaign_id, position);

CREATE TABLE stream_offers (
	stream_id BIGINT NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
	position  INTEGER NOT NULL,
	offer_id  BIGINT NOT NULL REFERENCES offers (id),
	share     INTEGER NOT NULL,
	PRIMARY KEY (stream_id, offer_id)
);
CREATE INDEX stream_offers_offer ON stream_offers (offer_id);

CREATE TABLE stream_landings (
	stream_id  BIGINT NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
	position   INTEGER NOT NULL,
	landing_id BIGINT NOT NULL REFERENCES landings (id),
	share      INTEGER NOT NULL,
	PRIMARY KEY (stream_id, landing_id)
);
CREATE INDEX stream_landings_landing ON stream_landings (landing_id);

CREATE TABLE currency_rates (
	currency   TEXT PRIMARY KEY,
	rate       BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

-- config_version grows with every configuration change, so that every node
-- knows when to rebuild its in-memory snapshot.
CREATE TABLE config_version (
	id      INTEGER PRIMARY KEY,
	version BIGINT NOT NULL
);
INSERT INTO config_version (id, version) VALUES (1, 1);
