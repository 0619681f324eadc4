package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/trackd/trackd/internal/api"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/track"
)

// env is a running API over real HTTP on loopback, with an admin and a
// viewer key, and named values that scenarios save and reuse.
type env struct {
	t      testing.TB
	db     *store.DB
	api    *api.API
	srv    *httptest.Server
	keys   map[string]string
	values map[string]string
}

func newEnv(t testing.TB, db *store.DB) *env {
	t.Helper()
	ctx := context.Background()
	if _, err := db.Init(ctx, "admin", "admin password 123"); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := api.New(db, log, "test")
	e := &env{t: t, db: db, api: a, keys: map[string]string{}, values: map[string]string{}}
	for _, role := range []string{track.RoleAdmin, track.RoleViewer} {
		k := track.APIKey{Name: role + " key", Role: role}
		if err := db.CreateAPIKey(ctx, &k); err != nil {
			t.Fatal(err)
		}
		e.keys[role] = k.Key
	}
	e.keys["bad"] = "trk_this-key-does-not-exist"
	e.srv = httptest.NewServer(a.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

var placeholder = regexp.MustCompile(`\$[a-z_0-9]+`)

// expand replaces $name with a value saved by an earlier step.
func (e *env) expand(s string) string {
	e.t.Helper()
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		v, ok := e.values[m[1:]]
		if !ok {
			e.t.Fatalf("no saved value %s in %q", m, s)
		}
		return v
	})
}

// response is what a call returned.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   any
}

func (r response) obj() map[string]any {
	m, _ := r.body.(map[string]any)
	return m
}

// errField returns error.field and error.code of an error response.
func (r response) errInfo() (code, field, message string) {
	e, _ := r.obj()["error"].(map[string]any)
	code, _ = e["code"].(string)
	field, _ = e["field"].(string)
	message, _ = e["message"].(string)
	return
}

// call sends one request with the named key ("" for none).
func (e *env) call(method, path, key string, body []byte, header ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+api.Prefix+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if key != "" {
		k, ok := e.keys[key]
		if !ok {
			k = key
		}
		req.Header.Set("Authorization", "Bearer "+k)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			e.t.Fatalf("%s %s: response is not JSON: %v\n%s", method, path, err, raw)
		}
	}
	return r
}

// step is one request of a scenario and what it must answer.
type step struct {
	name   string
	method string
	path   string // may hold $name
	key    string // "admin", "viewer", "bad", "" (none) or a literal key
	body   string // may hold $name; "" sends no body
	status int
	field  string // for errors: the field the error must name
	code   string // for errors: the error code
	save   string // save the response's "id" under this name
	check  func(t testing.TB, r response)
}

// run plays the steps in order over real HTTP.
func (e *env) run(steps []step) {
	e.t.Helper()
	for _, s := range steps {
		var body []byte
		if s.body != "" {
			body = []byte(e.expand(s.body))
		}
		path := e.expand(s.path)
		r := e.call(s.method, path, s.key, body)
		desc := s.method + " " + path
		if s.name != "" {
			desc = s.name + ": " + desc
		}
		if r.status != s.status {
			e.t.Fatalf("%s\nbody: %s\nstatus = %d, want %d; response: %s", desc, body, r.status, s.status, r.raw)
		}
		if r.status >= 400 {
			code, field, msg := r.errInfo()
			if code == "" || msg == "" {
				e.t.Errorf("%s: error without code or message: %s", desc, r.raw)
			}
			if s.field != "" && field != s.field {
				e.t.Errorf("%s: error field = %q, want %q (%s)", desc, field, s.field, msg)
			}
			if s.code != "" && code != s.code {
				e.t.Errorf("%s: error code = %q, want %q (%s)", desc, code, s.code, msg)
			}
		}
		if s.save != "" {
			id, ok := r.obj()["id"].(float64)
			if !ok {
				e.t.Fatalf("%s: no id to save in %s", desc, r.raw)
			}
			e.values[s.save] = jsonNumber(id)
		}
		if s.check != nil {
			s.check(e.t, r)
		}
	}
}

func jsonNumber(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

// field walks a decoded JSON value by a dotted path ("streams.0.id").
func field(v any, path string) any {
	for _, p := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i := 0
			for _, c := range p {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// has returns a check that the response has want at path.
func has(path string, want any) func(t testing.TB, r response) {
	return func(t testing.TB, r response) {
		t.Helper()
		got := field(r.body, path)
		if g, w := jsonText(got), jsonText(want); g != w {
			t.Errorf("%s = %s, want %s\nresponse: %s", path, g, w, r.raw)
		}
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// count returns a check that the list response has n items.
func count(n int) func(t testing.TB, r response) {
	return func(t testing.TB, r response) {
		t.Helper()
		items, _ := r.obj()["items"].([]any)
		if len(items) != n {
			t.Errorf("items: got %d, want %d\nresponse: %s", len(items), n, r.raw)
		}
	}
}
