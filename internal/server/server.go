// Package server wires trackd together: it opens the store, mounts the
// API and the public endpoints on one mux, and runs the HTTP server until
// it is told to stop.
package server

import (
	"context"
	"errors"
	"fmt"
	"github.com/trackd/trackd/internal/lowpri"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/trackd/trackd/internal/api"
	"github.com/trackd/trackd/internal/click"
	"github.com/trackd/trackd/internal/clickid"
	"github.com/trackd/trackd/internal/enrich"
	"github.com/trackd/trackd/internal/live"
	"github.com/trackd/trackd/internal/outbound"
	"github.com/trackd/trackd/internal/postback"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/ui"
)

// Server is one trackd node.
type Server struct {
	db      *store.DB
	log     *slog.Logger
	metrics *metrics
	clicks  *click.Handler
	pb      *postback.Service
	out     *outbound.Dispatcher
	feed    *live.Hub
	enrich  *enrich.Enricher
	handler http.Handler
}

// Config is what a server needs besides the store.
type Config struct {
	Version string
	// MMDB lists MaxMind-format databases for city, ISP, ASN and
	// connection type; the embedded country table works without them.
	MMDB []string
	// BotRanges are IP ranges whose visitors are bots.
	BotRanges []netip.Prefix
	// Outbound tunes the delivery of outgoing postbacks and webhooks.
	Outbound outbound.Options
}

// New returns a server over an open, migrated, initialised store. Call
// Close after Serve to write what is still buffered.
func New(ctx context.Context, db *store.DB, log *slog.Logger, cfg Config) (*Server, error) {
	key, err := db.Secret(ctx, store.SecretClickID)
	if err != nil {
		return nil, fmt.Errorf("server: click id key (run Init first): %w", err)
	}
	ids, err := clickid.NewGenerator(key)
	if err != nil {
		return nil, err
	}
	en, err := enrich.New(enrich.Config{MMDB: cfg.MMDB, BotRanges: cfg.BotRanges})
	if err != nil {
		return nil, err
	}
	snap, err := click.Load(ctx, db)
	if err != nil {
		en.Close()
		return nil, err
	}
	s := &Server{db: db, log: log, metrics: newMetrics(), enrich: en}
	feed := &live.Hub{}
	s.feed = feed
	s.clicks = click.New(snap, db, ids, en, log, click.Options{Registerer: s.metrics.registry, Live: feed})
	a := api.New(db, log, cfg.Version)
	a.OnConfigChange = func(ctx context.Context) {
		if err := s.clicks.Reload(ctx); err != nil {
			log.Error("reload configuration after a change", "err", err)
		}
	}
	a.Simulator = s.clicks
	a.TrustedProxies = func() []netip.Prefix { return s.clicks.Snapshot().TrustedProxies() }
	s.pb = postback.New(db, s.clicks.Snapshot, ids, s.clicks, log)
	a.Postbacks = s.pb
	s.pb.Live, a.Live = feed, feed
	s.out = outbound.New(db, s.clicks.Snapshot, log, s.metrics.registry, cfg.Outbound)
	s.pb.Jobs = s.out.Wake
	a.Outbound = s.out
	mux := http.NewServeMux()
	mux.Handle(api.Prefix+"/", a.Handler())
	mux.Handle("GET "+strings.TrimSuffix(ui.Prefix, "/"), http.RedirectHandler(ui.Prefix, http.StatusFound))
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", s.metricsHandler())
	mux.HandleFunc("GET /lp/click", s.clicks.ServeLandingClick)
	for _, p := range []string{"GET /postback", "POST /postback", "GET /{key}/postback", "POST /{key}/postback"} {
		mux.Handle(p, s.pb)
	}
	mux.HandleFunc("GET /pixel.gif", s.pb.ServePixel)
	mux.HandleFunc("GET /pixel.js", s.pb.ServePixelJS)
	mux.Handle("GET /{alias}", s.clicks)
	// The web UI's paths would clash with /{key}/postback as a pattern
	// ("/admin/postback"): the catch-all serves them.
	webUI := ui.Handler()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, ui.Prefix) && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			webUI.ServeHTTP(w, r)
			return
		}
		s.notFound(w, r)
	})
	s.handler = s.metrics.instrument(securityHeaders(mux))
	return s, nil
}

func (s *Server) metricsHandler() http.Handler {
	h := s.metrics.handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.clicks.UpdateGauges()
		h.ServeHTTP(w, r)
	})
}

// Close writes the buffered clicks and releases what New opened. The
// caller closes the store after it.
func (s *Server) Close(ctx context.Context) error {
	// Clicks first: a postback waiting for its click finds it flushed.
	return errors.Join(s.clicks.Close(ctx), s.pb.Close(ctx), s.enrich.Close())
}

// Handler returns the server's root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// purgeClicks deletes the raw clicks older than the click_retention_days
// setting, first after delay and then every interval, in slices that
// leave the writer to the click path in between.
func (s *Server) purgeClicks(ctx context.Context, delay, interval time.Duration) {
	t := time.NewTimer(delay)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if days := s.clicks.Snapshot().Settings.ClickRetentionDays; days > 0 {
			n, err := s.PurgeClicks(ctx, time.Now().AddDate(0, 0, -days))
			if err != nil && ctx.Err() == nil {
				s.log.Error("purge old clicks", "err", err)
			} else if n > 0 {
				s.log.Info("purged old clicks", "clicks", n, "retention_days", days)
			}
		}
		t.Reset(interval)
	}
}

// backfillDims fills the daily rollup's days that it does not have yet
// (after an upgrade, or a change of the account's zone) from the raw rows,
// newest first, a day at a time with a pause between days for the click
// path's writes; then it checks again every interval.
func (s *Server) backfillDims(ctx context.Context, interval time.Duration) {
	logged := false
	for ctx.Err() == nil {
		done, err := s.BackfillDims(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("backfill the daily statistics", "err", err)
		}
		if done && logged {
			s.log.Info("daily statistics complete")
		}
		wait := 100 * time.Millisecond
		if done || err != nil {
			logged, wait = false, interval
		} else if !logged {
			s.log.Info("backfilling the daily statistics from the raw clicks, newest day first")
			logged = true
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// BackfillDims fills one more day of the daily rollup (store.BackfillDims).
func (s *Server) BackfillDims(ctx context.Context) (bool, error) {
	done, err := s.db.BackfillDims(ctx, lowpri.Do)
	if err == nil && !done {
		s.log.Debug("backfilled a day of the daily statistics", "complete_since", s.db.Rollup().Since)
	}
	return done, err
}

// PurgeClicks deletes the clicks made before before, 10,000 at a time.
func (s *Server) PurgeClicks(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for ctx.Err() == nil {
		n, err := s.db.PurgeClicks(ctx, before, 10_000)
		total += n
		if err != nil || n < 10_000 {
			return total, err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return total, ctx.Err()
}

// RetryPendingPostbacks processes pending postbacks again now (Serve does
// it every few seconds).
func (s *Server) RetryPendingPostbacks(ctx context.Context) { s.pb.RetryPendingOnce(ctx) }

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// healthz answers 200 when the store answers, 503 when it does not.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.db.Ping(ctx); err != nil {
		s.log.Warn("health check failed", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, `{"status":"unavailable","store":%q}`+"\n", string(s.db.Engine()))
		return
	}
	fmt.Fprintf(w, `{"status":"ok","store":%q}`+"\n", string(s.db.Engine()))
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprintln(w, "404 page not found")
}

// Serve serves on ln until ctx is done, then stops accepting, lets the
// requests in flight finish (up to grace) and returns. The caller closes
// the store afterwards.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(s.feed.Close) // live feeds never end by themselves
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go s.clicks.Watch(watchCtx, time.Second)
	go s.pb.RetryPending(watchCtx, 5*time.Second)
	go s.purgeClicks(watchCtx, time.Minute, time.Hour)
	go s.backfillDims(watchCtx, time.Minute)
	delivering := make(chan struct{})
	go func() {
		s.out.Run(watchCtx)
		close(delivering)
	}()
	defer func() {
		// Deliveries stop after the last postback is answered; the ones
		// in flight end and are recorded.
		stopWatch()
		<-delivering
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down: no new connections, finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) {
		err = errors.Join(err, e)
	}
	return err
}
