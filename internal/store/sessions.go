package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/trackd/trackd/internal/track"
)

// CreateSession starts a session of user id that lasts ttl and returns its
// token, which only the caller ever sees (the store keeps its hash). It
// also forgets the sessions that have expired.
func (db *DB) CreateSession(ctx context.Context, userID int64, ttl time.Duration) (token string, expires time.Time, err error) {
	token = track.RandomToken(32)
	created := now()
	expires = created.Add(ttl)
	err = db.tx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, "DELETE FROM sessions WHERE expires_at <= ?", toDB(created)); err != nil {
			return err
		}
		_, err := tx.exec(ctx, "INSERT INTO sessions (hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
			track.HashAPIKey(token), userID, toDB(created), toDB(expires))
		return err
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("store: create session: %w", err)
	}
	return token, expires, nil
}

// SessionUser returns the user of the live session token, or
// track.ErrBadCredentials.
func (db *DB) SessionUser(ctx context.Context, token string) (track.User, error) {
	var (
		u                track.User
		created, updated int64
	)
	err := db.queryRow(ctx, `SELECT u.id, u.login, u.role, u.created_at, u.updated_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = ? AND s.expires_at > ?`,
		track.HashAPIKey(token), toDB(now())).Scan(&u.ID, &u.Login, &u.Role, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return u, track.ErrBadCredentials
	}
	if err != nil {
		return u, fmt.Errorf("store: read session: %w", err)
	}
	u.CreatedAt, u.UpdatedAt = fromDB(created), fromDB(updated)
	return u, nil
}

// DeleteSession ends the session token (logout); an unknown token is not
// an error.
func (db *DB) DeleteSession(ctx context.Context, token string) error {
	return db.tx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, "DELETE FROM sessions WHERE hash = ?", track.HashAPIKey(token))
		return err
	})
}
