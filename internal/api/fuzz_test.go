package api_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/trackd/trackd/internal/api"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/store/storetest"
)

// FuzzWrites sends arbitrary bodies to the write endpoints: whatever the
// input, the answer is never a 5xx (and the process never panics).
//
//	go test -run=^$ -fuzz=FuzzWrites ./internal/api
func FuzzWrites(f *testing.F) {
	for _, seed := range []string{
		`{"alias":"a","name":"A","streams":[{"filters":[{"type":"country","values":["US"]}],"offers":[{"offer_id":1}]}]}`,
		`{"name":"O","url":"https://o.example/?c={clickid}&d={date:2006-01-02,UTC}","payout":{"type":"fixed","amount":"1.5"}}`,
		`{"name":"S","preset":"propellerads","postback":{"url":"https://x.example/?s={status:lead=0 sale=1}"}}`,
		`{"name":"N","statuses":{"1":"sale"},"ip_allowlist":["::1/128"]}`,
		`{"streams":[{"action":{"type":"campaign","campaign_id":1}}]}`,
		`{"rate":"1e3"}`, `[]`, `null`, `{"a":`, "\xff",
	} {
		f.Add(seed)
	}
	db := storetest.Open(f, store.SQLite)
	e := newEnv(f, db)
	// Objects for the bodies to point at.
	for _, c := range []struct{ path, body string }{
		{"/offers", `{"name":"O","url":"https://o.example/"}`},
		{"/landings", `{"name":"L","url":"https://l.example/"}`},
		{"/campaigns", `{"alias":"seed","name":"C","streams":[{"offers":[{"offer_id":1}]}]}`},
	} {
		if r := e.call("POST", c.path, "admin", []byte(c.body)); r.status != 201 {
			f.Fatalf("seed %s: %d %s", c.path, r.status, r.raw)
		}
	}
	h := e.api.Handler()
	paths := []struct{ method, path string }{
		{"POST", "/campaigns"}, {"PATCH", "/campaigns/1"}, {"PUT", "/campaigns/1"},
		{"POST", "/offers"}, {"PATCH", "/offers/1"},
		{"POST", "/traffic-sources"}, {"POST", "/affiliate-networks"},
		{"PUT", "/currency-rates/EUR"}, {"PATCH", "/settings"}, {"POST", "/users"},
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, p := range paths {
			req := httptest.NewRequest(p.method, api.Prefix+p.path, bytes.NewReader([]byte(body)))
			req.Header.Set("Authorization", "Bearer "+e.keys["admin"])
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 || rec.Code == http.StatusOK && p.method == "POST" {
				t.Fatalf("%s %s %q: status %d: %s", p.method, p.path, body, rec.Code, rec.Body)
			}
		}
	})
}
