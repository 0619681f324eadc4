package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/trackd/trackd/internal/store"
)

// buildVersion is set with -ldflags "-X main.buildVersion=v1.2.3".
var buildVersion = ""

func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// storeFlags are the flags every command that opens the store takes.
type storeFlags struct {
	data string
	db   string
}

func (f *storeFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&f.data, "data", envOr(getenv, "TRACKD_DATA", "./data"), "state `directory` (TRACKD_DATA)")
	fs.StringVar(&f.db, "db", getenv("TRACKD_DB"), "database `DSN`: empty = SQLite in the data dir, postgres://... = PostgreSQL (TRACKD_DB)")
}

// open opens and migrates the store.
func (f *storeFlags) open(ctx context.Context, log *slog.Logger) (*store.DB, error) {
	db, err := store.Open(ctx, f.db, f.data)
	if err != nil {
		return nil, err
	}
	ran, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	for _, m := range ran {
		log.Info("migrated", "migration", m)
	}
	return db, nil
}

// with opens and migrates the store, logging at level to stderr, runs fn
// and closes the store: the life of a one-shot command.
func (f *storeFlags) with(ctx context.Context, stderr io.Writer, level string, fn func(*store.DB) error) error {
	log, err := newLogger(stderr, "text", level)
	if err != nil {
		return err
	}
	db, err := f.open(ctx, log)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(db)
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// parse parses args into fs and turns -h and mistakes into a usageError.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return usageError{"help requested"}
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// newLogger makes the structured logger: format "text" or "json", level
// "debug", "info", "warn" or "error".
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Sprintf("unknown log level %q (want debug, info, warn or error)", level)}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Sprintf("unknown log format %q (want text or json)", format)}
}

// envDuration reads a duration from the environment, def when unset.
func envDuration(getenv func(string) string, key string, def time.Duration) (time.Duration, error) {
	s := getenv(key)
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, usageError{fmt.Sprintf("%s: %q is not a duration such as 90s or 2m", key, s)}
	}
	return d, nil
}
