package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"

	"modernc.org/sqlite"
)

// sqlitePath is where the embedded database lives in a data dir.
func sqlitePath(dataDir string) string { return filepath.Join(dataDir, "trackd.db") }

// openSQLite opens path with a one-connection write pool and a read pool.
//
// The driver is modernc.org/sqlite: pure Go, so trackd stays one static
// binary that cross-compiles without a C toolchain.
//
// Pragmas are set in the DSN so that every new connection gets them:
// WAL lets readers run beside the writer; busy_timeout makes a second
// process (trackd apikey create beside a running server) wait for the lock
// instead of failing. synchronous=NORMAL: in WAL mode a commit is in the
// operating system's hands when it returns, so it survives a crash or a
// kill -9 of trackd (a test proves it); only a power loss or kernel crash
// can take the last commits, never corrupt the file. FULL would add an
// fsync to every commit: in one pair of runs of tools/load/bench.sh (on a
// busy machine) sync-mode clicks went from 0.23 to 0.34 of the bare 302
// server's rate with NORMAL. temp_store=MEMORY keeps statement journals
// (kept by every multi-row or constrained insert inside a transaction) off
// temporary files: they took a quarter of the click writer's time.
func openSQLite(ctx context.Context, path string) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: create data dir: %w", err)
		}
	}
	dsn := func(extra ...string) string {
		v := url.Values{}
		v.Add("_pragma", "busy_timeout(10000)")
		v.Add("_pragma", "journal_mode(WAL)")
		v.Add("_pragma", "synchronous(NORMAL)")
		v.Add("_pragma", "foreign_keys(1)")
		for i := 0; i+1 < len(extra); i += 2 {
			v.Add(extra[i], extra[i+1])
		}
		return "file:" + path + "?" + v.Encode()
	}
	// BEGIN IMMEDIATE takes the write lock at the start of a transaction,
	// so two writers never deadlock upgrading a read lock.
	write, err := sql.Open("sqlite", dsn("_txlock", "immediate", "_pragma", "temp_store(MEMORY)"))
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	// Readers sort big reports (exports) through temporary files rather
	// than memory (the driver runs the pragmas in its own order: one
	// temp_store per connection).
	read, err := sql.Open("sqlite", dsn("_pragma", "query_only(1)", "_pragma", "temp_store(FILE)"))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0)*2)
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	return &DB{engine: SQLite, write: write, read: read}, nil
}

// hasCode reports whether err is an SQLite error with one of the extended
// result codes.
func hasCode(err error, codes ...int) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	for _, c := range codes {
		if se.Code() == c {
			return true
		}
	}
	return false
}

// SQLite has the REGEXP operator but no function behind it: reports'
// regex filters use Go's regexp, whose matching time is linear in the
// input (no pattern can backtrack forever).
func init() {
	var cache sync.Map // pattern → *regexp.Regexp
	sqlite.MustRegisterDeterministicScalarFunction("regexp", 2, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		pattern, _ := args[0].(string)
		var value string
		switch v := args[1].(type) {
		case string:
			value = v
		case []byte:
			value = string(v)
		case nil:
			return false, nil
		default:
			value = fmt.Sprint(v)
		}
		re, ok := cache.Load(pattern)
		if !ok {
			c, err := regexp.Compile(pattern)
			if err != nil {
				return nil, err
			}
			re, _ = cache.LoadOrStore(pattern, c)
		}
		return re.(*regexp.Regexp).MatchString(value), nil
	})
}
