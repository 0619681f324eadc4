// Package servertest runs a trackd server over a real store for tests that
// go through HTTP: an initialised store, an admin API key, and helpers to
// call the API.
package servertest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/internal/server"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/track"
)

// Env is a running server.
type Env struct {
	T           testing.TB
	DB          *store.DB
	Server      *server.Server
	URL         string // http://127.0.0.1:port
	Key         string // an admin API key
	PostbackKey string // the global postback key
	// NoRedirect is a client that shows redirects instead of following them.
	NoRedirect *http.Client
}

// Start initialises db and serves it on loopback until the test ends, with
// the background work of a real node (deliveries, pending postbacks).
func Start(t testing.TB, db *store.DB, cfg server.Config) *Env {
	t.Helper()
	e, s := setUp(t, db, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		<-done
		s.Close(context.Background())
	})
	e.URL = "http://" + ln.Addr().String()
	return e
}

// StartHandler is Start without the background work: only the server's
// handler answers, so that a test drives the rest itself.
func StartHandler(t testing.TB, db *store.DB, cfg server.Config) *Env {
	t.Helper()
	e, s := setUp(t, db, cfg)
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.Close()
		s.Close(context.Background())
	})
	e.URL = hs.URL
	return e
}

func setUp(t testing.TB, db *store.DB, cfg server.Config) (*Env, *server.Server) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.Init(ctx, "admin", "0123456789"); err != nil {
		t.Fatal(err)
	}
	k := track.APIKey{Name: "test", Role: track.RoleAdmin}
	if err := db.CreateAPIKey(ctx, &k); err != nil {
		t.Fatal(err)
	}
	if cfg.Version == "" {
		cfg.Version = "test"
	}
	s, err := server.New(ctx, db, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := db.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return &Env{T: t, DB: db, Server: s, Key: k.Key, PostbackKey: st.PostbackKey,
		NoRedirect: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}, s
}

// API calls /api/v1 + path with the admin key, fails the test unless the
// answer has status want, and returns the body.
func (e *Env) API(method, path, body string, want int) string {
	e.T.Helper()
	req, _ := http.NewRequest(method, e.URL+"/api/v1"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.Key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := e.NoRedirect.Do(req)
	if err != nil {
		e.T.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		e.T.Fatalf("%s %s = %d %s, want %d", method, path, res.StatusCode, b, want)
	}
	return string(b)
}

// Create posts body to path, wants 201, and returns the new object's id.
func (e *Env) Create(path, body string) int64 {
	e.T.Helper()
	var v struct{ ID int64 }
	json.Unmarshal([]byte(e.API("POST", path, body, 201)), &v)
	return v.ID
}
