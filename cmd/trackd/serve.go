package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/trackd/trackd/internal/lowpri"
	"github.com/trackd/trackd/internal/outbound"
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
	mmdb := fs.String("mmdb", getenv("TRACKD_MMDB"), "comma-separated `paths` of MaxMind-format .mmdb files (city, ISP, ASN, connection type) (TRACKD_MMDB)")
	debugAddr := fs.String("debug-addr", getenv("TRACKD_DEBUG_ADDR"), "serve Go's /debug/pprof on this `address` (keep it private, e.g. 127.0.0.1:6060) (TRACKD_DEBUG_ADDR)")
	botRanges := fs.String("bot-ranges", getenv("TRACKD_BOT_RANGES"), "comma-separated IP `ranges` whose visitors are bots (TRACKD_BOT_RANGES)")
	var out outbound.Options
	fs.IntVar(&out.Workers, "outbound-workers", 64, "outgoing postbacks and webhooks delivered at once")
	lease, err := envDuration(getenv, "TRACKD_OUTBOUND_LEASE", time.Minute)
	if err != nil {
		return err
	}
	fs.DurationVar(&out.Lease, "outbound-lease", lease,
		"how long a delivery this node claimed is its own: after a crash, PostgreSQL nodes retry it once this runs out (TRACKD_OUTBOUND_LEASE)")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if out.Lease < 10*time.Second {
		return usageError{"-outbound-lease must be at least 10s: longer than a delivery attempt may take"}
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
	defer ln.Close()
	cfg := server.Config{Version: version(), MMDB: splitList(*mmdb), Outbound: out}
	for _, r := range splitList(*botRanges) {
		p, err := track.ParsePrefix(r)
		if err != nil {
			return usageError{fmt.Sprintf("-bot-ranges: %q is not an IP address or CIDR range", r)}
		}
		cfg.BotRanges = append(cfg.BotRanges, p)
	}
	if *debugAddr != "" {
		dl, err := net.Listen("tcp", *debugAddr)
		if err != nil {
			return err
		}
		defer dl.Close()
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		go http.Serve(dl, mux)
		log.Info("profiling on", "addr", dl.Addr().String())
	}
	// Reports get processors of their own, on low-priority threads.
	lowpri.Reserve()
	srv, err := server.New(ctx, db, log, cfg)
	if err != nil {
		return err
	}
	log.Info("trackd listening", "addr", ln.Addr().String(), "store", db.Engine(), "version", version())
	serveErr := srv.Serve(ctx, ln, *grace)
	// Whatever stopped the server, write what is buffered before the
	// store closes.
	flushCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Close(flushCtx); err != nil {
		log.Error("flush at shutdown", "err", err)
		serveErr = errors.Join(serveErr, err)
	}
	if serveErr != nil {
		return serveErr
	}
	log.Info("trackd stopped")
	return nil
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
