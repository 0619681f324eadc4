// Package store is the only package that speaks SQL. It keeps trackd's
// configuration and records in SQLite (embedded, the default) or PostgreSQL,
// behind one set of methods and one schema.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/trackd/trackd/internal/track"
)

// Engine names a database engine.
type Engine string

// The engines trackd runs on.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// DB is the store. Reads go to a pool of readers; writes go through one
// writer. On SQLite the writer is a single connection, which serializes
// writes the way SQLite wants them; on PostgreSQL both are the same pool.
type DB struct {
	engine Engine
	write  *sql.DB
	read   *sql.DB

	pool    *pgxpool.Pool // PostgreSQL only
	rebound sync.Map      // query with ? → query with $n (PostgreSQL only)
	stmts   sync.Map      // query → *sql.Stmt prepared on write, for hot writes
}

// Open opens the store named by dsn. An empty dsn or a "sqlite:" path opens
// (or creates) SQLite in dataDir; "postgres://" or "postgresql://" opens
// PostgreSQL. Open does not migrate; call Migrate.
func Open(ctx context.Context, dsn, dataDir string) (*DB, error) {
	var (
		db  *DB
		err error
	)
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db, err = openPostgres(ctx, dsn)
	case dsn == "":
		db, err = openSQLite(ctx, sqlitePath(dataDir))
	case strings.HasPrefix(dsn, "sqlite:"):
		db, err = openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	default:
		return nil, fmt.Errorf("store: unknown database %q: want empty (SQLite in the data dir), sqlite:PATH or postgres://...", redact(dsn))
	}
	if err != nil {
		return nil, err
	}
	return db, nil
}

// redact hides a password in a DSN for error messages.
func redact(dsn string) string {
	if i := strings.Index(dsn, "@"); i > 0 {
		if j := strings.Index(dsn, "://"); j > 0 && j < i {
			return dsn[:j+3] + "…" + dsn[i:]
		}
	}
	return dsn
}

// Engine reports which engine db runs on.
func (db *DB) Engine() Engine { return db.engine }

// Close closes both pools.
func (db *DB) Close() error {
	db.stmts.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	if db.pool != nil {
		db.pool.Close()
	}
	return err
}

// Ping checks that the store answers; /healthz uses it.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// q rewrites ? placeholders to $1, $2... for PostgreSQL. Queries in this
// package never contain a literal question mark.
func (db *DB) q(query string) string {
	if db.engine != Postgres {
		return query
	}
	if v, ok := db.rebound.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	out := b.String()
	db.rebound.Store(query, out)
	return out
}

// tx runs fn in a write transaction and commits it if fn returns nil.
func (db *DB) tx(ctx context.Context, fn func(tx *Tx) error) error {
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	tx := &Tx{db: db, tx: sqlTx}
	if err := fn(tx); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// Tx is a write transaction with the placeholder rewriting of DB.
type Tx struct {
	db *DB
	tx *sql.Tx
}

// prepared returns query prepared on the write pool, once: the hot write
// paths run a handful of statements thousands of times a second, and
// parsing them each time shows in profiles. Call it outside a transaction
// (the SQLite write pool has one connection) and bind the statement to the
// transaction with Tx.stmt.
func (db *DB) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	query = db.q(query)
	if v, ok := db.stmts.Load(query); ok {
		return v.(*sql.Stmt), nil
	}
	s, err := db.write.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if v, loaded := db.stmts.LoadOrStore(query, s); loaded {
		s.Close()
		return v.(*sql.Stmt), nil
	}
	return s, nil
}

// stmt binds a statement from DB.prepared to tx.
func (tx *Tx) stmt(ctx context.Context, s *sql.Stmt) *sql.Stmt { return tx.tx.StmtContext(ctx, s) }

func (tx *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.tx.ExecContext(ctx, tx.db.q(query), args...)
}

func (tx *Tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.tx.QueryContext(ctx, tx.db.q(query), args...)
}

func (tx *Tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.tx.QueryRowContext(ctx, tx.db.q(query), args...)
}

// insert runs an INSERT ... RETURNING id and returns the new id.
func (tx *Tx) insert(ctx context.Context, query string, args ...any) (int64, error) {
	var id int64
	err := tx.queryRow(ctx, query+" RETURNING id", args...).Scan(&id)
	return id, err
}

// exists reports whether query returns a row.
func (tx *Tx) exists(ctx context.Context, query string, args ...any) (bool, error) {
	var one int
	err := tx.queryRow(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.read.QueryContext(ctx, db.q(query), args...)
}

func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return db.read.QueryRowContext(ctx, db.q(query), args...)
}

// Times are stored as Unix milliseconds in UTC on both engines.
func toDB(t time.Time) int64 { return t.UnixMilli() }

func fromDB(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// now is the current time at the precision the store keeps.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// isUniqueViolation reports whether err is a unique-constraint failure.
func isUniqueViolation(err error) bool {
	return hasCode(err, 2067, 1555) || hasSQLState(err, "23505")
}

// isForeignKeyViolation reports whether err is a foreign-key failure.
func isForeignKeyViolation(err error) bool {
	return hasCode(err, 787) || hasSQLState(err, "23503")
}

// notFoundIfNoRows turns sql.ErrNoRows into a track not-found error.
func notFoundIfNoRows(err error, kind string, id any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return track.NotFound(kind, id)
	}
	return err
}
