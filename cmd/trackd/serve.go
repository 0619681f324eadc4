package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/trackd/trackd/internal/server"
	"github.com/trackd/trackd/internal/track"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("trackd serve", flag.ContinueOnError)
	var sf storeFlags
	sf.register(fs, getenv)
	addr := fs.String("addr", envOr(getenv, "TRACKD_ADDR", ":8080"), "listen `address` (TRACKD_ADDR)")
	logFormat := fs.String("log-format", envOr(getenv, "TRACKD_LOG_FORMAT", "text"), "log `format`: text or json (TRACKD_LOG_FORMAT)")
	logLevel := fs.String("log-level", envOr(getenv, "TRACKD_LOG_LEVEL", "info"), "log `level`: debug, info, warn, error (TRACKD_LOG_LEVEL)")
	grace := fs.Duration("shutdown-grace", 15*time.Second, "how long requests in flight may take to finish at shutdown")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	log, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	db, err := sf.open(ctx, log)
	if err != nil {
		return err
	}
	defer db.Close()

	password := getenv("TRACKD_ADMIN_PASSWORD")
	random := password == ""
	if random {
		password = track.RandomToken(12)
	}
	created, err := db.Init(ctx, "admin", password)
	if err != nil {
		return err
	}
	if created && random {
		fmt.Fprintf(stdout, "Created the admin user: login admin, password %s\nThis password is shown only once.\n", password)
	} else if created {
		fmt.Fprintln(stdout, "Created the admin user: login admin, password from TRACKD_ADMIN_PASSWORD.")
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log.Info("trackd listening", "addr", ln.Addr().String(), "store", db.Engine(), "version", version())
	srv := server.New(db, log, version())
	if err := srv.Serve(ctx, ln, *grace); err != nil {
		return err
	}
	log.Info("trackd stopped")
	return nil
}
