package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/internal/server"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/store/storetest"
	"github.com/trackd/trackd/internal/track"
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

// start runs a server over db on loopback until the test ends.
func start(t *testing.T, db *store.DB) (*server.Server, *httptest.Server) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.Init(ctx, "admin", "0123456789"); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := server.New(ctx, db, log, server.Config{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.Close()
		s.Close(ctx)
	})
	return s, srv
}

func TestHealthAndMetrics(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		_, srv := start(t, db)

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

// TestClickPathThroughTheAPI configures a campaign through the API, clicks
// it, finds the click in the log and asks the test click why.
func TestClickPathThroughTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, srv := start(t, db)
		k := track.APIKey{Name: "t", Role: track.RoleViewer}
		admin := track.APIKey{Name: "a", Role: track.RoleAdmin}
		for _, key := range []*track.APIKey{&k, &admin} {
			if err := db.CreateAPIKey(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
		call := func(method, path, key, body string) (int, map[string]any) {
			t.Helper()
			req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var out map[string]any
			json.NewDecoder(res.Body).Decode(&out)
			return res.StatusCode, out
		}
		call("POST", "/api/v1/offers", admin.Key, `{"name":"O","url":"https://o.example/?c={clickid}"}`)
		code, camp := call("POST", "/api/v1/campaigns", admin.Key, `{"alias":"go","name":"Go","streams":[
			{"name":"de only","filters":[{"type":"country","values":["DE"]}],"action":{"type":"not_found"}},
			{"type":"default","offers":[{"offer_id":1}]}]}`)
		if code != 201 {
			t.Fatalf("campaign: %d %v", code, camp)
		}
		// The API change reaches the click path at once, without a restart.
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, _ := http.NewRequest("GET", srv.URL+"/go?x=1", nil)
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Accept-Language", "en")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		loc := res.Header.Get("Location")
		if res.StatusCode != 302 || !strings.HasPrefix(loc, "https://o.example/?c=") {
			t.Fatalf("click: %d %q", res.StatusCode, loc)
		}
		id := strings.TrimPrefix(loc, "https://o.example/?c=")
		s.Close(ctx) // flush the async batch
		code, one := call("GET", "/api/v1/clicks/"+id, k.Key, "")
		if code != 200 || one["click_id"] != id || one["query"] != "x=1" {
			t.Errorf("GET click: %d %v", code, one)
		}
		code, page := call("GET", "/api/v1/clicks?limit=10&campaign_id=1", k.Key, "")
		if items, _ := page["items"].([]any); code != 200 || len(items) != 1 {
			t.Errorf("click log: %d %v", code, page)
		}
		if code, e := call("GET", "/api/v1/clicks?from=yesterday", k.Key, ""); code != 400 {
			t.Errorf("bad from: %d %v", code, e)
		}
		code, sim := call("POST", "/api/v1/clicks/test", k.Key, `{"alias":"go","ip":"193.99.144.80","user_agent":"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0","accept_language":"de"}`)
		if code != 200 || sim["action"] != "not_found" {
			t.Errorf("test click from Germany: %d %v", code, sim)
		}
		streams, _ := sim["streams"].([]any)
		if len(streams) != 2 || field(streams[0], "passed") != true || field(streams[0], "filters") == nil {
			t.Errorf("test click streams: %v", streams)
		}
		code, sim = call("POST", "/api/v1/clicks/test", k.Key, `{"alias":"go","ip":"8.8.8.8","user_agent":"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0","accept_language":"en"}`)
		if u, _ := sim["url"].(string); code != 200 || sim["action"] != "redirect" || !strings.HasPrefix(u, "https://o.example/?c=") {
			t.Errorf("test click from the US: %d %v", code, sim)
		}
		if code, e := call("POST", "/api/v1/clicks/test", k.Key, `{"alias":"nope"}`); code != 422 {
			t.Errorf("test click of an unknown alias: %d %v", code, e)
		}
		if code, e := call("POST", "/api/v1/clicks/test", k.Key, `{"alias":"go","ip":"999.1.1.1"}`); code != 422 {
			t.Errorf("test click with a bad ip: %d %v", code, e)
		}
		if code, e := call("POST", "/api/v1/clicks/test", k.Key, `{"alias":"go","query":"a=%zz b"}`); code >= 500 {
			t.Errorf("test click with a bad query: %d %v", code, e)
		}
		// Nothing was recorded by the simulations.
		_, page = call("GET", "/api/v1/clicks", k.Key, "")
		if items, _ := page["items"].([]any); len(items) != 1 {
			t.Errorf("simulations recorded clicks: %v", page)
		}
	})
}

func field(v any, name string) any {
	m, _ := v.(map[string]any)
	return m[name]
}

// TestLiveFeed: a watcher of /api/v1/live sees a click and its conversion
// as Server-Sent Events, with the values a visitor sent as JSON data.
func TestLiveFeed(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	_, srv := start(t, db)
	k := track.APIKey{Name: "a", Role: track.RoleAdmin}
	if err := db.CreateAPIKey(ctx, &k); err != nil {
		t.Fatal(err)
	}
	api := func(method, path, body string) {
		req, _ := http.NewRequest(method, srv.URL+"/api/v1"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+k.Key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode >= 300 {
			t.Fatalf("%s %s: %v %v", method, path, err, res.Status)
		}
		res.Body.Close()
	}
	api("POST", "/traffic-sources", `{"name":"S","params":[{"slot":"sub_id_1","param":"zone"}]}`)
	api("POST", "/offers", `{"name":"O","url":"https://o.example/?s={clickid}"}`)
	api("POST", "/campaigns", `{"alias":"c","name":"C","traffic_source_id":1,"streams":[{"type":"default","offers":[{"offer_id":1}]}]}`)

	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(fctx, "GET", srv.URL+"/api/v1/live", nil)
	req.Header.Set("Authorization", "Bearer "+k.Key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("live feed: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	events := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(res.Body)
		var ev string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				events <- ev + " " + strings.TrimPrefix(line, "data: ")
			}
		}
	}()

	noRedir := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cr, err := noRedir.Get(srv.URL + "/c?zone=%3Cscript%3E")
	if err != nil {
		t.Fatal(err)
	}
	cr.Body.Close()
	id := strings.TrimPrefix(cr.Header.Get("Location"), "https://o.example/?s=")
	st, _ := db.Settings(ctx)
	pr, err := http.Get(srv.URL + "/" + st.PostbackKey + "/postback?subid=" + id + "&status=lead&payout=2")
	if err != nil || pr.StatusCode != 200 {
		t.Fatalf("postback: %v %v", err, pr.Status)
	}
	pr.Body.Close()
	for _, want := range []string{`click {"click_id":"` + id, `conversion {"click_id":"` + id} {
		select {
		case got := <-events:
			if !strings.HasPrefix(got, want) {
				t.Errorf("event %s, want %s...", got, want)
			}
			if strings.Contains(got, "<script>") {
				t.Errorf("event %s carries raw HTML", got)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("no event %s", want)
		}
	}
}
