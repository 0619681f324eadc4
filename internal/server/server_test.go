package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trackd/trackd/internal/server"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/store/storetest"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestHealthAndMetrics(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		ctx := context.Background()
		if _, err := db.Init(ctx, "admin", "0123456789"); err != nil {
			t.Fatal(err)
		}
		s, err := server.New(ctx, db, log, server.Config{Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(s.Handler())
		defer srv.Close()
		defer s.Close(ctx)

		if code, body := get(t, srv.URL+"/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
			t.Errorf("healthz = %d %s, want 200 ok", code, body)
		}
		if code, _ := get(t, srv.URL+"/no-such-campaign"); code != 404 {
			t.Errorf("unknown path = %d, want 404", code)
		}
		get(t, srv.URL+"/api/v1/offers") // 401, counted under its pattern
		code, body := get(t, srv.URL+"/metrics")
		if code != 200 {
			t.Fatalf("metrics = %d", code)
		}
		for _, want := range []string{
			`trackd_http_requests_total{code="200",route="GET /healthz"} 1`,
			`trackd_http_requests_total{code="401",route="GET /api/v1/offers"} 1`,
			`trackd_http_requests_total{code="404",route="GET /{alias}"} 1`,
			`trackd_http_request_duration_seconds_bucket{route="GET /healthz"`,
			"go_goroutines",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %s", want)
			}
		}

		// A store that does not answer makes the node unready.
		db.Close()
		if code, body := get(t, srv.URL+"/healthz"); code != 503 {
			t.Errorf("healthz with a closed store = %d %s, want 503", code, body)
		}
	})
}
