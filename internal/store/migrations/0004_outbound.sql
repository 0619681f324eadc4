-- Outgoing postbacks and webhooks.
--
-- outbound_jobs is a transactional outbox: a job is written in the
-- transaction of the conversion change that makes it, one per
-- (conversion, status, target), with its request already expanded.
-- Workers claim due jobs with a lease (lease_until): a node that dies
-- mid-delivery leaves the lease to expire and the job to be tried again,
-- with the same Idempotency-Key.

ALTER TABLE campaigns ADD COLUMN postback TEXT NOT NULL DEFAULT '{}';

CREATE TABLE webhooks (
	id         {{id}},
	name       TEXT NOT NULL,
	url        TEXT NOT NULL,
	events     TEXT NOT NULL,
	enabled    BOOLEAN NOT NULL,
	secret     TEXT NOT NULL,
	notes      TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

CREATE TABLE outbound_jobs (
	id              {{id}},
	conversion_id   BIGINT NOT NULL,
	click_id        TEXT NOT NULL,
	status          TEXT NOT NULL,
	target          TEXT NOT NULL,
	host            TEXT NOT NULL,
	method          TEXT NOT NULL,
	url             TEXT NOT NULL,
	headers         TEXT NOT NULL,
	body            TEXT NOT NULL,
	secret          TEXT NOT NULL,
	state           TEXT NOT NULL,
	attempts        INTEGER NOT NULL,
	next_attempt_at BIGINT NOT NULL,
	lease_until     BIGINT NOT NULL,
	deadline        BIGINT NOT NULL,
	last_reason     TEXT NOT NULL,
	created_at      BIGINT NOT NULL,
	delivered_at    BIGINT
);
CREATE UNIQUE INDEX outbound_jobs_identity ON outbound_jobs (conversion_id, status, target);
CREATE INDEX outbound_jobs_due ON outbound_jobs (state, next_attempt_at);
CREATE INDEX outbound_jobs_target ON outbound_jobs (target, state);
CREATE INDEX outbound_jobs_click ON outbound_jobs (click_id);

CREATE TABLE outbound_attempts (
	id          {{id}},
	job_id      BIGINT NOT NULL,
	at          BIGINT NOT NULL,
	url         TEXT NOT NULL,
	status_code INTEGER NOT NULL,
	latency_us  BIGINT NOT NULL,
	outcome     TEXT NOT NULL,
	reason      TEXT NOT NULL,
	response    TEXT NOT NULL
);
CREATE INDEX outbound_attempts_job ON outbound_attempts (job_id);

-- Delivery state per target ("source:3", "campaign:7", "webhook:2"); a
-- target with no row has never failed.
CREATE TABLE outbound_targets (
	target          TEXT PRIMARY KEY,
	paused          BOOLEAN NOT NULL,
	auto_paused     BOOLEAN NOT NULL,
	paused_at       BIGINT NOT NULL,
	reason          TEXT NOT NULL,
	failures        INTEGER NOT NULL,
	last_success_at BIGINT NOT NULL,
	next_probe_at   BIGINT NOT NULL
);
