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
	"sync/atomic"
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
	rollup  atomic.Pointer[Rollup]
	// factShapes are the column sets of click_facts inserts prepared so
	// far (SQLite; mask → *factShape), and how many.
	factShapes     sync.Map
	factShapeCount atomic.Int64
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
	defer tx.prepareForLater(ctx)
	if err := fn(tx); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := tx.AddStats(ctx, tx.stats); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := tx.AddDims(ctx, tx.dims); err != nil {
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
	db    *DB
	tx    *sql.Tx
	stmts map[string]*sql.Stmt // statements of this transaction by query
	fresh []string             // queries to prepare on the write pool once it ends
	stats map[StatsKey]*Stats  // statistics to add before the commit
	dims  map[DimsKey]*Stats   // daily statistics by value, likewise
}

// stmt returns query as a statement of tx, for the handful of statements
// the hot write paths run thousands of times a second, where parsing them
// each time shows in profiles. The statements live on the write pool: the
// first transaction that needs one prepares it for itself, and once that
// transaction ends (the SQLite write pool has one connection) it is
// prepared on the pool for good.
func (tx *Tx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	query = tx.db.q(query)
	if s, ok := tx.stmts[query]; ok {
		return s, nil
	}
	var (
		s   *sql.Stmt
		err error
	)
	if shared, ok := tx.db.stmts.Load(query); ok {
		s = tx.tx.StmtContext(ctx, shared.(*sql.Stmt))
	} else {
		s, err = tx.tx.PrepareContext(ctx, query)
		if err != nil {
			return nil, err
		}
		tx.fresh = append(tx.fresh, query)
	}
	if tx.stmts == nil {
		tx.stmts = make(map[string]*sql.Stmt)
	}
	tx.stmts[query] = s
	return s, nil
}

// prepareForLater prepares on the write pool the statements tx prepared
// for itself. A failure only means the next transaction prepares again.
func (tx *Tx) prepareForLater(ctx context.Context) {
	for _, q := range tx.fresh {
		if _, ok := tx.db.stmts.Load(q); ok {
			continue
		}
		if s, err := tx.db.write.PrepareContext(context.WithoutCancel(ctx), q); err == nil {
			if _, loaded := tx.db.stmts.LoadOrStore(q, s); loaded {
				s.Close()
			}
		}
	}
}

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

// execPrepared is exec through the statement Tx.stmt keeps for query.
func (tx *Tx) execPrepared(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := tx.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

// insertPrepared is insert through the statement Tx.stmt keeps for query.
func (tx *Tx) insertPrepared(ctx context.Context, query string, args ...any) (int64, error) {
	s, err := tx.stmt(ctx, query+" RETURNING id")
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.QueryRowContext(ctx, args...).Scan(&id)
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
