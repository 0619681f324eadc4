package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/trackd/trackd/internal/track"
)

// --- users ---

const userColumns = "id, login, role, created_at, updated_at"

func scanUser(r scanner) (track.User, error) {
	var (
		u                track.User
		created, updated int64
	)
	err := r.Scan(&u.ID, &u.Login, &u.Role, &created, &updated)
	u.CreatedAt, u.UpdatedAt = fromDB(created), fromDB(updated)
	return u, err
}

// Users lists all users by id.
func (db *DB) Users(ctx context.Context) ([]track.User, error) {
	out, err := list(ctx, db, scanUser, "SELECT "+userColumns+" FROM users ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return out, nil
}

// User returns one user.
func (db *DB) User(ctx context.Context, id int64) (track.User, error) {
	u, err := scanUser(db.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE id = ?", id))
	return u, notFoundIfNoRows(err, "user", id)
}

// CreateUser inserts u with its password hashed, and clears the password.
func (db *DB) CreateUser(ctx context.Context, u *track.User) error {
	hash, err := track.HashPassword(u.Password)
	if err != nil {
		return err
	}
	u.Password = ""
	u.CreatedAt, u.UpdatedAt = now(), now()
	err = db.tx(ctx, func(tx *Tx) error {
		id, err := tx.insert(ctx, "INSERT INTO users (login, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
			u.Login, u.Role, hash, toDB(u.CreatedAt), toDB(u.UpdatedAt))
		u.ID = id
		return err
	})
	if isUniqueViolation(err) {
		return track.Conflict("login", "login %q is taken", u.Login)
	}
	return err
}

// UpdateUser saves u; an empty password keeps the old one, a new one ends
// the user's sessions. The last admin cannot lose the admin role.
func (db *DB) UpdateUser(ctx context.Context, u *track.User) error {
	var hash string
	if u.Password != "" {
		var err error
		if hash, err = track.HashPassword(u.Password); err != nil {
			return err
		}
		u.Password = ""
	}
	u.UpdatedAt = now()
	err := db.tx(ctx, func(tx *Tx) error {
		if u.Role != track.RoleAdmin {
			if err := tx.keepAnAdmin(ctx, u.ID); err != nil {
				return err
			}
		}
		res, err := tx.exec(ctx, `UPDATE users SET login = ?, role = ?, updated_at = ?,
			password_hash = CASE WHEN ? = '' THEN password_hash ELSE ? END WHERE id = ?`,
			u.Login, u.Role, toDB(u.UpdatedAt), hash, hash, u.ID)
		if err := updated(res, err, "user", u.ID); err != nil || hash == "" {
			return err
		}
		// A new password ends the user's sessions: whoever knew the old
		// one is logged out.
		_, err = tx.exec(ctx, "DELETE FROM sessions WHERE user_id = ?", u.ID)
		return err
	})
	if isUniqueViolation(err) {
		return track.Conflict("login", "login %q is taken", u.Login)
	}
	if err == nil {
		*u, err = db.User(ctx, u.ID)
	}
	return err
}

// keepAnAdmin refuses a change that would leave no admin but user id.
func (tx *Tx) keepAnAdmin(ctx context.Context, id int64) error {
	others, err := tx.exists(ctx, "SELECT 1 FROM users WHERE role = ? AND id <> ?", track.RoleAdmin, id)
	if err != nil || others {
		return err
	}
	isAdmin, err := tx.exists(ctx, "SELECT 1 FROM users WHERE role = ? AND id = ?", track.RoleAdmin, id)
	if err != nil || !isAdmin {
		return err
	}
	return track.Conflict("role", "user %d is the last admin", id)
}

// DeleteUser deletes a user, but never the last admin.
func (db *DB) DeleteUser(ctx context.Context, id int64) error {
	return db.tx(ctx, func(tx *Tx) error {
		if err := tx.keepAnAdmin(ctx, id); err != nil {
			return err
		}
		return tx.deleteRow(ctx, "users", "user", id)
	})
}

// CheckUserPassword returns the user with login if password matches.
func (db *DB) CheckUserPassword(ctx context.Context, login, password string) (track.User, error) {
	var hash string
	row := db.queryRow(ctx, "SELECT "+userColumns+", password_hash FROM users WHERE lower(login) = lower(?)", login)
	var (
		u                track.User
		created, updated int64
	)
	err := row.Scan(&u.ID, &u.Login, &u.Role, &created, &updated, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return u, track.ErrBadCredentials
	}
	if err != nil {
		return u, err
	}
	if !track.CheckPassword(hash, password) {
		return u, track.ErrBadCredentials
	}
	u.CreatedAt, u.UpdatedAt = fromDB(created), fromDB(updated)
	return u, nil
}

// HasUsers reports whether any user exists.
func (db *DB) HasUsers(ctx context.Context) (bool, error) {
	var one int
	err := db.queryRow(ctx, "SELECT 1 FROM users LIMIT 1").Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// --- API keys ---

const keyColumns = "id, name, role, prefix, created_at, last_used_at"

func scanKey(r scanner) (track.APIKey, error) {
	var (
		k       track.APIKey
		created int64
		used    sql.NullInt64
	)
	err := r.Scan(&k.ID, &k.Name, &k.Role, &k.Prefix, &created, &used)
	k.CreatedAt = fromDB(created)
	if used.Valid {
		t := fromDB(used.Int64)
		k.LastUsedAt = &t
	}
	return k, err
}

// APIKeys lists all API keys (without the keys themselves) by id.
func (db *DB) APIKeys(ctx context.Context) ([]track.APIKey, error) {
	out, err := list(ctx, db, scanKey, "SELECT "+keyColumns+" FROM api_keys ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: list api keys: %w", err)
	}
	return out, nil
}

// APIKey returns one API key (without the key itself).
func (db *DB) APIKey(ctx context.Context, id int64) (track.APIKey, error) {
	k, err := scanKey(db.queryRow(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE id = ?", id))
	return k, notFoundIfNoRows(err, "api key", id)
}

// CreateAPIKey makes a new random key for k and stores its hash. k.Key
// holds the key; it cannot be read again later.
func (db *DB) CreateAPIKey(ctx context.Context, k *track.APIKey) error {
	key, hash := track.NewAPIKey()
	k.Key, k.Prefix, k.CreatedAt, k.LastUsedAt = key, track.KeyPrefix(key), now(), nil
	return db.tx(ctx, func(tx *Tx) error {
		id, err := tx.insert(ctx, "INSERT INTO api_keys (name, role, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?)",
			k.Name, k.Role, k.Prefix, hash, toDB(k.CreatedAt))
		k.ID = id
		return err
	})
}

// UpdateAPIKey renames a key or changes its role.
func (db *DB) UpdateAPIKey(ctx context.Context, k *track.APIKey) error {
	err := db.tx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, "UPDATE api_keys SET name = ?, role = ? WHERE id = ?", k.Name, k.Role, k.ID)
		return updated(res, err, "api key", k.ID)
	})
	if err == nil {
		*k, err = db.APIKey(ctx, k.ID)
	}
	return err
}

// DeleteAPIKey revokes a key.
func (db *DB) DeleteAPIKey(ctx context.Context, id int64) error {
	return db.tx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, "DELETE FROM api_keys WHERE id = ?", id)
		return updated(res, err, "api key", id)
	})
}

// APIKeyByKey returns the key that key hashes to, or track.ErrBadCredentials.
func (db *DB) APIKeyByKey(ctx context.Context, key string) (track.APIKey, error) {
	k, err := scanKey(db.queryRow(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE hash = ?", track.HashAPIKey(key)))
	if errors.Is(err, sql.ErrNoRows) {
		return k, track.ErrBadCredentials
	}
	return k, err
}

// TouchAPIKey records that a key was used.
func (db *DB) TouchAPIKey(ctx context.Context, id int64) error {
	return db.tx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, "UPDATE api_keys SET last_used_at = ? WHERE id = ?", toDB(now()), id)
		return err
	})
}

// --- currency rates ---

func scanRate(r scanner) (track.CurrencyRate, error) {
	var (
		cr      track.CurrencyRate
		updated int64
	)
	err := r.Scan(&cr.Currency, &cr.Rate, &updated)
	cr.UpdatedAt = fromDB(updated)
	return cr, err
}

// CurrencyRates lists the stored rates by currency.
func (db *DB) CurrencyRates(ctx context.Context) ([]track.CurrencyRate, error) {
	out, err := list(ctx, db, scanRate, "SELECT currency, rate, updated_at FROM currency_rates ORDER BY currency")
	if err != nil {
		return nil, fmt.Errorf("store: list currency rates: %w", err)
	}
	return out, nil
}

// CurrencyRate returns the rate of one currency.
func (db *DB) CurrencyRate(ctx context.Context, currency string) (track.CurrencyRate, error) {
	cr, err := scanRate(db.queryRow(ctx, "SELECT currency, rate, updated_at FROM currency_rates WHERE currency = ?", currency))
	return cr, notFoundIfNoRows(err, "currency rate", currency)
}

// PutCurrencyRate creates or replaces the rate of r.Currency and reports
// whether it was new.
func (db *DB) PutCurrencyRate(ctx context.Context, r *track.CurrencyRate) (created bool, err error) {
	r.UpdatedAt = now()
	err = db.tx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, "UPDATE currency_rates SET rate = ?, updated_at = ? WHERE currency = ?",
			int64(r.Rate), toDB(r.UpdatedAt), r.Currency)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			created = true
			if _, err := tx.exec(ctx, "INSERT INTO currency_rates (currency, rate, updated_at) VALUES (?, ?, ?)",
				r.Currency, int64(r.Rate), toDB(r.UpdatedAt)); err != nil {
				return err
			}
		}
		return tx.bumpConfig(ctx)
	})
	return created, err
}

// DeleteCurrencyRate deletes the rate of one currency.
func (db *DB) DeleteCurrencyRate(ctx context.Context, currency string) error {
	return db.tx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, "DELETE FROM currency_rates WHERE currency = ?", currency)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return track.NotFound("currency rate", currency)
		}
		return tx.bumpConfig(ctx)
	})
}

// --- settings and secrets ---

// Settings returns the account settings; missing ones have their defaults.
func (db *DB) Settings(ctx context.Context) (track.Settings, error) {
	s, err := db.accountSettings(ctx)
	if err != nil {
		return s, err
	}
	key, err := db.Secret(ctx, SecretPostbackKey)
	if err != nil {
		return s, err
	}
	s.PostbackKey = string(key)
	return s, nil
}

// accountSettings returns the stored settings over their defaults,
// without the postback key.
func (db *DB) accountSettings(ctx context.Context) (track.Settings, error) {
	s := track.DefaultSettings()
	var raw string
	err := db.queryRow(ctx, "SELECT value FROM settings WHERE key = 'account'").Scan(&raw)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("store: read settings: %w", err)
	}
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &s); err != nil {
			return s, fmt.Errorf("store: decode settings: %w", err)
		}
	}
	return s, nil
}

// SaveSettings stores s. The postback key is not part of it: it is a
// secret, changed only by RotatePostbackKey.
func (db *DB) SaveSettings(ctx context.Context, s track.Settings) error {
	s.PostbackKey = ""
	apply := func() {}
	err := db.tx(ctx, func(tx *Tx) error {
		if err := tx.putKV(ctx, "settings", "key", "account", jsonText(s)); err != nil {
			return err
		}
		var err error
		if apply, err = tx.setRollupZone(ctx, s.Timezone); err != nil {
			return err
		}
		return tx.bumpConfig(ctx)
	})
	if err == nil {
		apply()
	}
	return err
}

// putKV writes value under key in a (keyCol, value) table, on both engines.
func (tx *Tx) putKV(ctx context.Context, table, keyCol, key string, value any) error {
	res, err := tx.exec(ctx, "UPDATE "+table+" SET value = ? WHERE "+keyCol+" = ?", value, key)
	if err != nil {
		return fmt.Errorf("store: update %s: %w", table, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := tx.exec(ctx, "INSERT INTO "+table+" ("+keyCol+", value) VALUES (?, ?)", key, value); err != nil {
			return fmt.Errorf("store: insert %s: %w", table, err)
		}
	}
	return nil
}

// Secret names.
const (
	// SecretClickID keys the MAC that makes click ids unforgeable.
	SecretClickID = "clickid_mac_key"
	// SecretPostbackKey authenticates incoming postbacks.
	SecretPostbackKey = "postback_key"
)

// Secret returns a stored secret.
func (db *DB) Secret(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	err := db.queryRow(ctx, "SELECT value FROM secrets WHERE name = ?", name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, track.NotFound("secret", name)
	}
	return v, err
}

// RotatePostbackKey replaces the global postback key and returns the new one.
func (db *DB) RotatePostbackKey(ctx context.Context) (string, error) {
	key := track.RandomToken(18)
	err := db.tx(ctx, func(tx *Tx) error {
		if err := tx.putKV(ctx, "secrets", "name", SecretPostbackKey, []byte(key)); err != nil {
			return err
		}
		return tx.bumpConfig(ctx)
	})
	return key, err
}

// Init prepares a new installation: it generates the secrets that are
// missing and, when there is no user yet, creates an admin user with
// password. It reports whether it created the admin. Init is safe to run
// at every start and from several processes.
func (db *DB) Init(ctx context.Context, adminLogin, adminPassword string) (createdAdmin bool, err error) {
	err = db.tx(ctx, func(tx *Tx) error {
		for name, gen := range map[string]func() []byte{
			SecretClickID:     func() []byte { b := make([]byte, 32); rand.Read(b); return b },
			SecretPostbackKey: func() []byte { return []byte(track.RandomToken(18)) },
		} {
			ok, err := tx.exists(ctx, "SELECT 1 FROM secrets WHERE name = ?", name)
			if err != nil {
				return err
			}
			if !ok {
				if _, err := tx.exec(ctx, "INSERT INTO secrets (name, value) VALUES (?, ?)", name, gen()); err != nil {
					return fmt.Errorf("store: create secret %s: %w", name, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	has, err := db.HasUsers(ctx)
	if err != nil || has {
		return false, err
	}
	u := track.User{Login: adminLogin, Role: track.RoleAdmin, Password: adminPassword}
	if err := db.CreateUser(ctx, &u); err != nil {
		var ce *track.ConflictError
		if errors.As(err, &ce) {
			return false, nil // another process made it first
		}
		return false, err
	}
	return true, nil
}
