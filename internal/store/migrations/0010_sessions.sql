-- Sessions of the web UI: a random token in an HttpOnly cookie, stored
-- here only as its SHA-256. A session ends at expires_at, at logout, when
-- its user's password changes, or with its user.
CREATE TABLE sessions (
	hash       {{blob}} PRIMARY KEY,
	user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
